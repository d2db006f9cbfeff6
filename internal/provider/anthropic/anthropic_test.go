package anthropic

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
		Name:      name,
		NewServer: providertest.NewAnthropicServer,
		New:       newProvider,
		NoSeed:    true,
		CheckParams: func(t *testing.T, req providertest.ChatRequest) {
			if req.Header.Get("anthropic-version") == "" {
				t.Error("no anthropic-version header")
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
		{name: "no key", env: map[string]string{"ANTHROPIC_API_KEY": ""}, wantErr: "anthropic: no API key: set ANTHROPIC_API_KEY (or api_key_env in tunelab.yaml)"},
		{name: "from env", env: map[string]string{"ANTHROPIC_API_KEY": "sk-ant-1"}, wantKey: "sk-ant-1"},
		{name: "api_key_env", env: map[string]string{"ANTHROPIC_API_KEY": "sk-ant-1", "TEAM_KEY": "sk-team"}, options: map[string]string{"api_key_env": "TEAM_KEY"}, wantKey: "sk-team"},
		{name: "api_key_env unset", env: map[string]string{"TEAM_KEY": ""}, options: map[string]string{"api_key_env": "TEAM_KEY"}, wantErr: "anthropic: no API key: set TEAM_KEY (named by api_key_env in tunelab.yaml)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			srv := providertest.NewAnthropicServer(t, providertest.Text(func(providertest.ChatRequest) (string, *providertest.HTTPError) { return "ok", nil }))
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
			if _, err := p.Complete(context.Background(), provider.Request{Model: "m", Messages: []provider.Message{{Role: "user", Content: "hi"}}}); err != nil {
				t.Fatal(err)
			}
			if got := srv.Last(t).APIKey; got != tc.wantKey {
				t.Errorf("server got key %q, want %q", got, tc.wantKey)
			}
		})
	}
}

func TestRequestShape(t *testing.T) {
	cases := []struct {
		name  string
		req   provider.Request
		check func(t *testing.T, got providertest.ChatRequest)
	}{
		{
			name: "max_tokens defaults to 1024",
			check: func(t *testing.T, got providertest.ChatRequest) {
				if got.MaxTokens != DefaultMaxTokens {
					t.Errorf("max_tokens %d", got.MaxTokens)
				}
			},
		},
		{
			name: "system turns join the system parameter",
			req: provider.Request{Messages: []provider.Message{
				{Role: "system", Content: "Rule one."}, {Role: "system", Content: "Rule two."}, {Role: "user", Content: "hi"},
			}},
			check: func(t *testing.T, got providertest.ChatRequest) {
				if got.System != "Rule one.\n\nRule two." || len(got.Messages) != 1 {
					t.Errorf("system %q messages %+v", got.System, got.Messages)
				}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := providertest.NewAnthropicServer(t, providertest.Text(func(providertest.ChatRequest) (string, *providertest.HTTPError) { return "ok", nil }))
			p := newProvider(t, providertest.Settings{BaseURL: srv.URL, Key: "k"})
			req := tc.req
			req.Model = "m"
			if req.Messages == nil {
				req.Messages = []provider.Message{{Role: "user", Content: "hi"}}
			}
			if _, err := p.Complete(context.Background(), req); err != nil {
				t.Fatal(err)
			}
			tc.check(t, srv.Last(t))
		})
	}
}

func TestUsageCountsCachedInput(t *testing.T) {
	srv := providertest.NewAnthropicServer(t, func(providertest.ChatRequest) (providertest.Reply, *providertest.HTTPError) {
		return providertest.Reply{RawBody: `{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[{"type":"text","text":"hi"}],"stop_reason":"refusal","stop_sequence":null,"usage":{"input_tokens":5,"cache_creation_input_tokens":100,"cache_read_input_tokens":1000,"output_tokens":2}}`}, nil
	})
	p := newProvider(t, providertest.Settings{BaseURL: srv.URL, Key: "k"})
	resp, err := p.Complete(context.Background(), provider.Request{Model: "m", Messages: []provider.Message{{Role: "user", Content: "hi"}}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Usage != (provider.Usage{InputTokens: 1105, OutputTokens: 2}) || resp.FinishReason != "content_filter" {
		t.Errorf("usage %+v finish %q", resp.Usage, resp.FinishReason)
	}
}

func TestBadRequests(t *testing.T) {
	p := newProvider(t, providertest.Settings{BaseURL: "http://127.0.0.1:1", Key: "k"})
	_, err := p.Complete(context.Background(), provider.Request{Model: "m", Messages: []provider.Message{{Role: "tool", Content: "x"}}})
	if err == nil || !strings.Contains(err.Error(), `role "tool"`) || provider.IsRetryable(err) {
		t.Errorf("error %v", err)
	}
}
