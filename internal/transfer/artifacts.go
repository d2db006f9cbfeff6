package transfer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"

	"github.com/tunelab/tunelab/internal/lab"
)

// An artifact is written as one "artifact" line (name, size, SHA-256)
// followed by its bytes in "artifact_part" lines of partSize bytes (the
// last one shorter; none for an empty file). Parts keep every line small
// enough to scan and let a model of hundreds of MiB pass through export and
// import without ever being held whole.
const partSize = 1 << 20

// artifactPart is one slice of an artifact's bytes; Data is base64 in the
// file. Offset and Name repeat what the reader already knows so that a
// line out of place is caught rather than stored.
type artifactPart struct {
	Name   string `json:"name"`
	Offset int64  `json:"offset"`
	Data   []byte `json:"data"`
}

// exportArtifacts writes every artifact of st with put.
func exportArtifacts(ctx context.Context, st lab.Store, put func(record) error, c *Counts) error {
	infos, err := st.Artifacts(ctx)
	if err != nil {
		return err
	}
	for i := range infos {
		info := infos[i]
		if err := put(record{Artifact: &info}); err != nil {
			return err
		}
		pw := &partWriter{name: info.Name, put: put, buf: make([]byte, 0, partSize)}
		got, err := st.ReadArtifact(ctx, info.Name, pw)
		if err == nil {
			err = pw.flush()
		}
		if err != nil {
			return fmt.Errorf("export artifact %s: %w", info.Name, err)
		}
		// The listing and the read are two statements; a job that stored a
		// new checkpoint between them would leave a line that disagrees
		// with the bytes after it.
		if got.Size != info.Size || got.SHA256 != info.SHA256 {
			return fmt.Errorf("export artifact %s: it changed while it was being exported (%d bytes, sha256 %s, then %d bytes, %s); export again once the jobs writing it are done",
				info.Name, info.Size, info.SHA256, got.Size, got.SHA256)
		}
		c.Artifacts++
	}
	return nil
}

// partWriter turns the bytes a store streams into artifact_part lines.
type partWriter struct {
	name string
	put  func(record) error
	buf  []byte
	off  int64
}

func (w *partWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		k := min(len(p), partSize-len(w.buf))
		w.buf = append(w.buf, p[:k]...)
		p = p[k:]
		if len(w.buf) == partSize {
			if err := w.flush(); err != nil {
				return n - len(p), err
			}
		}
	}
	return n, nil
}

func (w *partWriter) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	if err := w.put(record{Part: &artifactPart{Name: w.name, Offset: w.off, Data: w.buf}}); err != nil {
		return err
	}
	w.off += int64(len(w.buf))
	w.buf = w.buf[:0]
	return nil
}

// importArtifact reads the parts that follow the artifact line head and
// stores them under head's name, unless the store already holds the same
// content. The bytes are checked against head's size and hash before the
// store commits them, so a damaged or cut-short file leaves the store's
// earlier content of that name, and everything imported before, in place.
func importArtifact(ctx context.Context, st lab.Store, in *lines, head lab.ArtifactInfo, file string, c *Counts) error {
	headLine := in.line
	field := "artifact " + head.Name
	if strings.TrimSpace(head.Name) == "" {
		field = "artifact"
	}
	fail := func(line int, err error) error {
		return &LineError{File: file, Line: line, Field: field, Err: err}
	}
	if err := checkHead(head); err != nil {
		return fail(headLine, err)
	}
	pr := &partReader{in: in, head: head, headLine: headLine, h: sha256.New()}
	have, err := st.Artifact(ctx, head.Name)
	switch {
	case err == nil && have.Size == head.Size && have.SHA256 == head.SHA256:
		// Read the parts anyway: they must be consumed to reach the next
		// record, and a damaged file is worth saying so even when the
		// target needs nothing from it.
		if _, err := io.Copy(io.Discard, pr); err != nil {
			return fail(pr.errLine, err)
		}
		c.Skipped++
		return nil
	case err != nil && !errors.Is(err, lab.ErrNotFound):
		return fail(headLine, err)
	}
	if _, err := st.PutArtifact(ctx, head.Name, pr); err != nil {
		if pr.err != nil && pr.err != io.EOF {
			return fail(pr.errLine, pr.err)
		}
		return fail(headLine, err)
	}
	c.Artifacts++
	return nil
}

func checkHead(h lab.ArtifactInfo) error {
	if strings.TrimSpace(h.Name) == "" {
		return errors.New("name is missing")
	}
	if h.Size < 0 {
		return fmt.Errorf("size %d is negative", h.Size)
	}
	if b, err := hex.DecodeString(h.SHA256); err != nil || len(b) != sha256.Size {
		return fmt.Errorf("sha256 %q is not 64 hex digits", h.SHA256)
	}
	return nil
}

// partReader yields an artifact's bytes from the artifact_part lines that
// follow its head, and reports io.EOF only once they add up to the size
// and hash the head promised. Its error is sticky: io.ReadFull drops an
// error that comes with a full buffer, so the next Read must repeat it.
type partReader struct {
	in       *lines
	head     lab.ArtifactInfo
	headLine int
	h        hash.Hash
	got      int64
	cur      []byte
	err      error
	errLine  int
}

func (r *partReader) Read(p []byte) (int, error) {
	for len(r.cur) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		if r.got == r.head.Size {
			r.err, r.errLine = r.finish(), r.headLine
			continue
		}
		r.errLine, r.err = r.next()
	}
	n := copy(p, r.cur)
	r.cur = r.cur[n:]
	return n, nil
}

func (r *partReader) finish() error {
	if sum := hex.EncodeToString(r.h.Sum(nil)); sum != r.head.SHA256 {
		return fmt.Errorf("its %d bytes have sha256 %s but the file says %s: the file is damaged; export it again", r.got, sum, r.head.SHA256)
	}
	return io.EOF
}

// next reads the following part line; an error comes with the line it
// concerns (the artifact's own line when the file ends before its parts).
func (r *partReader) next() (int, error) {
	if !r.in.next() {
		if err := r.in.sc.Err(); err != nil {
			return r.in.line + 1, fmt.Errorf("read: %w", err)
		}
		return r.headLine, fmt.Errorf("the file ends after %d of the artifact's %d bytes: it was cut short; export it again", r.got, r.head.Size)
	}
	line := r.in.line
	rec, err := decodeLine(r.in.sc.Bytes())
	if err != nil {
		return line, fmt.Errorf("not a whole artifact_part line (%v): the file is damaged or cut short; export it again", err)
	}
	p := rec.Part
	switch {
	case rec.kinds() != 1:
		return line, fmt.Errorf("a line holds exactly one of %s; this one holds %d: the file is damaged; export it again", kindsList, rec.kinds())
	case p == nil:
		return line, fmt.Errorf("expected the artifact's bytes from %d of %d on (an artifact_part line), found another record: the file is damaged; export it again", r.got, r.head.Size)
	case p.Name != r.head.Name || p.Offset != r.got:
		return line, fmt.Errorf("expected the artifact's bytes from %d, found artifact %s from byte %d: the file is damaged; export it again", r.got, p.Name, p.Offset)
	case len(p.Data) == 0:
		return line, errors.New("an artifact_part line holds no bytes: the file is damaged; export it again")
	case r.got+int64(len(p.Data)) > r.head.Size:
		return line, fmt.Errorf("the parts run past the artifact's %d bytes (to %d): the file is damaged; export it again", r.head.Size, r.got+int64(len(p.Data)))
	}
	r.h.Write(p.Data)
	r.got += int64(len(p.Data))
	r.cur = p.Data
	return line, nil
}
