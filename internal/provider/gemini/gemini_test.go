package gemini

import (
	"context"
	"strings"
	"testing"

	"github.com/tunelab/tunelab/internal/provider"
	"github.com/tunelab/tunelab/internal/provider/providertest"
)

func newProvider(t *testing.T, s providertest.Settings) provider.Provider {
	p, err := New(provider.Config{
		Ref:    provider.Ref{Provider: name, Model: "m", BaseURL: s.BaseURL},
		APIKey: s.Key, Timeout: s.Timeout, HTTPClient: s.HTTPClient,
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestContract(t *testing.T) {
	providertest.Run(t, providertest.Backend{
		Name:       name,
		NewServer:  providertest.NewGeminiServer,
		New:        newProvider,
		EmbedModel: "text-embedding-004",
		CheckSchema: func(t *testing.T, req providertest.ChatRequest) {
			gc, _ := req.Body["generationConfig"].(map[string]any)
			if gc["responseMimeType"] != "application/json" || gc["responseJsonSchema"] == nil {
				t.Errorf("generationConfig %v", gc)
			}
		},
	})
}

func TestNewKeys(t *testing.T) {
	cases := []struct {
		name    string
		env     map[string]string
		options map[string]string
		wantErr string
		wantKey string
	}{
		{name: "no key", env: map[string]string{"GEMINI_API_KEY": "", "GOOGLE_API_KEY": ""}, wantErr: "gemini: no API key: set GEMINI_API_KEY or GOOGLE_API_KEY (or api_key_env in tunelab.yaml)"},
		{name: "google key first, as the SDK", env: map[string]string{"GEMINI_API_KEY": "g-1", "GOOGLE_API_KEY": "g-2"}, wantKey: "g-2"},
		{name: "gemini key", env: map[string]string{"GEMINI_API_KEY": "g-1", "GOOGLE_API_KEY": ""}, wantKey: "g-1"},
		{name: "api_key_env", env: map[string]string{"GEMINI_API_KEY": "g-1", "GOOGLE_API_KEY": "", "MINE": "g-3"}, options: map[string]string{"api_key_env": "MINE"}, wantKey: "g-3"},
		{name: "api_key_env unset", env: map[string]string{"GEMINI_API_KEY": "g-1", "MINE": ""}, options: map[string]string{"api_key_env": "MINE"}, wantErr: "gemini: no API key: set MINE (named by api_key_env in tunelab.yaml)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			t.Setenv("GOOGLE_GENAI_USE_VERTEXAI", "true") // must not switch the backend
			srv := providertest.NewGeminiServer(t, providertest.Text(func(providertest.ChatRequest) (string, *providertest.HTTPError) { return "ok", nil }))
			p, err := New(provider.Config{Ref: provider.Ref{Provider: name, Model: "m", BaseURL: srv.URL}, Options: tc.options})
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.Complete(context.Background(), provider.Request{Model: "gemini-2.0-flash", Messages: []provider.Message{{Role: "user", Content: "hi"}}}); err != nil {
				t.Fatal(err)
			}
			last := srv.Last(t)
			if last.APIKey != tc.wantKey || last.Model != "gemini-2.0-flash" {
				t.Errorf("server got key %q model %q, want %q", last.APIKey, last.Model, tc.wantKey)
			}
		})
	}
}

func TestAnswers(t *testing.T) {
	cases := []struct {
		name       string
		body       string
		wantText   string
		wantFinish string
		wantUsage  provider.Usage
		wantErr    string
	}{
		{
			name:     "thoughts skipped and counted as output",
			body:     `{"candidates":[{"content":{"role":"model","parts":[{"text":"thinking...","thought":true},{"text":"42"}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":7,"candidatesTokenCount":1,"thoughtsTokenCount":30}}`,
			wantText: "42", wantFinish: "stop", wantUsage: provider.Usage{InputTokens: 7, OutputTokens: 31},
		},
		{
			name:     "safety stop",
			body:     `{"candidates":[{"content":{"role":"model","parts":[{"text":""}]},"finishReason":"SAFETY"}]}`,
			wantText: "", wantFinish: "content_filter",
		},
		{
			name:     "blocked prompt is an answer",
			body:     `{"promptFeedback":{"blockReason":"SAFETY"},"usageMetadata":{"promptTokenCount":4}}`,
			wantText: "", wantFinish: "content_filter", wantUsage: provider.Usage{InputTokens: 4},
		},
		{name: "no candidates", body: `{"usageMetadata":{"promptTokenCount":4}}`, wantErr: "no candidates"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := providertest.NewGeminiServer(t, func(providertest.ChatRequest) (providertest.Reply, *providertest.HTTPError) {
				return providertest.Reply{RawBody: tc.body}, nil
			})
			p := newProvider(t, providertest.Settings{BaseURL: srv.URL, Key: "k"})
			resp, err := p.Complete(context.Background(), provider.Request{Model: "m", Messages: []provider.Message{{Role: "user", Content: "hi"}}})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if resp.Text != tc.wantText || resp.FinishReason != tc.wantFinish || resp.Usage != tc.wantUsage {
				t.Errorf("got %q %q %+v", resp.Text, resp.FinishReason, resp.Usage)
			}
		})
	}
}

func TestBadRequests(t *testing.T) {
	big := int64(1) << 40
	cases := []struct {
		name    string
		req     provider.Request
		wantErr string
	}{
		{"unknown role", provider.Request{Messages: []provider.Message{{Role: "tool", Content: "x"}}}, `role "tool"`},
		{"seed too large", provider.Request{Seed: &big, Messages: []provider.Message{{Role: "user", Content: "x"}}}, "32-bit seed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newProvider(t, providertest.Settings{BaseURL: "http://127.0.0.1:1", Key: "k"})
			req := tc.req
			req.Model = "m"
			_, err := p.Complete(context.Background(), req)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || provider.IsRetryable(err) {
				t.Errorf("error %v, want a final error containing %q", err, tc.wantErr)
			}
		})
	}
}
