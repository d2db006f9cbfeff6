// Package report presents an evaluation: a terminal table for people at a
// shell, JSON for scripts (its schema is documented in docs/results.md and
// kept stable), and a self-contained HTML page with a chart of quality
// against cost and the cases where candidates disagree.
package report

import (
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/tunelab/tunelab/internal/eval"
	"github.com/tunelab/tunelab/internal/fsutil"
	"github.com/tunelab/tunelab/internal/lab"
)

// SchemaVersion is bumped on any incompatible change to the JSON output.
const SchemaVersion = 1

// Document is everything a report shows.
type Document struct {
	SchemaVersion int              `json:"schema_version"`
	Task          lab.Task         `json:"task"`
	Summary       eval.Summary     `json:"summary"`
	Cases         []lab.Example    `json:"-"`
	Results       []lab.CallResult `json:"results,omitempty"`
	// CostChart is the monthly cost against volume of the candidates whose
	// cost is known (CostVolumeSVG); empty leaves the section out.
	CostChart template.HTML `json:"-"`
	// Verdict and LossCurve (LossCurveSVG) are the ladder's additions;
	// nil and empty leave their sections out.
	Verdict   *Verdict      `json:"-"`
	LossCurve template.HTML `json:"-"`
	// Knowledge is the ladder's retrieval rung; nil leaves it out.
	Knowledge *Knowledge `json:"-"`
}

// Table writes the candidates as an aligned table, best first.
func Table(w io.Writer, s eval.Summary) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "candidate\taccuracy\t95%% CI\tvs best\tp50 ms\tp95 ms\ttok in\ttok out\t$/1k calls\tconsist.\terrors\n")
	for _, c := range s.Candidates {
		vs := "best"
		if c.VsBest != nil {
			mark := ""
			if c.VsBest.Significant {
				mark = " *"
			}
			vs = fmt.Sprintf("%+.1f p=%.3f%s", 100*c.VsBest.Diff, c.VsBest.P, mark)
		} else if c.ID != s.Best {
			vs = "-"
		}
		cons := "-"
		if c.Consistency != nil {
			cons = fmt.Sprintf("%.0f%%", 100**c.Consistency)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.0f\t%.0f\t%.0f\t%.0f\t%s\t%s\t%d\n",
			c.ID, pct(c.Accuracy), ci(c.CILow, c.CIHigh), vs, c.LatencyP50, c.LatencyP95, c.TokensIn, c.TokensOut, money(c.CostPer1K), cons, c.Errors)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%d cases x %d repeat(s), primary scorer %q. * = differs from the best at p < 0.05.\n", s.Cases, s.Repeats, s.Primary)
	for _, c := range retrievalRows(s) {
		r := c.Retrieval
		search := "no case names its source (meta.source), so recall is not measured"
		if r.Labelled > 0 {
			search = fmt.Sprintf("recall@%d %s, MRR %.2f over %d calls with a source", r.K, pct(r.Recall), r.MRR, r.Labelled)
		}
		by := "by word overlap"
		if r.GroundedBy == "judge" {
			by = "judged by a model"
			if r.JudgeErrors > 0 {
				by += fmt.Sprintf(", %d answers it could not judge", r.JudgeErrors)
			}
		}
		fmt.Fprintf(w, "retrieval %s (%s, k=%d): %s; groundedness %s, hallucination rate %s over %d answers (%s)\n",
			c.ID, r.Mode, r.K, search, pct(r.Groundedness), pct(r.HallucinationRate), r.Judged, by)
	}
	for _, c := range s.Candidates {
		if c.Errors == 0 && c.Retries == 0 {
			continue
		}
		fmt.Fprintf(w, "errors %s: %d of %d calls failed%s; %d retries\n", c.ID, c.Errors, c.Calls, errorKinds(c.ErrorKinds), c.Retries)
	}
	if !s.Complete {
		fmt.Fprintf(w, "Incomplete: %d calls missing; run the same command again to finish them.\n", s.Missing)
	}
	return nil
}

// errorKinds says what failed calls failed of, most common first.
func errorKinds(kinds map[string]int) string {
	if len(kinds) == 0 {
		return ""
	}
	names := make([]string, 0, len(kinds))
	for k := range kinds {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool {
		if kinds[names[i]] != kinds[names[j]] {
			return kinds[names[i]] > kinds[names[j]]
		}
		return names[i] < names[j]
	})
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = fmt.Sprintf("%s %d", strings.ReplaceAll(k, "_", " "), kinds[k])
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// WriteJSON writes the document atomically.
func WriteJSON(path string, d Document) error {
	d.SchemaVersion = SchemaVersion
	b, err := json.MarshalIndent(sanitize(d), "", "  ")
	if err != nil {
		return fmt.Errorf("encode report: %w", err)
	}
	return fsutil.WriteFileAtomic(path, append(b, '\n'), 0o644)
}

// sanitize replaces NaN (a candidate with no results), which JSON cannot
// carry, by -1 in the documented fields.
func sanitize(d Document) Document {
	cands := make([]eval.CandidateSummary, len(d.Summary.Candidates))
	copy(cands, d.Summary.Candidates)
	for i := range cands {
		for _, f := range []*float64{&cands[i].Accuracy, &cands[i].CILow, &cands[i].CIHigh} {
			if math.IsNaN(*f) {
				*f = -1
			}
		}
	}
	d.Summary.Candidates = cands
	return d
}

func pct(x float64) string {
	if math.IsNaN(x) {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*x)
}

func ci(lo, hi float64) string {
	if math.IsNaN(lo) || math.IsNaN(hi) {
		return "-"
	}
	return fmt.Sprintf("%.1f-%.1f", 100*lo, 100*hi)
}

func money(x float64) string {
	switch {
	case x == 0:
		return "0"
	case x < 0.01:
		return fmt.Sprintf("%.5f", x)
	case x < 1:
		return fmt.Sprintf("%.4f", x)
	}
	return fmt.Sprintf("%.2f", x)
}

func shorten(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}
