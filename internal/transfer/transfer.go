// Package transfer moves a lab's state between stores: Export writes
// everything a store holds for a lab (runs and their results, deployments
// with every version, traces, feedback, gateway keys and the store's
// artifacts: tuned models and tuning jobs' checkpoints and records) as JSON
// Lines, and Import reads it into another store. Import is idempotent:
// importing the same file twice, or again after an interruption, records
// each thing once. The response cache is not moved: it is a cache, and a
// new store fills it as calls are made.
package transfer

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/tunelab/tunelab/internal/lab"
)

// Version is the format version Export writes. Import reads it and every
// earlier one. Version 2 added artifacts; a tunelab that reads only 1 then
// says to upgrade rather than that a line holds an unknown field.
const Version = 2

// header is the first line of an export.
type header struct {
	Format    int       `json:"tunelab_export"`
	CreatedAt time.Time `json:"created_at"`
}

// record is one line after the header: exactly one field is set.
type record struct {
	Run        *lab.RunInfo    `json:"run,omitempty"`
	Result     *lab.CallResult `json:"result,omitempty"`
	Deployment *lab.Deployment `json:"deployment,omitempty"`
	Trace      *lab.Trace      `json:"trace,omitempty"`
	Feedback   *lab.Feedback   `json:"feedback,omitempty"`
	Key        *keyRecord      `json:"key,omitempty"`
	// Artifact opens an artifact; its bytes follow in Part lines.
	Artifact *lab.ArtifactInfo `json:"artifact,omitempty"`
	Part     *artifactPart     `json:"artifact_part,omitempty"`
}

// keyRecord carries a gateway key with its hash, which lab.APIKey keeps
// out of JSON everywhere else. The hash is not the secret: the moved key
// keeps working, and nobody can read the secret from the file.
type keyRecord struct {
	lab.APIKey
	Hash string `json:"hash"`
}

func (r record) kinds() int {
	n := 0
	for _, set := range []bool{r.Run != nil, r.Result != nil, r.Deployment != nil, r.Trace != nil, r.Feedback != nil, r.Key != nil, r.Artifact != nil, r.Part != nil} {
		if set {
			n++
		}
	}
	return n
}

// Counts says how many of each thing an export or import handled.
type Counts struct {
	Runs        int `json:"runs"`
	Results     int `json:"results"`
	Deployments int `json:"deployments"` // versions
	Traces      int `json:"traces"`
	Feedback    int `json:"feedback"`
	Keys        int `json:"keys"`
	Artifacts   int `json:"artifacts"`
	// Skipped are things Import left alone because the target already had
	// them (a deployment of the same name, a key or review with the same
	// id, an artifact of the same name and content).
	Skipped int `json:"skipped"`
}

func (c Counts) String() string {
	s := fmt.Sprintf("%d runs, %d results, %d deployment versions, %d traces, %d reviews, %d keys, %d artifacts",
		c.Runs, c.Results, c.Deployments, c.Traces, c.Feedback, c.Keys, c.Artifacts)
	if c.Skipped > 0 {
		s += fmt.Sprintf(" (%d already there, left as they were)", c.Skipped)
	}
	return s
}

// Export writes everything st holds to w.
func Export(ctx context.Context, st lab.Store, w io.Writer) (Counts, error) {
	var c Counts
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(header{Format: Version, CreatedAt: time.Now().UTC()}); err != nil {
		return c, err
	}
	put := func(r record) error { return enc.Encode(r) }

	runs, err := st.Runs(ctx)
	if err != nil {
		return c, err
	}
	slices.Reverse(runs) // oldest first, as they happened
	for i := range runs {
		if err := put(record{Run: &runs[i]}); err != nil {
			return c, err
		}
		c.Runs++
		results, err := st.Results(ctx, runs[i].ID)
		if err != nil {
			return c, err
		}
		for j := range results {
			if err := put(record{Result: &results[j]}); err != nil {
				return c, err
			}
			c.Results++
		}
	}

	deps, err := st.Deployments(ctx)
	if err != nil {
		return c, err
	}
	for _, d := range deps {
		hist, err := st.DeploymentHistory(ctx, d.Name)
		if err != nil {
			return c, err
		}
		for i := range hist {
			if err := put(record{Deployment: &hist[i]}); err != nil {
				return c, err
			}
			c.Deployments++
		}
	}

	traces, err := st.Traces(ctx, lab.TraceFilter{Shadow: true})
	if err != nil {
		return c, err
	}
	slices.Reverse(traces)
	for i := range traces {
		if err := put(record{Trace: &traces[i]}); err != nil {
			return c, err
		}
		c.Traces++
	}
	reviewed, err := st.Traces(ctx, lab.TraceFilter{Shadow: true, Reviewed: true})
	if err != nil {
		return c, err
	}
	slices.Reverse(reviewed)
	for _, t := range reviewed {
		fbs, err := st.Feedback(ctx, t.ID)
		if err != nil {
			return c, err
		}
		for i := range fbs {
			if err := put(record{Feedback: &fbs[i]}); err != nil {
				return c, err
			}
			c.Feedback++
		}
	}

	keys, err := st.Keys(ctx)
	if err != nil {
		return c, err
	}
	for i := range keys {
		if err := put(record{Key: &keyRecord{APIKey: keys[i], Hash: keys[i].Hash}}); err != nil {
			return c, err
		}
		c.Keys++
	}
	if err := exportArtifacts(ctx, st, put, &c); err != nil {
		return c, err
	}
	return c, nil
}

// LineError says which line of an export could not be imported, and why.
type LineError struct {
	File  string
	Line  int
	Field string // the record's kind, when known
	Err   error
}

func (e *LineError) Error() string {
	where := fmt.Sprintf("%s line %d", e.File, e.Line)
	if e.Field != "" {
		where += ", " + e.Field
	}
	return fmt.Sprintf("%s: %v", where, e.Err)
}

func (e *LineError) Unwrap() error { return e.Err }

// traceBatch bounds the traces written in one transaction.
const traceBatch = 500

// Import reads an export from r (named file in errors) into st. Everything
// before a bad line is imported; running it again after fixing the line
// finishes the rest and records nothing twice.
func Import(ctx context.Context, st lab.Store, r io.Reader, file string) (Counts, error) {
	var c Counts
	in := newLines(r)
	if !in.next() {
		if err := in.sc.Err(); err != nil {
			return c, fmt.Errorf("read %s: %w", file, err)
		}
		return c, &LineError{File: file, Line: 1, Err: errors.New("the file is empty; give a file written by 'tunelab export'")}
	}
	var h header
	if err := json.Unmarshal(in.sc.Bytes(), &h); err != nil || h.Format == 0 {
		return c, &LineError{File: file, Line: 1, Err: errors.New("not a tunelab export (the first line should be {\"tunelab_export\":1,...}); give a file written by 'tunelab export'")}
	}
	if h.Format > Version {
		return c, &LineError{File: file, Line: 1, Field: "tunelab_export", Err: fmt.Errorf("format %d is newer than this tunelab reads (%d): upgrade tunelab", h.Format, Version)}
	}

	// What the target holds already decides what is skipped; deployments
	// are judged by name as the import began, so a second import of the
	// same file skips the versions the first one added.
	had := map[string]bool{}
	deps, err := st.Deployments(ctx)
	if err != nil {
		return c, err
	}
	for _, d := range deps {
		had[d.Name] = true
	}
	keys, err := st.Keys(ctx)
	if err != nil {
		return c, err
	}
	haveKey := map[string]bool{}
	for _, k := range keys {
		haveKey[k.ID] = true
	}

	var traces []lab.Trace
	flush := func() error {
		if len(traces) == 0 {
			return nil
		}
		if err := st.SaveTraces(ctx, traces); err != nil {
			return err
		}
		c.Traces += len(traces)
		traces = traces[:0]
		return nil
	}
	reviews := map[string]map[string]bool{} // trace id -> review ids stored
	for in.next() {
		b := in.sc.Bytes()
		if len(b) == 0 {
			continue
		}
		line := in.line
		rec, err := decodeRecord(b)
		if err != nil {
			return c, &LineError{File: file, Line: line, Err: err}
		}
		fail := func(field string, err error) error {
			return &LineError{File: file, Line: line, Field: field, Err: err}
		}
		if rec.Trace == nil {
			if err := flush(); err != nil {
				return c, fail("trace", err)
			}
		}
		switch {
		case rec.Run != nil:
			if rec.Run.ID == "" {
				return c, fail("run.id", errors.New("missing"))
			}
			if err := st.SaveRun(ctx, *rec.Run); err != nil {
				return c, fail("run", err)
			}
			c.Runs++
		case rec.Result != nil:
			if rec.Result.RunID == "" || rec.Result.CandidateID == "" || rec.Result.CaseID == "" {
				return c, fail("result", errors.New("run_id, candidate_id and case_id are required"))
			}
			if err := st.SaveResult(ctx, *rec.Result); err != nil {
				return c, fail("result", err)
			}
			c.Results++
		case rec.Deployment != nil:
			d := *rec.Deployment
			if had[d.Name] {
				c.Skipped++
				continue
			}
			saved, err := st.SaveDeployment(ctx, d)
			if err != nil {
				return c, fail("deployment", err)
			}
			if saved.Version != d.Version {
				return c, fail("deployment.version", fmt.Errorf("deployment %s version %d was stored as version %d: the file's versions of it are not 1, 2, 3, … in order", d.Name, d.Version, saved.Version))
			}
			c.Deployments++
		case rec.Trace != nil:
			if rec.Trace.ID == "" {
				return c, fail("trace.id", errors.New("missing"))
			}
			traces = append(traces, *rec.Trace)
			if len(traces) >= traceBatch {
				if err := flush(); err != nil {
					return c, fail("trace", err)
				}
			}
		case rec.Feedback != nil:
			f := *rec.Feedback
			stored, ok := reviews[f.TraceID]
			if !ok {
				fbs, err := st.Feedback(ctx, f.TraceID)
				if err != nil {
					return c, fail("feedback", err)
				}
				stored = map[string]bool{}
				for _, x := range fbs {
					stored[x.ID] = true
				}
				reviews[f.TraceID] = stored
			}
			if stored[f.ID] {
				c.Skipped++
				continue
			}
			if err := st.SaveFeedback(ctx, f); err != nil {
				return c, fail("feedback", err)
			}
			stored[f.ID] = true
			c.Feedback++
		case rec.Key != nil:
			if haveKey[rec.Key.ID] {
				c.Skipped++
				continue
			}
			k := rec.Key.APIKey
			k.Hash = rec.Key.Hash
			if k.ID == "" || k.Hash == "" {
				return c, fail("key", errors.New("id and hash are required"))
			}
			if err := st.SaveKey(ctx, k); err != nil {
				return c, fail("key", err)
			}
			haveKey[rec.Key.ID] = true
			c.Keys++
		case rec.Artifact != nil:
			if err := importArtifact(ctx, st, in, *rec.Artifact, file, &c); err != nil {
				return c, err
			}
		case rec.Part != nil:
			return c, fail("artifact_part", fmt.Errorf("byte %d of artifact %s follows no artifact line of that name: the file is damaged; export it again", rec.Part.Offset, rec.Part.Name))
		}
	}
	if err := in.sc.Err(); err != nil {
		return c, &LineError{File: file, Line: in.line + 1, Err: err}
	}
	if err := flush(); err != nil {
		return c, &LineError{File: file, Line: in.line, Field: "trace", Err: err}
	}
	return c, nil
}

// lines reads an export a line at a time and counts lines for errors.
type lines struct {
	sc   *bufio.Scanner
	line int
}

func newLines(r io.Reader) *lines {
	sc := bufio.NewScanner(r)
	// An artifact's part is partSize bytes in base64, a third longer.
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	return &lines{sc: sc}
}

func (l *lines) next() bool {
	if !l.sc.Scan() {
		return false
	}
	l.line++
	return true
}

const kindsList = "run, result, deployment, trace, feedback, key, artifact or artifact_part"

// decodeRecord reads one line after the header, refusing fields it does
// not know so a misspelt kind is not silently skipped.
func decodeRecord(b []byte) (record, error) {
	rec, err := decodeLine(b)
	if err != nil {
		return rec, fmt.Errorf("%v; each line holds one of %s", err, kindsList)
	}
	if rec.kinds() != 1 {
		return rec, fmt.Errorf("a line holds exactly one of %s; this one holds %d", kindsList, rec.kinds())
	}
	return rec, nil
}

func decodeLine(b []byte) (record, error) {
	var rec record
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	err := dec.Decode(&rec)
	return rec, err
}
