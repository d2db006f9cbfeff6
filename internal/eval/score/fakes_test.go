package score

import (
	"context"
	"errors"
	"sync"

	"github.com/tunelab/tunelab/internal/provider"
)

// fakeJudge answers every request with a fixed reply and remembers what it
// was asked, so tests can check the prompt and the parsing of the reply.
type fakeJudge struct {
	reply string
	err   error

	mu   sync.Mutex
	reqs []provider.Request
}

func (f *fakeJudge) Name() string { return "fake" }

func (f *fakeJudge) Complete(_ context.Context, req provider.Request) (*provider.Response, error) {
	f.mu.Lock()
	f.reqs = append(f.reqs, req)
	f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	return &provider.Response{Text: f.reply}, nil
}

func (f *fakeJudge) last() provider.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reqs[len(f.reqs)-1]
}

// fakeEmbedder looks texts up in a fixed table of vectors; a text not in
// the table is an error, so a test notices if the scorer embeds the wrong
// thing.
type fakeEmbedder struct {
	vecs  map[string][]float32
	short bool // return one vector instead of two
	err   error
	model *string // records the model asked for
}

func (f fakeEmbedder) Embed(_ context.Context, model string, inputs []string) ([][]float32, provider.Usage, error) {
	if f.model != nil {
		*f.model = model
	}
	if f.err != nil {
		return nil, provider.Usage{}, f.err
	}
	var out [][]float32
	for _, in := range inputs {
		v, ok := f.vecs[in]
		if !ok {
			return nil, provider.Usage{}, errors.New("fake embedder: no vector for " + in)
		}
		out = append(out, v)
	}
	if f.short {
		out = out[:1]
	}
	return out, provider.Usage{InputTokens: len(inputs)}, nil
}
