package store

import (
	"os"
	"syscall"
)

// datasync makes f's data durable with fdatasync(2), as SQLite itself
// syncs its WAL on Linux: it writes back the data and whatever metadata
// reading the data needs (the size, when the WAL grew), but not the
// modification time, which fsync(2) would write as an extra inode block on
// every sync.
func datasync(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if err != syscall.EINTR { //nolint:errorlint // a raw errno
			if err != nil {
				return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: err}
			}
			return nil
		}
	}
}
