package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/tunelab/tunelab/internal/finetune"
	"github.com/tunelab/tunelab/internal/queue"
	"github.com/tunelab/tunelab/internal/workspace"
)

// runTuneQueued puts the lab's local tuning job in the team's queue and
// follows it until a worker has trained it, then fetches the tuned model
// into this lab. A job finished before (here or by any worker) is reused.
func runTuneQueued(cmd *cobra.Command, w *workspace.Workspace, f tuneFlags, s finetune.Settings) error {
	ctx := cmd.Context()
	stderr, stdout := cmd.ErrOrStderr(), cmd.OutOrStdout()
	if err := needQueue(w); err != nil {
		return err
	}
	plan, err := finetune.PlanLab(w, s)
	if err != nil {
		return err
	}
	printTuneData(stderr, plan.Data, plan.Spec)
	id := plan.Spec.ID()
	done := func(job *finetune.Job, how string) error {
		fmt.Fprintf(stdout, "tuned %s: %s (job %s, %s)\nevaluate it: tunelab eval --model %s\n", s.Base, job.Model, job.ID, how, job.Model)
		return nil
	}
	if job := finetune.Finished(plan); job != nil {
		return done(job, "trained before, reused")
	}
	mirror := &finetune.Mirror{Store: w.Store}
	if job, err := mirror.PullResult(ctx, plan.Jobs, id, plan.ModelsDir); err != nil {
		return err
	} else if job != nil {
		return done(job, "trained by a worker, fetched from the store")
	}
	q, err := queue.Open(ctx, w.DSN, queue.Options{})
	if err != nil {
		return err
	}
	defer q.Close()
	raw, err := json.Marshal(s)
	if err != nil {
		return err
	}
	if err := q.EnqueueTune(ctx, queue.TuneJob{ID: id, Settings: raw}); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "queued job %s: a tunelab worker in a copy of this lab trains it (Ctrl-C stops following; the job stays queued)\n", id)
	bar := newTrainProgress(stderr, f.quiet, "tune")
	defer bar.finish()
	tick := time.NewTicker(f.poll)
	defer tick.Stop()
	worker := ""
	for {
		state, lastErr, err := q.TuneState(ctx, id)
		if err != nil {
			return err
		}
		st, ok, err := mirror.Status(ctx, id)
		if err != nil {
			return err
		}
		if ok && st.Progress != nil && st.Status == finetune.StatusRunning {
			bar.update(*st.Progress)
		}
		if ok && st.Worker != worker && st.Status == finetune.StatusRunning {
			worker = st.Worker
			bar.finish()
			fmt.Fprintf(stderr, "job %s: training on %s\n", id, worker)
		}
		switch state {
		case queue.TuneDone:
			bar.finish()
			job, err := mirror.PullResult(ctx, plan.Jobs, id, plan.ModelsDir)
			if err != nil {
				return err
			}
			if job == nil {
				return fmt.Errorf("job %s: the queue says it is done but the store holds no result; run the same command to queue it again", id)
			}
			r := job.Result
			return done(job, fmt.Sprintf("%d steps, %s, best validation loss %.4f at epoch %d; trained by %s", r.Steps,
				r.Duration.Round(time.Second), r.BestValid, r.BestEpoch, orDash(worker)))
		case queue.TuneCanceled:
			return fmt.Errorf("job %s was cancelled; run the same command to queue it again", id)
		case queue.TuneGaveUp:
			why := lastErr
			if ok && st.Error != "" {
				why = st.Error
			}
			return fmt.Errorf("job %s failed on the workers: %s", id, orDash(why))
		}
		select {
		case <-ctx.Done():
			bar.finish()
			fmt.Fprintf(stderr, "stopped following; job %s stays queued: run the same command to follow it again\n", id)
			return errInterrupted
		case <-tick.C:
		}
	}
}

// labTuner trains queued jobs in a worker's lab, one slice at a time,
// keeping the job's checkpoints and status in the store.
type labTuner struct {
	w       *workspace.Workspace
	threads int
	stderr  io.Writer
	// fatal hears of a job this lab cannot train (other data or model
	// files): the worker stops rather than fail every job it takes.
	fatal chan<- error
	// stopping ends when the worker starts to stop: training stops at a
	// checkpoint at once, while calls in flight get their grace period.
	stopping context.Context

	mu   sync.Mutex
	host string
	// plan is the last job planned: its next slice skips preparing the
	// data again.
	plan *finetune.Plan
}

// planFor plans the queued job in this lab, once per job.
func (t *labTuner) planFor(qj queue.TuneJob, s finetune.Settings) (*finetune.Plan, bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.plan != nil && t.plan.Spec.ID() == qj.ID {
		return t.plan, false, nil
	}
	plan, err := finetune.PlanLab(t.w, s)
	if err != nil {
		return nil, false, err
	}
	t.plan = plan
	return plan, true, nil
}

func (t *labTuner) Tune(ctx context.Context, qj queue.TuneJob, yieldAt time.Time) error {
	var s finetune.Settings
	if err := json.Unmarshal(qj.Settings, &s); err != nil {
		return fmt.Errorf("%w: job %s: unreadable settings: %v", queue.ErrPermanent, qj.ID, err)
	}
	plan, first, err := t.planFor(qj, s)
	if err == nil && plan.Spec.ID() != qj.ID {
		err = fmt.Errorf("this lab plans job %s from the same settings, so its data, prompt or base model file differ from the lab that queued it; run the worker in a copy of that lab", plan.Spec.ID())
	}
	if err != nil {
		err = fmt.Errorf("tuning job %s: %w", qj.ID, err)
		select {
		case t.fatal <- err:
		default:
		}
		return err
	}
	// Pushes outlive the slice: the checkpoint an interruption writes must
	// still reach the store.
	bg := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
	}
	m := &finetune.Mirror{Store: t.w.Store}
	if n, err := m.PullCheckpoints(ctx, plan.Jobs, qj.ID); err != nil {
		return fmt.Errorf("tuning job %s: %w", qj.ID, err)
	} else if n > 0 {
		fmt.Fprintf(t.stderr, "worker: job %s: resuming from the store's checkpoint\n", qj.ID)
	}
	publish := func(st finetune.RemoteStatus) error {
		c, done := bg()
		defer done()
		st.Job, st.Worker = qj.ID, t.hostName()
		return m.PushStatus(c, st)
	}
	if err := publish(finetune.RemoteStatus{Status: finetune.StatusRunning}); err != nil {
		return fmt.Errorf("tuning job %s: %w", qj.ID, err)
	}
	if first {
		fmt.Fprintf(t.stderr, "worker: training job %s (%s)\n", qj.ID, plan.Spec.Base)
	}
	req := plan.Request(t.threads)
	req.YieldAt = yieldAt
	var last time.Time
	var statusErr error
	var latest finetune.Progress
	req.OnProgress = func(p finetune.Progress) {
		latest = p
		if time.Since(last) < 2*time.Second || statusErr != nil {
			return
		}
		last = time.Now()
		statusErr = publish(finetune.RemoteStatus{Status: finetune.StatusRunning, Progress: &p})
	}
	req.OnCheckpoint = func() error {
		c, done := bg()
		defer done()
		return m.PushCheckpoints(c, plan.Jobs, qj.ID)
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if t.stopping != nil {
		defer context.AfterFunc(t.stopping, cancel)()
	}
	job, err := finetune.RunLocal(runCtx, req)
	if err != nil {
		switch {
		case queue.Canceled(ctx):
			err = errors.Join(err, publish(finetune.RemoteStatus{Status: finetune.StatusCancelled}))
		case runCtx.Err() != nil, errors.Is(err, finetune.ErrYielded):
			// A slice ended or the worker is stopping: the next slice, here
			// or elsewhere, resumes from the checkpoint.
			fmt.Fprintf(t.stderr, "worker: job %s: checkpoint at step %d of %d; back in the queue for the next slice\n", qj.ID, latest.Step, latest.Steps)
			err = errors.Join(fmt.Errorf("%w: %w", queue.ErrYield, err), publish(finetune.RemoteStatus{Status: finetune.StatusInterrupted}))
		default:
			err = errors.Join(fmt.Errorf("%w: %w", queue.ErrPermanent, err), publish(finetune.RemoteStatus{Status: finetune.StatusFailed, Error: err.Error()}))
		}
		return fmt.Errorf("tuning job %s: %w", qj.ID, err)
	}
	pushCtx, pushed := bg()
	defer pushed()
	if err := m.PushResult(pushCtx, job, plan.ModelsDir); err != nil {
		return err
	}
	if err := publish(finetune.RemoteStatus{Status: finetune.StatusSucceeded}); err != nil {
		return err
	}
	fmt.Fprintf(t.stderr, "worker: job %s done: %s\n", qj.ID, job.Model)
	if statusErr != nil {
		// Training did not depend on it, but the machine following the job
		// saw no progress: say why.
		fmt.Fprintf(t.stderr, "worker: job %s: progress could not be published: %v\n", qj.ID, statusErr)
	}
	return nil
}

func (t *labTuner) hostName() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.host == "" {
		h, err := os.Hostname()
		if err != nil {
			h = "unknown host"
		}
		t.host = fmt.Sprintf("%s (process %d)", h, os.Getpid())
	}
	return t.host
}

// cancelQueued cancels a job in the lab's queue, when the lab's store has
// one; it says whether there was a queued job to cancel.
func cancelQueued(cmd *cobra.Command, id, storeDSN string) (bool, error) {
	cfgPath, _ := cmd.Flags().GetString("config")
	w, err := workspace.Open(cmd.Context(), cfgPath, workspace.Options{StoreDSN: storeDSN})
	if err != nil {
		return false, err
	}
	defer w.Close()
	if needQueue(w) != nil {
		return false, nil
	}
	q, err := queue.Open(cmd.Context(), w.DSN, queue.Options{})
	if err != nil {
		return false, err
	}
	defer q.Close()
	return q.CancelTune(cmd.Context(), id)
}
