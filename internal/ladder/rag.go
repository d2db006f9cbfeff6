package ladder

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/tunelab/tunelab/internal/advisor"
	"github.com/tunelab/tunelab/internal/config"
	"github.com/tunelab/tunelab/internal/dataset"
	"github.com/tunelab/tunelab/internal/eval"
	"github.com/tunelab/tunelab/internal/eval/score"
	"github.com/tunelab/tunelab/internal/eval/stats"
	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/report"
	"github.com/tunelab/tunelab/internal/workspace"
)

// ragSuffix names the retrieval twin of a prompt variant.
const ragSuffix = "+rag"

// ragRung asks the lab's knowledge questions with one prompt, with and
// without retrieval, on every model (the tuned one included when the
// caller added it), and measures the difference with a paired test per
// model. It returns nil when the rung is skipped.
func ragRung(ctx context.Context, w *workspace.Workspace, o Options, rung func(name, status, format string, args ...any)) (*ragOutcome, error) {
	const name = "retrieval (RAG)"
	cfg := w.Config
	rc := cfg.Retrieval
	if len(cfg.Knowledge) == 0 {
		rung(name, Skipped, "the task has no knowledge: folders")
		return nil, nil
	}
	if rc.Questions == "" {
		rung(name, Skipped, "the lab has knowledge but no retrieval.questions to measure retrieval on (a dataset of questions the knowledge answers, each naming its file in meta.source)")
		return nil, nil
	}
	ds, err := dataset.Load(w.Path(rc.Questions), dataset.LoadOptions{})
	if err != nil {
		return nil, fmt.Errorf("retrieval.questions: %w", err)
	}
	questions := ds.Examples
	if len(questions) == 0 {
		return nil, cfg.Errorf("retrieval.questions", "%s has no questions", rc.Questions)
	}
	if _, err := w.Knowledge(ctx); err != nil {
		return nil, err
	}

	spec := cfg.Prompts[0]
	for _, p := range cfg.Prompts {
		if p.Name == rc.Prompt {
			spec = p
		}
	}
	if spec.FewShot != nil || spec.Technique == lab.TechFewShot {
		rung(name, Skipped, "prompt %q draws demonstrations from the train split, which answer another task than the questions: set retrieval.prompt to a prompt without few-shot", spec.Name)
		return nil, nil
	}
	plain := spec
	plain.Models, plain.Retrieval = nil, nil
	withRAG := plain
	withRAG.Name += ragSuffix
	withRAG.Retrieval = config.NewPromptRetrieval("", 0, 0)
	task := lab.Task{Name: w.Task.Name + "-knowledge", Description: rc.Task, Output: lab.OutputText}
	cands := w.CandidatesFor(task, []config.PromptSpec{plain, withRAG})
	// Demonstrations from the task's train split would answer another
	// task, so the questions get none.
	targets, err := w.TargetsFor(task, nil, cands)
	if err != nil {
		return nil, fmt.Errorf("retrieval rung: %w", err)
	}
	scorer, err := score.New(lab.ScorerSpec{Type: rc.Scorer, Name: rc.Scorer, Primary: true}, score.Deps{TaskDescription: task.Description})
	if err != nil {
		return nil, cfg.Errorf("retrieval.scorer", "%v", err)
	}
	specs := []lab.ScorerSpec{{Type: rc.Scorer, Name: rc.Scorer, Primary: true}}
	run := w.RunInfoFor(cands, specs, rc.Scorer, questions, "questions:"+dataset.Version(questions))
	run.Lab = task.Name
	runner := &eval.Runner{
		// The config's timeout bounds each attempt inside the provider.
		Store: w.Store, Scorers: []lab.Scorer{scorer}, Primary: rc.Scorer, Concurrency: cfg.Concurrency,
		Progress: o.EvalProgress,
	}
	outcome, err := runner.Run(ctx, run, targets, questions)
	var mf *eval.ModelFailedError
	if errors.As(err, &mf) {
		// A model that cannot answer the questions at all (a context too
		// small for the chunks, say) ends this rung, not the ladder.
		rung(name, Skipped, "%v (lower retrieval.k or retrieval.chunk_tokens if the prompt is too long for the model)", mf)
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("retrieval rung: %w", err)
	}
	if outcome.Canceled {
		return nil, ctx.Err()
	}
	results, err := w.Store.Results(ctx, run.ID)
	if err != nil {
		return nil, fmt.Errorf("retrieval rung: read results: %w", err)
	}
	sum := eval.Summarize(run, results)
	k := measure(run, sum, results, spec.Name, rc.Scorer)
	k.Questions = len(questions)
	status := Ran
	if outcome.Resumed == outcome.Total {
		status = Reused
	}
	var parts []string
	for _, m := range k.Models {
		parts = append(parts, fmt.Sprintf("%s %.1f%% -> %.1f%% (%+.1f points, p=%.2g; %.0f%% of answers ungrounded)",
			m.Model, 100*m.Accuracy, 100*m.RAG, 100*m.Diff, m.P, 100*m.HallucinationRate))
	}
	for _, c := range sum.Candidates {
		if c.Errors > 0 {
			parts = append(parts, fmt.Sprintf("%s: %d of %d calls failed (counted as wrong; see results)", c.ID, c.Errors, c.Calls))
		}
	}
	rung(name, status, "%q on %d knowledge questions without -> with retrieval (%s, k=%d, recall@%d %.1f%%, MRR %.2f): %s",
		spec.Name, k.Questions, k.Mode, k.K, k.K, 100*k.Recall, k.MRR, strings.Join(parts, "; "))
	return &ragOutcome{Knowledge: k, Questions: questions, Results: results}, nil
}

// ragOutcome is the rung's evidence and the run behind it, for the report.
type ragOutcome struct {
	Knowledge *advisor.Knowledge
	Questions []lab.Example
	Results   []lab.CallResult
}

// reportSection lays the rung out for the HTML report.
func (r *ragOutcome) reportSection() *report.Knowledge {
	k := r.Knowledge
	sec := &report.Knowledge{Headline: strings.Join(advisor.KnowledgeReasons(k), " "), Questions: r.Questions, Results: r.Results}
	for _, m := range k.Models {
		sec.Rows = append(sec.Rows, report.KnowledgeRow{
			Model: m.Model, Without: m.Accuracy, With: m.RAG, Diff: 100 * m.Diff, DiffLow: 100 * m.DiffLow, DiffHigh: 100 * m.DiffHigh,
			P: m.P, Groundedness: m.Groundedness, Hallucination: m.HallucinationRate,
		})
		sec.Pairs = append(sec.Pairs, [2]string{m.Without, m.With})
	}
	return sec
}

// measure pairs each model's candidate without retrieval with its twin
// with retrieval, case by case.
func measure(run lab.RunInfo, sum eval.Summary, results []lab.CallResult, prompt, scorer string) *advisor.Knowledge {
	k := &advisor.Knowledge{RunID: run.ID, Prompt: prompt, Scorer: scorer}
	byCand := map[string]eval.CandidateSummary{}
	for _, c := range sum.Candidates {
		byCand[c.ID] = c
	}
	pass := map[string]map[string]bool{} // candidate -> case -> first repeat's pass
	for _, r := range results {
		if r.Repeat != 0 {
			continue
		}
		if pass[r.CandidateID] == nil {
			pass[r.CandidateID] = map[string]bool{}
		}
		pass[r.CandidateID][r.CaseID] = r.Pass
	}
	var recall, mrr float64
	n := 0
	for _, c := range run.Candidates {
		if c.Retrieval == nil {
			continue
		}
		plainID := strings.TrimSuffix(c.ID, ragSuffix)
		var model string
		for _, p := range run.Candidates {
			if p.ID == plainID {
				model = p.Model
			}
		}
		with, without := byCand[c.ID], byCand[plainID]
		m := advisor.KnowledgeModel{Model: model, Without: plainID, With: c.ID, Accuracy: without.Accuracy, RAG: with.Accuracy}
		if rs := with.Retrieval; rs != nil {
			k.Mode, k.K = rs.Mode, rs.K
			m.Groundedness, m.HallucinationRate = rs.Groundedness, rs.HallucinationRate
			if n == 0 {
				recall, mrr = rs.Recall, rs.MRR
			}
			n++
		}
		var a, b []bool
		var xs, ys []float64
		// Sorted, so the bootstrap's fixed seed gives the same interval
		// every time.
		ids := make([]string, 0, len(pass[c.ID]))
		for id := range pass[c.ID] {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			p := pass[c.ID][id]
			q, ok := pass[plainID][id]
			if !ok {
				continue
			}
			a, b = append(a, p), append(b, q)
			xs, ys = append(xs, b2f(p)), append(ys, b2f(q))
		}
		if len(a) > 0 {
			m.Diff, m.DiffLow, m.DiffHigh, _ = stats.PairedBootstrap(xs, ys, 2000, 1)
			_, _, m.P = stats.McNemar(a, b)
			m.Significant = m.P < 0.05
		}
		k.Models = append(k.Models, m)
	}
	// Retrieval depends on the question, not the model: every model's
	// twin retrieved the same chunks, so the first one's recall stands
	// for all.
	k.Recall, k.MRR = recall, mrr
	return k
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
