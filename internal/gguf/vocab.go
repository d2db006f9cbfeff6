package gguf

import (
	_ "embed"
	"fmt"
	"sort"
	"strings"
	"unicode"
)

//go:embed corpus.txt
var corpus string

// Corpus is the bundled English text the generated vocabularies are learned
// from; tests use it as realistic input too.
func Corpus() string { return corpus }

// Token types as llama.cpp reads them from tokenizer.ggml.token_type.
const (
	TokenNormal  int32 = 1
	TokenUnknown int32 = 2
	TokenControl int32 = 3
	TokenUnused  int32 = 5
	TokenByte    int32 = 6
)

// spaceMark is SentencePiece's visible space: words carry it as a prefix,
// and llama.cpp's "llama" tokenizer turns spaces into it before matching.
const spaceMark = "\u2581"

// Vocab is a tokenizer in llama.cpp's "llama" form (SentencePiece-style BPE
// with byte fallback): pieces with scores, where a higher score merges first,
// and 256 byte tokens that spell anything the pieces cannot.
type Vocab struct {
	Tokens []string
	Scores []float32
	Types  []int32
	BOS    uint32
	EOS    uint32
	UNK    uint32
	// Specials maps each extra control token (e.g. "<|im_end|>") to its id.
	Specials map[string]uint32
	// Merges is how many pieces were learned by merging (the rest are
	// control, byte, single-character or padding tokens).
	Merges int
}

// TrainVocab learns a vocabulary of exactly size tokens from text by
// byte-pair merging: start from single characters, repeatedly join the most
// frequent adjacent pair, and give each new piece a score that ranks it by
// when it was learned. When the text runs out of pairs seen twice, the rest
// is padded with unused tokens so the size (and so the model's shape) is
// what the caller asked for.
func TrainVocab(text string, size int, specials []string) (*Vocab, error) {
	v := &Vocab{UNK: 0, BOS: 1, EOS: 2, Specials: map[string]uint32{}}
	add := func(tok string, score float32, typ int32) {
		v.Tokens = append(v.Tokens, tok)
		v.Scores = append(v.Scores, score)
		v.Types = append(v.Types, typ)
	}
	add("<unk>", 0, TokenUnknown)
	add("<s>", 0, TokenControl)
	add("</s>", 0, TokenControl)
	for _, s := range specials {
		v.Specials[s] = uint32(len(v.Tokens))
		add(s, 0, TokenControl)
	}
	for b := 0; b < 256; b++ {
		add(fmt.Sprintf("<0x%02X>", b), 0, TokenByte)
	}
	fixed := len(v.Tokens)

	words := countWords(text)
	chars := map[string]bool{}
	for _, w := range words {
		for _, s := range w.syms {
			chars[s] = true
		}
	}
	sortedChars := make([]string, 0, len(chars))
	for c := range chars {
		sortedChars = append(sortedChars, c)
	}
	sort.Strings(sortedChars)
	if fixed+len(sortedChars) > size {
		return nil, fmt.Errorf("vocabulary size %d is too small: the control, byte and character tokens alone need %d", size, fixed+len(sortedChars))
	}
	// Characters never win a merge (they are where merging starts), so
	// their scores only need to sit below every learned piece.
	for i, c := range sortedChars {
		add(c, -1e6-float32(i), TokenNormal)
	}
	have := map[string]bool{}
	for _, t := range v.Tokens {
		have[t] = true
	}

	for len(v.Tokens) < size {
		l, r, n := bestPair(words)
		if n < 2 {
			break
		}
		piece := l + r
		for i := range words {
			words[i].merge(l, r)
		}
		if have[piece] {
			continue // a different split of the same text was learned before
		}
		have[piece] = true
		add(piece, -float32(v.Merges), TokenNormal)
		v.Merges++
	}
	for i := 0; len(v.Tokens) < size; i++ {
		add(fmt.Sprintf("<unused%d>", i), 0, TokenUnused)
	}
	return v, nil
}

type word struct {
	syms  []string
	count int
}

func (w *word) merge(l, r string) {
	out := w.syms[:0]
	for i := 0; i < len(w.syms); i++ {
		if i+1 < len(w.syms) && w.syms[i] == l && w.syms[i+1] == r {
			out = append(out, l+r)
			i++
			continue
		}
		out = append(out, w.syms[i])
	}
	w.syms = out
}

// countWords splits text at white space into words that carry the space
// mark as a prefix, as the tokenizer will see them, and counts each.
func countWords(text string) []word {
	counts := map[string]int{}
	for _, f := range strings.FieldsFunc(text, unicode.IsSpace) {
		counts[spaceMark+f]++
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]word, len(keys))
	for i, k := range keys {
		syms := make([]string, 0, len(k))
		for _, r := range k {
			syms = append(syms, string(r))
		}
		out[i] = word{syms: syms, count: counts[k]}
	}
	return out
}

// bestPair finds the most frequent adjacent pair; ties go to the pair that
// sorts first, so the same text always yields the same vocabulary.
func bestPair(words []word) (string, string, int) {
	type pair struct{ l, r string }
	counts := map[pair]int{}
	for _, w := range words {
		for i := 0; i+1 < len(w.syms); i++ {
			counts[pair{w.syms[i], w.syms[i+1]}] += w.count
		}
	}
	var best pair
	bestN := 0
	for p, n := range counts {
		if n > bestN || (n == bestN && (p.l < best.l || (p.l == best.l && p.r < best.r))) {
			best, bestN = p, n
		}
	}
	return best.l, best.r, bestN
}

// KV is the vocabulary as llama.cpp's tokenizer.ggml.* metadata.
func (v *Vocab) KV() []KV {
	return []KV{
		{"tokenizer.ggml.model", "llama"},
		{"tokenizer.ggml.tokens", v.Tokens},
		{"tokenizer.ggml.scores", v.Scores},
		{"tokenizer.ggml.token_type", v.Types},
		{"tokenizer.ggml.bos_token_id", v.BOS},
		{"tokenizer.ggml.eos_token_id", v.EOS},
		{"tokenizer.ggml.unknown_token_id", v.UNK},
		{"tokenizer.ggml.add_bos_token", true},
		{"tokenizer.ggml.add_eos_token", false},
		{"tokenizer.ggml.add_space_prefix", true},
	}
}
