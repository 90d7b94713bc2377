package main

import (
	"fmt"
	"io"
	"os"
	"time"
)

// progress reports how far a long command (purge, import) has got. On a
// terminal it redraws one line, at most every redrawEvery; elsewhere (a
// pipe, a log file, a test's buffer) it stays silent until Done, which
// prints one summary line either way, so scripts see a stable output.
type progress struct {
	w     io.Writer
	tty   bool
	label string
	total int64 // 0 when unknown
	done  int64
	start time.Time
	last  time.Time
	now   func() time.Time
}

const redrawEvery = 100 * time.Millisecond

// newProgress starts a progress report of total units (0: unknown) on w.
func newProgress(w io.Writer, label string, total int64) *progress {
	p := &progress{w: w, tty: isTerminal(w), label: label, total: total, now: time.Now}
	p.start = p.now()
	return p
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// Add records n more units done and redraws the line when it is due.
func (p *progress) Add(n int64) {
	p.done += n
	if !p.tty {
		return
	}
	if now := p.now(); now.Sub(p.last) >= redrawEvery {
		p.last = now
		fmt.Fprintf(p.w, "\r\033[K%s", p.line(now))
	}
}

// Done ends the report with a final line.
func (p *progress) Done() {
	if p.tty {
		fmt.Fprint(p.w, "\r\033[K")
	}
	fmt.Fprintln(p.w, p.line(p.now()))
}

// line renders "label [=====>    ] 40% 4000/10000 1234/s" (no bar and no
// percentage when the total is unknown).
func (p *progress) line(now time.Time) string {
	rate := ""
	if d := now.Sub(p.start).Seconds(); d > 0 {
		rate = fmt.Sprintf(" %.0f/s", float64(p.done)/d)
	}
	if p.total <= 0 {
		return fmt.Sprintf("%s %d%s", p.label, p.done, rate)
	}
	const width = 30
	frac := min(float64(p.done)/float64(p.total), 1)
	filled := int(frac * width)
	bar := make([]byte, width)
	for i := range bar {
		switch {
		case i < filled:
			bar[i] = '='
		case i == filled:
			bar[i] = '>'
		default:
			bar[i] = ' '
		}
	}
	return fmt.Sprintf("%s [%s] %3.0f%% %d/%d%s", p.label, bar, frac*100, p.done, p.total, rate)
}
