package reading

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tunelab/tunelab/internal/engine"
	"github.com/tunelab/tunelab/internal/eval/score"
	"github.com/tunelab/tunelab/internal/finetune"
	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/prompt"
	"github.com/tunelab/tunelab/internal/provider"
	"github.com/tunelab/tunelab/internal/retrieval"
)

// Render says how eval asks a knowledge question with retrieval: the
// task's instruction (the lab's retrieval.task), the chunking and the
// search (the lab's retrieval: settings).
type Render struct {
	Instruction string `json:"instruction"`
	ChunkTokens int    `json:"chunk_tokens"`
	Overlap     int    `json:"overlap"`
	K           int    `json:"k"`
}

// Item is one question rendered as eval renders it.
type Item struct {
	Question Question
	Shop     int
	Messages []provider.Message
	// Found is set when the retrieved passages hold the answer, so that
	// reading them can answer the question.
	Found   bool
	Example finetune.Example
}

// builder is the zero-shot prompt of the knowledge task, expanded as
// the workspace expands it.
func builder(r Render) (*prompt.Builder, error) {
	task := lab.Task{Name: "reading", Description: r.Instruction, Output: lab.OutputText}
	v := prompt.Expand(lab.Variant{Name: lab.TechZeroShot, Technique: lab.TechZeroShot}, task)
	return prompt.NewBuilder(task, v, nil)
}

// Build writes each shop's pages under dir/shop-NNNN/knowledge, indexes
// them with the retrieval package's BM25 index, retrieves for each question
// and renders its prompt through the builder and m's chat template, the
// answer as the assistant's turn.
func Build(ctx context.Context, shops []Shop, first int, dir string, m *engine.Model, r Render) ([]Item, error) {
	b, err := builder(r)
	if err != nil {
		return nil, err
	}
	var items []Item
	for i, s := range shops {
		idx := first + i
		root := filepath.Join(dir, fmt.Sprintf("shop-%04d", idx))
		kdir := filepath.Join(root, "knowledge")
		if err := os.MkdirAll(kdir, 0o755); err != nil {
			return nil, fmt.Errorf("build shop %d: %w", idx, err)
		}
		for _, p := range s.Pages {
			if err := os.WriteFile(filepath.Join(kdir, p.File), []byte(p.Text), 0o644); err != nil {
				return nil, fmt.Errorf("build shop %d: %w", idx, err)
			}
		}
		got, err := buildShop(ctx, s, idx, root, b, m, r)
		if err != nil {
			return nil, fmt.Errorf("build shop %d: %w", idx, err)
		}
		items = append(items, got...)
	}
	return items, nil
}

func buildShop(ctx context.Context, s Shop, idx int, root string, b *prompt.Builder, m *engine.Model, r Render) ([]Item, error) {
	ix, err := retrieval.OpenIndex(filepath.Join(root, "index.db"))
	if err != nil {
		return nil, err
	}
	defer ix.Close()
	if _, err := retrieval.Sync(ctx, ix, retrieval.SyncOptions{Root: root, Sources: []string{"knowledge/"},
		Chunk: retrieval.ChunkOptions{MaxTokens: r.ChunkTokens, Overlap: r.Overlap}}); err != nil {
		return nil, err
	}
	search, err := retrieval.NewSearcher(ctx, ix, retrieval.SearchOptions{Mode: retrieval.ModeBM25, K: r.K})
	if err != nil {
		return nil, err
	}
	var out []Item
	for _, q := range s.Questions {
		hits, err := search.Search(ctx, q.Input)
		if err != nil {
			return nil, err
		}
		ps := make([]prompt.Passage, len(hits))
		var seen []string
		for i, h := range hits {
			ps[i] = prompt.Passage{ID: h.Chunk.ID, Heading: h.Chunk.Heading, Text: h.Chunk.Text}
			seen = append(seen, score.Tokens(h.Chunk.Text)...)
			seen = append(seen, "|")
		}
		ex := lab.Example{ID: q.ID, Input: q.Input, Expected: q.Answer}
		msgs, err := b.MessagesWith(ex, ps)
		if err != nil {
			return nil, err
		}
		it := Item{Question: q, Shop: idx, Messages: msgs, Found: containsSeq(seen, score.Tokens(q.Answer))}
		if it.Example, err = tokenize(m, b, msgs, q.Answer); err != nil {
			return nil, fmt.Errorf("question %s: %w", q.ID, err)
		}
		out = append(out, it)
	}
	return out, nil
}

// tokenize renders the chat through the model's template as the local
// provider does (BOS and special tokens parsed), the answer's turn with
// its end-of-turn marker as the completion.
func tokenize(m *engine.Model, b *prompt.Builder, msgs []provider.Message, answer string) (finetune.Example, error) {
	chat := make([]engine.Message, 0, len(msgs)+1)
	for _, msg := range msgs {
		chat = append(chat, engine.Message{Role: msg.Role, Content: msg.Content})
	}
	p, c, err := m.ChatExample(chat, b.Answer(answer))
	return finetune.Example{Prompt: p, Completion: c}, err
}

// Correct is the contains scorer's rule: the answer's normalised words
// appear in order in the output.
func Correct(output, answer string) bool {
	return containsSeq(score.Tokens(output), score.Tokens(answer))
}
