package postgres

import (
	"context"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tunelab/tunelab/internal/store/internal/serving"
)

// pgDB adapts pgx to serving.DB: ? placeholders become $1, $2, ...; pgx
// binds times and booleans natively.
type pgDB struct {
	conn interface {
		Exec(context.Context, string, ...any) (pgconn.CommandTag, error)
		Query(context.Context, string, ...any) (pgx.Rows, error)
		Begin(context.Context) (pgx.Tx, error)
	}
}

// numbered rewrites ? placeholders as $n. The shared queries hold no ? in
// literals, so a plain scan is enough.
func numbered(q string) string {
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (d pgDB) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	tag, err := d.conn.Exec(ctx, numbered(q), args...)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

func (d pgDB) Query(ctx context.Context, q string, each func(func(...any) error) error, args ...any) error {
	rows, err := d.conn.Query(ctx, numbered(q), args...)
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

func (d pgDB) Tx(ctx context.Context, fn func(serving.DB) error) error {
	return pgx.BeginFunc(ctx, d.conn, func(tx pgx.Tx) error { return fn(pgDB{conn: tx}) })
}
