// Package serving implements lab.ServingStore and lab.ArtifactStore once for
// both store backends.
// The tables are the same in SQLite and PostgreSQL and every record is a
// JSON document beside a few indexed columns, so the queries differ only in
// placeholder syntax and in how times and booleans are bound; each backend
// supplies a DB that hides those differences.
package serving

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/store/internal/codec"
)

// DB runs statements written with ? placeholders. Arguments may be string,
// int, bool, float64, *string or time.Time; the backend binds them in its
// own types.
type DB interface {
	Exec(ctx context.Context, query string, args ...any) (rows int64, err error)
	// Query calls each for every row; scan reads the row's columns.
	Query(ctx context.Context, query string, each func(scan func(dest ...any) error) error, args ...any) error
	// Tx runs fn in one transaction: all of its writes happen or none.
	Tx(ctx context.Context, fn func(DB) error) error
}

// Ops is the ServingStore over a DB; where names the database in errors.
type Ops struct {
	DB    DB
	Where string
}

// SaveDeployment stores d as the next version of its name.
func (o *Ops) SaveDeployment(ctx context.Context, d lab.Deployment) (lab.Deployment, error) {
	if strings.TrimSpace(d.Name) == "" {
		return d, errors.New("save deployment: empty name")
	}
	if d.CreatedAt.IsZero() {
		d.CreatedAt = time.Now()
	}
	d.CreatedAt = d.CreatedAt.UTC().Truncate(time.Microsecond)
	err := o.DB.Tx(ctx, func(tx DB) error {
		var have int
		err := tx.Query(ctx, `SELECT COALESCE(MAX(version), 0) FROM deployments WHERE name = ?`,
			func(scan func(...any) error) error { return scan(&have) }, d.Name)
		if err != nil {
			return err
		}
		d.Version = have + 1
		body, err := codec.JSON(d)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO deployments (name, version, created_at, body) VALUES (?, ?, ?, ?)`,
			d.Name, d.Version, d.CreatedAt, body)
		return err
	})
	if err != nil {
		return d, fmt.Errorf("save deployment %s in %s: %w", d.Name, o.Where, err)
	}
	return d, nil
}

// Deployment returns the newest version of name.
func (o *Ops) Deployment(ctx context.Context, name string) (lab.Deployment, error) {
	var out []lab.Deployment
	err := o.DB.Query(ctx, `SELECT body FROM deployments WHERE name = ? ORDER BY version DESC LIMIT 1`,
		collect(&out), name)
	if err != nil {
		return lab.Deployment{}, fmt.Errorf("read deployment %s from %s: %w", name, o.Where, err)
	}
	if len(out) == 0 {
		return lab.Deployment{}, fmt.Errorf("deployment %s in %s: %w", name, o.Where, lab.ErrNotFound)
	}
	return out[0], nil
}

// Deployments lists the newest version of every deployment, by name.
func (o *Ops) Deployments(ctx context.Context) ([]lab.Deployment, error) {
	var out []lab.Deployment
	err := o.DB.Query(ctx, `SELECT d.body FROM deployments d
		WHERE d.version = (SELECT MAX(version) FROM deployments WHERE name = d.name)
		ORDER BY d.name`, collect(&out))
	if err != nil {
		return nil, fmt.Errorf("list deployments in %s: %w", o.Where, err)
	}
	return out, nil
}

// DeploymentHistory lists every version of name, oldest first.
func (o *Ops) DeploymentHistory(ctx context.Context, name string) ([]lab.Deployment, error) {
	var out []lab.Deployment
	err := o.DB.Query(ctx, `SELECT body FROM deployments WHERE name = ? ORDER BY version`, collect(&out), name)
	if err != nil {
		return nil, fmt.Errorf("read versions of deployment %s from %s: %w", name, o.Where, err)
	}
	return out, nil
}

// DeleteDeployment removes every version of name.
func (o *Ops) DeleteDeployment(ctx context.Context, name string) error {
	n, err := o.DB.Exec(ctx, `DELETE FROM deployments WHERE name = ?`, name)
	if err != nil {
		return fmt.Errorf("delete deployment %s in %s: %w", name, o.Where, err)
	}
	if n == 0 {
		return fmt.Errorf("deployment %s in %s: %w", name, o.Where, lab.ErrNotFound)
	}
	return nil
}

// SaveTraces stores traces in one transaction, keeping the first record of
// an ID.
func (o *Ops) SaveTraces(ctx context.Context, ts []lab.Trace) error {
	if len(ts) == 0 {
		return nil
	}
	// One statement per chunk of rows: the gateway stores traces in
	// batches, and a statement per row would cost it more than the rows.
	const chunk = 200
	err := o.DB.Tx(ctx, func(tx DB) error {
		for start := 0; start < len(ts); start += chunk {
			part := ts[start:min(start+chunk, len(ts))]
			var q strings.Builder
			q.WriteString(`INSERT INTO traces (id, deployment, shadow, failed, created_at, body, scores) VALUES `)
			args := make([]any, 0, 7*len(part))
			for i, t := range part {
				if t.ID == "" {
					return errors.New("a trace has no id")
				}
				scores, err := codec.Scores(t.Scores)
				if err != nil {
					return fmt.Errorf("trace %s: encode scores: %w", t.ID, err)
				}
				t.Scores = nil
				t.CreatedAt = t.CreatedAt.UTC().Truncate(time.Microsecond)
				body, err := codec.JSON(t)
				if err != nil {
					return fmt.Errorf("trace %s: %w", t.ID, err)
				}
				if i > 0 {
					q.WriteString(", ")
				}
				q.WriteString("(?, ?, ?, ?, ?, ?, ?)")
				args = append(args, t.ID, t.Deployment, t.Shadow, t.Error != "", t.CreatedAt, body, scores)
			}
			// A replayed log may hold one trace twice; DO NOTHING keeps one.
			q.WriteString(` ON CONFLICT (id) DO NOTHING`)
			if _, err := tx.Exec(ctx, q.String(), args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("save %d traces in %s: %w", len(ts), o.Where, err)
	}
	return nil
}

// Trace returns one trace.
func (o *Ops) Trace(ctx context.Context, id string) (lab.Trace, error) {
	var out []lab.Trace
	if err := o.DB.Query(ctx, `SELECT body, scores FROM traces WHERE id = ?`, collectTraces(&out), id); err != nil {
		return lab.Trace{}, fmt.Errorf("read trace %s from %s: %w", id, o.Where, err)
	}
	if len(out) == 0 {
		return lab.Trace{}, fmt.Errorf("trace %s in %s: %w", id, o.Where, lab.ErrNotFound)
	}
	return out[0], nil
}

// Traces lists traces, newest first.
func (o *Ops) Traces(ctx context.Context, f lab.TraceFilter) ([]lab.Trace, error) {
	var where []string
	var args []any
	if f.Deployment != "" {
		where, args = append(where, "deployment = ?"), append(args, f.Deployment)
	}
	if !f.Since.IsZero() {
		where, args = append(where, "created_at >= ?"), append(args, f.Since.UTC())
	}
	if !f.Until.IsZero() {
		where, args = append(where, "created_at < ?"), append(args, f.Until.UTC())
	}
	if f.ErrorsOnly {
		where, args = append(where, "failed = ?"), append(args, true)
	}
	if !f.Shadow {
		where, args = append(where, "shadow = ?"), append(args, false)
	}
	if f.Reviewed {
		where = append(where, "EXISTS (SELECT 1 FROM feedback fb WHERE fb.trace_id = traces.id)")
	}
	q := `SELECT body, scores FROM traces`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY created_at DESC, id DESC"
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	var out []lab.Trace
	if err := o.DB.Query(ctx, q, collectTraces(&out), args...); err != nil {
		return nil, fmt.Errorf("list traces in %s: %w", o.Where, err)
	}
	return out, nil
}

// SetTraceScores records the monitor's scores on a trace.
func (o *Ops) SetTraceScores(ctx context.Context, id string, scores map[string]lab.Score) error {
	enc, err := codec.Scores(scores)
	if err != nil {
		return fmt.Errorf("score trace %s: %w", id, err)
	}
	n, err := o.DB.Exec(ctx, `UPDATE traces SET scores = ? WHERE id = ?`, enc, id)
	if err != nil {
		return fmt.Errorf("score trace %s in %s: %w", id, o.Where, err)
	}
	if n == 0 {
		return fmt.Errorf("trace %s in %s: %w", id, o.Where, lab.ErrNotFound)
	}
	return nil
}

// SaveFeedback stores a review of an existing trace.
func (o *Ops) SaveFeedback(ctx context.Context, f lab.Feedback) error {
	if f.ID == "" || f.TraceID == "" {
		return errors.New("save feedback: id and trace_id are required")
	}
	f.CreatedAt = f.CreatedAt.UTC().Truncate(time.Microsecond)
	body, err := codec.JSON(f)
	if err != nil {
		return fmt.Errorf("save feedback %s: %w", f.ID, err)
	}
	err = o.DB.Tx(ctx, func(tx DB) error {
		var n int
		err := tx.Query(ctx, `SELECT COUNT(*) FROM traces WHERE id = ?`,
			func(scan func(...any) error) error { return scan(&n) }, f.TraceID)
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("trace %s: %w", f.TraceID, lab.ErrNotFound)
		}
		_, err = tx.Exec(ctx, `INSERT INTO feedback (id, trace_id, created_at, body) VALUES (?, ?, ?, ?)`,
			f.ID, f.TraceID, f.CreatedAt, body)
		return err
	})
	if err != nil {
		return fmt.Errorf("save feedback on trace %s in %s: %w", f.TraceID, o.Where, err)
	}
	return nil
}

// Feedback lists a trace's reviews, oldest first.
func (o *Ops) Feedback(ctx context.Context, traceID string) ([]lab.Feedback, error) {
	var out []lab.Feedback
	err := o.DB.Query(ctx, `SELECT body FROM feedback WHERE trace_id = ? ORDER BY created_at, id`, collect(&out), traceID)
	if err != nil {
		return nil, fmt.Errorf("read feedback on trace %s from %s: %w", traceID, o.Where, err)
	}
	return out, nil
}

// SaveKey stores a new key.
func (o *Ops) SaveKey(ctx context.Context, k lab.APIKey) error {
	if k.ID == "" || k.Hash == "" {
		return errors.New("save key: id and hash are required")
	}
	k.CreatedAt = k.CreatedAt.UTC().Truncate(time.Microsecond)
	body, err := codec.JSON(k)
	if err != nil {
		return fmt.Errorf("save key %s: %w", k.ID, err)
	}
	_, err = o.DB.Exec(ctx, `INSERT INTO api_keys (id, hash, created_at, body) VALUES (?, ?, ?, ?)`,
		k.ID, k.Hash, k.CreatedAt, body)
	if err != nil {
		return fmt.Errorf("save key %s in %s: %w", k.ID, o.Where, err)
	}
	return nil
}

// KeyByHash finds a key by its secret's hash.
func (o *Ops) KeyByHash(ctx context.Context, hash string) (lab.APIKey, error) {
	var out []lab.APIKey
	err := o.DB.Query(ctx, `SELECT body, hash FROM api_keys WHERE hash = ?`, collectKeys(&out), hash)
	if err != nil {
		return lab.APIKey{}, fmt.Errorf("look up key in %s: %w", o.Where, err)
	}
	if len(out) == 0 {
		return lab.APIKey{}, fmt.Errorf("key: %w", lab.ErrNotFound)
	}
	return out[0], nil
}

// Keys lists keys, oldest first.
func (o *Ops) Keys(ctx context.Context) ([]lab.APIKey, error) {
	var out []lab.APIKey
	if err := o.DB.Query(ctx, `SELECT body, hash FROM api_keys ORDER BY created_at, id`, collectKeys(&out)); err != nil {
		return nil, fmt.Errorf("list keys in %s: %w", o.Where, err)
	}
	return out, nil
}

// RevokeKey marks a key revoked; revoking it again keeps the first time.
func (o *Ops) RevokeKey(ctx context.Context, id string, at time.Time) error {
	at = at.UTC().Truncate(time.Microsecond)
	err := o.DB.Tx(ctx, func(tx DB) error {
		var keys []lab.APIKey
		if err := tx.Query(ctx, `SELECT body, hash FROM api_keys WHERE id = ?`, collectKeys(&keys), id); err != nil {
			return err
		}
		if len(keys) == 0 {
			return fmt.Errorf("key %s: %w", id, lab.ErrNotFound)
		}
		k := keys[0]
		if k.RevokedAt != nil {
			return nil
		}
		k.RevokedAt = &at
		body, err := codec.JSON(k)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE api_keys SET revoked_at = ?, body = ? WHERE id = ?`, at, body, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("revoke key %s in %s: %w", id, o.Where, err)
	}
	return nil
}

// collect decodes a one-column result of JSON documents into *out.
func collect[T any](out *[]T) func(func(...any) error) error {
	return func(scan func(...any) error) error {
		var body string
		if err := scan(&body); err != nil {
			return err
		}
		var v T
		if err := json.Unmarshal([]byte(body), &v); err != nil {
			return fmt.Errorf("decode record: %w", err)
		}
		*out = append(*out, v)
		return nil
	}
}

func collectTraces(out *[]lab.Trace) func(func(...any) error) error {
	return func(scan func(...any) error) error {
		var body string
		var scores *string
		if err := scan(&body, &scores); err != nil {
			return err
		}
		var t lab.Trace
		if err := json.Unmarshal([]byte(body), &t); err != nil {
			return fmt.Errorf("decode trace: %w", err)
		}
		if scores != nil {
			if err := json.Unmarshal([]byte(*scores), &t.Scores); err != nil {
				return fmt.Errorf("decode scores of trace %s: %w", t.ID, err)
			}
		}
		*out = append(*out, t)
		return nil
	}
}

func collectKeys(out *[]lab.APIKey) func(func(...any) error) error {
	return func(scan func(...any) error) error {
		var body, hash string
		if err := scan(&body, &hash); err != nil {
			return err
		}
		var k lab.APIKey
		if err := json.Unmarshal([]byte(body), &k); err != nil {
			return fmt.Errorf("decode key: %w", err)
		}
		k.Hash = hash
		*out = append(*out, k)
		return nil
	}
}
