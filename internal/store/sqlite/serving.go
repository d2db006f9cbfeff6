package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/tunelab/tunelab/internal/store/internal/serving"
)

// sqlDB adapts database/sql to serving.DB: times are bound as the integer
// microseconds the schema stores, booleans as 0 or 1.
type sqlDB struct {
	exec interface {
		ExecContext(context.Context, string, ...any) (sql.Result, error)
		QueryContext(context.Context, string, ...any) (*sql.Rows, error)
	}
	query interface {
		QueryContext(context.Context, string, ...any) (*sql.Rows, error)
	}
	begin *sql.DB // nil inside a transaction
}

func bind(args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case time.Time:
			out[i] = micros(v)
		case bool:
			out[i] = 0
			if v {
				out[i] = 1
			}
		default:
			out[i] = a
		}
	}
	return out
}

func (d sqlDB) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	res, err := d.exec.ExecContext(ctx, q, bind(args)...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (d sqlDB) Query(ctx context.Context, q string, each func(func(...any) error) error, args ...any) error {
	rows, err := d.query.QueryContext(ctx, q, bind(args)...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (d sqlDB) Tx(ctx context.Context, fn func(serving.DB) error) error {
	tx, err := d.begin.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(sqlDB{exec: tx, query: tx}); err != nil {
		_ = tx.Rollback() // the error that matters is fn's
		return err
	}
	return tx.Commit()
}
