package providertest

import (
	"bufio"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

// These tests speak raw HTTP to the fakes, so that what other packages'
// tests rely on (the wire format) is checked without any SDK in between.

func post(t *testing.T, url, body string, header map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func decode(t *testing.T, resp *http.Response) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func dataLines(t *testing.T, resp *http.Response) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			out = append(out, d)
		}
	}
	return out
}

func TestOpenAIServerWire(t *testing.T) {
	srv := NewOpenAIServer(t, Text(func(r ChatRequest) (string, *HTTPError) {
		if r.Messages[0].Content == "fail" {
			return "", &HTTPError{Status: 429, Message: "slow", RetryAfter: 1500 * time.Millisecond}
		}
		return "hi there", nil
	}))
	const chat = `{"model":"m","messages":[{"role":"system","content":"sys"},{"role":"user","content":[{"type":"text","text":"q"}]}],"max_tokens":5,"stop":"X"}`

	t.Run("completion", func(t *testing.T) {
		resp := post(t, srv.URL+"/chat/completions", chat, map[string]string{"Authorization": "Bearer k1"})
		m := decode(t, resp)
		msg := m["choices"].([]any)[0].(map[string]any)["message"].(map[string]any)
		if resp.StatusCode != 200 || msg["content"] != "hi there" || m["usage"].(map[string]any)["completion_tokens"] != 2.0 {
			t.Errorf("status %d body %v", resp.StatusCode, m)
		}
		got := srv.Last(t)
		if got.APIKey != "k1" || got.System != "sys" || got.Messages[0].Content != "q" || got.MaxTokens != 5 || !reflect.DeepEqual(got.Stop, []string{"X"}) {
			t.Errorf("parsed %+v", got)
		}
	})
	t.Run("stream without usage", func(t *testing.T) {
		resp := post(t, srv.URL+"/chat/completions", strings.Replace(chat, `"stop":"X"`, `"stream":true`, 1), nil)
		lines := dataLines(t, resp)
		if resp.Header.Get("Content-Type") != "text/event-stream" || lines[len(lines)-1] != "[DONE]" {
			t.Fatalf("content type %q, lines %q", resp.Header.Get("Content-Type"), lines)
		}
		if strings.Contains(strings.Join(lines, "\n"), `"usage"`) {
			t.Error("usage sent without stream_options.include_usage")
		}
	})
	t.Run("rate limited", func(t *testing.T) {
		resp := post(t, srv.URL+"/chat/completions", `{"model":"m","messages":[{"role":"user","content":"fail"}]}`, nil)
		m := decode(t, resp)
		if resp.StatusCode != 429 || resp.Header.Get("retry-after") != "2" || resp.Header.Get("retry-after-ms") != "1500" {
			t.Errorf("status %d headers %v", resp.StatusCode, resp.Header)
		}
		if e := m["error"].(map[string]any); e["message"] != "slow" || e["code"] != "rate_limit_exceeded" {
			t.Errorf("error body %v", m)
		}
	})
	t.Run("unknown path", func(t *testing.T) {
		if resp := post(t, srv.URL+"/completions", `{}`, nil); resp.StatusCode != 404 {
			t.Errorf("status %d", resp.StatusCode)
		}
	})
}

func TestAnthropicServerWire(t *testing.T) {
	srv := NewAnthropicServer(t, Text(func(ChatRequest) (string, *HTTPError) { return "a b", nil }))
	hdr := map[string]string{"x-api-key": "k", "anthropic-version": "2023-06-01"}
	cases := []struct {
		name       string
		body       string
		header     map[string]string
		wantStatus int
		wantInBody string
	}{
		{"ok", `{"model":"m","max_tokens":10,"system":"s","messages":[{"role":"user","content":"q"}]}`, hdr, 200, `"stop_reason":"end_turn"`},
		{"no version header", `{"model":"m","max_tokens":10,"messages":[]}`, map[string]string{"x-api-key": "k"}, 400, "anthropic-version"},
		{"no max_tokens", `{"model":"m","messages":[{"role":"user","content":"q"}]}`, hdr, 400, "max_tokens: Field required"},
		{"unknown field", `{"model":"m","max_tokens":1,"seed":3,"messages":[{"role":"user","content":"q"}]}`, hdr, 400, "seed: Extra inputs"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := post(t, srv.URL+"/v1/messages", tc.body, tc.header)
			var b strings.Builder
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				b.WriteString(sc.Text())
			}
			if resp.StatusCode != tc.wantStatus || !strings.Contains(b.String(), tc.wantInBody) {
				t.Errorf("status %d body %s", resp.StatusCode, b.String())
			}
		})
	}
	t.Run("stream events", func(t *testing.T) {
		resp := post(t, srv.URL+"/v1/messages", `{"model":"m","max_tokens":10,"stream":true,"messages":[{"role":"user","content":"q"}]}`, hdr)
		var events []string
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if e, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
				events = append(events, e)
			}
		}
		want := []string{"message_start", "content_block_start", "ping", "content_block_delta", "content_block_delta", "content_block_stop", "message_delta", "message_stop"}
		if !reflect.DeepEqual(events, want) {
			t.Errorf("events %v, want %v", events, want)
		}
	})
}

func TestGeminiServerWire(t *testing.T) {
	srv := NewGeminiServer(t, Text(func(ChatRequest) (string, *HTTPError) { return "x y", nil }))
	cases := []struct {
		name, path, body string
		wantStatus       int
		wantInBody       string
	}{
		{"generate", "/v1beta/models/g:generateContent", `{"contents":[{"role":"user","parts":[{"text":"q"}]}]}`, 200, `"finishReason":"STOP"`},
		{"bad role", "/v1beta/models/g:generateContent", `{"contents":[{"role":"assistant","parts":[{"text":"q"}]}]}`, 400, "valid role"},
		{"schema without mime type", "/v1beta/models/g:generateContent", `{"contents":[{"role":"user","parts":[{"text":"q"}]}],"generationConfig":{"responseJsonSchema":{"type":"object"}}}`, 400, "responseMimeType"},
		{"stream", "/v1beta/models/g:streamGenerateContent?alt=sse", `{"contents":[{"role":"user","parts":[{"text":"q"}]}]}`, 200, `"usageMetadata"`},
		{"embed", "/v1beta/models/e:batchEmbedContents", `{"requests":[{"model":"models/e","content":{"parts":[{"text":"q"}]}}]}`, 200, `"values"`},
		{"embed model mismatch", "/v1beta/models/e:batchEmbedContents", `{"requests":[{"model":"models/other","content":{"parts":[{"text":"q"}]}}]}`, 400, "model must match"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := post(t, srv.URL+tc.path, tc.body, map[string]string{"x-goog-api-key": "k"})
			var b strings.Builder
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				b.WriteString(sc.Text())
			}
			if resp.StatusCode != tc.wantStatus || !strings.Contains(b.String(), tc.wantInBody) {
				t.Errorf("status %d body %s", resp.StatusCode, b.String())
			}
		})
	}
}

func TestHashEmbed(t *testing.T) {
	vecs, _ := HashEmbed(EmbedRequest{Inputs: []string{"The cat", "the CAT", "", "dog"}})
	if !reflect.DeepEqual(vecs[0], vecs[1]) {
		t.Error("case should not matter")
	}
	if vecs[2][0] != 1 {
		t.Errorf("empty text %v, want the first unit vector", vecs[2])
	}
	for i, v := range vecs {
		var n float32
		for _, x := range v {
			n += x * x
		}
		if n < 0.999 || n > 1.001 {
			t.Errorf("vector %d has squared norm %v", i, n)
		}
	}
}

func TestChunks(t *testing.T) {
	cases := []struct {
		name string
		rep  Reply
		want []string
	}{
		{"split after spaces", Reply{Text: "a bc d"}, []string{"a ", "bc ", "d"}},
		{"explicit", Reply{Text: "ignored", Chunks: []string{"x", "y"}}, []string{"x", "y"}},
		{"empty", Reply{}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := chunks(tc.rep); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
