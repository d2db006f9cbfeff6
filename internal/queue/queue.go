// Package queue keeps the calls of a distributed run, and tuning jobs, in
// PostgreSQL with River, so that any number of `tunelab worker` processes,
// on any machines that reach the database, drain them. It implements
// eval.Queue for the coordinator and feeds an eval.Executor (and a Tuner)
// in each worker. River's tables
// live in the store's own schema, beside tunelab's.
package queue

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/tunelab/tunelab/internal/eval"
	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/store/postgres"
)

// Name is the River queue tunelab's calls go through.
const Name = "tunelab_calls"

// callArgs is a queued call as River stores it.
type callArgs struct {
	eval.Call
}

func (callArgs) Kind() string { return "tunelab_call" }

// unfinished are the states in which a call counts as queued: enqueueing
// it again while it is in one of them adds nothing. A finished call may be
// queued again (a coordinator retrying a failed call); the worker then
// answers from the response cache if it was answered before.
var unfinished = []rivertype.JobState{
	rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
	rivertype.JobStateRetryable, rivertype.JobStateScheduled,
}

func (callArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{
		Queue:       Name,
		MaxAttempts: maxAttempts,
		UniqueOpts:  river.UniqueOpts{ByArgs: true, ByState: unfinished},
	}
}

// maxAttempts bounds how often a call whose worker died or failed to save
// is taken again. Model errors do not count: they are results.
const maxAttempts = 8

// Options configure a Queue.
type Options struct {
	// Exec runs calls in this process; nil makes a queue that only enqueues
	// and follows (a coordinator that leaves the work to workers).
	Exec *eval.Executor
	// Concurrency is how many calls this process runs at once (with Exec).
	Concurrency int
	// RescueAfter is how long a call may stay taken before it is judged to
	// belong to a dead worker and given to another; 0 means 10 minutes. It
	// must exceed the longest a call can take, retries included: a call
	// still running at nine tenths of it is stopped and retried.
	RescueAfter time.Duration
	// Done, when set, is told of every call this process finished.
	Done func(res lab.CallResult, err error)
	// Logger receives River's own messages; nil discards them.
	Logger *slog.Logger
	// Tuner trains queued tuning jobs in this process, TuneSlots at once
	// (none when either is unset).
	Tuner     Tuner
	TuneSlots int
}

// Queue is a connection to the queue in one PostgreSQL schema.
type Queue struct {
	pool   *pgxpool.Pool
	client *river.Client[pgx.Tx]
	schema string
	where  string
	works  bool
}

// Open connects to the PostgreSQL database dsn names (the store's DSN,
// schema=NAME included), brings River's tables up to date in that schema
// and, when opts.Exec is set, prepares to work calls once Start is called.
func Open(ctx context.Context, dsn string, opts Options) (*Queue, error) {
	conn, schema, err := postgres.SplitSchema(dsn)
	if err != nil {
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig(conn)
	if err != nil {
		return nil, fmt.Errorf("open queue: %w", err)
	}
	// River and tunelab share the schema; the search path makes River's
	// unqualified names find it.
	cfg.ConnConfig.RuntimeParams["search_path"] = pgx.Identifier{schema}.Sanitize()
	if opts.Concurrency > 0 && cfg.MaxConns < int32(opts.Concurrency)+4 {
		cfg.MaxConns = int32(opts.Concurrency) + 4
	}
	q := &Queue{schema: schema, where: fmt.Sprintf("queue in postgres %s:%d/%s schema %s", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database, schema)}
	if q.pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		return nil, fmt.Errorf("open %s: %w", q.where, err)
	}
	if err := q.migrate(ctx); err != nil {
		q.pool.Close()
		return nil, err
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	rescue := opts.RescueAfter
	if rescue <= 0 {
		rescue = 10 * time.Minute
	}
	// Every client knows the call's kind, working or not: a client that
	// leads maintenance discards stuck jobs of kinds it does not know.
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, &worker{exec: opts.Exec, done: opts.Done}); err != nil {
		q.pool.Close()
		return nil, fmt.Errorf("open %s: %w", q.where, err)
	}
	if err := river.AddWorkerSafely(workers, &tuneWorker{tuner: opts.Tuner, slice: rescue / 2}); err != nil {
		q.pool.Close()
		return nil, fmt.Errorf("open %s: %w", q.where, err)
	}
	rc := &river.Config{
		Schema:  schema,
		Logger:  logger,
		Workers: workers,
		// River rescues a taken job only once its timeout has passed as
		// well, so the timeout sits just under the rescue horizon. A call
		// bounds its own time (the provider's timeout and retries) well
		// within it.
		JobTimeout:           rescue * 9 / 10,
		RescueStuckJobsAfter: rescue,
		MaxAttempts:          maxAttempts,
		RetryPolicy:          retryPolicy{},
	}
	rc.Queues = map[string]river.QueueConfig{}
	if opts.Exec != nil && opts.Concurrency > 0 {
		rc.Queues[Name] = river.QueueConfig{MaxWorkers: opts.Concurrency}
	}
	if opts.Tuner != nil && opts.TuneSlots > 0 {
		rc.Queues[TuneName] = river.QueueConfig{MaxWorkers: opts.TuneSlots}
	}
	if len(rc.Queues) > 0 {
		rc.FetchCooldown = 20 * time.Millisecond
		rc.FetchPollInterval = 500 * time.Millisecond
		q.works = true
	} else {
		rc.Queues = nil
	}
	if q.client, err = river.NewClient(riverpgxv5.New(q.pool), rc); err != nil {
		q.pool.Close()
		return nil, fmt.Errorf("open %s: %w", q.where, err)
	}
	return q, nil
}

// migrate brings River's tables up to date under an advisory lock, so
// workers starting together take turns. The lock is held on a connection
// of its own: River applies each version in its own transaction (a later
// version uses an enum value an earlier one adds, which PostgreSQL refuses
// within one transaction).
func (q *Queue) migrate(ctx context.Context) error {
	m, err := rivermigrate.New(riverpgxv5.New(q.pool), &rivermigrate.Config{Schema: q.schema, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return fmt.Errorf("open %s: %w", q.where, err)
	}
	conn, err := q.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("open %s: %w", q.where, err)
	}
	defer conn.Release()
	h := fnv.New64a()
	h.Write([]byte("tunelab river migrate " + q.schema))
	key := int64(h.Sum64())
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, key); err != nil {
		return fmt.Errorf("open %s: lock for migration: %w", q.where, err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, key) //nolint:errcheck // the lock also ends with the session
	// CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege even when
	// the schema exists, which a team may not grant a worker's user.
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, q.schema).Scan(&exists); err != nil {
		return fmt.Errorf("open %s: %w", q.where, err)
	}
	if !exists {
		if _, err := conn.Exec(ctx, `CREATE SCHEMA `+pgx.Identifier{q.schema}.Sanitize()); err != nil {
			return fmt.Errorf("open %s: create schema: %w", q.where, err)
		}
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("open %s: migrate River's tables: %w", q.where, err)
	}
	return nil
}

// Start begins working calls (when the queue was opened with Exec).
func (q *Queue) Start(ctx context.Context) error {
	if !q.works {
		return nil
	}
	if err := q.client.Start(ctx); err != nil {
		return fmt.Errorf("start %s: %w", q.where, err)
	}
	return nil
}

// Stop stops taking calls and waits up to grace for those running to
// finish; calls still running then are abandoned, to be taken again.
func (q *Queue) Stop(grace time.Duration) error {
	if !q.works {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	err := q.client.Stop(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		hard, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel2()
		err = q.client.StopAndCancel(hard)
	}
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("stop %s: %w", q.where, err)
	}
	return nil
}

// Close releases the connections. Stop first if the queue works calls.
func (q *Queue) Close() { q.pool.Close() }

// batch bounds one insert's parameters well below PostgreSQL's limit.
const batch = 1000

// Enqueue adds calls, each at most once while it is unfinished.
func (q *Queue) Enqueue(ctx context.Context, calls []eval.Call) error {
	for len(calls) > 0 {
		n := min(len(calls), batch)
		params := make([]river.InsertManyParams, n)
		for i, c := range calls[:n] {
			params[i] = river.InsertManyParams{Args: callArgs{c}}
		}
		if err := insertRetrying(ctx, func() error {
			_, err := q.client.InsertMany(ctx, params)
			return err
		}); err != nil {
			return fmt.Errorf("enqueue into %s: %w", q.where, err)
		}
		calls = calls[n:]
	}
	return nil
}

// insertRetrying runs insert again when PostgreSQL chose it as a deadlock
// victim or failed it for serialization. A unique insert locks the rows of
// calls already queued, while workers finish those rows in their own
// order, so a coordinator re-queueing a run after a restart can deadlock
// with them; the insert is idempotent (a queued call is not queued
// twice), so asking again is safe and the other side has gone on.
func insertRetrying(ctx context.Context, insert func() error) error {
	const attempts = 6
	for a := 1; ; a++ {
		err := insert()
		if err == nil || !transient(err) {
			return err
		}
		if a == attempts {
			return fmt.Errorf("%w (still failing after %d attempts)", err, attempts)
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, context.Cause(ctx))
		case <-time.After(time.Duration(a) * 50 * time.Millisecond):
		}
	}
}

// transient reports PostgreSQL's errors that a retry of the same
// transaction can clear: deadlock_detected and serialization_failure.
func transient(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001")
}

// Counts says where a run's queued calls stand. It reads River's job table
// directly: River's listing API pages through rows, and a run may queue
// hundreds of thousands of calls.
func (q *Queue) Counts(ctx context.Context, runID string) (eval.QueueCounts, error) {
	// Containment (@>) can use River's GIN index on args; args->>'run'
	// would read every job in the table on each poll.
	rows, err := q.pool.Query(ctx, `SELECT state, count(*) FROM river_job
		WHERE kind = $1 AND args @> jsonb_build_object('run', $2::text) GROUP BY state`, callArgs{}.Kind(), runID)
	if err != nil {
		return eval.QueueCounts{}, fmt.Errorf("count calls in %s: %w", q.where, err)
	}
	defer rows.Close()
	var c eval.QueueCounts
	for rows.Next() {
		var state string
		var n int
		if err := rows.Scan(&state, &n); err != nil {
			return eval.QueueCounts{}, fmt.Errorf("count calls in %s: %w", q.where, err)
		}
		switch rivertype.JobState(state) {
		case rivertype.JobStateRunning:
			c.Running += n
		case rivertype.JobStateCompleted:
			c.Finished += n
		case rivertype.JobStateDiscarded, rivertype.JobStateCancelled:
			c.GaveUp += n
		default:
			c.Waiting += n
		}
	}
	if err := rows.Err(); err != nil {
		return eval.QueueCounts{}, fmt.Errorf("count calls in %s: %w", q.where, err)
	}
	return c, nil
}

// worker hands River's jobs to the executor.
type worker struct {
	river.WorkerDefaults[callArgs]
	exec *eval.Executor
	done func(lab.CallResult, error)
}

func (w *worker) Work(ctx context.Context, job *river.Job[callArgs]) error {
	if w.exec == nil {
		// Registered only so that this client knows the kind; it takes no jobs.
		return errors.New("this process does not run calls")
	}
	res, err := w.exec.Execute(ctx, job.Args.Call)
	if w.done != nil {
		w.done(res, err)
	}
	switch {
	case errors.Is(err, eval.ErrRunCanceled):
		return river.JobCancel(err)
	case err != nil:
		return err
	}
	return nil
}

// retryPolicy retries a call whose worker failed it soon: the usual cause
// is a worker that died or lost the database, and another worker is ready.
type retryPolicy struct{}

func (retryPolicy) NextRetry(job *rivertype.JobRow) time.Time {
	return time.Now().Add(time.Duration(min(job.Attempt, 10)) * time.Second)
}
