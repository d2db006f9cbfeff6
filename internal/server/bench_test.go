package server

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// BenchmarkGatewayChat is one chat call through the gateway to an instant
// upstream; BenchmarkDirectChat the same call straight to the upstream.
// The difference is the gateway's cost per call (bench/gateway measures
// the latency it adds under load).
func BenchmarkGatewayChat(b *testing.B) {
	h := newHarness(b, Options{NoAuth: true})
	defer h.close()
	body := `{"model":"triage","messages":[{"role":"user","content":"I was charged twice, refund it"}]}`
	benchPost(b, h.public.URL+"/v1/chat/completions", body)
}

func BenchmarkDirectChat(b *testing.B) {
	h := newHarness(b, Options{NoAuth: true})
	defer h.close()
	body := `{"model":"tiny","messages":[{"role":"system","content":"You route messages for triage."},{"role":"user","content":"I was charged twice, refund it"}]}`
	benchPost(b, h.up.URL+"/v1/chat/completions", body)
}

func benchPost(b *testing.B, url, body string) {
	c := &http.Client{}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		resp, err := c.Post(url, "application/json", strings.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body) // a drained body lets the connection be reused
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}
