package workspace

import (
	"strings"
	"testing"

	_ "github.com/tunelab/tunelab/internal/provider/openai" // registers openai-compatible, as cmd/tunelab does
)

// TestGroundJudgeWiring: retrieval.judge gives retrieval candidates a
// groundedness judge, and a run judged by a model is another run than one
// judged by word overlap.
func TestGroundJudgeWiring(t *testing.T) {
	dir := ragLab(t)
	runID := func(t *testing.T) (string, []string) {
		t.Helper()
		w, cands, targets := openTargets(t, dir)
		defer w.Close()
		var judges []string
		for _, tg := range targets {
			switch {
			case tg.Judge != nil && tg.Retrieve == nil:
				t.Errorf("%s has a judge but does not retrieve", tg.Candidate.ID)
			case tg.Judge != nil:
				judges = append(judges, tg.Candidate.ID+" "+tg.Judge.Model)
			}
		}
		specs, primary := w.ScorerSpecs()
		return w.RunInfo(cands, specs, primary).ID, judges
	}
	without, judges := runID(t)
	if len(judges) != 0 {
		t.Fatalf("judges %v without retrieval.judge", judges)
	}
	const judge = "openai-compatible:http://127.0.0.1:9/v1#judge"
	editConfig(t, dir, "retrieval:\n", "retrieval:\n  judge: "+judge+"\n")
	with, judges := runID(t)
	if len(judges) == 0 || !strings.HasSuffix(judges[0], "/zero-shot-rag "+judge) {
		t.Errorf("judges %v, want the retrieval candidates judged by %s", judges, judge)
	}
	if with == without {
		t.Errorf("run id %s is the same with and without a judge", with)
	}
}
