package sqlite

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/store/internal/codec"
)

// maxBatch bounds one group commit, so a burst cannot hold the write lock
// long enough to starve another process's writer.
const maxBatch = 256

// errClosed is returned for saves after Close.
var errClosed = errors.New("store is closed")

// batcher is group commit for SaveResult. Callers queue their result and
// wait; one goroutine takes everything queued, writes it in one
// transaction, commits, and only then answers each caller. Every caller
// still returns after the commit that holds its row, so the durability
// contract is the same as a commit per call, but concurrent callers share
// one commit instead of paying for one each. A lone caller is written at
// once: nothing waits for a batch to fill.
type batcher struct {
	s    *Store
	reqs chan *saveReq
	mu   sync.RWMutex // guards closed against sends on a closed channel
	done chan struct{}

	closed bool
}

type saveReq struct {
	ctx    context.Context
	r      lab.CallResult
	scores *string
	errc   chan error // buffered: the writer never blocks on a caller that gave up
}

func newBatcher(s *Store) *batcher {
	b := &batcher{s: s, reqs: make(chan *saveReq, maxBatch), done: make(chan struct{})}
	go b.loop()
	return b
}

func (b *batcher) submit(req *saveReq) error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return errClosed
	}
	select {
	case b.reqs <- req:
		return nil
	case <-req.ctx.Done():
		return req.ctx.Err()
	}
}

// close stops taking saves and waits until the queued ones are written.
func (b *batcher) close() {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.reqs)
	}
	b.mu.Unlock()
	<-b.done
}

func (b *batcher) loop() {
	defer close(b.done)
	batch := make([]*saveReq, 0, maxBatch)
	for first := range b.reqs {
		batch = append(batch[:0], first)
	gather:
		for len(batch) < maxBatch {
			select {
			case req, ok := <-b.reqs:
				if !ok {
					break gather
				}
				batch = append(batch, req)
			default:
				break gather
			}
		}
		b.write(batch)
		clear(batch) // drop references to answered requests
	}
}

func (b *batcher) write(batch []*saveReq) {
	errs := make([]error, len(batch))
	// The transaction is not tied to any one caller's context: one caller
	// giving up must not undo the others' rows.
	ctx := context.Background()
	tx, err := b.s.w.BeginTx(ctx, nil)
	if err == nil {
		stmt := tx.StmtContext(ctx, b.s.saveResult)
		for i, req := range batch {
			if err := req.ctx.Err(); err != nil {
				errs[i] = err // its caller has already returned
				continue
			}
			// A failed statement (a missing run) is rolled back on its own
			// and leaves the transaction open for the rest of the batch.
			errs[i] = execSave(ctx, stmt, req)
		}
		err = tx.Commit()
	}
	for i, req := range batch {
		if errs[i] == nil && err != nil {
			errs[i] = err
		}
		req.errc <- wrapSaveErr(b.s, req.r, errs[i])
	}
}

func wrapSaveErr(s *Store, r lab.CallResult, err error) error {
	switch {
	case err == nil:
		return nil
	case isForeignKey(err):
		return fmt.Errorf("save %s in %s: run %q has not been saved (SaveRun first): %w",
			codec.Describe(r), s.path, r.RunID, lab.ErrNotFound)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("save %s: %w", codec.Describe(r), err)
	default:
		return fmt.Errorf("save %s in %s: %w", codec.Describe(r), s.path, err)
	}
}
