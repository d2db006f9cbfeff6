package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// TuneName is the River queue tuning jobs go through, apart from calls: a
// training job takes every core, so a worker runs few of them at once
// (TuneSlots) whatever its call concurrency.
const TuneName = "tunelab_tunes"

// TuneJob is a queued tuning job: the id the machine that queued it
// planned, and the settings a worker plans it from again (as JSON, so the
// queue does not depend on the trainer).
type TuneJob struct {
	ID       string          `json:"job" river:"unique"`
	Settings json.RawMessage `json:"settings"`
}

func (TuneJob) Kind() string { return "tunelab_tune" }

func (TuneJob) InsertOpts() river.InsertOpts {
	return river.InsertOpts{
		Queue:       TuneName,
		MaxAttempts: maxAttempts,
		UniqueOpts:  river.UniqueOpts{ByArgs: true, ByState: unfinished},
	}
}

// Tuner trains queued jobs in a worker. Tune should stop at a checkpoint
// soon after yieldAt, returning ErrYield, and must leave the job's progress
// where another worker can resume it (a checkpoint in the store) before it
// returns, whether it finished, yielded, failed or was stopped.
type Tuner interface {
	Tune(ctx context.Context, job TuneJob, yieldAt time.Time) error
}

// ErrPermanent marks a tuning failure that another attempt would repeat
// (the loss diverged, the data is unusable): the job is given up at once.
var ErrPermanent = errors.New("permanent failure")

// ErrYield marks a Tuner that stopped at a checkpoint before the job was
// done (its slice ended, or its worker is shutting down): the job goes
// back to the queue at once, for any worker, at no cost in attempts.
var ErrYield = errors.New("stopped at a checkpoint")

// tuneWorker hands River's tuning jobs to the Tuner in slices. River
// judges a job stuck once it has run longer than the rescue horizon, and
// training can take hours; so a worker trains for at most a slice, leaves a
// checkpoint, and puts the job back (a snooze, which costs no attempt). The
// next slice resumes from that checkpoint, on this worker or another.
type tuneWorker struct {
	river.WorkerDefaults[TuneJob]
	tuner Tuner
	slice time.Duration
}

func (w *tuneWorker) Work(ctx context.Context, job *river.Job[TuneJob]) error {
	if w.tuner == nil {
		return errors.New("this process does not train")
	}
	err := w.tuner.Tune(ctx, job.Args, time.Now().Add(w.slice))
	switch {
	case err == nil:
		return nil
	case Canceled(ctx):
		return river.JobCancel(err)
	case ctx.Err() != nil, errors.Is(err, ErrYield):
		// The slice ended or this worker is stopping: the checkpoint is
		// in the store, so the job is free for any worker right away.
		return river.JobSnooze(0)
	case errors.Is(err, ErrPermanent):
		return river.JobCancel(err)
	}
	return err
}

// EnqueueTune queues a tuning job, unless it is queued and unfinished.
func (q *Queue) EnqueueTune(ctx context.Context, job TuneJob) error {
	if err := insertRetrying(ctx, func() error {
		_, err := q.client.Insert(ctx, job, nil)
		return err
	}); err != nil {
		return fmt.Errorf("enqueue tuning job %s into %s: %w", job.ID, q.where, err)
	}
	return nil
}

// Tune states as the machine that queued a job sees them.
const (
	TuneWaiting  = "waiting"
	TuneRunning  = "running"
	TuneDone     = "done"
	TuneGaveUp   = "gave up"
	TuneCanceled = "cancelled"
	TuneNotFound = "not queued"
)

// TuneState says where the newest queued instance of a tuning job stands,
// with River's last recorded error for it.
func (q *Queue) TuneState(ctx context.Context, id string) (state, lastErr string, err error) {
	var riverState string
	err = q.pool.QueryRow(ctx, `SELECT state, coalesce(errors[array_upper(errors, 1)]->>'error', '') FROM river_job
		WHERE kind = $1 AND args @> jsonb_build_object('job', $2::text) ORDER BY id DESC LIMIT 1`,
		TuneJob{}.Kind(), id).Scan(&riverState, &lastErr)
	if errors.Is(err, pgx.ErrNoRows) {
		return TuneNotFound, "", nil
	}
	if err != nil {
		return "", "", fmt.Errorf("read tuning job %s from %s: %w", id, q.where, err)
	}
	switch rivertype.JobState(riverState) {
	case rivertype.JobStateRunning:
		return TuneRunning, lastErr, nil
	case rivertype.JobStateCompleted:
		return TuneDone, lastErr, nil
	case rivertype.JobStateDiscarded:
		return TuneGaveUp, lastErr, nil
	case rivertype.JobStateCancelled:
		if strings.Contains(lastErr, ErrPermanent.Error()) {
			return TuneGaveUp, lastErr, nil
		}
		return TuneCanceled, lastErr, nil
	}
	return TuneWaiting, lastErr, nil
}

// CancelTune cancels the newest queued instance of a tuning job; a worker
// training it stops at its next step. It says whether there was one to
// cancel.
func (q *Queue) CancelTune(ctx context.Context, id string) (bool, error) {
	var riverID int64
	err := q.pool.QueryRow(ctx, `SELECT id FROM river_job WHERE kind = $1 AND args @> jsonb_build_object('job', $2::text)
		AND state NOT IN ('completed', 'discarded', 'cancelled') ORDER BY id DESC LIMIT 1`, TuneJob{}.Kind(), id).Scan(&riverID)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("cancel tuning job %s in %s: %w", id, q.where, err)
	}
	if _, err := q.client.JobCancel(ctx, riverID); err != nil {
		return false, fmt.Errorf("cancel tuning job %s in %s: %w", id, q.where, err)
	}
	return true, nil
}

// Canceled says whether ctx ended because someone canceled the tuning job
// it was given for (CancelTune), rather than a slice ending or the worker
// stopping.
func Canceled(ctx context.Context) bool {
	return errors.Is(context.Cause(ctx), river.ErrJobCancelledRemotely)
}
