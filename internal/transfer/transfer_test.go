package transfer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/store/postgres"
	"github.com/tunelab/tunelab/internal/store/postgres/pgtest"
	"github.com/tunelab/tunelab/internal/store/sqlite"
)

var ctx = context.Background()

// stores are the backends a lab can move between; PostgreSQL only where
// a server is given (CI starts one).
var stores = []struct {
	name string
	open func(t *testing.T) lab.Store
}{
	{"sqlite", func(t *testing.T) lab.Store {
		st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "lab.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}},
	{"postgres", func(t *testing.T) lab.Store {
		st, err := postgres.Open(ctx, pgtest.DSN(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}},
}

var t0 = time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)

// fill puts one of everything a store holds into st.
func fill(t *testing.T, st lab.Store) {
	t.Helper()
	cand := lab.Candidate{ID: "m/zero-shot", Model: "local:m", Variant: lab.Variant{Name: "zero-shot"}}
	for i, id := range []string{"run-a", "run-b"} {
		run := lab.RunInfo{ID: id, Lab: "t", Dataset: "v1", Candidates: []lab.Candidate{cand}, Cases: 2, Repeats: 1, Status: lab.RunDone,
			CreatedAt: t0.Add(time.Duration(i) * time.Hour), UpdatedAt: t0.Add(time.Duration(i) * time.Hour), PrimaryScorer: "exact", ScorerNames: []string{"exact"}}
		if err := st.SaveRun(ctx, run); err != nil {
			t.Fatal(err)
		}
		for c := range 2 {
			res := lab.CallResult{RunID: id, CandidateID: cand.ID, CaseID: fmt.Sprintf("c%d", c), Output: "yes", Answer: "yes", Pass: c == 0,
				Scores: map[string]lab.Score{"exact": {Value: float64(1 - c), Pass: c == 0}}, LatencyMS: 12.5, TokensIn: 30, TokensOut: 1, Cost: 0.0001, CreatedAt: t0}
			if err := st.SaveResult(ctx, res); err != nil {
				t.Fatal(err)
			}
		}
	}
	for v := 1; v <= 3; v++ {
		d := lab.Deployment{Name: "router", Lab: "t", Candidate: cand, CreatedAt: t0.Add(time.Duration(v) * time.Minute), Dataset: fmt.Sprintf("v%d", v)}
		if _, err := st.SaveDeployment(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	var traces []lab.Trace
	for i := range 3 {
		traces = append(traces, lab.Trace{ID: fmt.Sprintf("tr-%d", i), Deployment: "router", Version: 3, Served: "router", Endpoint: "chat",
			Input: "hello", Output: "yes", Answer: "yes", Model: "local:m", LatencyMS: 20, Status: 200, Shadow: i == 2, CreatedAt: t0.Add(time.Duration(i) * time.Second)})
	}
	if err := st.SaveTraces(ctx, traces); err != nil {
		t.Fatal(err)
	}
	if err := st.SaveFeedback(ctx, lab.Feedback{ID: "fb-1", TraceID: "tr-1", Reviewer: "ana", Thumb: -1, Correction: "no", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	revoked := t0.Add(time.Hour)
	for _, k := range []lab.APIKey{{ID: "k1", Name: "app", Hash: "h1", CreatedAt: t0}, {ID: "k2", Name: "old", Hash: "h2", CreatedAt: t0, RevokedAt: &revoked}} {
		if err := st.SaveKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range artifacts {
		if _, err := st.PutArtifact(ctx, a.name, bytes.NewReader(a.data)); err != nil {
			t.Fatal(err)
		}
	}
}

// artifacts are what fill stores: a model over several parts of the
// export (with a short last part), a job record, and an empty file.
var artifacts = []struct {
	name string
	data []byte
}{
	{"tune/ft-1/record.json", []byte(`{"id":"ft-1","status":"done"}`)},
	{"models/tuned.gguf", payload(2<<20+partSize/2+3, 1)},
	{"tune/ft-1/empty.log", nil},
}

// payload is n seeded random bytes.
func payload(n int, seed byte) []byte {
	b := make([]byte, n)
	_, _ = rand.NewChaCha8([32]byte{seed}).Read(b) // never fails
	return b
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// storedArtifact is what a snapshot keeps of an artifact: not its time,
// which is when it was put in this store.
type storedArtifact struct {
	Size            int64
	Listed, Content string // the hash the store records, and that of the bytes read back
}

func readArtifacts(t *testing.T, st lab.Store) map[string]storedArtifact {
	t.Helper()
	infos, err := st.Artifacts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]storedArtifact{}
	for _, info := range infos {
		var buf bytes.Buffer
		if _, err := st.ReadArtifact(ctx, info.Name, &buf); err != nil {
			t.Fatal(err)
		}
		out[info.Name] = storedArtifact{Size: info.Size, Listed: info.SHA256, Content: sha(buf.Bytes())}
	}
	return out
}

// snapshot reads back everything fill stored, in a comparable form.
func snapshot(t *testing.T, st lab.Store) map[string]any {
	t.Helper()
	out := map[string]any{}
	runs, err := st.Runs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range runs {
		out["run "+r.ID] = r
		res, err := st.Results(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		out["results "+r.ID] = res
	}
	hist, err := st.DeploymentHistory(ctx, "router")
	if err != nil {
		t.Fatal(err)
	}
	out["deployments"] = hist
	traces, err := st.Traces(ctx, lab.TraceFilter{Shadow: true})
	if err != nil {
		t.Fatal(err)
	}
	out["traces"] = traces
	fb, err := st.Feedback(ctx, "tr-1")
	if err != nil {
		t.Fatal(err)
	}
	out["feedback"] = fb
	keys, err := st.Keys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		got, err := st.KeyByHash(ctx, k.Hash)
		if err != nil {
			t.Fatalf("key %s is not found by its hash: %v", k.ID, err)
		}
		out["key "+k.ID] = got
	}
	out["artifacts"] = readArtifacts(t, st)
	return out
}

func TestMoveBetweenStores(t *testing.T) {
	for _, from := range stores {
		for _, to := range stores {
			t.Run(from.name+" to "+to.name, func(t *testing.T) {
				src := from.open(t)
				fill(t, src)
				var buf bytes.Buffer
				exported, err := Export(ctx, src, &buf)
				if err != nil {
					t.Fatal(err)
				}
				want := Counts{Runs: 2, Results: 4, Deployments: 3, Traces: 3, Feedback: 1, Keys: 2, Artifacts: 3}
				if exported != want {
					t.Errorf("exported %+v; want %+v", exported, want)
				}
				dst := to.open(t)
				got, err := Import(ctx, dst, bytes.NewReader(buf.Bytes()), "lab.jsonl")
				if err != nil {
					t.Fatal(err)
				}
				if got != want {
					t.Errorf("imported %+v; want %+v", got, want)
				}
				a, b := snapshot(t, src), snapshot(t, dst)
				if arts := a["artifacts"].(map[string]storedArtifact); len(arts) != len(artifacts) {
					t.Fatalf("the source holds %d artifacts; fill put %d", len(arts), len(artifacts))
				}
				if !reflect.DeepEqual(a, b) {
					for k := range a {
						if !reflect.DeepEqual(a[k], b[k]) {
							t.Errorf("%s differs after the move:\nfrom %+v\n  to %+v", k, a[k], b[k])
						}
					}
				}
				// A second import adds nothing.
				before := snapshot(t, dst)
				again, err := Import(ctx, dst, bytes.NewReader(buf.Bytes()), "lab.jsonl")
				if err != nil {
					t.Fatal(err)
				}
				if again.Skipped != 3+1+2+3 || again.Artifacts != 0 {
					t.Errorf("second import skipped %d and stored %d artifacts; want the 3 deployment versions, 1 review, 2 keys and 3 artifacts skipped", again.Skipped, again.Artifacts)
				}
				if !reflect.DeepEqual(before, snapshot(t, dst)) {
					t.Error("a second import changed the store")
				}
			})
		}
	}
}

func TestImportBadInput(t *testing.T) {
	const head = `{"tunelab_export":1,"created_at":"2026-11-01T09:00:00Z"}` + "\n"
	const run = `{"run":{"id":"run-a","cases":1,"repeats":1,"status":"done"}}` + "\n"
	cases := []struct {
		name, file string
		want       string // in the error
		line       int
		runs       int // runs stored before the bad line
	}{
		{"empty file", "", "the file is empty", 1, 0},
		{"not an export", `{"id":"c1","input":"x"}` + "\n", "not a tunelab export", 1, 0},
		{"newer format", `{"tunelab_export":9}` + "\n", "upgrade tunelab", 1, 0},
		{"two kinds on a line", head + run + `{"run":{"id":"x"},"key":{"id":"k"}}` + "\n", "holds 2", 3, 1},
		{"unknown field", head + run + `{"runs":{"id":"x"}}` + "\n", "unknown field", 3, 1},
		{"result without ids", head + run + `{"result":{"run_id":"run-a"}}` + "\n", "result: run_id, candidate_id and case_id are required", 3, 1},
		{"key without hash", head + `{"key":{"id":"k9","name":"x"}}` + "\n", "key: id and hash are required", 2, 0},
		{"feedback on a missing trace", head + `{"feedback":{"id":"f","trace_id":"nope"}}` + "\n", "not found", 2, 0},
		{"broken json", head + run + `{"run":` + "\n", "unexpected EOF", 3, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := stores[0].open(t)
			_, err := Import(ctx, st, strings.NewReader(tc.file), "moved.jsonl")
			var le *LineError
			if !errors.As(err, &le) {
				t.Fatalf("err = %v; want a LineError", err)
			}
			if le.Line != tc.line || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), fmt.Sprintf("moved.jsonl line %d", tc.line)) {
				t.Errorf("err = %q; want line %d and %q", err, tc.line, tc.want)
			}
			runs, err := st.Runs(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(runs) != tc.runs {
				t.Errorf("%d runs stored; want the %d before the bad line", len(runs), tc.runs)
			}
		})
	}
}
