package store_test

import (
	"os"
	"syscall"
)

// datasync flushes f's data (and the metadata needed to read it back),
// as SQLite's own syncs do on Linux.
func datasync(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }
