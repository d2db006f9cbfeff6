package queue

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

func TestInsertRetrying(t *testing.T) {
	deadlock := &pgconn.PgError{Code: "40P01", Message: "deadlock detected"}
	serialization := &pgconn.PgError{Code: "40001", Message: "could not serialize access"}
	unique := &pgconn.PgError{Code: "23505", Message: "duplicate key value"}
	cases := []struct {
		name      string
		errs      []error // what each attempt returns; nil past the end
		wantCalls int
		wantErr   string
	}{
		{"first try", nil, 1, ""},
		{"a deadlock, then through", []error{deadlock}, 2, ""},
		{"a serialization failure, then through", []error{serialization, deadlock}, 3, ""},
		{"another error is not retried", []error{unique}, 1, "duplicate key"},
		{"a wrapped deadlock is retried", []error{errors.Join(errors.New("insert many"), deadlock)}, 2, ""},
		{"gives up", []error{deadlock, deadlock, deadlock, deadlock, deadlock, deadlock, deadlock}, 6, "still failing after 6 attempts"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			err := insertRetrying(context.Background(), func() error {
				calls++
				if calls <= len(tc.errs) {
					return tc.errs[calls-1]
				}
				return nil
			})
			if calls != tc.wantCalls {
				t.Errorf("%d attempts, want %d", calls, tc.wantCalls)
			}
			if (err == nil) != (tc.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("err %v, want %q", err, tc.wantErr)
			}
		})
	}
	t.Run("a canceled caller stops waiting", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		calls := 0
		err := insertRetrying(ctx, func() error { calls++; return deadlock })
		if calls != 1 || !errors.Is(err, context.Canceled) {
			t.Errorf("%d attempts, err %v; want 1 and context.Canceled", calls, err)
		}
	})
}
