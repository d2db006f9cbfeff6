package transfer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/tunelab/tunelab/internal/lab"
)

// jsonLine is rec as the export writes it.
func jsonLine(t *testing.T, rec record) string {
	t.Helper()
	b, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	return string(b) + "\n"
}

// artifactLines are an artifact's head line and its part lines.
func artifactLines(t *testing.T, name string, data []byte) []string {
	t.Helper()
	out := []string{jsonLine(t, record{Artifact: &lab.ArtifactInfo{Name: name, Size: int64(len(data)), SHA256: sha(data)}})}
	for off := 0; off < len(data); off += partSize {
		out = append(out, jsonLine(t, record{Part: &artifactPart{Name: name, Offset: int64(off), Data: data[off:min(off+partSize, len(data))]}}))
	}
	return out
}

func readArtifact(t *testing.T, st lab.Store, name string) ([]byte, error) {
	t.Helper()
	var buf bytes.Buffer
	_, err := st.ReadArtifact(ctx, name, &buf)
	return buf.Bytes(), err
}

func TestImportBadArtifact(t *testing.T) {
	const head = `{"tunelab_export":2,"created_at":"2026-11-01T09:00:00Z"}` + "\n"
	const run = `{"run":{"id":"run-a","cases":1,"repeats":1,"status":"done"}}` + "\n"
	good, bad := []byte("a job record"), payload(2*partSize+5, 3)
	old := []byte("the target's own b")
	// The file is head, run (line 2), a's 2 lines (3-4), then b's head
	// (line 5) and its three parts (6-8); each case damages b.
	cases := []struct {
		name   string
		damage func(b []string) []string
		line   int
		want   string // in the error
	}{
		{"cut short after a part", func(b []string) []string { return b[:3] }, 5,
			"the file ends after 2097152 of the artifact's 2097157 bytes: it was cut short"},
		{"cut short inside a line", func(b []string) []string { return append(b[:2], b[2][:len(b[2])/2]) }, 7, "unexpected EOF"},
		{"a byte changed", func(b []string) []string {
			var rec record
			if err := json.Unmarshal([]byte(b[2]), &rec); err != nil {
				t.Fatal(err)
			}
			rec.Part.Data[100] ^= 1
			b[2] = jsonLine(t, rec)
			return b
		}, 5, "have sha256 "},
		{"not base64", func(b []string) []string {
			b[3] = `{"artifact_part":{"name":"models/b.gguf","offset":2097152,"data":"#####"}}` + "\n"
			return b
		}, 8, "illegal base64"},
		{"parts out of order", func(b []string) []string { b[1], b[2] = b[2], b[1]; return b }, 6,
			"expected the artifact's bytes from 0, found artifact models/b.gguf from byte 1048576"},
		{"part of another artifact", func(b []string) []string { b[2] = strings.Replace(b[2], "models/b.gguf", "models/c.gguf", 1); return b }, 7,
			"found artifact models/c.gguf"},
		{"another record among the parts", func(b []string) []string { return append(b[:2], append([]string{run}, b[2:]...)...) }, 7,
			"found another record"},
		{"more bytes than the head says", func(b []string) []string {
			b[0] = strings.Replace(b[0], `"size":2097157`, `"size":1048580`, 1)
			return b
		}, 7, "the parts run past the artifact's 1048580 bytes (to 2097152)"},
		{"hash not hex", func(b []string) []string {
			b[0] = strings.Replace(b[0], `"sha256":"`, `"sha256":"zz`, 1)
			return b
		}, 5, "is not 64 hex digits"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := stores[0].open(t)
			if _, err := st.PutArtifact(ctx, "models/b.gguf", bytes.NewReader(old)); err != nil {
				t.Fatal(err)
			}
			file := head + run + strings.Join(artifactLines(t, "models/a.gguf", good), "") +
				strings.Join(tc.damage(artifactLines(t, "models/b.gguf", bad)), "")
			c, err := Import(ctx, st, strings.NewReader(file), "moved.jsonl")
			var le *LineError
			if !errors.As(err, &le) {
				t.Fatalf("err = %v; want a LineError", err)
			}
			prefix := fmt.Sprintf("moved.jsonl line %d, artifact models/b.gguf: ", tc.line)
			if !strings.HasPrefix(err.Error(), prefix) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %q\nwant it to begin %q and hold %q", err, prefix, tc.want)
			}
			// What came before stays; b keeps the target's own content.
			if c.Runs != 1 || c.Artifacts != 1 {
				t.Errorf("counted %+v before the error; want 1 run and 1 artifact", c)
			}
			if _, err := st.Run(ctx, "run-a"); err != nil {
				t.Errorf("the run before the bad artifact: %v", err)
			}
			if got, err := readArtifact(t, st, "models/a.gguf"); err != nil || !bytes.Equal(got, good) {
				t.Errorf("artifact a = %q, %v; want %q", got, err, good)
			}
			if got, err := readArtifact(t, st, "models/b.gguf"); err != nil || !bytes.Equal(got, old) {
				t.Errorf("artifact b holds %d bytes, %v; want the target's own %q", len(got), err, old)
			}
		})
	}
}

func TestImportArtifactLines(t *testing.T) {
	const head = `{"tunelab_export":2,"created_at":"2026-11-01T09:00:00Z"}` + "\n"
	cases := []struct {
		name, file string
		want       string // the whole error
	}{
		{"a part with no artifact line", head + `{"artifact_part":{"name":"m","offset":0,"data":"AA=="}}` + "\n",
			"moved.jsonl line 2, artifact_part: byte 0 of artifact m follows no artifact line of that name: the file is damaged; export it again"},
		{"an artifact with no name", head + `{"artifact":{"name":" ","size":0,"sha256":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}}` + "\n",
			"moved.jsonl line 2, artifact: name is missing"},
		{"a negative size", head + `{"artifact":{"name":"m","size":-1,"sha256":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}}` + "\n",
			"moved.jsonl line 2, artifact m: size -1 is negative"},
		{"an empty part", head + `{"artifact":{"name":"m","size":1,"sha256":"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"}}` + "\n" +
			`{"artifact_part":{"name":"m","offset":0,"data":""}}` + "\n",
			"moved.jsonl line 3, artifact m: an artifact_part line holds no bytes: the file is damaged; export it again"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := stores[0].open(t)
			_, err := Import(ctx, st, strings.NewReader(tc.file), "moved.jsonl")
			if err == nil || err.Error() != tc.want {
				t.Fatalf("err = %v\nwant %s", err, tc.want)
			}
			if infos, err := st.Artifacts(ctx); err != nil || len(infos) != 0 {
				t.Errorf("artifacts after the error: %+v, %v; want none", infos, err)
			}
		})
	}
}

// TestImportArtifactTarget imports an artifact into stores that already
// hold the same name with various content.
func TestImportArtifactTarget(t *testing.T) {
	data := payload(partSize+7, 5)
	file := `{"tunelab_export":2}` + "\n" + strings.Join(artifactLines(t, "models/m.gguf", data), "")
	cases := []struct {
		name            string
		have            []byte // nil: no artifact of that name
		stored, skipped int
	}{
		{"missing", nil, 1, 0},
		{"identical", data, 0, 1},
		{"different", []byte("an older model"), 1, 0},
		{"same size, other bytes", payload(partSize+7, 6), 1, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := stores[0].open(t)
			if tc.have != nil {
				if _, err := st.PutArtifact(ctx, "models/m.gguf", bytes.NewReader(tc.have)); err != nil {
					t.Fatal(err)
				}
			}
			c, err := Import(ctx, st, strings.NewReader(file), "m.jsonl")
			if err != nil {
				t.Fatal(err)
			}
			if c.Artifacts != tc.stored || c.Skipped != tc.skipped {
				t.Errorf("stored %d and skipped %d; want %d and %d", c.Artifacts, c.Skipped, tc.stored, tc.skipped)
			}
			if got, err := readArtifact(t, st, "models/m.gguf"); err != nil || !bytes.Equal(got, data) {
				t.Errorf("the store holds %d bytes (sha %s), %v; want the file's %d", len(got), sha(got), err, len(data))
			}
		})
	}
}

// watchedStore notes how far the export had got in its file each time an
// artifact's bytes passed between it and the store: bytes that stream
// reach the file while the store is still sending them, and the store
// takes them in while most of the file is still unread.
type watchedStore struct {
	lab.Store
	file *counter
	at   []int64
}

type counter struct {
	n int64
	w io.Writer
	r io.Reader
}

func (c *counter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

type funcWriter func([]byte) (int, error)

func (f funcWriter) Write(p []byte) (int, error) { return f(p) }

type funcReader func([]byte) (int, error)

func (f funcReader) Read(p []byte) (int, error) { return f(p) }

func (s *watchedStore) ReadArtifact(ctx context.Context, name string, w io.Writer) (lab.ArtifactInfo, error) {
	return s.Store.ReadArtifact(ctx, name, funcWriter(func(p []byte) (int, error) {
		s.at = append(s.at, s.file.n)
		return w.Write(p)
	}))
}

func (s *watchedStore) PutArtifact(ctx context.Context, name string, r io.Reader) (lab.ArtifactInfo, error) {
	return s.Store.PutArtifact(ctx, name, funcReader(func(p []byte) (int, error) {
		n, err := r.Read(p)
		if n > 0 {
			s.at = append(s.at, s.file.n)
		}
		return n, err
	}))
}

func TestArtifactsStream(t *testing.T) {
	const size = 12 << 20
	data := payload(size, 9)
	src := stores[0].open(t)
	if _, err := src.PutArtifact(ctx, "models/big.gguf", bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	out := &watchedStore{Store: src, file: &counter{w: &buf}}
	if _, err := Export(ctx, out, out.file); err != nil {
		t.Fatal(err)
	}
	if len(out.at) < 2 {
		t.Fatalf("the store sent the artifact in %d writes; the test needs several", len(out.at))
	}
	// Before the store's last write, all but that write and one part have
	// been encoded (a third longer in base64) into the file.
	if last := out.at[len(out.at)-1]; last < size/2 {
		t.Errorf("the file held %d bytes when the store sent its last bytes; want the earlier bytes written by then (%d or more)", last, size/2)
	}

	dst := stores[0].open(t)
	in := &watchedStore{Store: dst, file: &counter{r: bytes.NewReader(buf.Bytes())}}
	if _, err := Import(ctx, in, in.file, "big.jsonl"); err != nil {
		t.Fatal(err)
	}
	if len(in.at) == 0 {
		t.Fatal("the store read nothing")
	}
	if first := in.at[0]; first > int64(buf.Len()/4) {
		t.Errorf("%d of the file's %d bytes were read before the store took the artifact's first bytes; want a quarter or less", first, buf.Len())
	}
	if got, err := readArtifact(t, dst, "models/big.gguf"); err != nil || !bytes.Equal(got, data) {
		t.Errorf("imported %d bytes, %v; want the %d exported", len(got), err, size)
	}
}
