package dataset

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/tunelab/tunelab/internal/fsutil"
	"github.com/tunelab/tunelab/internal/lab"
)

// EncodeJSONL writes examples as plain JSONL, one
// {"id","input","expected","meta"} object per line: the format Load reads
// back to the same examples.
func EncodeJSONL(w io.Writer, exs []lab.Example) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // keep <, > and & readable in prompts and code
	for _, ex := range exs {
		if err := enc.Encode(ex); err != nil {
			return fmt.Errorf("encode example %s: %w", ex.ID, err)
		}
	}
	return nil
}

type chatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type chatLine struct {
	Messages []chatMessage `json:"messages"`
}

// EncodeChatJSONL writes examples in the chat format fine-tuning APIs
// take: an optional system turn, the input as the user turn and the
// expected output as the assistant turn. system, when empty, falls back
// to each example's meta["system"]. Rows carry nothing else, since the
// APIs reject unknown keys; an example with no expected output is an
// error, as there is nothing to train on.
func EncodeChatJSONL(w io.Writer, exs []lab.Example, system string) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, ex := range exs {
		if ex.Expected == "" {
			return fmt.Errorf("example %s%s has no expected output: a chat training row needs the assistant's answer", ex.ID, lineNote(ex))
		}
		sys := system
		if sys == "" {
			sys = ex.Meta["system"]
		}
		var row chatLine
		if sys != "" {
			row.Messages = append(row.Messages, chatMessage{"system", sys})
		}
		row.Messages = append(row.Messages, chatMessage{"user", ex.Input}, chatMessage{"assistant", ex.Expected})
		if err := enc.Encode(row); err != nil {
			return fmt.Errorf("encode example %s: %w", ex.ID, err)
		}
	}
	return nil
}

// WriteJSONL writes examples to path as plain JSONL, atomically: a reader
// or a crash sees the old file or the whole new one.
func WriteJSONL(path string, exs []lab.Example) error {
	var buf bytes.Buffer
	if err := EncodeJSONL(&buf, exs); err != nil {
		return fmt.Errorf("export %s: %w", path, err)
	}
	return writeExport(path, buf.Bytes())
}

// WriteChatJSONL writes examples to path as chat JSONL, atomically.
func WriteChatJSONL(path string, exs []lab.Example, system string) error {
	var buf bytes.Buffer
	if err := EncodeChatJSONL(&buf, exs, system); err != nil {
		return fmt.Errorf("export %s: %w", path, err)
	}
	return writeExport(path, buf.Bytes())
}

// writeExport writes an exported file. A directory in the way is reported
// as such: the atomic rename would otherwise fail with "file exists" and a
// temporary name the user never chose.
func writeExport(path string, data []byte) error {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return fmt.Errorf("export %s: it is a directory: give the path of a file to write", path)
	}
	return fsutil.WriteFileAtomic(path, data, 0o644)
}
