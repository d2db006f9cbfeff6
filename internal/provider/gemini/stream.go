package gemini

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/genai"

	"github.com/tunelab/tunelab/internal/provider"
)

// Stream runs one streamGenerateContent call (server-sent events), calling
// onDelta with each chunk's text.
func (p *Provider) Stream(ctx context.Context, req provider.Request, onDelta func(string)) (*provider.Response, error) {
	contents, config, err := p.request(req)
	if err != nil {
		return nil, err
	}
	callCtx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	start := time.Now()
	var acc answer
	for chunk, err := range p.client.Models.GenerateContentStream(callCtx, req.Model, contents, config) {
		if err != nil {
			return nil, p.fail(ctx, err)
		}
		before := acc.text.Len()
		if err := acc.add(chunk); err != nil {
			return nil, p.fail(ctx, err)
		}
		if d := acc.text.String()[before:]; d != "" {
			onDelta(d)
		}
	}
	latency := time.Since(start)
	out, err := acc.response(req.Model)
	if err != nil {
		return nil, p.fail(ctx, err)
	}
	out.Latency = latency
	return out, nil
}

// embedBatch is the most inputs one batchEmbedContents call takes.
const embedBatch = 100

// Embed computes one embedding per input, in input order. The Gemini API
// does not report tokens for embeddings, so the returned Usage is zero.
func (p *Provider) Embed(ctx context.Context, model string, inputs []string) ([][]float32, provider.Usage, error) {
	out := make([][]float32, 0, len(inputs))
	for lo := 0; lo < len(inputs); lo += embedBatch {
		batch := inputs[lo:min(lo+embedBatch, len(inputs))]
		contents := make([]*genai.Content, len(batch))
		for i, in := range batch {
			contents[i] = &genai.Content{Parts: []*genai.Part{{Text: in}}}
		}
		vecs, err := p.embedBatch(ctx, model, contents)
		if err != nil {
			return nil, provider.Usage{}, err
		}
		out = append(out, vecs...)
	}
	return out, provider.Usage{}, nil
}

func (p *Provider) embedBatch(ctx context.Context, model string, contents []*genai.Content) ([][]float32, error) {
	callCtx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	res, err := p.client.Models.EmbedContent(callCtx, model, contents, nil)
	if err != nil {
		return nil, p.fail(ctx, err)
	}
	if len(res.Embeddings) != len(contents) {
		return nil, p.fail(ctx, fmt.Errorf("the embeddings answer has %d vectors for %d inputs", len(res.Embeddings), len(contents)))
	}
	vecs := make([][]float32, len(contents))
	for i, e := range res.Embeddings {
		if e == nil || len(e.Values) == 0 {
			return nil, p.fail(ctx, fmt.Errorf("the embeddings answer has no vector for input %d", i+1))
		}
		vecs[i] = e.Values
	}
	return vecs, nil
}
