package main

import (
	"bytes"
	"testing"
	"time"
)

func TestProgressPrintsOnlyASummaryWhenNotATerminal(t *testing.T) {
	var buf bytes.Buffer
	p := newProgress(&buf, "purged", 10)
	start := p.start
	p.now = func() time.Time { return start.Add(2 * time.Second) }
	p.Add(4)
	if buf.Len() != 0 {
		t.Fatalf("progress wrote %q before Done to a non-terminal", buf.String())
	}
	p.Add(6)
	p.Done()
	want := "purged [==============================] 100% 10/10 5/s\n"
	if buf.String() != want {
		t.Fatalf("got %q, want %q", buf.String(), want)
	}
}

func TestProgressLine(t *testing.T) {
	p := newProgress(nil, "imported", 0)
	p.done = 7
	if got := p.line(p.start); got != "imported 7" {
		t.Fatalf("unknown total: %q", got)
	}
	p.total, p.done = 100, 40
	if got := p.line(p.start.Add(time.Second)); got != "imported [============>                 ]  40% 40/100 40/s" {
		t.Fatalf("known total: %q", got)
	}
}
