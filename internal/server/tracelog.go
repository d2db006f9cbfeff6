package server

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tunelab/tunelab/internal/lab"
)

// traceLog keeps traces off the request's critical path without losing
// any: a handler appends the trace to a log file (one write call, no
// fsync) before the client gets its answer, and a background writer moves
// traces into the store in batches. A write the kernel has accepted
// survives the process being killed, so an acknowledged call's trace is
// either in the store or in the log, and Open replays the log. The log is
// cut into segments; a segment is deleted once every trace in it is stored.
type traceLog struct {
	dir   string
	store lab.ServingStore
	// After is called with each batch once it is stored (the monitor).
	after func([]lab.Trace)

	mu      sync.Mutex
	cur     *os.File
	curSeq  int
	curSize int64
	pending map[int]int // segment -> traces not yet stored
	closed  bool

	// queued holds traces in the log but not yet in the store. Handlers
	// append under mu and wake the writer only when the queue was empty,
	// so a busy gateway wakes it once per batch, not once per call: a
	// channel send per call put the writer's wake-up in every handler's
	// path and showed as the largest scheduling delay under load.
	queued []queued
	kick   chan struct{} // capacity 1: "the queue is no longer empty"
	room   *sync.Cond    // on mu: Append waits here while the queue is full
	done   chan struct{}
	err    error // the last store error, reported by Close
}

type queued struct {
	t   lab.Trace
	seg int
}

// segmentMax is the size at which a new segment starts.
const segmentMax = 4 << 20

// batchMax caps how many traces one store transaction takes; batchLinger
// is how long the writer waits for a batch to fill; queueMax is how many
// traces may wait for the store before Append waits too (a store that
// cannot keep up slows the gateway rather than filling its memory).
const (
	batchMax    = 512
	batchLinger = 50 * time.Millisecond
	queueMax    = 1 << 16
)

func segName(seq int) string { return fmt.Sprintf("traces-%08d.log", seq) }

// openTraceLog replays what an earlier process left in dir into store,
// then starts a fresh segment and the writer.
func openTraceLog(ctx context.Context, dir string, store lab.ServingStore, after func([]lab.Trace)) (*traceLog, int, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, 0, fmt.Errorf("trace log %s: %w", dir, err)
	}
	segs, err := segments(dir)
	if err != nil {
		return nil, 0, err
	}
	replayed := 0
	last := 0
	for _, seq := range segs {
		n, err := replay(ctx, filepath.Join(dir, segName(seq)), store)
		if err != nil {
			return nil, replayed, err
		}
		replayed += n
		last = seq
	}
	for _, seq := range segs {
		if err := os.Remove(filepath.Join(dir, segName(seq))); err != nil {
			return nil, replayed, fmt.Errorf("trace log: %w", err)
		}
	}
	l := &traceLog{dir: dir, store: store, after: after, pending: map[int]int{},
		kick: make(chan struct{}, 1), done: make(chan struct{})}
	l.room = sync.NewCond(&l.mu)
	if err := l.rotate(last + 1); err != nil {
		return nil, replayed, err
	}
	go l.write()
	return l, replayed, nil
}

func segments(dir string) ([]int, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("trace log %s: %w", dir, err)
	}
	var out []int
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, "traces-") || !strings.HasSuffix(name, ".log") {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(name, "traces-"), ".log"))
		if err == nil {
			out = append(out, n)
		}
	}
	sort.Ints(out)
	return out, nil
}

// replay stores the traces in one segment. A torn last line (the process
// died inside a write) belonged to a call that was never answered, so it
// is skipped; any other bad line is an error, since it means the file is
// not what this log wrote.
func replay(ctx context.Context, path string, store lab.ServingStore) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("replay %s: %w", path, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	var batch []lab.Trace
	n, line := 0, 0
	var bad error
	for sc.Scan() {
		line++
		if bad != nil {
			return n, bad // a bad line followed by more lines is not a torn tail
		}
		var t lab.Trace
		if err := json.Unmarshal(sc.Bytes(), &t); err != nil || t.ID == "" {
			bad = fmt.Errorf("replay %s line %d: not a trace record; move the file aside to start the server", path, line)
			continue
		}
		batch = append(batch, t)
		if len(batch) == batchMax {
			if err := store.SaveTraces(ctx, batch); err != nil {
				return n, fmt.Errorf("replay %s: %w", path, err)
			}
			n += len(batch)
			batch = batch[:0]
		}
	}
	if err := sc.Err(); err != nil {
		return n, fmt.Errorf("replay %s: %w", path, err)
	}
	if err := store.SaveTraces(ctx, batch); err != nil {
		return n, fmt.Errorf("replay %s: %w", path, err)
	}
	return n + len(batch), nil
}

func (l *traceLog) rotate(seq int) error {
	f, err := os.OpenFile(filepath.Join(l.dir, segName(seq)), os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("trace log: %w", err)
	}
	if l.cur != nil {
		old := l.curSeq
		if err := l.cur.Close(); err != nil {
			return fmt.Errorf("trace log: %w", err)
		}
		if l.pending[old] == 0 {
			delete(l.pending, old)
			_ = os.Remove(filepath.Join(l.dir, segName(old))) // every trace in it is stored
		}
	}
	l.cur, l.curSeq, l.curSize = f, seq, 0
	return nil
}

var errLogClosed = errors.New("trace log closed: the server is shutting down")

// Append records t durably against a process crash and queues it for the
// store. It returns once the kernel has the record.
func (l *traceLog) Append(t lab.Trace) error {
	line, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("encode trace %s: %w", t.ID, err)
	}
	line = append(line, '\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	for len(l.queued) >= queueMax && !l.closed {
		l.room.Wait()
	}
	if l.closed {
		return errLogClosed
	}
	if _, err := l.cur.Write(line); err != nil {
		return fmt.Errorf("trace log: %w", err)
	}
	seg := l.curSeq
	l.pending[seg]++
	l.curSize += int64(len(line))
	l.queued = append(l.queued, queued{t: t, seg: seg})
	if len(l.queued) == 1 {
		select {
		case l.kick <- struct{}{}:
		default: // already kicked
		}
	}
	if l.curSize >= segmentMax {
		return l.rotate(seg + 1)
	}
	return nil
}

// write moves queued traces into the store, as many per transaction as
// are waiting. A failed batch is retried: its traces stay in the log, so
// giving up would only delay them to the next start.
func (l *traceLog) write() {
	defer close(l.done)
	for {
		<-l.kick
		// Linger a moment for more: one transaction per few hundred traces
		// costs the machine far less than one per call, and the log already
		// holds them. Close kicks too, and then nothing lingers.
		l.mu.Lock()
		closed := l.closed
		l.mu.Unlock()
		if !closed {
			linger := time.NewTimer(batchLinger)
			select {
			case <-linger.C:
			case <-l.kick: // Close
			}
			linger.Stop()
		}
		l.mu.Lock()
		all := l.queued
		l.queued = nil
		closed = l.closed
		l.room.Broadcast()
		l.mu.Unlock()
		for len(all) > 0 {
			n := min(len(all), batchMax)
			l.store1(all[:n])
			all = all[n:]
		}
		if closed {
			return // Append refuses once closed is set, so nothing came after the drain
		}
	}
}

// store1 stores one batch, retrying, and drops the segments it emptied.
func (l *traceLog) store1(batch []queued) {
	ts := make([]lab.Trace, len(batch))
	for i, q := range batch {
		ts[i] = q.t
	}
	stored := false
	for attempt := 0; attempt < 20 && !stored; attempt++ {
		err := l.store.SaveTraces(context.Background(), ts)
		if err == nil {
			stored = true
			break
		}
		l.mu.Lock()
		l.err = err
		l.mu.Unlock()
		time.Sleep(time.Duration(attempt+1) * 50 * time.Millisecond)
	}
	if !stored {
		return // left in the log (its segment is kept) for the next start's replay
	}
	l.mu.Lock()
	for _, q := range batch {
		l.pending[q.seg]--
		if l.pending[q.seg] == 0 && q.seg != l.curSeq {
			delete(l.pending, q.seg)
			_ = os.Remove(filepath.Join(l.dir, segName(q.seg)))
		}
	}
	l.mu.Unlock()
	if l.after != nil {
		l.after(ts)
	}
}

// Close stops taking traces, waits until every queued one is stored, and
// removes the log when nothing in it is left unstored.
func (l *traceLog) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.room.Broadcast() // an Append waiting for room now fails
	l.mu.Unlock()
	select {
	case l.kick <- struct{}{}:
	default:
	}
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.cur.Close(); err != nil {
		return fmt.Errorf("trace log: %w", err)
	}
	if l.pending[l.curSeq] == 0 {
		_ = os.Remove(filepath.Join(l.dir, segName(l.curSeq)))
	}
	if left := l.unstored(); left > 0 {
		return fmt.Errorf("%d traces could not be stored and stay in %s for the next start: %w", left, l.dir, l.err)
	}
	return nil
}

// unstored counts traces still only in the log; the caller holds mu.
func (l *traceLog) unstored() int {
	n := 0
	for _, c := range l.pending {
		n += c
	}
	return n
}
