package openaitest

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
)

type call struct {
	method, path, key string
	body              func(t *testing.T) (string, []byte) // content type and body
}

func do(t *testing.T, s *Server, c call) (int, map[string]any) {
	t.Helper()
	var ct string
	var body []byte
	if c.body != nil {
		ct, body = c.body(t)
	}
	req, err := http.NewRequest(c.method, s.URL+c.path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		t.Fatalf("%s %s: answer is not JSON: %v", c.method, c.path, err)
	}
	return res.StatusCode, out
}

func upload(name, purpose, content string) func(t *testing.T) (string, []byte) {
	return func(t *testing.T) (string, []byte) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		if purpose != "" {
			_ = mw.WriteField("purpose", purpose)
		}
		fw, err := mw.CreateFormFile("file", name)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = fw.Write([]byte(content))
		_ = mw.Close()
		return mw.FormDataContentType(), buf.Bytes()
	}
}

func jsonBody(v any) func(t *testing.T) (string, []byte) {
	return func(t *testing.T) (string, []byte) {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return "application/json", b
	}
}

const good = `{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"hello"}]}` + "\n"

// TestValidation checks the fake refuses what the real API refuses, with
// OpenAI's error object.
func TestValidation(t *testing.T) {
	s := New(t)
	_, batch := do(t, s, call{"POST", "/files", DefaultKey, upload("b.jsonl", "batch", "{}\n")})
	cases := []struct {
		name       string
		call       call
		wantStatus int
		wantParam  any
		wantMsg    string
	}{
		{"no bearer", call{"GET", "/fine_tuning/jobs/ftjob-1", "", nil}, 401, nil, "You didn't provide an API key"},
		{"wrong bearer", call{"GET", "/fine_tuning/jobs/ftjob-1", "sk-other", nil}, 401, nil, "Incorrect API key"},
		{"no purpose", call{"POST", "/files", DefaultKey, upload("a.jsonl", "", good)}, 400, "purpose", "Missing required parameter: 'purpose'"},
		{"unknown purpose", call{"POST", "/files", DefaultKey, upload("a.jsonl", "training", good)}, 400, "purpose", "'training' is not one of"},
		{"not .jsonl", call{"POST", "/files", DefaultKey, upload("a.csv", "fine-tune", good)}, 400, "file", "Must be .jsonl"},
		{"no messages", call{"POST", "/files", DefaultKey, upload("a.jsonl", "fine-tune", `{"prompt":"x"}`)}, 400, "file", "line 1: missing or empty 'messages'"},
		{"no assistant", call{"POST", "/files", DefaultKey, upload("a.jsonl", "fine-tune", `{"messages":[{"role":"user","content":"x"}]}`)}, 400, "file", "no assistant message"},
		{"unknown training file", call{"POST", "/fine_tuning/jobs", DefaultKey, jsonBody(map[string]any{"model": "gpt-4o-mini", "training_file": "file-nope"})}, 400, "training_file", "invalid training_file: file-nope"},
		{"file for another purpose", call{"POST", "/fine_tuning/jobs", DefaultKey, jsonBody(map[string]any{"model": "gpt-4o-mini", "training_file": batch["id"]})}, 400, "training_file", "requires purpose 'fine-tune'"},
		{"no model", call{"POST", "/fine_tuning/jobs", DefaultKey, jsonBody(map[string]any{"training_file": "file-nope"})}, 400, "model", "Missing required parameter: 'model'"},
		{"unknown job", call{"GET", "/fine_tuning/jobs/ftjob-nope/events", DefaultKey, nil}, 404, "fine_tuning_job_id", "Could not find fine-tuning job"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := do(t, s, tc.call)
			e, _ := body["error"].(map[string]any)
			if status != tc.wantStatus || e == nil {
				t.Fatalf("status %d body %v, want %d with an error object", status, body, tc.wantStatus)
			}
			if e["param"] != tc.wantParam || !strings.Contains(e["message"].(string), tc.wantMsg) || e["type"] != "invalid_request_error" {
				t.Errorf("error %v, want param %v and a message saying %q", e, tc.wantParam, tc.wantMsg)
			}
		})
	}
	if n := s.Requests("unauthorized"); n != 2 {
		t.Errorf("%d unauthorized requests counted, want 2", n)
	}
}

// TestLifecycle follows one job through every state, read by read.
func TestLifecycle(t *testing.T) {
	s := New(t, WithSteps(2))
	_, f := do(t, s, call{"POST", "/files", DefaultKey, upload("t.jsonl", "fine-tune", good)})
	if f["object"] != "file" || f["purpose"] != "fine-tune" || f["filename"] != "t.jsonl" {
		t.Fatalf("file %v", f)
	}
	status, j := do(t, s, call{"POST", "/fine_tuning/jobs", DefaultKey, jsonBody(map[string]any{
		"model": "gpt-4o-mini", "training_file": f["id"], "suffix": "x",
		"method": map[string]any{"type": "supervised", "supervised": map[string]any{"hyperparameters": map[string]any{"n_epochs": 2}}},
	})})
	if status != 200 || j["status"] != "validating_files" || j["fine_tuned_model"] != nil || j["finished_at"] != nil {
		t.Fatalf("created %d %v", status, j)
	}
	if hp := j["hyperparameters"].(map[string]any); hp["n_epochs"] != 2.0 || hp["batch_size"] != 1.0 {
		t.Errorf("hyperparameters %v, want n_epochs 2 and batch_size resolved to 1", hp)
	}
	id := j["id"].(string)
	want := []string{"queued", "running", "running", "running", "succeeded", "succeeded"}
	for i, w := range want {
		_, j = do(t, s, call{"GET", "/fine_tuning/jobs/" + id, DefaultKey, nil})
		if j["status"] != w {
			t.Fatalf("read %d: status %v, want %s", i+1, j["status"], w)
		}
	}
	if j["fine_tuned_model"] != "ft:gpt-4o-mini:tunelab:x:"+strings.TrimPrefix(id, "ftjob-") || j["trained_tokens"] != 4.0 {
		t.Errorf("finished job %v", j)
	}
	_, page := do(t, s, call{"GET", "/fine_tuning/jobs/" + id + "/events?limit=3", DefaultKey, nil})
	data := page["data"].([]any)
	if page["object"] != "list" || page["has_more"] != true || len(data) != 3 {
		t.Fatalf("page %v, want 3 events and more", page)
	}
	if m := data[0].(map[string]any)["message"]; m != "The job has successfully completed" {
		t.Errorf("newest event %v, want the completion message first", m)
	}
	last := data[2].(map[string]any)
	if last["type"] != "metrics" || last["data"].(map[string]any)["step"] != 2.0 {
		t.Errorf("third newest event %v, want the step 2 metrics", last)
	}
	_, rest := do(t, s, call{"GET", "/fine_tuning/jobs/" + id + "/events?after=" + last["id"].(string), DefaultKey, nil})
	if n := len(rest["data"].([]any)); n != 5 || rest["has_more"] != false {
		t.Errorf("after %v: %d events, has_more %v; want the 5 older ones", last["id"], n, rest["has_more"])
	}
	if n := s.Requests("GET /fine_tuning/jobs/{id}"); n != 6 {
		t.Errorf("%d job reads counted, want 6", n)
	}
}
