// Package server is tunelab's gateway: deployed candidates behind
// OpenAI's wire format (/v1/chat/completions, /v1/completions,
// /v1/embeddings, /v1/models), every call kept as a trace, feedback on
// traces, a monitor that scores a sample of live traffic and raises alerts,
// Prometheus metrics and OpenTelemetry spans. The public surface and the
// admin surface are separate handlers, meant for separate listeners.
package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/tunelab/tunelab/internal/eval"
	"github.com/tunelab/tunelab/internal/lab"
)

// Options configure a Server.
type Options struct {
	Store lab.Store
	// Resolve makes a deployment runnable (workspace.ServeTarget).
	Resolve func(lab.Deployment) (eval.Target, error)
	// TraceDir holds the trace log (see traceLog).
	TraceDir string
	// NoAuth serves without gateway keys (a local try-out only).
	NoAuth bool
	// AdminToken guards the admin surface; empty leaves it open, which
	// suits a loopback-only admin listener.
	AdminToken string
	// MaxBody caps a request body in bytes (default 1 MiB).
	MaxBody int64
	// Refresh is how often a deployment's newest version is looked up
	// (default 2s), so `tunelab deploy` takes effect on a running server.
	Refresh time.Duration
	// ShadowConcurrency caps shadow calls in flight (default 4); a shadow
	// call beyond it is dropped and counted, never queued behind live ones.
	ShadowConcurrency int
	Monitor           MonitorOptions
	// Lab, when set, serves the lab itself on the admin surface (the UI's
	// API); UI, when set, is the web UI's built files, served at /.
	Lab    *LabAPI
	UI     fs.FS
	Tracer trace.TracerProvider
	Logger *slog.Logger
	// HeapFloor is the heap size below which the garbage collector leaves
	// the process alone (default 64 MiB; negative: no floor). See floor.
	HeapFloor int64
}

// Server is a running gateway over one lab's store.
type Server struct {
	opts    Options
	log     *traceLog
	metrics *metrics
	tracer  trace.Tracer
	logger  *slog.Logger
	mon     *monitor

	mu   sync.Mutex
	deps map[string]*live
	keys map[string]cachedKey
	lims map[string]*limiter

	shadow  chan struct{}
	quit    chan struct{}  // closed when shutdown starts: ends event streams
	wg      sync.WaitGroup // shadow calls and other work that outlives a request
	unfloor func()         // releases the heap floor (heapfloor.go)
	tracing bool           // an OpenTelemetry provider was given: build spans
	// Replayed is how many traces an earlier process left in the log.
	Replayed int
}

type live struct {
	d       lab.Deployment
	target  eval.Target
	err     error // why it cannot be served
	checked time.Time
}

type cachedKey struct {
	key  lab.APIKey
	err  error
	seen time.Time
}

// keyTTL bounds how long a revoked key keeps working on a running server.
const keyTTL = 5 * time.Second

// New opens the trace log (storing what an earlier process left in it) and
// makes the server.
func New(ctx context.Context, opts Options) (*Server, error) {
	if opts.Store == nil || opts.Resolve == nil {
		return nil, errors.New("server: Store and Resolve are required")
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = 1 << 20
	}
	if opts.Refresh <= 0 {
		opts.Refresh = 2 * time.Second
	}
	if opts.ShadowConcurrency <= 0 {
		opts.ShadowConcurrency = 4
	}
	tracing := opts.Tracer != nil
	if opts.Tracer == nil {
		opts.Tracer = noop.NewTracerProvider()
	}
	if opts.HeapFloor == 0 {
		opts.HeapFloor = 64 << 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &Server{
		opts: opts, tracing: tracing, metrics: newMetrics(), tracer: opts.Tracer.Tracer("github.com/tunelab/tunelab/internal/server"),
		logger: opts.Logger, deps: map[string]*live{}, keys: map[string]cachedKey{}, lims: map[string]*limiter{},
		shadow: make(chan struct{}, opts.ShadowConcurrency), quit: make(chan struct{}),
	}
	s.mon = newMonitor(s, opts.Monitor)
	var err error
	s.log, s.Replayed, err = openTraceLog(ctx, opts.TraceDir, opts.Store, s.mon.observe)
	if err != nil {
		return nil, err
	}
	s.unfloor = holdHeapFloor(opts.HeapFloor)
	return s, nil
}

// Close waits for shadow calls and the monitor, then stores every trace
// still queued. Call it after the listeners have stopped.
func (s *Server) Close() error {
	if s.opts.Lab != nil {
		s.opts.Lab.close()
	}
	s.wg.Wait()
	err := s.log.Close()
	s.mon.close()
	s.unfloor()
	return err
}

// Serve runs the public and admin handlers on their listeners until ctx
// ends, then shuts down gracefully: listeners stop accepting, in-flight
// requests finish (up to grace), and every trace is stored.
func (s *Server) Serve(ctx context.Context, public, admin net.Listener, grace time.Duration) error {
	servers := []*http.Server{{Handler: s.Public(), ReadHeaderTimeout: 10 * time.Second}}
	listeners := []net.Listener{public}
	if admin != nil {
		servers = append(servers, &http.Server{Handler: s.Admin(), ReadHeaderTimeout: 10 * time.Second})
		listeners = append(listeners, admin)
	}
	errc := make(chan error, len(servers))
	for i, hs := range servers {
		go func() { errc <- hs.Serve(listeners[i]) }()
	}
	s.mon.start()
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	close(s.quit)
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	for _, hs := range servers {
		if err := hs.Shutdown(sctx); err != nil && serveErr == nil {
			serveErr = fmt.Errorf("shutdown: %w", err)
		}
	}
	if err := s.Close(); err != nil && serveErr == nil {
		serveErr = err
	}
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	return serveErr
}

// deployment returns name's newest version ready to serve, looking the
// version up at most every Refresh.
func (s *Server) deployment(ctx context.Context, name string) (*live, error) {
	s.mu.Lock()
	l, ok := s.deps[name]
	var checked time.Time
	if ok {
		// checked is rewritten under s.mu by whichever call refreshes it.
		checked = l.checked
	}
	s.mu.Unlock()
	if ok && time.Since(checked) < s.opts.Refresh {
		return l, nil
	}
	d, err := s.opts.Store.Deployment(ctx, name)
	if errors.Is(err, lab.ErrNotFound) {
		s.mu.Lock()
		delete(s.deps, name)
		s.mu.Unlock()
		return nil, &apiError{Status: http.StatusNotFound, Type: "invalid_request_error", Code: "model_not_found",
			Message: fmt.Sprintf("The model %q does not exist: no deployment has that name (see `tunelab deploy list`)", name)}
	}
	if err != nil {
		return nil, err
	}
	if ok && l.d.Version == d.Version && l.d.CreatedAt.Equal(d.CreatedAt) {
		s.mu.Lock()
		l.checked = time.Now()
		s.mu.Unlock()
		return l, nil
	}
	nl := &live{d: d, checked: time.Now()}
	nl.target, nl.err = s.opts.Resolve(d)
	s.mu.Lock()
	s.deps[name] = nl
	s.mu.Unlock()
	return nl, nil
}

// authenticate returns the key a request carries. With NoAuth every
// request is served as an anonymous key that may call everything.
func (s *Server) authenticate(r *http.Request) (lab.APIKey, *apiError) {
	if s.opts.NoAuth {
		return lab.APIKey{ID: "anonymous"}, nil
	}
	secret, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || strings.TrimSpace(secret) == "" {
		return lab.APIKey{}, &apiError{Status: http.StatusUnauthorized, Type: "invalid_request_error", Code: "invalid_api_key",
			Message: "Missing API key: send Authorization: Bearer <key> (make one with `tunelab keys create`)"}
	}
	hash := HashKey(strings.TrimSpace(secret))
	s.mu.Lock()
	c, ok := s.keys[hash]
	s.mu.Unlock()
	if !ok || time.Since(c.seen) > keyTTL {
		k, err := s.opts.Store.KeyByHash(r.Context(), hash)
		c = cachedKey{key: k, err: err, seen: time.Now()}
		s.mu.Lock()
		s.keys[hash] = c
		s.mu.Unlock()
	}
	if c.err != nil || c.key.RevokedAt != nil {
		return lab.APIKey{}, &apiError{Status: http.StatusUnauthorized, Type: "invalid_request_error", Code: "invalid_api_key",
			Message: "Incorrect or revoked API key"}
	}
	return c.key, nil
}

// HashKey is how a key's secret is kept: its SHA-256. Secrets are 160
// random bits, so a fast hash does not make them guessable.
func HashKey(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// NewKey makes a key: the secret to hand to its user once, and the record
// to store (which holds only the secret's hash).
func NewKey(name string, deployments []string, rpm int, now time.Time) (secret string, k lab.APIKey) {
	secret = "tlk-" + randomID(32)
	return secret, lab.APIKey{ID: "key_" + randomID(12), Name: name, Hash: HashKey(secret),
		Deployments: deployments, RPM: rpm, CreatedAt: now}
}

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// randomID returns n characters of crypto-random base32.
func randomID(n int) string {
	b := make([]byte, (n*5+7)/8)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return idEncoding.EncodeToString(b)[:n]
}

// sortable is base32 in ASCII order, so encoded big-endian bytes sort as
// the numbers do.
var sortable = base32.NewEncoding("234567abcdefghijklmnopqrstuvwxyz").WithPadding(base32.NoPadding)

// traceID returns "tr_" and 20 characters: the call's start in
// milliseconds (48 bits), then 52 random bits. Time-ordered IDs land at
// the end of the store's primary-key index; random ones landed on a
// different index page per trace, and writing those pages was most of the
// cost of storing a trace under load.
func traceID(at time.Time) string {
	var b [13]byte
	ms := uint64(at.UnixMilli())
	for i := 5; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	_, _ = rand.Read(b[6:]) // crypto/rand.Read never fails on supported platforms
	return "tr_" + sortable.EncodeToString(b[:])[:20]
}

// allow applies the key's rate limit.
func (s *Server) allow(k lab.APIKey) bool {
	if k.RPM <= 0 {
		return true
	}
	s.mu.Lock()
	l, ok := s.lims[k.ID]
	if !ok || l.rpm != k.RPM {
		l = newLimiter(k.RPM)
		s.lims[k.ID] = l
	}
	s.mu.Unlock()
	return l.Allow()
}
