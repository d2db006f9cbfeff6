package openai

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/tunelab/tunelab/internal/provider"
	"github.com/tunelab/tunelab/internal/provider/providertest"
)

func backend(name string, compatible bool) providertest.Backend {
	return providertest.Backend{
		Name:      name,
		NewServer: providertest.NewOpenAIServer,
		New: func(t *testing.T, s providertest.Settings) provider.Provider {
			cfg := provider.Config{
				Ref:    provider.Ref{Provider: name, Model: "m", BaseURL: s.BaseURL},
				APIKey: s.Key, Timeout: s.Timeout, HTTPClient: s.HTTPClient,
			}
			var p *Provider
			var err error
			if compatible {
				p, err = NewCompatible(cfg)
			} else {
				p, err = New(cfg)
			}
			if err != nil {
				t.Fatal(err)
			}
			return p
		},
		EmbedModel: "text-embedding-3-small",
		CheckParams: func(t *testing.T, req providertest.ChatRequest) {
			field, other := "max_completion_tokens", "max_tokens"
			if compatible {
				field, other = other, field
			}
			if _, ok := req.Body[field]; !ok {
				t.Errorf("%s not sent (body %v)", field, req.Body)
			}
			if _, ok := req.Body[other]; ok {
				t.Errorf("%s sent as well", other)
			}
		},
		CheckSchema: func(t *testing.T, req providertest.ChatRequest) {
			js, _ := req.Body["response_format"].(map[string]any)["json_schema"].(map[string]any)
			if js["strict"] != true || js["name"] != "sentiment" {
				t.Errorf("json_schema %v, want strict with name sentiment", js)
			}
		},
	}
}

func TestContract(t *testing.T) {
	t.Run("openai", func(t *testing.T) { providertest.Run(t, backend("openai", false)) })
	t.Run("openai-compatible", func(t *testing.T) { providertest.Run(t, backend("openai-compatible", true)) })
}

func TestNewKeys(t *testing.T) {
	cases := []struct {
		name    string
		env     map[string]string
		options map[string]string
		compat  bool
		wantErr string
		wantKey string
	}{
		{name: "openai without key", env: map[string]string{"OPENAI_API_KEY": ""}, wantErr: "openai: no API key: set OPENAI_API_KEY (or api_key_env in tunelab.yaml)"},
		{name: "openai from env", env: map[string]string{"OPENAI_API_KEY": "sk-env-1"}, wantKey: "sk-env-1"},
		{name: "openai from api_key_env", env: map[string]string{"OPENAI_API_KEY": "sk-env-1", "MY_KEY": "sk-mine"}, options: map[string]string{"api_key_env": "MY_KEY"}, wantKey: "sk-mine"},
		{name: "openai api_key_env unset", env: map[string]string{"OPENAI_API_KEY": "sk-env-1", "MY_KEY": ""}, options: map[string]string{"api_key_env": "MY_KEY"}, wantErr: "openai: no API key: set MY_KEY (named by api_key_env in tunelab.yaml)"},
		{name: "compatible placeholder", env: map[string]string{"OPENAI_API_KEY": ""}, compat: true, wantKey: "none"},
		{name: "compatible never sends OPENAI_API_KEY to another server", env: map[string]string{"OPENAI_API_KEY": "sk-env-1"}, compat: true, wantKey: "none"},
		{name: "compatible api_key_env first", env: map[string]string{"OPENAI_API_KEY": "sk-env-1", "VLLM_KEY": "v-key"}, options: map[string]string{"api_key_env": "VLLM_KEY"}, compat: true, wantKey: "v-key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			srv := providertest.NewOpenAIServer(t, providertest.Text(func(providertest.ChatRequest) (string, *providertest.HTTPError) { return "ok", nil }))
			cfg := provider.Config{Ref: provider.Ref{Provider: "openai", Model: "m", BaseURL: srv.URL}, Options: tc.options}
			var p *Provider
			var err error
			if tc.compat {
				p, err = NewCompatible(cfg)
			} else {
				p, err = New(cfg)
			}
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

func TestRegistry(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "sk-reg")
	cases := []struct {
		ref, want string
	}{
		{"openai:gpt-4o-mini", "openai"},
		{"openai-compatible:http://127.0.0.1:1/v1#qwen", "openai-compatible"},
	}
	for _, tc := range cases {
		t.Run(tc.ref, func(t *testing.T) {
			ref, err := provider.ParseRef(tc.ref)
			if err != nil {
				t.Fatal(err)
			}
			p, err := provider.New(provider.Config{Ref: ref})
			if err != nil {
				t.Fatal(err)
			}
			if p.Name() != tc.want {
				t.Errorf("name %q, want %q", p.Name(), tc.want)
			}
		})
	}
	if _, err := NewCompatible(provider.Config{Ref: provider.Ref{Provider: "openai-compatible", Model: "m"}}); err == nil || !strings.Contains(err.Error(), "no server address") {
		t.Errorf("compatible without base URL: %v", err)
	}
}

func TestRequestShape(t *testing.T) {
	cases := []struct {
		name  string
		req   provider.Request
		check func(t *testing.T, body map[string]any)
	}{
		{
			name: "stream asks for usage",
			check: func(t *testing.T, body map[string]any) {
				if so, _ := body["stream_options"].(map[string]any); so["include_usage"] != true {
					t.Errorf("stream_options %v", body["stream_options"])
				}
			},
		},
		{
			name: "schema name sanitised",
			req:  provider.Request{JSONSchema: json.RawMessage(`{"type":"object"}`), SchemaName: "my schema/v2"},
			check: func(t *testing.T, body map[string]any) {
				js := body["response_format"].(map[string]any)["json_schema"].(map[string]any)
				if js["name"] != "my_schema_v2" {
					t.Errorf("name %v", js["name"])
				}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := providertest.NewOpenAIServer(t, providertest.Text(func(providertest.ChatRequest) (string, *providertest.HTTPError) { return "ok", nil }))
			p, err := New(provider.Config{Ref: provider.Ref{Model: "m", BaseURL: srv.URL}, APIKey: "k"})
			if err != nil {
				t.Fatal(err)
			}
			req := tc.req
			req.Model, req.Messages = "m", []provider.Message{{Role: "user", Content: "hi"}}
			if _, err := p.Stream(context.Background(), req, func(string) {}); err != nil {
				t.Fatal(err)
			}
			tc.check(t, srv.Last(t).Body)
		})
	}
}

func TestBadAnswers(t *testing.T) {
	cases := []struct {
		name    string
		req     provider.Request
		body    string
		wantErr string
	}{
		{name: "no choices", body: `{"id":"x","object":"chat.completion","model":"m","choices":[]}`, wantErr: "no choices"},
		{name: "unknown role", req: provider.Request{Messages: []provider.Message{{Role: "tool", Content: "x"}}}, wantErr: `message 1 has role "tool"`},
		{name: "schema not an object", req: provider.Request{JSONSchema: json.RawMessage(`[1]`)}, wantErr: "not a JSON object"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := providertest.NewOpenAIServer(t, func(providertest.ChatRequest) (providertest.Reply, *providertest.HTTPError) {
				return providertest.Reply{RawBody: tc.body, Text: "ok"}, nil
			})
			p, err := New(provider.Config{Ref: provider.Ref{Model: "m", BaseURL: srv.URL}, APIKey: "k"})
			if err != nil {
				t.Fatal(err)
			}
			req := tc.req
			req.Model = "m"
			if req.Messages == nil {
				req.Messages = []provider.Message{{Role: "user", Content: "hi"}}
			}
			_, err = p.Complete(context.Background(), req)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || provider.IsRetryable(err) {
				t.Errorf("error %v, want a final error containing %q", err, tc.wantErr)
			}
		})
	}
}

// TestBehaviour runs the provider contract that holds for every backend,
// against the OpenAI wire-format fake answering like a deterministic model.
func TestBehaviour(t *testing.T) {
	srv := providertest.NewOpenAIServer(t, providertest.Text(func(r providertest.ChatRequest) (string, *providertest.HTTPError) {
		return "echo " + r.Messages[len(r.Messages)-1].Content, nil
	}))
	p, err := NewCompatible(provider.Config{Ref: provider.Ref{Provider: "openai-compatible", BaseURL: srv.URL, Model: "m"}})
	if err != nil {
		t.Fatal(err)
	}
	providertest.Behave(t, p, "m")
}
