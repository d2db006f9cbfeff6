package config

import (
	"net"
	"net/url"
	"time"

	"github.com/tunelab/tunelab/internal/provider"
)

// ServeSpec configures `tunelab serve`: where it listens and how it
// watches live traffic.
type ServeSpec struct {
	// Listen is the public address (default 127.0.0.1:8080); Admin the
	// admin surface's (default 127.0.0.1:8081), kept apart so the public
	// cannot reach it.
	Listen  string      `yaml:"listen"`
	Admin   string      `yaml:"admin"`
	MaxBody int64       `yaml:"max_body"` // bytes (default 1 MiB)
	Monitor MonitorSpec `yaml:"monitor"`
}

// MonitorSpec says how live traffic is scored and when to alert.
type MonitorSpec struct {
	// Sample is the share of calls scored, 0 to 1 (default 0.1).
	Sample *float64 `yaml:"sample"`
	// Judge, when set, grades sampled answers with this model and Rubric;
	// otherwise sampled answers are checked for validity (a known label,
	// well-formed JSON).
	Judge        string        `yaml:"judge"`
	Rubric       string        `yaml:"rubric"`
	Window       time.Duration `yaml:"window"`
	Interval     time.Duration `yaml:"interval"`
	MinQuality   float64       `yaml:"min_quality"`
	MaxP95MS     float64       `yaml:"max_p95_ms"`
	MaxErrorRate float64       `yaml:"max_error_rate"`
	Webhook      string        `yaml:"webhook"`
	RetrainAfter int           `yaml:"retrain_after"`
}

func (c *Config) validateServe() error {
	s := &c.Serve
	for field, addr := range map[string]string{"serve.listen": s.Listen, "serve.admin": s.Admin} {
		if addr == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return c.Errorf(field, "%q is not HOST:PORT (e.g. 127.0.0.1:8080)", addr)
		}
	}
	if s.Listen != "" && s.Listen == s.Admin {
		return c.Errorf("serve.admin", "must differ from serve.listen: the admin surface is kept apart from the public one")
	}
	if s.MaxBody < 0 {
		return c.Errorf("serve.max_body", "must not be negative")
	}
	m := &s.Monitor
	if m.Sample != nil && (*m.Sample < 0 || *m.Sample > 1) {
		return c.Errorf("serve.monitor.sample", "must be between 0 and 1")
	}
	if m.Judge != "" {
		if _, err := provider.ParseRef(m.Judge); err != nil {
			return c.Errorf("serve.monitor.judge", "%v", err)
		}
	}
	if m.Window < 0 || m.Interval < 0 {
		return c.Errorf("serve.monitor", "window and interval must not be negative")
	}
	if m.MinQuality < 0 || m.MinQuality > 1 || m.MaxErrorRate < 0 || m.MaxErrorRate > 1 {
		return c.Errorf("serve.monitor", "min_quality and max_error_rate are shares between 0 and 1")
	}
	if m.MaxP95MS < 0 || m.RetrainAfter < 0 {
		return c.Errorf("serve.monitor", "max_p95_ms and retrain_after must not be negative")
	}
	if m.Webhook != "" {
		u, err := url.Parse(m.Webhook)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return c.Errorf("serve.monitor.webhook", "%q is not an http(s) URL", m.Webhook)
		}
	}
	return nil
}
