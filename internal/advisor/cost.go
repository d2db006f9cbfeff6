package advisor

import (
	"fmt"
	"strconv"

	"github.com/tunelab/tunelab/internal/config"
	"github.com/tunelab/tunelab/internal/cost"
	"github.com/tunelab/tunelab/internal/eval"
	"github.com/tunelab/tunelab/internal/lab"
)

// CostInput is what prices a run's candidates: the measured calls and
// what the lab's config says about hosting.
type CostInput struct {
	Config  *config.Config
	Summary eval.Summary
	// Results are the run's calls; their latencies give a self-hosted
	// model's seconds per call, hence one machine's capacity.
	Results []lab.CallResult
	// Training is each tuned model's one-off training cost in USD, by
	// model reference.
	Training map[string]float64
	// Bases maps a tuned model's reference to its base's, so that it
	// inherits the base's hosting (models named NAME-ft-ID are matched
	// without it).
	Bases map[string]string
}

// Hosting says how a candidate's dedicated hosting was priced, for the
// verdict's sentences and for `tunelab cost`.
type Hosting struct {
	// From is the config field it came from ("models[1].hosting",
	// "local.dedicated", or a base model's entry).
	From string `json:"from"`
	// ReplicaMonthlyUSD is what one replica costs a month.
	ReplicaMonthlyUSD float64 `json:"replica_monthly_usd"`
	// HourlyUSD is the hourly price it was computed from, 0 when the
	// config gave a monthly one.
	HourlyUSD float64 `json:"hourly_usd,omitempty"`
	// CapacityPerDay is one replica's capacity in calls a day, 0 for a
	// deployment that serves any volume. Measured says it comes from the
	// run: SecondsPerCall (mean over its successful calls) and Parallel
	// calls at once.
	CapacityPerDay float64 `json:"capacity_per_day,omitempty"`
	Measured       bool    `json:"measured,omitempty"`
	SecondsPerCall float64 `json:"seconds_per_call,omitempty"`
	Parallel       int     `json:"parallel,omitempty"`
	// SelfHosted says the replica is the machine that runs the model, so
	// the calls cost nothing beyond it.
	SelfHosted bool `json:"self_hosted,omitempty"`
}

// CostProfiles prices every candidate of the run, by candidate id: its
// measured cost per call, its dedicated hosting where the config gives
// one, and its training. A self-hosted model on a dedicated machine is
// priced by the machine's hours, not by the seconds of its calls: the
// machine is paid for whether busy or idle, and serves as many calls a day
// as its measured seconds per call and its parallel slots allow, so more
// volume than that buys another machine.
func CostProfiles(in CostInput) (map[string]cost.Profile, map[string]Hosting) {
	seconds := meanSeconds(in.Results)
	profiles := map[string]cost.Profile{}
	hosting := map[string]Hosting{}
	for _, c := range in.Summary.Candidates {
		p := cost.Profile{ID: c.ID, PerCallUSD: c.CostPer1K / 1000, TrainingUSD: in.Training[c.Model]}
		if in.Config != nil {
			if h, ok := in.Config.HostingOf(c.Model, in.Bases[c.Model]); ok {
				hp := priceHosting(h, seconds[c.ID])
				p.FixedMonthlyUSD, p.CapacityPerDay = hp.ReplicaMonthlyUSD, hp.CapacityPerDay
				if h.SelfHosted {
					// The run priced each call by the machine's seconds;
					// the dedicated machine's hours replace that.
					p.PerCallUSD = 0
				}
				hosting[c.ID] = hp
			}
		}
		profiles[c.ID] = p
	}
	return profiles, hosting
}

func priceHosting(h config.Hosting, seconds float64) Hosting {
	hp := Hosting{From: h.From, SelfHosted: h.SelfHosted, CapacityPerDay: h.CallsPerDay}
	if h.MonthlyUSD > 0 {
		hp.ReplicaMonthlyUSD = h.MonthlyUSD
	} else {
		hp.HourlyUSD = h.HourlyUSD
		hp.ReplicaMonthlyUSD = cost.MonthlyFromHourly(h.HourlyUSD)
	}
	if hp.CapacityPerDay <= 0 && h.SelfHosted && seconds > 0 {
		hp.CapacityPerDay = cost.CapacityPerDay(seconds, h.Parallel)
		hp.Measured, hp.SecondsPerCall, hp.Parallel = true, seconds, max(h.Parallel, 1)
	}
	return hp
}

// meanSeconds is each candidate's mean latency over its successful calls,
// in seconds. A result served from the response cache carries the latency
// of the call that was made, so it counts like one.
func meanSeconds(results []lab.CallResult) map[string]float64 {
	sum, n := map[string]float64{}, map[string]int{}
	for _, r := range results {
		if r.Error != "" || r.LatencyMS <= 0 {
			continue
		}
		sum[r.CandidateID] += r.LatencyMS / 1000
		n[r.CandidateID]++
	}
	out := make(map[string]float64, len(sum))
	for id, s := range sum {
		out[id] = s / float64(n[id])
	}
	return out
}

// Describe says in words what a candidate's hosting costs at a volume:
// "2 replicas of $365 a month ($0.50 an hour), from local.dedicated; each
// serves 43k calls a day as measured: 2 s a call, 1 at a time".
func (h Hosting) Describe(callsPerDay float64) string {
	p := cost.Profile{FixedMonthlyUSD: h.ReplicaMonthlyUSD, CapacityPerDay: h.CapacityPerDay}
	n := cost.Replicas(p, callsPerDay)
	what := "replica"
	if n != 1 {
		what = "replicas"
	}
	price := usd(h.ReplicaMonthlyUSD) + " a month"
	if h.HourlyUSD > 0 {
		price = fmt.Sprintf("%s a month ($%.2f an hour)", usd(h.ReplicaMonthlyUSD), h.HourlyUSD)
	}
	s := fmt.Sprintf("%d %s of %s, from %s", n, what, price, h.From)
	switch {
	case h.Measured:
		s += fmt.Sprintf("; each serves %s calls a day as measured: %s s a call, %d at a time", volume(h.CapacityPerDay), strconv.FormatFloat(h.SecondsPerCall, 'g', 3, 64), h.Parallel)
	case h.CapacityPerDay > 0:
		s += fmt.Sprintf("; each serves %s calls a day", volume(h.CapacityPerDay))
	case h.SelfHosted:
		s += "; its capacity is unknown (no call succeeded), so one replica is counted"
	}
	return s
}

// hostingSentence says how much of the pick's bill is dedicated hosting
// and what it is made of; "" without hosting.
func hostingSentence(in Input, pick Option) string {
	h, ok := in.Hosting[pick.ID]
	if !ok || pick.HostingUSD <= 0 {
		return ""
	}
	s := fmt.Sprintf("Of that, %s is dedicated hosting: %s.", usd(pick.HostingUSD), h.Describe(in.Volume))
	if h.SelfHosted {
		s += " A dedicated machine is paid for whether busy or idle, so calls on it cost nothing more."
	}
	return s
}

// nextReplica says at what volume the pick's deployment needs another
// replica, when its capacity is known.
func nextReplica(in Input, pick Option) string {
	if pick.CapacityPerDay <= 0 || pick.Replicas <= 0 {
		return ""
	}
	at := float64(pick.Replicas) * pick.CapacityPerDay
	replica := pick.HostingUSD / float64(pick.Replicas)
	return fmt.Sprintf("Above %s calls a day it needs another replica of its dedicated hosting (+%s a month).", volume(at), usd(replica))
}
