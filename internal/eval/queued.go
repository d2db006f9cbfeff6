package eval

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tunelab/tunelab/internal/lab"
)

// Call is one call of a distributed run, as it waits in the queue: enough
// for a worker holding the same lab to find the candidate, the case and the
// repeat. The JSON names are short because a run queues one per call.
type Call struct {
	Run       string `json:"run"`
	Candidate string `json:"cand"`
	Case      string `json:"case"`
	Repeat    int    `json:"rep"`
}

// Queue holds a distributed run's calls until workers take them;
// internal/queue keeps it in PostgreSQL with River.
type Queue interface {
	// Enqueue adds calls. A call already waiting or running is not added
	// a second time, so a coordinator that restarts can enqueue again.
	Enqueue(ctx context.Context, calls []Call) error
	// Counts says where the run's queued calls stand.
	Counts(ctx context.Context, runID string) (QueueCounts, error)
}

// QueueCounts says where a run's queued calls stand.
type QueueCounts struct {
	Waiting  int // not yet taken, or waiting to be retried
	Running  int // taken by a worker
	Finished int // answered (or failed) and recorded
	// GaveUp are calls the queue stopped retrying: their worker failed
	// them too often (not a model error, which is recorded as a result),
	// or the run was canceled.
	GaveUp int
}

// Active is the number of calls still to finish.
func (c QueueCounts) Active() int { return c.Waiting + c.Running }

// Counter is a Progress that can be told a count outright: a distributed
// run learns how many calls finished, not which. done excludes the calls
// resumed from earlier runs.
type Counter interface {
	Set(done int)
}

// Distribute runs like Run, except that the calls go into q for workers,
// here or on other machines, to take; it saves the run, enqueues every call
// the store holds no successful result for, and follows the queue until
// none is left. A canceled context stops the following, not the run: the
// queued calls stay for the workers and the same command follows them again.
func (r *Runner) Distribute(ctx context.Context, run lab.RunInfo, targets []Target, cases []lab.Example, q Queue, poll time.Duration) (Outcome, error) {
	now := r.now()
	if poll <= 0 {
		poll = 500 * time.Millisecond
	}
	run, jobs, out, err := r.prepare(ctx, run, targets, cases, now)
	if err != nil {
		return out, err
	}
	calls := make([]Call, len(jobs))
	for i, j := range jobs {
		calls[i] = Call{Run: run.ID, Candidate: j.target.Candidate.ID, Case: j.ex.ID, Repeat: j.repeat}
	}
	if err := q.Enqueue(ctx, calls); err != nil {
		return out, fmt.Errorf("queue the calls of run %s: %w", run.ID, err)
	}
	if r.Progress != nil {
		r.Progress.Start(out.Total, out.Resumed)
		defer r.Progress.Finish()
	}
	models := map[string]string{} // candidate id -> model
	for _, t := range targets {
		models[t.Candidate.ID] = t.Candidate.Model
	}
	watch := newFailWatch(r.failFast(), models)
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for {
		counts, err := q.Counts(ctx, run.ID)
		if err != nil {
			if ctx.Err() != nil {
				out.Canceled = true
				return out, nil
			}
			return out, fmt.Errorf("follow run %s: %w", run.ID, err)
		}
		if c, ok := r.Progress.(Counter); ok {
			c.Set(max(out.Total-out.Resumed-counts.Active(), 0))
		}
		if counts.Active() == 0 {
			break
		}
		if !watch.settled() {
			results, err := r.Store.Results(ctx, run.ID)
			if err != nil && ctx.Err() == nil {
				return out, fmt.Errorf("load results of run %s: %w", run.ID, err)
			}
			if mf := watch.check(results); mf != nil {
				// Workers check the run's status and drop its calls.
				run.Status, run.UpdatedAt = lab.RunCanceled, now()
				if err := r.Store.SaveRun(context.WithoutCancel(ctx), run); err != nil {
					return out, fmt.Errorf("cancel run %s: %w", run.ID, err)
				}
				return out, mf
			}
		}
		select {
		case <-ctx.Done():
			out.Canceled = true
			return out, nil
		case <-tick.C:
		}
	}
	results, err := r.Store.Results(ctx, run.ID)
	if err != nil {
		return out, fmt.Errorf("load results of run %s: %w", run.ID, err)
	}
	pending := make(map[lab.CallKey]bool, len(calls))
	for _, c := range calls {
		pending[lab.CallKey{Candidate: c.Candidate, Case: c.Case, Repeat: c.Repeat}] = true
	}
	for _, res := range results {
		if !pending[res.Key()] {
			continue
		}
		delete(pending, res.Key())
		switch {
		case res.Cached:
			out.Cached++
		default:
			out.Called++
		}
		if res.Error != "" {
			out.Errors++
		}
	}
	if len(pending) > 0 {
		return out, fmt.Errorf("run %s: the queue gave up on %d calls (their workers failed them too often); run the same command again to retry them", run.ID, len(pending))
	}
	run.Status, run.UpdatedAt = lab.RunDone, now()
	if err := r.Store.SaveRun(context.WithoutCancel(ctx), run); err != nil {
		return out, fmt.Errorf("save run %s: %w", run.ID, err)
	}
	return out, nil
}

// failWatch applies the fail-fast rule to a distributed run, whose
// results arrive in the store rather than through the runner.
type failWatch struct {
	limit  int
	models map[string]string
	ok     map[string]bool
}

func newFailWatch(limit int, models map[string]string) *failWatch {
	return &failWatch{limit: limit, models: models, ok: map[string]bool{}}
}

func (f *failWatch) settled() bool {
	for _, m := range f.models {
		if !f.ok[m] {
			return false
		}
	}
	return true
}

func (f *failWatch) check(results []lab.CallResult) *ModelFailedError {
	bad := map[string]int{}
	last := map[string]string{}
	for _, r := range results {
		m := f.models[r.CandidateID]
		if r.Error == "" {
			f.ok[m] = true
			continue
		}
		bad[m]++
		last[m] = r.Error
	}
	for m, n := range bad {
		if !f.ok[m] && n >= f.limit {
			return &ModelFailedError{Model: m, Calls: n, Err: last[m]}
		}
	}
	return nil
}

// ErrRunCanceled says a queued call belongs to a run that was canceled
// (its coordinator found a model failing every call): drop the call.
var ErrRunCanceled = errors.New("the run was canceled")

// LabMismatchError says a worker's lab is not the one a run was started
// in, so its answers would not be the run's.
type LabMismatchError struct {
	Run string
}

func (e *LabMismatchError) Error() string {
	return fmt.Sprintf("run %s was started in a lab whose data, scorers, repeats or local model files differ from this worker's: run the worker in a copy of the same lab (same tunelab.yaml, data and model files)", e.Run)
}

// Prepared is a run made runnable in a worker's lab.
type Prepared struct {
	Targets map[string]*Target     // by candidate id
	Cases   map[string]lab.Example // by case id
}

// Executor runs queued calls in a worker. Runner supplies the store, the
// scorers and the response cache; Prepare turns a run into targets and
// cases in the worker's own lab, or says the lab is not the run's.
type Executor struct {
	Runner  *Runner
	Prepare func(ctx context.Context, run lab.RunInfo) (*Prepared, error)
	// Recheck is how long a run's status is trusted before it is read
	// again; 0 means 2 seconds.
	Recheck time.Duration
	// Idle is how long a run's prepared targets and cases are kept after
	// its last call; 0 means 10 minutes. A worker outlives many runs, and
	// would otherwise hold every one it ever served.
	Idle time.Duration

	mu   sync.Mutex
	runs map[string]*execRun
}

type execRun struct {
	once    sync.Once
	info    lab.RunInfo
	checked time.Time
	used    time.Time // the last call's start; guarded by Executor.mu
	status  string    // refreshed every Recheck; guarded by Executor.mu
	prep    *Prepared
	err     error
}

// Execute runs one call and saves its result, which it returns. A call
// that was recorded before (its job came back after a worker died between
// saving and acknowledging) is answered from the response cache and saved
// again over the same key, so it is never recorded twice.
func (e *Executor) Execute(ctx context.Context, c Call) (lab.CallResult, error) {
	er, err := e.run(ctx, c.Run)
	if err != nil {
		return lab.CallResult{}, err
	}
	t := er.prep.Targets[c.Candidate]
	ex, ok := er.prep.Cases[c.Case]
	if t == nil || !ok {
		return lab.CallResult{}, &LabMismatchError{Run: c.Run}
	}
	now := e.Runner.now()
	res, _, done := e.Runner.call(ctx, er.info, job{target: t, ex: ex, repeat: c.Repeat}, max(er.info.Repeats, 1), now)
	if !done {
		return lab.CallResult{}, fmt.Errorf("call %s/%s/%d: %w", c.Candidate, c.Case, c.Repeat, context.Cause(ctx))
	}
	if err := e.Runner.Store.SaveResult(ctx, res); err != nil {
		return res, fmt.Errorf("save result %s/%s/%d: %w", c.Candidate, c.Case, c.Repeat, err)
	}
	return res, nil
}

// evict forgets the runs that had no call for Idle. A call still using
// one keeps its pointer; a later call for that run prepares it again.
// Called with e.mu held.
func (e *Executor) evict(now time.Time) {
	idle := e.Idle
	if idle <= 0 {
		idle = 10 * time.Minute
	}
	for id, r := range e.runs {
		if now.Sub(r.used) > idle {
			delete(e.runs, id)
		}
	}
}

func (e *Executor) run(ctx context.Context, id string) (*execRun, error) {
	e.mu.Lock()
	if e.runs == nil {
		e.runs = map[string]*execRun{}
	}
	now := e.Runner.now()()
	e.evict(now)
	er := e.runs[id]
	if er == nil {
		er = &execRun{}
		e.runs[id] = er
	}
	er.used = now
	e.mu.Unlock()
	er.once.Do(func() {
		er.info, er.err = e.Runner.Store.Run(ctx, id)
		if er.err != nil {
			er.err = fmt.Errorf("load run %s: %w", id, er.err)
			return
		}
		er.checked, er.status = time.Now(), er.info.Status
		er.prep, er.err = e.Prepare(ctx, er.info)
	})
	if er.err != nil {
		e.mu.Lock()
		// A failure to read the store may be brief: try again next call.
		// A lab mismatch is kept, it will not change.
		var mm *LabMismatchError
		if !errors.As(er.err, &mm) && e.runs[id] == er {
			delete(e.runs, id)
		}
		e.mu.Unlock()
		return nil, er.err
	}
	recheck := e.Recheck
	if recheck <= 0 {
		recheck = 2 * time.Second
	}
	e.mu.Lock()
	stale := time.Since(er.checked) > recheck
	if stale {
		er.checked = time.Now() // one caller rereads; the rest go on
	}
	canceled := er.status == lab.RunCanceled
	e.mu.Unlock()
	if stale {
		info, err := e.Runner.Store.Run(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("load run %s: %w", id, err)
		}
		e.mu.Lock()
		er.status = info.Status
		e.mu.Unlock()
		canceled = info.Status == lab.RunCanceled
	}
	if canceled {
		return nil, ErrRunCanceled
	}
	return er, nil
}
