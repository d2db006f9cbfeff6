package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/provider"
	"github.com/tunelab/tunelab/internal/store/internal/codec"
)

// Upserts rather than delete-and-insert: deleting a run cascades to its
// results.
const (
	upsertRun = `INSERT INTO runs (id, lab, dataset, candidates, cases, repeats, status,
		created_at, updated_at, primary_scorer, scorers, config_checksum)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
	ON CONFLICT (id) DO UPDATE SET lab = excluded.lab, dataset = excluded.dataset,
		candidates = excluded.candidates, cases = excluded.cases, repeats = excluded.repeats,
		status = excluded.status, created_at = excluded.created_at, updated_at = excluded.updated_at,
		primary_scorer = excluded.primary_scorer, scorers = excluded.scorers,
		config_checksum = excluded.config_checksum`

	runColumns = `id, lab, dataset, candidates, cases, repeats, status,
		created_at, updated_at, primary_scorer, scorers, config_checksum`

	upsertResult = `INSERT INTO results (run_id, candidate_id, case_id, repeat, output, answer,
		scores, pass, latency_ms, tokens_in, tokens_out, cost, cached, error, attempts, created_at, retrieved, error_kind)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
	ON CONFLICT (run_id, candidate_id, case_id, repeat) DO UPDATE SET
		output = excluded.output, answer = excluded.answer, scores = excluded.scores,
		pass = excluded.pass, latency_ms = excluded.latency_ms, tokens_in = excluded.tokens_in,
		tokens_out = excluded.tokens_out, cost = excluded.cost, cached = excluded.cached,
		error = excluded.error, attempts = excluded.attempts, created_at = excluded.created_at,
		retrieved = excluded.retrieved, error_kind = excluded.error_kind`

	upsertCache = `INSERT INTO cache (key, response, created_at) VALUES ($1, $2, $3)
	ON CONFLICT (key) DO UPDATE SET response = excluded.response, created_at = excluded.created_at`
)

// SaveRun creates or replaces a run's description; its results stay.
// Times are kept to the microsecond and read back in UTC.
func (s *Store) SaveRun(ctx context.Context, run lab.RunInfo) error {
	if err := codec.CheckRun(run); err != nil {
		return fmt.Errorf("save run: %w", err)
	}
	cands, err := codec.JSON(run.Candidates)
	if err != nil {
		return fmt.Errorf("save run %s: encode candidates: %w", run.ID, err)
	}
	scorers, err := codec.JSON(run.ScorerNames)
	if err != nil {
		return fmt.Errorf("save run %s: encode scorers: %w", run.ID, err)
	}
	_, err = s.pool.Exec(ctx, upsertRun, run.ID, run.Lab, run.Dataset, cands, run.Cases, run.Repeats,
		run.Status, run.CreatedAt, run.UpdatedAt, run.PrimaryScorer, scorers, run.ConfigChecksum)
	if err != nil {
		return fmt.Errorf("save run %s in %s: %w", run.ID, s.where, err)
	}
	return nil
}

// Run returns one run, or an error matching lab.ErrNotFound.
func (s *Store) Run(ctx context.Context, id string) (lab.RunInfo, error) {
	run, err := scanRun(s.pool.QueryRow(ctx, `SELECT `+runColumns+` FROM runs WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return lab.RunInfo{}, fmt.Errorf("run %s in %s: %w", id, s.where, lab.ErrNotFound)
	}
	if err != nil {
		return lab.RunInfo{}, fmt.Errorf("read run %s from %s: %w", id, s.where, err)
	}
	return run, nil
}

// Runs lists runs newest first (by CreatedAt; equal times by ID, descending).
func (s *Store) Runs(ctx context.Context) ([]lab.RunInfo, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+runColumns+` FROM runs ORDER BY created_at DESC, id DESC`)
	if err != nil {
		return nil, fmt.Errorf("list runs in %s: %w", s.where, err)
	}
	defer rows.Close()
	out := []lab.RunInfo{}
	for rows.Next() {
		run, err := scanRun(rows)
		if err != nil {
			return nil, fmt.Errorf("list runs in %s: %w", s.where, err)
		}
		out = append(out, run)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list runs in %s: %w", s.where, err)
	}
	return out, nil
}

func scanRun(row pgx.Row) (lab.RunInfo, error) {
	var run lab.RunInfo
	var cands, scorers string
	err := row.Scan(&run.ID, &run.Lab, &run.Dataset, &cands, &run.Cases, &run.Repeats, &run.Status,
		&run.CreatedAt, &run.UpdatedAt, &run.PrimaryScorer, &scorers, &run.ConfigChecksum)
	if err != nil {
		return run, err
	}
	if err := json.Unmarshal([]byte(cands), &run.Candidates); err != nil {
		return run, fmt.Errorf("run %s: decode candidates: %w", run.ID, err)
	}
	if err := json.Unmarshal([]byte(scorers), &run.ScorerNames); err != nil {
		return run, fmt.Errorf("run %s: decode scorers: %w", run.ID, err)
	}
	run.CreatedAt, run.UpdatedAt = utc(run.CreatedAt), utc(run.UpdatedAt)
	return run, nil
}

// SaveResult records one call in its own transaction; it returns after the
// server has committed it, which with PostgreSQL's default
// synchronous_commit=on means flushed to its WAL on disk. Concurrent
// callers use separate pooled connections, and the server groups their WAL
// flushes itself. A result for a run that was never saved fails with
// lab.ErrNotFound.
func (s *Store) SaveResult(ctx context.Context, r lab.CallResult) error {
	if err := codec.CheckResult(r); err != nil {
		return fmt.Errorf("save %s: %w", codec.Describe(r), err)
	}
	r = codec.CleanResult(r)
	scores, err := codec.Scores(r.Scores)
	if err != nil {
		return fmt.Errorf("save %s: encode scores: %w", codec.Describe(r), err)
	}
	_, err = s.pool.Exec(ctx, upsertResult, r.RunID, r.CandidateID, r.CaseID, r.Repeat, r.Output, r.Answer,
		scores, r.Pass, r.LatencyMS, r.TokensIn, r.TokensOut, r.Cost, r.Cached, r.Error, r.Attempts, r.CreatedAt,
		retrievedJSON(r.Retrieved), r.ErrorKind)
	switch {
	case err == nil:
		return nil
	case isForeignKey(err):
		return fmt.Errorf("save %s in %s: run %q has not been saved (SaveRun first): %w",
			codec.Describe(r), s.where, r.RunID, lab.ErrNotFound)
	default:
		return fmt.Errorf("save %s in %s: %w", codec.Describe(r), s.where, err)
	}
}

// Results returns a run's results ordered by candidate ID, case ID (both
// compared bytewise, as Go compares strings) and repeat. A run with no
// results, or no such run, gives an empty slice.
func (s *Store) Results(ctx context.Context, runID string) ([]lab.CallResult, error) {
	rows, err := s.pool.Query(ctx, `SELECT candidate_id, case_id, repeat, output, answer, scores,
		pass, latency_ms, tokens_in, tokens_out, cost, cached, error, attempts, created_at, retrieved, error_kind
		FROM results WHERE run_id = $1 ORDER BY candidate_id, case_id, repeat`, runID)
	if err != nil {
		return nil, fmt.Errorf("read results of run %s from %s: %w", runID, s.where, err)
	}
	defer rows.Close()
	out := []lab.CallResult{}
	for rows.Next() {
		r := lab.CallResult{RunID: runID}
		var scores, retrieved *string
		if err := rows.Scan(&r.CandidateID, &r.CaseID, &r.Repeat, &r.Output, &r.Answer, &scores,
			&r.Pass, &r.LatencyMS, &r.TokensIn, &r.TokensOut, &r.Cost, &r.Cached, &r.Error,
			&r.Attempts, &r.CreatedAt, &retrieved, &r.ErrorKind); err != nil {
			return nil, fmt.Errorf("read results of run %s from %s: %w", runID, s.where, err)
		}
		if retrieved != nil {
			if err := json.Unmarshal([]byte(*retrieved), &r.Retrieved); err != nil {
				return nil, fmt.Errorf("read %s from %s: decode retrieved chunks: %w", codec.Describe(r), s.where, err)
			}
		}
		if scores != nil {
			if err := json.Unmarshal([]byte(*scores), &r.Scores); err != nil {
				return nil, fmt.Errorf("read %s from %s: decode scores: %w", codec.Describe(r), s.where, err)
			}
		}
		r.CreatedAt = utc(r.CreatedAt)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read results of run %s from %s: %w", runID, s.where, err)
	}
	return out, nil
}

// CacheGet returns the response cached under key; ok is false on a miss.
func (s *Store) CacheGet(ctx context.Context, key string) (*provider.Response, bool, error) {
	var body string
	err := s.pool.QueryRow(ctx, `SELECT response FROM cache WHERE key = $1`, key).Scan(&body)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read cache in %s: %w", s.where, err)
	}
	var resp provider.Response
	if err := json.Unmarshal([]byte(body), &resp); err != nil {
		return nil, false, fmt.Errorf("read cache in %s: decode response for key %q: %w", s.where, key, err)
	}
	return &resp, true, nil
}

// CachePut stores resp under key, replacing any earlier response.
func (s *Store) CachePut(ctx context.Context, key string, resp *provider.Response) error {
	if resp == nil {
		return fmt.Errorf("cache put %q: nil response", key)
	}
	body, err := codec.JSON(resp)
	if err != nil {
		return fmt.Errorf("cache put %q: encode response: %w", key, err)
	}
	if _, err := s.pool.Exec(ctx, upsertCache, key, body, time.Now()); err != nil {
		return fmt.Errorf("cache put in %s: %w", s.where, err)
	}
	return nil
}

// retrievedJSON encodes a call's retrieved chunk ids as a JSON array, or
// NULL when the call retrieved nothing.
func retrievedJSON(ids []string) *string {
	if len(ids) == 0 {
		return nil
	}
	b, _ := json.Marshal(ids) // strings always marshal
	s := string(b)
	return &s
}
