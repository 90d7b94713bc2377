package store

import (
	"fmt"
	"syscall"
)

// ioprio_set(2) and ioprio_get(2): "which" = IOPRIO_WHO_PROCESS with who
// = 0 is the calling thread, since Linux keeps an I/O priority per thread.
// The value is the class in the top three of sixteen bits, the level below.
const (
	ioprioWhoProcess = 1
	ioprioClassShift = 13
)

// ioPrioritySupported says whether setThreadIOPriority does anything here.
const ioPrioritySupported = true

// setThreadIOPriority sets the I/O priority of the calling OS thread; the
// caller must have locked its goroutine to that thread
// (runtime.LockOSThread), and keep it locked for as long as the priority
// should hold, or until the goroutine ends (which ends the thread). The
// block layer gives every request this thread submits the priority, the
// write-back that its fsync starts included. Which classes matter depends
// on the disk's I/O scheduler: mq-deadline and BFQ order by class (and BFQ
// by level too); "none" ignores priorities. Class ioprioNone returns the
// thread to the default, derived from its CPU nice value. Real-time needs
// CAP_SYS_ADMIN (or CAP_SYS_NICE): the error is then EPERM.
func setThreadIOPriority(p ioPriority) error {
	v := uintptr(p.class)<<ioprioClassShift | uintptr(p.level)
	if _, _, errno := syscall.Syscall(syscall.SYS_IOPRIO_SET, ioprioWhoProcess, 0, v); errno != 0 {
		return fmt.Errorf("store: ioprio_set(%v): %w", p, errno)
	}
	return nil
}

// threadIOPriority returns the I/O priority of the calling OS thread.
func threadIOPriority() (ioPriority, error) { return threadIOPriorityOf(0) }

// threadIOPriorityOf returns the I/O priority of thread tid (0: the
// calling thread).
func threadIOPriorityOf(tid int) (ioPriority, error) {
	v, _, errno := syscall.Syscall(syscall.SYS_IOPRIO_GET, ioprioWhoProcess, uintptr(tid), 0)
	if errno != 0 {
		return ioPriority{}, fmt.Errorf("store: ioprio_get(%d): %w", tid, errno)
	}
	return ioPriority{class: int(v >> ioprioClassShift), level: int(v & (1<<ioprioClassShift - 1))}, nil
}
