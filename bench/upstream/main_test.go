package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

func post(t *testing.T, h http.Handler, body string) (int, chatResponse) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(body)))
	var resp chatResponse
	if rec.Code == http.StatusOK {
		if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
			t.Fatalf("response is not JSON: %v: %s", err, rec.Body)
		}
	}
	return rec.Code, resp
}

func TestCompletions(t *testing.T) {
	labels := []string{"billing", "shipping", "returns"}
	cases := []struct {
		name     string
		body     string
		wantCode int
	}{
		{"string content", `{"model":"bench","messages":[{"role":"user","content":"my parcel is late"}]}`, http.StatusOK},
		{"parts content", `{"model":"bench","messages":[{"role":"system","content":"triage"},{"role":"user","content":[{"type":"text","text":"refund please"}]}]}`, http.StatusOK},
		{"no messages", `{"model":"bench","messages":[]}`, http.StatusBadRequest},
		{"not json", `{"model":`, http.StatusBadRequest},
		{"stream asked", `{"model":"bench","stream":true,"messages":[{"role":"user","content":"x"}]}`, http.StatusBadRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := &server{labels: labels}
			h := s.handler()
			code, resp := post(t, h, tc.body)
			if code != tc.wantCode {
				t.Fatalf("status %d, want %d", code, tc.wantCode)
			}
			if code != http.StatusOK {
				if s.rejected.Load() != 1 || s.served.Load() != 0 {
					t.Errorf("rejected=%d served=%d, want 1 and 0", s.rejected.Load(), s.served.Load())
				}
				return
			}
			if resp.Object != "chat.completion" || resp.Model != "bench" || len(resp.Choices) != 1 || resp.Choices[0].FinishReason != "stop" {
				t.Errorf("malformed completion: %+v", resp)
			}
			answer := resp.Choices[0].Message.Content
			if !slices.Contains(labels, answer) {
				t.Errorf("answer %q is not one of %v", answer, labels)
			}
			if resp.Usage.TotalTokens != resp.Usage.PromptTokens+resp.Usage.CompletionTokens || resp.Usage.PromptTokens < 1 {
				t.Errorf("usage does not add up: %+v", resp.Usage)
			}
			// The same request gets the same answer: that is what lets two
			// harnesses' accuracies be compared.
			_, again := post(t, h, tc.body)
			if again.Choices[0].Message.Content != answer {
				t.Errorf("second answer %q differs from first %q", again.Choices[0].Message.Content, answer)
			}
			if s.served.Load() != 2 {
				t.Errorf("served = %d, want 2", s.served.Load())
			}
		})
	}
}

func TestAnswerDependsOnWholeConversation(t *testing.T) {
	s := &server{labels: []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}}
	h := s.handler()
	seen := map[string]bool{}
	for _, sys := range []string{"one", "two", "three", "four", "five", "six"} {
		_, resp := post(t, h, `{"model":"m","messages":[{"role":"system","content":"`+sys+`"},{"role":"user","content":"same ticket"}]}`)
		seen[resp.Choices[0].Message.Content] = true
	}
	if len(seen) < 2 {
		t.Errorf("six system prompts gave one answer %v: the answer ignores the system message", seen)
	}
}

func TestSplitLabels(t *testing.T) {
	cases := []struct {
		name, in string
		want     []string
	}{
		{"plain", "a,b", []string{"a", "b"}},
		{"spaces and empties", " a , ,b,", []string{"a", "b"}},
		{"empty", "", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := splitLabels(tc.in); !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
