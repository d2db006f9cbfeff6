package config

import (
	"strings"
	"testing"
)

func TestRetrievalJudge(t *testing.T) {
	cases := []struct {
		name    string
		judge   string
		want    string // the parsed value
		wantErr string
	}{
		{"unset: word overlap", "", "", ""},
		{"a provider's model", "openai:gpt-4.1-mini", "openai:gpt-4.1-mini", ""},
		{"an OpenAI-compatible server", "openai-compatible:http://127.0.0.1:8080/v1#judge", "openai-compatible:http://127.0.0.1:8080/v1#judge", ""},
		{"no provider", "gpt-4.1-mini", "", "tunelab.yaml:"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			text := validConfig + "knowledge: [docs/]\n"
			if tc.judge != "" {
				text += "retrieval:\n  judge: " + tc.judge + "\n"
			}
			c, err := Parse([]byte(text), "tunelab.yaml")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "retrieval.judge") {
					t.Fatalf("err %v, want one at retrieval.judge", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Retrieval.Judge != tc.want {
				t.Errorf("judge %q, want %q", c.Retrieval.Judge, tc.want)
			}
		})
	}
}

func TestRerankErrors(t *testing.T) {
	cases := []struct {
		name, lab, prompt, wantAt string
	}{
		{"reranker without a provider", "  rerank: gpt-4.1-mini\n", "true", "retrieval.rerank"},
		{"candidates fewer than k", "  rerank: local:base\n  rerank_candidates: 2\n", "true", "retrieval.rerank_candidates"},
		{"candidates past one prompt's worth", "  rerank: local:base\n  rerank_candidates: 51\n", "true", "retrieval.rerank_candidates"},
		{"a prompt's reranker without a provider", "", "{rerank: mini}", "prompts[0].retrieval.rerank"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			text := strings.Replace(validConfig, "  - technique: zero-shot\n", "  - technique: zero-shot\n    retrieval: "+tc.prompt+"\n", 1) +
				"knowledge: [docs/]\nretrieval:\n  k: 3\n" + tc.lab
			_, err := Parse([]byte(text), "tunelab.yaml")
			if err == nil || !strings.Contains(err.Error(), tc.wantAt) || !strings.Contains(err.Error(), "tunelab.yaml:") {
				t.Fatalf("err %v, want one at %s naming the file and line", err, tc.wantAt)
			}
		})
	}
}
