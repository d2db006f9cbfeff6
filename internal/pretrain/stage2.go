package pretrain

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"

	"github.com/tunelab/tunelab/internal/engine"
	"github.com/tunelab/tunelab/internal/finetune"
	"github.com/tunelab/tunelab/internal/pretrain/corpus"
	"github.com/tunelab/tunelab/internal/pretrain/incontext"
	"github.com/tunelab/tunelab/internal/provider"
)

// InContext is the second stage of pre-training: longer rows, in which
// in-context episodes (package incontext) are mixed with plain text, so
// the model learns to read its prompt while it keeps its English.
type InContext struct {
	Episodes int `json:"episodes"`
	// Readings are reading episodes: answer from passages.
	Readings int `json:"readings"`
	// TextTokens of plain corpus text are mixed in.
	TextTokens int     `json:"text_tokens"`
	RowLen     int     `json:"row_len"`
	Rows       int     `json:"rows"`
	LR         float64 `json:"lr"`
	Warmup     int     `json:"warmup_steps"`
	// Repeats is the share of text rows in which a span of the row comes
	// again later: the second copy can only be predicted by finding the
	// first, the plainest lesson in copying from context there is.
	Repeats float64 `json:"repeat_share"`
	// RandomRepeats rows are random token runs each said twice: nothing
	// but copying predicts them, which is how induction heads are learned.
	RandomRepeats int               `json:"random_repeat_rows"`
	Tasks         incontext.Options `json:"tasks"`
	HeldOut       int               `json:"held_out_episodes"` // answered at the end, from held-out documents
}

// DefaultInContext is the bundled model's second stage.
func DefaultInContext() *InContext {
	return &InContext{Episodes: 4500, Readings: 2500, TextTokens: 1_000_000, Repeats: 0.5, RowLen: 512, Rows: 4, LR: 2e-3, Warmup: 100,
		Tasks: incontext.DefaultOptions(), HeldOut: 200}
}

// InContextReport is what the second stage measured. Accuracy is on
// held-out episodes: the share answered with the right label, beside two
// rules that need no model, for scale: the label of the last (most
// similar) demonstration, and the most frequent label among them.
type InContextReport struct {
	Episodes        int     `json:"episodes"`
	EpisodeTokens   int64   `json:"episode_tokens"`
	TextTokens      int64   `json:"text_tokens"`
	Dropped         int     `json:"dropped_too_long"`
	RepeatRows      int     `json:"repeat_rows"`
	Steps           int     `json:"steps"`
	DurationSeconds float64 `json:"duration_seconds"`
	TokensPerSecond float64 `json:"tokens_per_second"`
	// PerplexityBefore is the held-out text's perplexity before this
	// stage; the report's held_out_perplexity is after it.
	PerplexityBefore float64 `json:"held_out_perplexity_before"`
	HeldOut          int     `json:"held_out_episodes"`
	Accuracy         float64 `json:"held_out_accuracy"`
	AnsweredALabel   float64 `json:"held_out_answered_a_label"`
	// CopyProbe is the share of tokens predicted right (top-1) in the
	// second copy of a random token run: how well the model copies from
	// its context at all. Without induction it stays near 0.
	CopyProbe    float64          `json:"copy_probe_top1"`
	LastDemoRule float64          `json:"last_demo_rule_accuracy"`
	MajorityRule float64          `json:"majority_rule_accuracy"`
	Train        []finetune.Point `json:"train_curve"`
}

// episodeExample renders an episode through m's chat template. Every token
// is a target, the demonstrations' answers teaching copying as much as the
// last, except in answer-only episodes.
func episodeExample(m *engine.Model, ep incontext.Episode) (finetune.Example, error) {
	p, c, err := m.ChatExample(toChat(ep.Messages), ep.Answer)
	if err != nil || ep.AnswerOnly {
		return finetune.Example{Prompt: p, Completion: c}, err
	}
	return finetune.Example{Completion: append(p, c...)}, nil
}

func toChat(msgs []provider.Message) []engine.Message {
	chat := make([]engine.Message, len(msgs))
	for i, msg := range msgs {
		chat[i] = engine.Message{Role: msg.Role, Content: msg.Content}
	}
	return chat
}

// inContextData draws the stage's training examples from the training
// documents: episodes and plain-text rows, shuffled together.
func inContextData(m *engine.Model, modelPath string, train []corpus.Doc, s *InContext, seed uint64, rep *InContextReport) ([]finetune.Example, error) {
	gen, err := incontext.NewGenerator(train, s.Tasks)
	if err != nil {
		return nil, err
	}
	var out []finetune.Example
	for len(out) < s.Episodes+s.Readings {
		next := gen.Next
		if len(out) >= s.Episodes {
			next = gen.NextReading
		}
		ep, err := next()
		if err != nil {
			return nil, err
		}
		ex, err := episodeExample(m, ep)
		if err != nil {
			return nil, fmt.Errorf("pretrain: in-context episode %d: %w", len(out)+1, err)
		}
		if len(ex.Prompt)+len(ex.Completion) > s.RowLen {
			rep.Dropped++
			continue
		}
		rep.EpisodeTokens += int64(len(ex.Prompt) + len(ex.Completion))
		out = append(out, ex)
	}
	rep.Episodes = len(out)
	text, err := tokenize(modelPath, train, s.RowLen, s.TextTokens, seed+1)
	if err != nil {
		return nil, err
	}
	rep.TextTokens = int64(len(text) * s.RowLen)
	rng := rand.New(rand.NewPCG(seed, 0x5e2))
	for i := range text {
		if rng.Float64() < s.Repeats {
			text[i].Completion = repeatSpan(rng, text[i].Completion)
			rep.RepeatRows++
		}
	}
	out = append(out, text...)
	for range s.RandomRepeats {
		out = append(out, finetune.Example{Completion: randomRepeats(rng, s.RowLen, m.Info().VocabSize)})
	}
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out, nil
}

// repeatSpan copies a span of 16-64 tokens from the row's first half over
// a later stretch of it.
func repeatSpan(rng *rand.Rand, row []int32) []int32 {
	out := append([]int32(nil), row...)
	n := 16 + rng.IntN(49)
	if len(out) < 4*n {
		return out
	}
	from := 1 + rng.IntN(len(out)/2-n)
	to := from + n + rng.IntN(len(out)-from-2*n)
	copy(out[to:to+n], out[from:from+n])
	return out
}

// randomRepeats is a row of random token runs of 8-40 tokens, each
// followed by itself.
func randomRepeats(rng *rand.Rand, rowLen, vocab int) []int32 {
	var row []int32
	for len(row) < rowLen {
		n := 8 + rng.IntN(33)
		run := make([]int32, n)
		for i := range run {
			run[i] = int32(8 + rng.IntN(vocab-8))
		}
		row = append(append(row, run...), run...)
	}
	return row[:rowLen]
}

// runInContext trains tr on the second stage and saves nothing; the
// caller writes the model.
func runInContext(ctx context.Context, tr *engine.Trainer, m *engine.Model, modelPath string, train []corpus.Doc, s *InContext, seed uint64, workDir string, onProgress func(finetune.Progress)) (*InContextReport, error) {
	rep := &InContextReport{}
	data, err := inContextData(m, modelPath, train, s, seed, rep)
	if err != nil {
		return nil, err
	}
	fc := finetune.Config{
		Epochs: 1, LR: s.LR, WarmupSteps: s.Warmup, MinLRRatio: 0.1, Rows: s.Rows, RowLen: s.RowLen,
		Accum: 1, WeightDecay: 0.1, ClipNorm: 1, Seed: seed, CheckpointEvery: 50,
	}
	res, err := finetune.Train(ctx, tr, data, nil, fc, filepath.Join(workDir, "in-context"), onProgress)
	if err != nil {
		return nil, err
	}
	rep.Steps, rep.DurationSeconds, rep.Train = res.Steps, res.Duration.Seconds(), res.Train
	if rep.DurationSeconds > 0 {
		rep.TokensPerSecond = float64(res.Tokens) / rep.DurationSeconds
	}
	return rep, nil
}

// heldOutEpisodes draws n episodes from held-out documents, with another
// seed than training's.
func heldOutEpisodes(held []corpus.Doc, o incontext.Options, n int) ([]incontext.Episode, error) {
	o.Seed += 1000
	gen, err := incontext.NewGenerator(held, o)
	if err != nil {
		return nil, err
	}
	eps := make([]incontext.Episode, n)
	for i := range eps {
		if eps[i], err = gen.Next(); err != nil {
			return nil, err
		}
	}
	return eps, nil
}

// scoreEpisodes answers each episode greedily with the model at path and
// fills the accuracy figures; before says which figure to fill.
func scoreEpisodes(ctx context.Context, path string, eps []incontext.Episode, threads int, rep *InContextReport) error {
	m, err := engine.Load(path, engine.Options{ContextSize: 1024, Threads: threads})
	if err != nil {
		return fmt.Errorf("pretrain: load %s: %w", path, err)
	}
	defer m.Close()
	var right, labelled, last, major int
	for _, ep := range eps {
		res, err := m.Chat(ctx, toChat(ep.Messages), engine.GenerateOptions{MaxTokens: 16}, nil)
		if err != nil {
			return fmt.Errorf("pretrain: answer an in-context episode: %w", err)
		}
		got := strings.TrimSpace(res.Text)
		if got == ep.Answer {
			right++
		}
		for _, l := range ep.Labels {
			if got == l {
				labelled++
				break
			}
		}
		if n := len(ep.Demos); n > 0 && ep.Demos[n-1] == ep.Answer {
			last++
		}
		if majority(ep.Demos) == ep.Answer {
			major++
		}
	}
	n := float64(len(eps))
	if rep.CopyProbe, err = copyProbe(ctx, m, 4, 24); err != nil {
		return err
	}
	rep.HeldOut = len(eps)
	rep.Accuracy, rep.AnsweredALabel = float64(right)/n, float64(labelled)/n
	rep.LastDemoRule, rep.MajorityRule = float64(last)/n, float64(major)/n
	return nil
}

// copyProbe feeds the model trials random runs of n tokens, each said
// twice, and returns the share of the second copy's tokens it predicts.
func copyProbe(ctx context.Context, m *engine.Model, trials, n int) (float64, error) {
	rng := rand.New(rand.NewPCG(7, 7))
	vocab := m.Info().VocabSize
	hit, total := 0, 0
	for range trials {
		run := make([]int32, n)
		for i := range run {
			run[i] = int32(8 + rng.IntN(vocab-8))
		}
		seq := append(append([]int32(nil), run...), run...)
		for i := n + 1; i < len(seq); i++ {
			logits, err := m.Logits(ctx, seq[:i], nil)
			if err != nil {
				return 0, fmt.Errorf("pretrain: copy probe: %w", err)
			}
			best := 0
			for j, l := range logits {
				if l > logits[best] {
					best = j
				}
			}
			if int32(best) == seq[i] {
				hit++
			}
			total++
		}
	}
	return float64(hit) / float64(total), nil
}

// majority is the most frequent label, ties going to the later one: with
// nearest-neighbour selection the later demonstrations are the more similar.
func majority(demos []string) string {
	count := map[string]int{}
	best, bestN := "", 0
	for _, d := range demos {
		count[d]++
		if count[d] >= bestN {
			best, bestN = d, count[d]
		}
	}
	return best
}
