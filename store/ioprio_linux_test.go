package store

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"
)

func TestSetThreadIOPriority(t *testing.T) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
		before, err := threadIOPriority()
		if err != nil {
			t.Error(err)
			return
		}
		for _, p := range []ioPriority{{class: ioprioIdle}, {class: ioprioBestEffort, level: 7}, {class: ioprioBestEffort, level: 0}} {
			if err := setThreadIOPriority(p); err != nil {
				t.Errorf("setThreadIOPriority(%v): %v", p, err)
				continue
			}
			if got, err := threadIOPriority(); err != nil || got != p {
				t.Errorf("after setThreadIOPriority(%v): ioprio_get = %v, %v", p, got, err)
			}
		}
		if err := setThreadIOPriority(before); err != nil {
			t.Error(err)
		}
	}()
	<-done
	// Another thread of the process kept its own priority.
	if got, err := threadIOPriority(); err != nil || got.class == ioprioIdle {
		t.Errorf("this thread's priority = %v, %v; the other thread's leaked", got, err)
	}
}

// TestCheckpointerIOPriority checks, with ioprio_get on every thread of
// the process, that the checkpointer's thread runs at the tuning's
// priority and no other thread does.
func TestCheckpointerIOPriority(t *testing.T) {
	idle := ioPriority{class: ioprioIdle}
	idleThreads := func() []int {
		t.Helper()
		tasks, err := os.ReadDir("/proc/self/task")
		if err != nil {
			t.Fatal(err)
		}
		var tids []int
		for _, task := range tasks {
			tid, err := strconv.Atoi(task.Name())
			if err != nil {
				continue
			}
			if p, err := threadIOPriorityOf(tid); err == nil && p == idle {
				tids = append(tids, tid)
			}
		}
		return tids
	}
	if tids := idleThreads(); len(tids) != 0 {
		t.Fatalf("threads %v are idle before the store opens", tids)
	}
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "t.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	tune := defaultCkptTuning
	tune.ioprio = idle
	db.ckpt.tune.Store(&tune)
	// The checkpointer applies the tuning at its next round.
	var tids []int
	for deadline := time.Now().Add(10 * time.Second); len(tids) == 0 && time.Now().Before(deadline); {
		time.Sleep(checkpointInterval / 4)
		tids = idleThreads()
	}
	if len(tids) != 1 {
		t.Errorf("idle threads while the store is open: %v; want exactly the checkpointer's", tids)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// The checkpointer's thread ends with it (just after Close returns).
	for deadline := time.Now().Add(10 * time.Second); len(tids) != 0 && time.Now().Before(deadline); {
		tids = idleThreads()
		time.Sleep(time.Millisecond)
	}
	if len(tids) != 0 {
		t.Errorf("threads %v still idle after Close", tids)
	}
}
