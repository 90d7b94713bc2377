//go:build !linux

package store_test

import "os"

// datasync flushes f; elsewhere than Linux, a full fsync.
func datasync(f *os.File) error { return f.Sync() }
