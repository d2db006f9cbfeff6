package server

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/time/rate"

	"github.com/tunelab/tunelab/internal/lab"
)

// metrics are the gateway's Prometheus series. Each Server has its own
// registry, so tests and several servers in one process do not collide.
type metrics struct {
	reg           *prometheus.Registry
	requests      *prometheus.CounterVec
	latency       *prometheus.HistogramVec
	tokens        *prometheus.CounterVec
	cost          *prometheus.CounterVec
	limited       prometheus.Counter
	shadowDropped prometheus.Counter
	quality       *prometheus.GaugeVec
	alerts        *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tunelab_gateway_requests_total", Help: "Calls answered, by deployment, endpoint and HTTP status.",
		}, []string{"deployment", "endpoint", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "tunelab_gateway_request_duration_seconds", Help: "Time to answer a call, model included.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 14),
		}, []string{"deployment", "endpoint"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tunelab_gateway_tokens_total", Help: "Tokens in and out, by deployment.",
		}, []string{"deployment", "direction"}),
		cost: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tunelab_gateway_cost_usd_total", Help: "Cost of answered calls in USD, by deployment.",
		}, []string{"deployment"}),
		limited: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tunelab_gateway_rate_limited_total", Help: "Calls refused by a key's rate limit.",
		}),
		shadowDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tunelab_gateway_shadow_dropped_total", Help: "Shadow calls not made because the shadow pool was full or the challenger unavailable.",
		}),
		quality: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tunelab_monitor_quality", Help: "Share of sampled calls the monitor's scorer passed in its window.",
		}, []string{"deployment"}),
		alerts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tunelab_monitor_alerts_total", Help: "Alerts raised, by deployment and rule.",
		}, []string{"deployment", "rule"}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.tokens, m.cost, m.limited, m.shadowDropped, m.quality, m.alerts,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) observe(c call, t lab.Trace, failure string) {
	status := strconv.Itoa(t.Status)
	if failure != "" {
		status = failure
	}
	m.requests.WithLabelValues(c.name, c.endpoint, status).Inc()
	m.latency.WithLabelValues(c.name, c.endpoint).Observe(t.LatencyMS / 1000)
	if t.TokensIn > 0 || t.TokensOut > 0 {
		m.tokens.WithLabelValues(c.name, "input").Add(float64(t.TokensIn))
		m.tokens.WithLabelValues(c.name, "output").Add(float64(t.TokensOut))
	}
	if t.Cost > 0 {
		m.cost.WithLabelValues(c.name).Add(t.Cost)
	}
}

// limiter is a key's token bucket: RPM per minute, with a burst of a
// tenth of a minute's allowance so a client may catch up after a pause.
type limiter struct {
	rpm int
	l   *rate.Limiter
}

func newLimiter(rpm int) *limiter {
	burst := max(rpm/10, 1)
	return &limiter{rpm: rpm, l: rate.NewLimiter(rate.Every(time.Minute/time.Duration(rpm)), burst)}
}

func (l *limiter) Allow() bool { return l.l.Allow() }
