package anthropic

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"

	"github.com/tunelab/tunelab/internal/provider"
)

// Stream runs one Messages call as a stream, calling onDelta with each
// text_delta. The SDK's accumulator assembles the message from the events
// (message_start, content_block_*, message_delta, message_stop), usage
// included.
func (p *Provider) Stream(ctx context.Context, req provider.Request, onDelta func(string)) (*provider.Response, error) {
	params, err := p.params(req)
	if err != nil {
		return nil, err
	}
	callCtx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	var raw *http.Response
	start := time.Now()
	stream := p.client.Messages.NewStreaming(callCtx, params, option.WithResponseInto(&raw))
	defer stream.Close()

	var msg anthropic.Message
	for stream.Next() {
		ev := stream.Current()
		if err := msg.Accumulate(ev); err != nil {
			return nil, p.fail(ctx, nil, fmt.Errorf("the stream's events do not fit together: %w", err))
		}
		if ev.Type == "content_block_delta" && ev.Delta.Type == "text_delta" && ev.Delta.Text != "" {
			onDelta(ev.Delta.Text)
		}
	}
	latency := time.Since(start)
	if err := stream.Err(); err != nil {
		return nil, p.fail(ctx, raw, err)
	}
	if msg.Type != "message" {
		return nil, p.fail(ctx, nil, fmt.Errorf("the stream ended without a message_start event"))
	}
	out := response(&msg)
	out.Latency = latency
	return out, nil
}
