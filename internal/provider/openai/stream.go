package openai

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/packages/ssestream"

	"github.com/tunelab/tunelab/internal/provider"
)

// Stream runs one chat completion as a stream, calling onDelta with each
// piece of text. It asks for usage in the stream (stream_options
// include_usage), which OpenAI and most compatible servers send in a last
// chunk with no choices.
func (p *Provider) Stream(ctx context.Context, req provider.Request, onDelta func(string)) (*provider.Response, error) {
	body, err := p.body(req)
	if err != nil {
		return nil, err
	}
	body.Stream, body.StreamOptions = true, &streamOptions{IncludeUsage: true}
	callCtx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	var raw *http.Response
	start := time.Now()
	// What the SDK's Chat.Completions.NewStreaming does, with tunelab's body.
	err = p.client.Post(callCtx, "chat/completions", body, &raw)
	stream := ssestream.NewStream[openai.ChatCompletionChunk](ssestream.NewDecoder(raw), err)
	defer stream.Close()

	var text, refusal strings.Builder
	out := &provider.Response{}
	for stream.Next() {
		chunk := stream.Current()
		if chunk.Model != "" {
			out.Model = chunk.Model
		}
		if chunk.JSON.Usage.Valid() {
			out.Usage = provider.Usage{InputTokens: int(chunk.Usage.PromptTokens), OutputTokens: int(chunk.Usage.CompletionTokens)}
		}
		if len(chunk.Choices) == 0 {
			continue
		}
		ch := chunk.Choices[0]
		if d := ch.Delta.Content; d != "" {
			text.WriteString(d)
			onDelta(d)
		}
		refusal.WriteString(ch.Delta.Refusal)
		if ch.FinishReason != "" {
			out.FinishReason = finishReason(ch.FinishReason)
		}
	}
	out.Latency = time.Since(start)
	if err := stream.Err(); err != nil {
		return nil, p.fail(ctx, raw, err)
	}
	out.Text = text.String()
	if out.Text == "" && refusal.Len() > 0 {
		out.Text, out.FinishReason = refusal.String(), "content_filter"
	}
	return out, nil
}

// embedBatch is how many inputs go in one embeddings request: OpenAI takes
// up to 2048, local servers often far fewer.
const embedBatch = 256

// Embed computes one embedding per input, in input order.
func (p *Provider) Embed(ctx context.Context, model string, inputs []string) ([][]float32, provider.Usage, error) {
	out := make([][]float32, 0, len(inputs))
	var usage provider.Usage
	for lo := 0; lo < len(inputs); lo += embedBatch {
		batch := inputs[lo:min(lo+embedBatch, len(inputs))]
		vecs, n, err := p.embedBatch(ctx, model, batch)
		if err != nil {
			return nil, provider.Usage{}, err
		}
		out = append(out, vecs...)
		usage.InputTokens += n
	}
	return out, usage, nil
}

func (p *Provider) embedBatch(ctx context.Context, model string, inputs []string) ([][]float32, int, error) {
	callCtx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	var raw *http.Response
	res, err := p.client.Embeddings.New(callCtx, openai.EmbeddingNewParams{
		Model: model,
		Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: inputs},
		// Plain floats: not every compatible server can send base64.
		EncodingFormat: openai.EmbeddingNewParamsEncodingFormatFloat,
	}, option.WithResponseInto(&raw))
	if err != nil {
		return nil, 0, p.fail(ctx, raw, err)
	}
	vecs := make([][]float32, len(inputs))
	for _, d := range res.Data {
		i := int(d.Index)
		if i < 0 || i >= len(vecs) || vecs[i] != nil {
			return nil, 0, p.fail(ctx, nil, fmt.Errorf("the embeddings answer has a bad or repeated index %d for %d inputs", d.Index, len(inputs)))
		}
		v := make([]float32, len(d.Embedding))
		for j, x := range d.Embedding {
			v[j] = float32(x)
		}
		vecs[i] = v
	}
	for i, v := range vecs {
		if v == nil {
			return nil, 0, p.fail(ctx, nil, fmt.Errorf("the embeddings answer has no vector for input %d of %d", i+1, len(inputs)))
		}
	}
	return vecs, int(res.Usage.PromptTokens), nil
}
