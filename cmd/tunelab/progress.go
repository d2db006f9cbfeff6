package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/tunelab/tunelab/internal/lab"
)

// progress shows a bar with ETA on a terminal and nothing but a final line
// elsewhere (CI logs, pipes), where a redrawn bar is noise.
type progress struct {
	w     io.Writer
	label string
	tty   bool
	mu    sync.Mutex
	bar   *progressbar.ProgressBar
	start time.Time
	done  int
	errs  int
	prior int // calls done before this start
}

func newProgress(w io.Writer, quiet bool, label string) *progress {
	if quiet {
		return nil
	}
	return &progress{w: w, label: label, tty: isTerminal(w)}
}

// isTerminal says whether w is a terminal a bar can be redrawn on (not in
// CI, whose logs keep every redraw).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd())) && os.Getenv("CI") == ""
}

func (p *progress) Start(total, already int) {
	if p == nil {
		return
	}
	p.start = time.Now()
	p.prior = already
	if p.tty {
		p.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(p.w),
			progressbar.OptionSetDescription(p.label),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionShowElapsedTimeOnFinish(),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
		_ = p.bar.Set(already) // writing to a terminal; a failed redraw is harmless
	}
}

func (p *progress) Done(r lab.CallResult) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	if r.Error != "" {
		p.errs++
	}
	if p.bar != nil {
		_ = p.bar.Add(1)
	}
}

// Set is told how many calls are finished, for a run whose calls other
// processes make.
func (p *progress) Set(done int) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done = done
	if p.bar != nil {
		_ = p.bar.Set(p.prior + done)
	}
}

func (p *progress) Finish() {
	if p == nil {
		return
	}
	if p.bar != nil {
		_ = p.bar.Finish()
	}
	fmt.Fprintf(p.w, "%s: %d calls in %s (%d errors)\n", p.label, p.done, time.Since(p.start).Round(time.Millisecond), p.errs)
}
