package report

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tunelab/tunelab/internal/eval"
	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/testutil/golden"
)

func sampleDoc() Document {
	cands := []lab.Candidate{
		{ID: "m/zero-shot", Model: "openai:gpt-4o-mini", Variant: lab.Variant{Name: "zero-shot"}},
		{ID: "m/few-shot", Model: "openai:gpt-4o-mini", Variant: lab.Variant{Name: "few-shot"}},
	}
	cases := []lab.Example{{ID: "c1", Input: "late parcel", Expected: "shipping"}, {ID: "c2", Input: "refund me", Expected: "billing"}, {ID: "c3", Input: "<b>login</b>", Expected: "login"}}
	var results []lab.CallResult
	passes := map[string][]bool{"m/zero-shot": {true, false, false}, "m/few-shot": {true, true, false}}
	for _, c := range cands {
		for i, ex := range cases {
			ans := ex.Expected
			if !passes[c.ID][i] {
				ans = "other"
			}
			results = append(results, lab.CallResult{RunID: "r1", CandidateID: c.ID, CaseID: ex.ID, Answer: ans, Output: ans, Pass: passes[c.ID][i],
				LatencyMS: float64(100 * (i + 1)), TokensIn: 50, TokensOut: 2, Cost: 0.0001, CreatedAt: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)})
		}
	}
	// One call failed after retries: the table must say so and why.
	for i, r := range results {
		if r.CandidateID == "m/zero-shot" && r.CaseID == "c3" {
			results[i].Answer, results[i].Output = "", ""
			results[i].Error, results[i].ErrorKind, results[i].Attempts = "openai: HTTP 429: slow down (gave up after 3 attempts)", eval.ErrRateLimited, 3
		}
	}
	run := lab.RunInfo{ID: "r1", Lab: "routing", Dataset: "abc", Candidates: cands, Cases: 3, Repeats: 1, PrimaryScorer: "label"}
	return Document{Task: lab.Task{Name: "routing", Description: "Route it.", Output: "label"}, Summary: eval.Summarize(run, results), Cases: cases, Results: results}
}

func TestTable(t *testing.T) {
	var buf bytes.Buffer
	if err := Table(&buf, sampleDoc().Summary); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "table.golden"), buf.Bytes())
}

func TestWriteJSON(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*Document)
		check  func(t *testing.T, raw map[string]any)
	}{
		{"complete", func(*Document) {}, func(t *testing.T, raw map[string]any) {
			if raw["schema_version"].(float64) != SchemaVersion {
				t.Errorf("schema_version = %v", raw["schema_version"])
			}
			best := raw["summary"].(map[string]any)["best"]
			if best != "m/few-shot" {
				t.Errorf("best = %v, want m/few-shot", best)
			}
		}},
		{"candidate without results writes -1, not NaN", func(d *Document) {
			d.Summary.Candidates[1].Accuracy = math.NaN()
			d.Summary.Candidates[1].CILow = math.NaN()
		}, func(t *testing.T, raw map[string]any) {
			c := raw["summary"].(map[string]any)["candidates"].([]any)[1].(map[string]any)
			if c["accuracy"].(float64) != -1 || c["ci_low"].(float64) != -1 {
				t.Errorf("NaN not replaced: %v", c)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := sampleDoc()
			tc.mutate(&d)
			path := filepath.Join(t.TempDir(), "out.json")
			if err := WriteJSON(path, d); err != nil {
				t.Fatal(err)
			}
			b, _ := os.ReadFile(path)
			var raw map[string]any
			if err := json.Unmarshal(b, &raw); err != nil {
				t.Fatal(err)
			}
			tc.check(t, raw)
		})
	}
}

func TestWriteHTML(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.html")
	if err := WriteHTML(path, sampleDoc()); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	page := string(b)
	for _, want := range []string{"<svg", "m/few-shot", "<circle", "&lt;b&gt;login&lt;/b&gt;", "refund me"} {
		if !strings.Contains(page, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	for _, banned := range []string{"<script src", "http://", "https://"} {
		if strings.Contains(page, banned) {
			t.Errorf("report is not self-contained: it has %q", banned)
		}
	}
	// c1 was right for both top candidates, so it is not a disagreement.
	if strings.Contains(page, "late parcel") {
		t.Error("a case every top candidate got right is listed as a disagreement")
	}
}
