package openaitest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

type file struct {
	id, name, purpose string
	bytes             int
	created           int64
	examples          int
	words             int64 // stands in for tokens when a job reports trained_tokens
}

func (f *file) object() map[string]any {
	return map[string]any{
		"id": f.id, "object": "file", "bytes": f.bytes, "created_at": f.created,
		"filename": f.name, "purpose": f.purpose, "status": "processed",
		"status_details": nil, "expires_at": nil,
	}
}

var purposes = map[string]bool{"assistants": true, "batch": true, "fine-tune": true, "vision": true, "user_data": true, "evals": true}

// uploadFile is POST /files: multipart with a "file" part and a "purpose"
// field. Fine-tune files must be chat JSONL, as the real API requires.
func (s *Server) uploadFile(w http.ResponseWriter, r *http.Request) {
	s.count("POST /files")
	if err := r.ParseMultipartForm(32 << 20); err != nil {
		apiError(w, 400, "invalid_request_error", "", nil, "Invalid multipart form: "+err.Error())
		return
	}
	purpose := r.FormValue("purpose")
	if purpose == "" {
		apiError(w, 400, "invalid_request_error", "purpose", nil, "Missing required parameter: 'purpose'.")
		return
	}
	if !purposes[purpose] {
		apiError(w, 400, "invalid_request_error", "purpose", nil, fmt.Sprintf("'%s' is not one of ['fine-tune', 'assistants', 'batch', 'user_data', 'responses', 'vision', 'evals'] - 'purpose'", purpose))
		return
	}
	part, hdr, err := r.FormFile("file")
	if err != nil {
		apiError(w, 400, "invalid_request_error", "file", nil, "Missing required parameter: 'file'.")
		return
	}
	defer part.Close()
	data, err := io.ReadAll(part)
	if err != nil {
		apiError(w, 400, "invalid_request_error", "file", nil, "could not read the file: "+err.Error())
		return
	}
	f := &file{name: hdr.Filename, purpose: purpose, bytes: len(data)}
	if purpose == "fine-tune" {
		if !strings.HasSuffix(hdr.Filename, ".jsonl") {
			apiError(w, 400, "invalid_request_error", "file", nil, "Invalid file format for Fine-Tuning API. Must be .jsonl")
			return
		}
		n, words, msg := checkChat(data)
		if msg != "" {
			apiError(w, 400, "invalid_request_error", "file", "invalid_file_format", "Invalid file format for Fine-Tuning API: "+msg)
			return
		}
		f.examples, f.words = n, words
	}
	s.mu.Lock()
	f.id = fmt.Sprintf("file-%06d", s.next())
	f.created = s.clock()
	s.files[f.id] = f
	obj := f.object()
	s.mu.Unlock()
	writeJSON(w, 200, obj)
}

var roles = map[string]bool{"system": true, "developer": true, "user": true, "assistant": true, "tool": true}

// checkChat validates chat fine-tuning rows: each line a JSON object whose
// messages are {role, content} with a known role, at least one of them the
// assistant's. It returns the number of rows and of words, or why not.
func checkChat(data []byte) (int, int64, string) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 64<<20)
	rows, words := 0, int64(0)
	for line := 1; sc.Scan(); line++ {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var row map[string]json.RawMessage
		if err := json.Unmarshal(b, &row); err != nil {
			return 0, 0, fmt.Sprintf("line %d is not valid JSON", line)
		}
		var msgs []struct {
			Role    string  `json:"role"`
			Content *string `json:"content"`
		}
		if raw, ok := row["messages"]; !ok || json.Unmarshal(raw, &msgs) != nil || len(msgs) == 0 {
			return 0, 0, fmt.Sprintf("line %d: missing or empty 'messages' array", line)
		}
		assistant := false
		for i, m := range msgs {
			if !roles[m.Role] {
				return 0, 0, fmt.Sprintf("line %d: message %d has invalid role %q", line, i, m.Role)
			}
			if m.Content == nil {
				return 0, 0, fmt.Sprintf("line %d: message %d is missing 'content'", line, i)
			}
			assistant = assistant || m.Role == "assistant"
			words += int64(len(strings.Fields(*m.Content)))
		}
		if !assistant {
			return 0, 0, fmt.Sprintf("line %d: no assistant message to train on", line)
		}
		rows++
	}
	if rows == 0 {
		return 0, 0, "the file has no examples"
	}
	return rows, words, ""
}

// deleteFile is DELETE /files/{id}.
func (s *Server) deleteFile(w http.ResponseWriter, r *http.Request) {
	s.count("DELETE /files/{id}")
	id := r.PathValue("id")
	s.mu.Lock()
	_, ok := s.files[id]
	delete(s.files, id)
	s.mu.Unlock()
	if !ok {
		apiError(w, 404, "invalid_request_error", "id", nil, fmt.Sprintf("No such File object: %s", id))
		return
	}
	writeJSON(w, 200, map[string]any{"id": id, "object": "file", "deleted": true})
}
