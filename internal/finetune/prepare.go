package finetune

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/tunelab/tunelab/internal/engine"
	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/prompt"
)

// Dropped is a row left out of the training data, and why.
type Dropped struct {
	ID     string `json:"id"`
	Split  string `json:"split"`
	Reason string `json:"reason"`
}

// Prepared is a lab's data tokenized for training.
type Prepared struct {
	Train, Valid []Example
	Dropped      []Dropped
	// Hash identifies the tokenized data, so a job is the same job only
	// when it would see the same tokens.
	Hash             string
	PromptTokens     int
	CompletionTokens int
	LongestExample   int
}

// Prepare renders every example as the prompt variant would ask it, through
// the model's chat template, with the expected answer as the assistant's
// turn (its end-of-turn marker included, so the tuned model learns to
// stop). Examples without an expected answer, or longer than maxTokens,
// are dropped and reported.
func Prepare(m *engine.Model, b *prompt.Builder, train, valid []lab.Example, maxTokens int) (*Prepared, error) {
	p := &Prepared{}
	h := sha256.New()
	do := func(split string, exs []lab.Example) ([]Example, error) {
		var out []Example
		for _, ex := range exs {
			if strings.TrimSpace(ex.Expected) == "" {
				p.Dropped = append(p.Dropped, Dropped{ID: ex.ID, Split: split, Reason: "no expected answer"})
				continue
			}
			msgs, err := b.Messages(ex)
			if err != nil {
				return nil, err
			}
			chat := make([]engine.Message, 0, len(msgs)+1)
			for _, m := range msgs {
				chat = append(chat, engine.Message{Role: m.Role, Content: m.Content})
			}
			promptToks, compToks, err := m.ChatExample(chat, b.Answer(ex.Expected))
			if err != nil {
				return nil, fmt.Errorf("example %s: %w", ex.ID, err)
			}
			n := len(promptToks) + len(compToks)
			if maxTokens > 0 && n > maxTokens {
				p.Dropped = append(p.Dropped, Dropped{ID: ex.ID, Split: split, Reason: fmt.Sprintf("%d tokens, over the limit of %d", n, maxTokens)})
				continue
			}
			p.PromptTokens += len(promptToks)
			p.CompletionTokens += len(compToks)
			p.LongestExample = max(p.LongestExample, n)
			h.Write([]byte(split))
			for _, toks := range [][]int32{promptToks, compToks} {
				_ = binary.Write(h, binary.LittleEndian, int32(len(toks))) // a hash never fails to write
				_ = binary.Write(h, binary.LittleEndian, toks)
			}
			out = append(out, Example{Prompt: promptToks, Completion: compToks})
		}
		return out, nil
	}
	var err error
	if p.Train, err = do("train", train); err != nil {
		return nil, err
	}
	if p.Valid, err = do("validation", valid); err != nil {
		return nil, err
	}
	if len(p.Train) == 0 {
		first := ""
		if len(p.Dropped) > 0 {
			d := p.Dropped[0]
			first = fmt.Sprintf("; the first, %s, was dropped for %s", d.ID, d.Reason)
		}
		return nil, fmt.Errorf("no training examples left after preparation (%d dropped%s): check data.train and tune.max_tokens", len(p.Dropped), first)
	}
	p.Hash = hex.EncodeToString(h.Sum(nil))
	return p, nil
}
