package openaift

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/openai/openai-go/v3"
)

// Event is one entry of a job's log. Metrics events (one per training
// step) carry Step and the losses; others only a message.
type Event struct {
	ID        string
	CreatedAt time.Time
	Level     string // info, warn or error
	Message   string
	Step      int
	TrainLoss *float64
	ValidLoss *float64
}

// eventPage is how many events one list call asks for: the API's maximum.
const eventPage = 100

// Events returns the job's events newer than the event with id after
// (all of them when after is ""), oldest first. The API lists events
// newest first and its own "after" cursor pages towards older ones, so
// this reads pages from the newest until it meets after.
func (c *Client) Events(ctx context.Context, id, after string) ([]Event, error) {
	var out []Event
	params := openai.FineTuningJobListEventsParams{Limit: openai.Int(eventPage)}
	for {
		page, err := c.api.FineTuning.Jobs.ListEvents(ctx, id, params)
		if err != nil {
			return nil, c.fail("list events of fine-tuning job "+id, err)
		}
		for _, ev := range page.Data {
			if after != "" && ev.ID == after {
				slices.Reverse(out)
				return out, nil
			}
			out = append(out, fromSDKEvent(ev))
		}
		if !page.HasMore || len(page.Data) == 0 {
			break
		}
		params.After = openai.String(page.Data[len(page.Data)-1].ID)
	}
	slices.Reverse(out)
	return out, nil
}

func fromSDKEvent(ev openai.FineTuningJobEvent) Event {
	out := Event{ID: ev.ID, CreatedAt: unix(ev.CreatedAt), Level: string(ev.Level), Message: ev.Message}
	// data is free-form; metrics events hold step, train_loss and
	// valid_loss as numbers.
	data, ok := ev.Data.(map[string]any)
	if !ok {
		return out
	}
	if v, ok := data["step"].(float64); ok {
		out.Step = int(v)
	}
	if v, ok := data["train_loss"].(float64); ok {
		out.TrainLoss = &v
	}
	if v, ok := data["valid_loss"].(float64); ok {
		out.ValidLoss = &v
	}
	return out
}

// checkChatJSONL reads a training file before it is uploaded, so a
// malformed file fails here with its line number instead of minutes later
// in the API's file validation. It checks the shape only (each line a JSON
// object with a non-empty messages array); the API judges the rest.
func checkChatJSONL(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("openai fine-tuning: read training data: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 64<<20)
	rows := 0
	for line := 1; sc.Scan(); line++ {
		b := sc.Bytes()
		if len(b) == 0 {
			continue
		}
		var row struct {
			Messages []json.RawMessage `json:"messages"`
		}
		if err := json.Unmarshal(b, &row); err != nil {
			return fmt.Errorf("openai fine-tuning: %s:%d: not a JSON object with a messages array: %v (write the file as chat JSONL)", path, line, err)
		}
		if len(row.Messages) == 0 {
			return fmt.Errorf("openai fine-tuning: %s:%d: field messages is missing or empty: each line needs {\"messages\": [...]}", path, line)
		}
		rows++
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("openai fine-tuning: read %s: %w", path, err)
	}
	if rows == 0 {
		return fmt.Errorf("openai fine-tuning: %s has no examples: export the split as chat JSONL first", path)
	}
	return nil
}
