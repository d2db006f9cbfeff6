package reading

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/tunelab/tunelab/internal/engine"
	"github.com/tunelab/tunelab/internal/finetune"
	"github.com/tunelab/tunelab/internal/gguf"
)

// Recipe is everything that decides the reader model.
type Recipe struct {
	Name       string `json:"name"`
	Seed       uint64 `json:"seed"`
	TrainShops int    `json:"train_shops"`
	HeldShops  int    `json:"held_out_shops"`
	Render     Render `json:"render"`
	// ShortShops more shops are rendered with only the ShortK best
	// passages: shorter prompts in which copying is easier to discover,
	// mixed into the training data (held-out shops always use Render.K).
	ShortShops int `json:"short_shops,omitempty"`
	ShortK     int `json:"short_k,omitempty"`
	// OnlyFound drops training questions whose answer the retrieved
	// passages do not hold: no reading could answer them, and training on
	// them would teach guessing.
	OnlyFound bool `json:"only_found"`
	// Full trains every weight; otherwise a LoRA adapter of Rank.
	Full        bool    `json:"full"`
	Rank        int     `json:"rank,omitempty"`
	Alpha       float32 `json:"alpha,omitempty"`
	Epochs      int     `json:"epochs"`
	LR          float64 `json:"lr"`
	Warmup      int     `json:"warmup_steps"`
	Rows        int     `json:"rows"`
	RowLen      int     `json:"row_len"`
	Accum       int     `json:"accum"`
	WeightDecay float64 `json:"weight_decay"`
	// EvalEvery measures the held-out answer loss every so many steps on
	// EvalLossItems held-out questions; EvalAnswers held-out questions
	// are answered by generation at the end.
	EvalEvery     int `json:"eval_every"`
	EvalLossItems int `json:"eval_loss_items"`
	EvalAnswers   int `json:"eval_answers"`
	MaxTokens     int `json:"max_answer_tokens"`
}

// Point is the held-out answer loss at a step.
type Point struct {
	Step    int     `json:"step"`
	Loss    float64 `json:"held_out_answer_loss"`
	Seconds float64 `json:"seconds"`
}

// Report is what a run measured.
type Report struct {
	Recipe         Recipe           `json:"recipe"`
	Base           string           `json:"base"`
	ForbiddenFacts int              `json:"forbidden_facts"`
	TrainQuestions int              `json:"train_questions"`
	TrainNotFound  int              `json:"train_not_found"`
	TrainDropped   int              `json:"train_dropped_long"`
	TrainExamples  int              `json:"train_examples"`
	HeldQuestions  int              `json:"held_out_questions"`
	HeldFound      int              `json:"held_out_found"`
	PromptTokens   [3]int           `json:"prompt_tokens_min_median_max"`
	LossBefore     float64          `json:"held_out_answer_loss_before"`
	LossAfter      float64          `json:"held_out_answer_loss_after"`
	Curve          []Point          `json:"held_out_curve"`
	Train          []finetune.Point `json:"train_curve"`
	Steps          int              `json:"steps"`
	TrainTokens    int64            `json:"target_tokens"`
	SeenTokens     int64            `json:"tokens_processed"`
	Seconds        float64          `json:"train_seconds"`
	TokensPerSec   float64          `json:"tokens_per_second"`
	Answered       int              `json:"held_out_answered"`
	Correct        int              `json:"held_out_correct"`
	AnsweredFound  int              `json:"held_out_answered_found"`
	CorrectFound   int              `json:"held_out_correct_found"`
	Samples        []Sample         `json:"samples"`
	FileBytes      int64            `json:"file_bytes"`
}

// Sample is one held-out question's generated answer.
type Sample struct {
	Question string `json:"question"`
	Answer   string `json:"answer"`
	Output   string `json:"output"`
	Found    bool   `json:"found"`
	Correct  bool   `json:"correct"`
}

// Run generates the data, fine-tunes base on it, writes the model to out
// and measures it on held-out shops. forbid are the facts of the
// evaluation set (ExampleFacts). workDir holds the shops, indexes and the
// training job (a killed run resumes from its checkpoint).
func Run(ctx context.Context, base, out, workDir string, forbid []string, r Recipe, threads int, logf func(string, ...any)) (*Report, error) {
	rep := &Report{Recipe: r, Base: base, ForbiddenFacts: len(forbid)}
	shops, err := Generate(r.TrainShops+r.HeldShops+r.ShortShops, Options{Seed: r.Seed, Forbid: forbid})
	if err != nil {
		return nil, err
	}
	m, err := engine.Load(base, engine.Options{ContextSize: 2048, Threads: threads})
	if err != nil {
		return nil, fmt.Errorf("reading: load %s: %w", base, err)
	}
	trainItems, err := Build(ctx, shops[:r.TrainShops], 0, filepath.Join(workDir, "shops"), m, r.Render)
	if err == nil && r.ShortShops > 0 {
		short := r.Render
		short.K = r.ShortK
		var more []Item
		first := r.TrainShops + r.HeldShops
		more, err = Build(ctx, shops[first:], first, filepath.Join(workDir, "shops"), m, short)
		trainItems = append(trainItems, more...)
	}
	if err == nil {
		var held []Item
		held, err = Build(ctx, shops[r.TrainShops:r.TrainShops+r.HeldShops], r.TrainShops, filepath.Join(workDir, "shops"), m, r.Render)
		if err == nil {
			err = run(ctx, rep, m, trainItems, held, base, out, workDir, r, threads, logf)
		}
	}
	m.Close()
	if err != nil {
		return nil, err
	}
	return rep, nil
}

func run(ctx context.Context, rep *Report, m *engine.Model, trainItems, held []Item, base, out, workDir string, r Recipe, threads int, logf func(string, ...any)) error {
	var train, valid []finetune.Example
	var lens []int
	for _, it := range trainItems {
		rep.TrainQuestions++
		n := len(it.Example.Prompt) + len(it.Example.Completion)
		lens = append(lens, n)
		if !it.Found {
			rep.TrainNotFound++
			if r.OnlyFound {
				continue
			}
		}
		if n > r.RowLen {
			rep.TrainDropped++
			continue
		}
		train = append(train, it.Example)
	}
	rep.TrainExamples = len(train)
	var heldFound []Item
	for _, it := range held {
		rep.HeldQuestions++
		if it.Found && len(it.Example.Prompt)+len(it.Example.Completion) <= r.RowLen {
			heldFound = append(heldFound, it)
			valid = append(valid, it.Example)
		}
	}
	rep.HeldFound = len(heldFound)
	sort.Ints(lens)
	if len(lens) > 0 {
		rep.PromptTokens = [3]int{lens[0], lens[len(lens)/2], lens[len(lens)-1]}
	}
	logf("data: %d train questions (%d answer not retrieved, %d too long), %d examples; %d held-out (%d retrieved); lengths min/median/max %v",
		rep.TrainQuestions, rep.TrainNotFound, rep.TrainDropped, rep.TrainExamples, rep.HeldQuestions, rep.HeldFound, rep.PromptTokens)
	lossSet := valid[:min(len(valid), r.EvalLossItems)]

	h, err := gguf.ReadHeader(base)
	if err != nil {
		return err
	}
	shape, err := engine.ShapeOf(h)
	if err != nil {
		return err
	}
	tr, err := engine.NewTrainer(shape, engine.TrainOptions{Full: r.Full, Rank: r.Rank, Alpha: r.Alpha, Threads: threads})
	if err != nil {
		return err
	}
	defer tr.Close()
	if err := tr.LoadWeights(h); err != nil {
		return err
	}
	if r.Rank > 0 {
		if err := tr.InitLoRA(r.Seed); err != nil {
			return err
		}
	}
	if rep.LossBefore, err = finetune.MeanLoss(tr, lossSet, r.Rows, r.RowLen); err != nil {
		return fmt.Errorf("reading: held-out loss: %w", err)
	}
	logf("held-out answer loss before: %.4f", rep.LossBefore)
	start := time.Now()
	var evalTime time.Duration
	var cbErr error
	onProgress := func(p finetune.Progress) {
		if p.Step%10 == 0 {
			logf("step %d/%d loss %.4f lr %.2g %.0f tok/s eta %s", p.Step, p.Steps, p.Loss, p.LR, p.TokensPerSec, p.ETA.Round(time.Second))
		}
		if r.EvalEvery > 0 && p.Step%r.EvalEvery == 0 && !math.IsNaN(p.Loss) {
			t0 := time.Now()
			l, err := finetune.MeanLoss(tr, lossSet, r.Rows, r.RowLen)
			if err != nil {
				cbErr = err
				return
			}
			evalTime += time.Since(t0)
			rep.Curve = append(rep.Curve, Point{Step: p.Step, Loss: l, Seconds: time.Since(start).Seconds()})
			logf("step %d held-out answer loss %.4f", p.Step, l)
		}
	}
	fc := finetune.Config{Epochs: r.Epochs, LR: r.LR, WarmupSteps: r.Warmup, MinLRRatio: 0.1, Rows: r.Rows, RowLen: r.RowLen,
		Accum: r.Accum, WeightDecay: r.WeightDecay, ClipNorm: 1, Seed: r.Seed, CheckpointEvery: 50}
	res, err := finetune.Train(ctx, tr, train, valid[:min(len(valid), r.EvalLossItems)], fc, filepath.Join(workDir, "job"), onProgress)
	if err != nil {
		return err
	}
	if cbErr != nil {
		return fmt.Errorf("reading: held-out loss: %w", cbErr)
	}
	rep.Train, rep.Steps, rep.TrainTokens = res.Train, res.Steps, res.Tokens
	rep.Seconds = res.Duration.Seconds()
	for _, ex := range train {
		rep.SeenTokens += int64(len(ex.Prompt) + len(ex.Completion))
	}
	rep.SeenTokens *= int64(r.Epochs)
	if s := rep.Seconds - evalTime.Seconds(); s > 0 {
		rep.TokensPerSec = float64(rep.SeenTokens) / s
	}
	if rep.LossAfter, err = finetune.MeanLoss(tr, lossSet, r.Rows, r.RowLen); err != nil {
		return fmt.Errorf("reading: held-out loss: %w", err)
	}
	logf("held-out answer loss after: %.4f (%d steps, %.0f s)", rep.LossAfter, rep.Steps, rep.Seconds)
	meta, err := json.Marshal(struct {
		Recipe Recipe `json:"recipe"`
		Base   string `json:"base"`
		Loss   float64
	}{r, filepath.Base(base), rep.LossAfter})
	if err != nil {
		return err
	}
	extra := []gguf.KV{{Key: "general.name", Value: r.Name}, {Key: "tunelab.reading", Value: string(meta)}}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	if err := tr.SaveModel(out, h.KV, gguf.F16, extra...); err != nil {
		return fmt.Errorf("reading: %w", err)
	}
	if st, err := os.Stat(out); err == nil {
		rep.FileBytes = st.Size()
	}
	return answer(ctx, rep, out, held, r, threads, logf)
}

// answer asks the tuned model the first held-out questions as eval would
// (greedy, the lab's answer length) and scores them as contains does.
func answer(ctx context.Context, rep *Report, path string, held []Item, r Recipe, threads int, logf func(string, ...any)) error {
	m, err := engine.Load(path, engine.Options{ContextSize: 2048, Threads: threads})
	if err != nil {
		return fmt.Errorf("reading: load %s: %w", path, err)
	}
	defer m.Close()
	for _, it := range held[:min(len(held), r.EvalAnswers)] {
		chat := make([]engine.Message, len(it.Messages))
		for i, msg := range it.Messages {
			chat[i] = engine.Message{Role: msg.Role, Content: msg.Content}
		}
		res, err := m.Chat(ctx, chat, engine.GenerateOptions{MaxTokens: r.MaxTokens}, nil)
		if err != nil {
			return fmt.Errorf("reading: answer %s: %w", it.Question.ID, err)
		}
		ok := Correct(res.Text, it.Question.Answer)
		rep.Answered++
		if ok {
			rep.Correct++
		}
		if it.Found {
			rep.AnsweredFound++
			if ok {
				rep.CorrectFound++
			}
		}
		if len(rep.Samples) < 40 {
			rep.Samples = append(rep.Samples, Sample{Question: it.Question.Input, Answer: it.Question.Answer, Output: res.Text, Found: it.Found, Correct: ok})
		}
	}
	logf("held-out answers: %d/%d right (%d/%d where the answer was retrieved)", rep.Correct, rep.Answered, rep.CorrectFound, rep.AnsweredFound)
	return nil
}
