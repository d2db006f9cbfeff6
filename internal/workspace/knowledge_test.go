package workspace

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tunelab/tunelab/internal/eval"
	"github.com/tunelab/tunelab/internal/lab"
)

// ragLab is the example lab with retrieval turned on for its first prompt.
func ragLab(t *testing.T) string {
	t.Helper()
	dir := exampleLab(t)
	editConfig(t, dir, "  - technique: zero-shot\n", "  - technique: zero-shot\n  - name: zero-shot-rag\n    technique: zero-shot\n    retrieval: {k: 2}\n")
	return dir
}

// openTargets opens the lab in dir and prepares its candidates; the caller
// closes the workspace.
func openTargets(t *testing.T, dir string) (*Workspace, []lab.Candidate, []eval.Target) {
	t.Helper()
	w, err := Open(context.Background(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	cands := w.Candidates()
	targets, err := w.Targets(cands)
	if err != nil {
		w.Close()
		t.Fatal(err)
	}
	return w, cands, targets
}

// editConfig replaces the first old in the lab's tunelab.yaml with new;
// old must be there.
func editConfig(t *testing.T, dir, old, new string) {
	t.Helper()
	path := filepath.Join(dir, "tunelab.yaml")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), old) {
		t.Fatalf("tunelab.yaml has no %q to replace", old)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(raw), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestRetrievalCandidates(t *testing.T) {
	dir := ragLab(t)
	ctx := context.Background()
	open := func(t *testing.T) *Workspace {
		w, err := Open(ctx, dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { w.Close() })
		return w
	}
	w := open(t)
	cands := w.Candidates()
	var rag, plain int
	for i, c := range cands {
		switch {
		case c.Variant.Name == "zero-shot-rag":
			rag = i
		case c.Variant.Name == "zero-shot":
			plain = i
		}
	}
	r := cands[rag].Retrieval
	if r == nil || r.K != 2 || r.Mode != "bm25" || len(r.Index) != 16 || cands[plain].Retrieval != nil {
		t.Fatalf("retrieval settings: rag %+v, plain %+v", r, cands[plain].Retrieval)
	}
	targets, err := w.Targets(cands)
	if err != nil {
		t.Fatal(err)
	}
	if targets[plain].Retrieve != nil || targets[rag].Retrieve == nil {
		t.Fatal("only the retrieval candidate should retrieve")
	}
	hits, err := targets[rag].Retrieve(ctx, "How many days after delivery can I return an item for a full refund?")
	if err != nil || len(hits) != 2 || hits[0].Chunk.DocID != "knowledge/refund-policy.md" {
		t.Fatalf("hits %+v, err %v; want 2, refund-policy.md first", hits, err)
	}
	specs, primary := w.ScorerSpecs()
	before := w.RunInfo(cands, specs, primary).ID
	w.Close()

	t.Run("editing the knowledge makes a new run", func(t *testing.T) {
		f, err := os.OpenFile(filepath.Join(dir, "knowledge", "refund-policy.md"), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteString("\nGift cards are never refunded.\n"); err != nil {
			t.Fatal(err)
		}
		f.Close()
		w := open(t)
		specs, primary := w.ScorerSpecs()
		if after := w.RunInfo(w.Candidates(), specs, primary).ID; after == before {
			t.Errorf("run id %s did not change with the knowledge", after)
		}
	})
	t.Run("an empty knowledge folder is an error", func(t *testing.T) {
		if err := os.RemoveAll(filepath.Join(dir, "knowledge")); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dir, "knowledge"), 0o755); err != nil {
			t.Fatal(err)
		}
		_, err := Open(ctx, dir, Options{})
		if err == nil || !strings.Contains(err.Error(), "knowledge/: load documents") {
			t.Errorf("err %v, want the empty knowledge folder named", err)
		}
	})
}
