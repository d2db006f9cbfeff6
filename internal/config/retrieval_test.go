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
