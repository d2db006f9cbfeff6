package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/tunelab/tunelab/internal/lab"
)

// artifactTests are the lab.ArtifactStore part of the contract.
var artifactTests = []struct {
	name string
	fn   func(t *testing.T, h *harness)
}{
	{"artifacts/round-trip", testArtifactRoundTrip},
	{"artifacts/replace", testArtifactReplace},
	{"artifacts/not-found", testArtifactNotFound},
	{"artifacts/failed-put-keeps-old", testArtifactFailedPut},
	{"artifacts/refuses-empty-name", testArtifactEmptyName},
	{"artifacts/list", testArtifactList},
}

// payload is n seeded random bytes: incompressible, so no layer can store
// it shorter than it is.
func payload(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func testArtifactRoundTrip(t *testing.T, h *harness) {
	s := h.store(t)
	cases := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"one byte", []byte{0}},
		{"small text", []byte("checkpoint: step 20\n")},
		// 9 MiB + 3 bytes: parts of 4 MiB, 4 MiB and a short tail.
		{"several parts", payload(9<<20+3, 7)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			name := "jobs/ft-1/" + strings.ReplaceAll(tc.name, " ", "-")
			put, err := s.PutArtifact(ctx, name, bytes.NewReader(tc.data))
			if err != nil {
				t.Fatal(err)
			}
			if put.Size != int64(len(tc.data)) || put.SHA256 != sha(tc.data) || put.Name != name {
				t.Fatalf("put = %+v, want size %d sha %s", put, len(tc.data), sha(tc.data))
			}
			info, err := s.Artifact(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			if info.Size != put.Size || info.SHA256 != put.SHA256 || !info.UpdatedAt.Equal(put.UpdatedAt) || info.UpdatedAt.Location().String() != "UTC" {
				t.Fatalf("Artifact = %+v, want %+v", info, put)
			}
			var buf bytes.Buffer
			got, err := s.ReadArtifact(ctx, name, &buf)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), tc.data) {
				t.Fatalf("read %d bytes (sha %s), want %d (sha %s)", buf.Len(), sha(buf.Bytes()), len(tc.data), sha(tc.data))
			}
			if got.SHA256 != put.SHA256 || got.Size != put.Size {
				t.Fatalf("ReadArtifact info = %+v, want %+v", got, put)
			}
		})
	}
}

// A shorter version replacing a longer one leaves none of the old parts.
func testArtifactReplace(t *testing.T, h *harness) {
	s := h.store(t)
	long, short := payload(5<<20, 1), []byte("short")
	for _, data := range [][]byte{long, short} {
		if _, err := s.PutArtifact(ctx, "models/tuned.gguf", bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	s = h.store(t) // durable across a reopen
	var buf bytes.Buffer
	info, err := s.ReadArtifact(ctx, "models/tuned.gguf", &buf)
	if err != nil {
		t.Fatal(err)
	}
	if buf.String() != "short" || info.Size != 5 || info.SHA256 != sha(short) {
		t.Fatalf("after replacing: %d bytes %q..., info %+v; want the short version", buf.Len(), buf.Bytes()[:min(buf.Len(), 8)], info)
	}
}

func testArtifactNotFound(t *testing.T, h *harness) {
	s := h.store(t)
	if _, err := s.Artifact(ctx, "nope"); !errors.Is(err, lab.ErrNotFound) {
		t.Fatalf("Artifact(nope) error = %v, want lab.ErrNotFound", err)
	}
	var buf bytes.Buffer
	if _, err := s.ReadArtifact(ctx, "nope", &buf); !errors.Is(err, lab.ErrNotFound) {
		t.Fatalf("ReadArtifact(nope) error = %v, want lab.ErrNotFound", err)
	}
}

// failingReader yields n bytes and then fails.
type failingReader struct {
	r   io.Reader
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, f.err
	}
	return n, err
}

// A put whose reader fails, or whose context ends, midway changes nothing.
func testArtifactFailedPut(t *testing.T, h *harness) {
	s := h.store(t)
	old := []byte("the checkpoint of step 20")
	if _, err := s.PutArtifact(ctx, "jobs/ft-2/checkpoint.gguf", bytes.NewReader(old)); err != nil {
		t.Fatal(err)
	}
	broken := errors.New("disk gone")
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	cases := []struct {
		name string
		ctx  context.Context
		r    io.Reader
	}{
		{"reader fails after several parts", ctx, &failingReader{r: bytes.NewReader(payload(9<<20, 3)), err: broken}},
		{"context canceled", canceled, bytes.NewReader(payload(1<<20, 4))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := s.PutArtifact(tc.ctx, "jobs/ft-2/checkpoint.gguf", tc.r); err == nil {
				t.Fatal("PutArtifact succeeded; want the failure reported")
			}
			var buf bytes.Buffer
			info, err := s.ReadArtifact(ctx, "jobs/ft-2/checkpoint.gguf", &buf)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), old) || info.SHA256 != sha(old) {
				t.Fatalf("after a failed put the artifact holds %d bytes (info %+v); want the old %d", buf.Len(), info, len(old))
			}
		})
	}
}

func testArtifactEmptyName(t *testing.T, h *harness) {
	s := h.store(t)
	if _, err := s.PutArtifact(ctx, " ", strings.NewReader("x")); err == nil {
		t.Fatal("PutArtifact with a blank name succeeded")
	}
}

// The listing names every artifact once, in bytewise order whatever the
// database's collation (which would put "a" before "B"), with what
// Artifact says of each; a put that failed adds nothing to it.
func testArtifactList(t *testing.T, h *harness) {
	s := h.store(t)
	if got, err := s.Artifacts(ctx); err != nil || len(got) != 0 {
		t.Fatalf("Artifacts on an empty store = %v, %v; want none", got, err)
	}
	puts := []struct {
		name string
		data []byte
	}{
		{"tune/ft-1/record.json", []byte(`{"id":"ft-1"}`)},
		{"models/b.gguf", []byte("old")},
		{"models/B.gguf", nil},
		{"models/a_b.gguf", []byte("x")},
		{"models/ab.gguf", payload(5<<20, 9)},
		{"models/b.gguf", []byte("new and longer")}, // replaces, listed once
	}
	for _, p := range puts {
		if _, err := s.PutArtifact(ctx, p.name, bytes.NewReader(p.data)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.PutArtifact(ctx, "models/failed.gguf", &failingReader{r: strings.NewReader("part"), err: errors.New("disk gone")}); err == nil {
		t.Fatal("PutArtifact with a failing reader succeeded")
	}
	s.Close()
	s = h.store(t)
	got, err := s.Artifacts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		name string
		size int64
		sha  string
	}{
		{"models/B.gguf", 0, sha(nil)},
		{"models/a_b.gguf", 1, sha([]byte("x"))},
		{"models/ab.gguf", 5 << 20, sha(payload(5<<20, 9))},
		{"models/b.gguf", 14, sha([]byte("new and longer"))},
		{"tune/ft-1/record.json", 13, sha([]byte(`{"id":"ft-1"}`))},
	}
	if len(got) != len(want) {
		t.Fatalf("Artifacts listed %d: %+v; want %d", len(got), got, len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Name != w.name || g.Size != w.size || g.SHA256 != w.sha {
			t.Errorf("artifact %d = %s (%d bytes, %s); want %s (%d bytes, %s)", i, g.Name, g.Size, g.SHA256, w.name, w.size, w.sha)
			continue
		}
		one, err := s.Artifact(ctx, g.Name)
		if err != nil {
			t.Fatal(err)
		}
		if one.Name != g.Name || one.Size != g.Size || one.SHA256 != g.SHA256 || !one.UpdatedAt.Equal(g.UpdatedAt) || g.UpdatedAt.Location() != time.UTC {
			t.Errorf("listed %+v; Artifact says %+v (both in UTC)", g, one)
		}
	}
}
