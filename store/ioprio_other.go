//go:build !linux

package store

// ioPrioritySupported says whether setThreadIOPriority does anything here.
const ioPrioritySupported = false

// setThreadIOPriority does nothing elsewhere than Linux, which has no
// per-thread I/O priority to set.
func setThreadIOPriority(ioPriority) error { return nil }

// threadIOPriority reports the default priority elsewhere than Linux.
func threadIOPriority() (ioPriority, error) { return ioPriority{}, nil }
