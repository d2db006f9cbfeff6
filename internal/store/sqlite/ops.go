package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/provider"
	"github.com/tunelab/tunelab/internal/store/internal/codec"
)

// Upserts rather than INSERT OR REPLACE: REPLACE deletes the old row first,
// which for a run would cascade to every one of its results.
const (
	upsertRun = `INSERT INTO runs (id, lab, dataset, candidates, cases, repeats, status,
		created_at, updated_at, primary_scorer, scorers, config_checksum)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (id) DO UPDATE SET lab = excluded.lab, dataset = excluded.dataset,
		candidates = excluded.candidates, cases = excluded.cases, repeats = excluded.repeats,
		status = excluded.status, created_at = excluded.created_at, updated_at = excluded.updated_at,
		primary_scorer = excluded.primary_scorer, scorers = excluded.scorers,
		config_checksum = excluded.config_checksum`

	runColumns = `id, lab, dataset, candidates, cases, repeats, status,
		created_at, updated_at, primary_scorer, scorers, config_checksum`

	upsertResult = `INSERT INTO results (run_id, candidate_id, case_id, repeat, output, answer,
		scores, pass, latency_ms, tokens_in, tokens_out, cost, cached, error, attempts, created_at, retrieved, error_kind)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (run_id, candidate_id, case_id, repeat) DO UPDATE SET
		output = excluded.output, answer = excluded.answer, scores = excluded.scores,
		pass = excluded.pass, latency_ms = excluded.latency_ms, tokens_in = excluded.tokens_in,
		tokens_out = excluded.tokens_out, cost = excluded.cost, cached = excluded.cached,
		error = excluded.error, attempts = excluded.attempts, created_at = excluded.created_at,
		retrieved = excluded.retrieved, error_kind = excluded.error_kind`

	upsertCache = `INSERT INTO cache (key, response, created_at) VALUES (?, ?, ?)
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
	_, err = s.w.ExecContext(ctx, upsertRun, run.ID, run.Lab, run.Dataset, cands, run.Cases, run.Repeats,
		run.Status, micros(run.CreatedAt), micros(run.UpdatedAt), run.PrimaryScorer, scorers, run.ConfigChecksum)
	if err != nil {
		return fmt.Errorf("save run %s in %s: %w", run.ID, s.path, err)
	}
	return nil
}

// Run returns one run, or an error matching lab.ErrNotFound.
func (s *Store) Run(ctx context.Context, id string) (lab.RunInfo, error) {
	row := s.r.QueryRowContext(ctx, `SELECT `+runColumns+` FROM runs WHERE id = ?`, id)
	run, err := scanRun(row)
	if errors.Is(err, sql.ErrNoRows) {
		return lab.RunInfo{}, fmt.Errorf("run %s in %s: %w", id, s.path, lab.ErrNotFound)
	}
	if err != nil {
		return lab.RunInfo{}, fmt.Errorf("read run %s from %s: %w", id, s.path, err)
	}
	return run, nil
}

// Runs lists runs newest first (by CreatedAt; equal times by ID, descending).
func (s *Store) Runs(ctx context.Context) ([]lab.RunInfo, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+runColumns+` FROM runs ORDER BY created_at DESC, id DESC`)
	if err != nil {
		return nil, fmt.Errorf("list runs in %s: %w", s.path, err)
	}
	defer rows.Close()
	out := []lab.RunInfo{}
	for rows.Next() {
		run, err := scanRun(rows)
		if err != nil {
			return nil, fmt.Errorf("list runs in %s: %w", s.path, err)
		}
		out = append(out, run)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list runs in %s: %w", s.path, err)
	}
	return out, nil
}

type scanner interface{ Scan(dest ...any) error }

func scanRun(sc scanner) (lab.RunInfo, error) {
	var run lab.RunInfo
	var cands, scorers string
	var created, updated int64
	err := sc.Scan(&run.ID, &run.Lab, &run.Dataset, &cands, &run.Cases, &run.Repeats, &run.Status,
		&created, &updated, &run.PrimaryScorer, &scorers, &run.ConfigChecksum)
	if err != nil {
		return run, err
	}
	if err := json.Unmarshal([]byte(cands), &run.Candidates); err != nil {
		return run, fmt.Errorf("run %s: decode candidates: %w", run.ID, err)
	}
	if err := json.Unmarshal([]byte(scorers), &run.ScorerNames); err != nil {
		return run, fmt.Errorf("run %s: decode scorers: %w", run.ID, err)
	}
	run.CreatedAt, run.UpdatedAt = fromMicros(created), fromMicros(updated)
	return run, nil
}

// SaveResult records one call; it returns after the transaction holding
// the row has committed (see batcher and dsn for what that guarantees). A
// result for a run that was never saved fails with lab.ErrNotFound. If ctx
// ends first, the error says so and the row may or may not be saved;
// saving it again is harmless.
func (s *Store) SaveResult(ctx context.Context, r lab.CallResult) error {
	if err := codec.CheckResult(r); err != nil {
		return fmt.Errorf("save %s: %w", codec.Describe(r), err)
	}
	r = codec.CleanResult(r)
	scores, err := codec.Scores(r.Scores)
	if err != nil {
		return fmt.Errorf("save %s: encode scores: %w", codec.Describe(r), err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("save %s: %w", codec.Describe(r), err)
	}
	req := &saveReq{ctx: ctx, r: r, scores: scores, errc: make(chan error, 1)}
	if err := s.batch.submit(req); err != nil {
		return fmt.Errorf("save %s in %s: %w", codec.Describe(r), s.path, err)
	}
	select {
	case err := <-req.errc:
		return err
	case <-ctx.Done():
		return fmt.Errorf("save %s: %w", codec.Describe(r), ctx.Err())
	}
}

func execSave(ctx context.Context, stmt *sql.Stmt, req *saveReq) error {
	r := req.r
	var scores any
	if req.scores != nil {
		scores = *req.scores
	}
	_, err := stmt.ExecContext(ctx, r.RunID, r.CandidateID, r.CaseID, r.Repeat, r.Output, r.Answer,
		scores, boolInt(r.Pass), r.LatencyMS, r.TokensIn, r.TokensOut, r.Cost, boolInt(r.Cached),
		r.Error, r.Attempts, micros(r.CreatedAt), retrievedJSON(r.Retrieved), r.ErrorKind)
	return err
}

// retrievedJSON encodes a call's retrieved chunk ids as a JSON array, or
// NULL when the call retrieved nothing.
func retrievedJSON(ids []string) any {
	if len(ids) == 0 {
		return nil
	}
	b, _ := json.Marshal(ids) // strings always marshal
	return string(b)
}

// Results returns a run's results ordered by candidate ID, case ID (both
// compared bytewise, as Go compares strings) and repeat. A run with no
// results, or no such run, gives an empty slice.
func (s *Store) Results(ctx context.Context, runID string) ([]lab.CallResult, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT candidate_id, case_id, repeat, output, answer, scores,
		pass, latency_ms, tokens_in, tokens_out, cost, cached, error, attempts, created_at, retrieved, error_kind
		FROM results WHERE run_id = ? ORDER BY candidate_id, case_id, repeat`, runID)
	if err != nil {
		return nil, fmt.Errorf("read results of run %s from %s: %w", runID, s.path, err)
	}
	defer rows.Close()
	out := []lab.CallResult{}
	for rows.Next() {
		r := lab.CallResult{RunID: runID}
		var scores, retrieved sql.NullString
		var created int64
		if err := rows.Scan(&r.CandidateID, &r.CaseID, &r.Repeat, &r.Output, &r.Answer, &scores,
			&r.Pass, &r.LatencyMS, &r.TokensIn, &r.TokensOut, &r.Cost, &r.Cached, &r.Error,
			&r.Attempts, &created, &retrieved, &r.ErrorKind); err != nil {
			return nil, fmt.Errorf("read results of run %s from %s: %w", runID, s.path, err)
		}
		if retrieved.Valid {
			if err := json.Unmarshal([]byte(retrieved.String), &r.Retrieved); err != nil {
				return nil, fmt.Errorf("read %s from %s: decode retrieved chunks: %w", codec.Describe(r), s.path, err)
			}
		}
		if scores.Valid {
			if err := json.Unmarshal([]byte(scores.String), &r.Scores); err != nil {
				return nil, fmt.Errorf("read %s from %s: decode scores: %w", codec.Describe(r), s.path, err)
			}
		}
		r.CreatedAt = fromMicros(created)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read results of run %s from %s: %w", runID, s.path, err)
	}
	return out, nil
}

// CacheGet returns the response cached under key; ok is false on a miss.
func (s *Store) CacheGet(ctx context.Context, key string) (*provider.Response, bool, error) {
	var body string
	err := s.r.QueryRowContext(ctx, `SELECT response FROM cache WHERE key = ?`, key).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read cache in %s: %w", s.path, err)
	}
	var resp provider.Response
	if err := json.Unmarshal([]byte(body), &resp); err != nil {
		return nil, false, fmt.Errorf("read cache in %s: decode response for key %q: %w", s.path, key, err)
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
	if _, err := s.w.ExecContext(ctx, upsertCache, key, body, time.Now().UnixMicro()); err != nil {
		return fmt.Errorf("cache put in %s: %w", s.path, err)
	}
	return nil
}
