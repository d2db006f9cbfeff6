package config

import (
	"strings"
	"testing"
)

const hostingConfig = `task:
  name: routing
  labels: [billing, shipping]
data:
  test: data/test.jsonl
models:
  - local:base
  - id: fast
    model: local:models/fast.gguf
    options: {parallel: "4"}
    hosting: {calls_per_day: 90000}
  - model: openai-compatible:https://x.openai.azure.com/openai/v1#ft-router
    hosting: {hourly_usd: 1.7}
  - model: openai:gpt-4o-mini
  - model: openai:ft:gpt-4o-mini-2024-07-18:acme::abc123
local:
  hourly_usd: 0.5
`

func TestHostingOf(t *testing.T) {
	tests := []struct {
		name       string
		text       string
		model      string
		base       string
		want       Hosting
		wantHosted bool
	}{
		{
			name: "own entry with a capacity; price from local.hourly_usd; parallel option",
			text: hostingConfig, model: "local:models/fast.gguf", wantHosted: true,
			want: Hosting{HourlyUSD: 0.5, CallsPerDay: 90000, SelfHosted: true, Parallel: 4, From: "models[1].hosting"},
		},
		{
			name: "provider deployment priced by the hour",
			text: hostingConfig, model: "openai-compatible:https://x.openai.azure.com/openai/v1#ft-router", wantHosted: true,
			want: Hosting{HourlyUSD: 1.7, SelfHosted: true, Parallel: 1, From: "models[2].hosting"},
		},
		{name: "local model, machine not dedicated", text: hostingConfig, model: "local:base"},
		{name: "API model has no hosting", text: hostingConfig, model: "openai:gpt-4o-mini"},
		{
			// OpenAI bills tuned models per token only.
			name: "OpenAI-tuned model inherits nothing", text: strings.Replace(hostingConfig, "  - model: openai:gpt-4o-mini\n", "  - model: openai:gpt-4o-mini\n    hosting: {monthly_usd: 100}\n", 1),
			model: "openai:ft:gpt-4o-mini-2024-07-18:acme::abc123", base: "openai:gpt-4o-mini",
		},
		{
			name: "tuned local model inherits its base's, found by name",
			text: hostingConfig, model: "local:fast-ft-0123456789ab", wantHosted: true,
			want: Hosting{HourlyUSD: 0.5, CallsPerDay: 90000, SelfHosted: true, Parallel: 1, From: "models[1].hosting, of its base local:models/fast.gguf"},
		},
		{
			name: "tuned local model inherits from the base the caller names",
			text: hostingConfig, model: "local:other-ft-0123456789ab", base: "local:models/fast.gguf", wantHosted: true,
			want: Hosting{HourlyUSD: 0.5, CallsPerDay: 90000, SelfHosted: true, Parallel: 1, From: "models[1].hosting, of its base local:models/fast.gguf"},
		},
		{
			name:  "a tuned model's own entry wins over its base's",
			text:  strings.Replace(hostingConfig, "local:\n", "  - model: local:fast-ft-0123456789ab\n    hosting: {monthly_usd: 40}\nlocal:\n", 1),
			model: "local:fast-ft-0123456789ab", wantHosted: true,
			want: Hosting{MonthlyUSD: 40, SelfHosted: true, Parallel: 1, From: "models[5].hosting"},
		},
		{name: "not a job id", text: hostingConfig, model: "local:fast-ft-v2"},
		{
			name: "dedicated machine for every self-hosted model",
			text: hostingConfig + "  dedicated: true\n", model: "local:base", wantHosted: true,
			want: Hosting{HourlyUSD: 0.5, SelfHosted: true, Parallel: 1, From: "local.dedicated"},
		},
		{name: "dedicated machine does not host API models", text: hostingConfig + "  dedicated: true\n", model: "openai:gpt-4o-mini"},
		{name: "unknown model", text: hostingConfig, model: "not a ref"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(tc.text), "tunelab.yaml")
			if err != nil {
				t.Fatal(err)
			}
			got, ok := c.HostingOf(tc.model, tc.base)
			if ok != tc.wantHosted || got != tc.want {
				t.Errorf("HostingOf(%q) = %+v, %v; want %+v, %v", tc.model, got, ok, tc.want, tc.wantHosted)
			}
		})
	}
}

// TestHostingErrors checks that a bad hosting setting names the file, the
// line and the field, and says what to do.
func TestHostingErrors(t *testing.T) {
	tests := []struct {
		name, text, want string
	}{
		{
			name: "negative hourly price",
			text: strings.Replace(hostingConfig, "hourly_usd: 1.7", "hourly_usd: -1", 1),
			want: "tunelab.yaml:13: models[2].hosting.hourly_usd: must not be negative",
		},
		{
			name: "negative capacity",
			text: strings.Replace(hostingConfig, "calls_per_day: 90000", "calls_per_day: -5", 1),
			want: "tunelab.yaml:11: models[1].hosting.calls_per_day: must not be negative",
		},
		{
			name: "both prices",
			text: strings.Replace(hostingConfig, "hourly_usd: 1.7", "hourly_usd: 1.7, monthly_usd: 1200", 1),
			want: "tunelab.yaml:13: models[2].hosting: give hourly_usd or monthly_usd, not both",
		},
		{
			name: "provider deployment without a price",
			text: strings.Replace(hostingConfig, "  - model: openai:gpt-4o-mini\n", "  - model: openai:gpt-4o-mini\n    hosting: {calls_per_day: 10}\n", 1),
			want: "tunelab.yaml:15: models[3].hosting: no price: set hourly_usd (or monthly_usd) to what one deployment of openai:gpt-4o-mini costs",
		},
		{
			name: "self-hosted without any price",
			text: strings.Replace(hostingConfig, "local:\n  hourly_usd: 0.5\n", "", 1),
			want: "tunelab.yaml:11: models[1].hosting: no price: set hourly_usd here, or local.hourly_usd",
		},
		{
			name: "dedicated machine without a price",
			text: strings.Replace(hostingConfig, "  hourly_usd: 0.5\n", "  dedicated: true\n", 1) + "",
			want: "tunelab.yaml:11: models[1].hosting: no price",
		},
		{
			name: "dedicated switch without a price",
			text: strings.Replace(strings.Replace(hostingConfig, "    hosting: {calls_per_day: 90000}\n", "", 1), "  hourly_usd: 0.5\n", "  dedicated: true\n", 1),
			want: "tunelab.yaml:16: local.dedicated: a dedicated machine is paid for by the hour: set local.hourly_usd",
		},
		{
			name: "unknown hosting key",
			text: strings.Replace(hostingConfig, "hourly_usd: 1.7", "hourly: 1.7", 1),
			want: `tunelab.yaml:13: unknown field "hourly" in models[2].hosting`,
		},
		{
			name: "hosting price not a number",
			text: strings.Replace(hostingConfig, "hourly_usd: 1.7", "hourly_usd: cheap", 1),
			want: "tunelab.yaml:13: ",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.text), "tunelab.yaml")
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("error %q, want it to start with %q", err, tc.want)
			}
		})
	}
}
