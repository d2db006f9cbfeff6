// Command gateway measures what tunelab's gateway adds to a call: it sends
// the same open-loop load (a fixed rate, whatever the answers' speed) to an
// OpenAI-compatible upstream that answers at once, first directly and then
// through the gateway serving a deployment of that upstream, alternating
// rounds, and prints latency percentiles for both and the difference. It
// then stops the gateway and checks that every answered call left exactly
// one trace in the store.
//
//	go run ./bench/gateway -rate 1000 -duration 10s -rounds 3
//
// Go's own reverse proxy runs beside them as the peer: what an extra hop
// through any net/http server costs, against which the gateway's own work
// (auth, rendering, the SDK call, the trace) shows.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tunelab/tunelab/internal/eval"
	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/prompt"
	"github.com/tunelab/tunelab/internal/provider"
	_ "github.com/tunelab/tunelab/internal/provider/openai"
	"github.com/tunelab/tunelab/internal/server"
	"github.com/tunelab/tunelab/internal/store/sqlite"
)

func main() {
	rate := flag.Int("rate", 1000, "requests per second")
	dur := flag.Duration("duration", 10*time.Second, "length of each round")
	rounds := flag.Int("rounds", 2, "rounds per target, alternating direct and gateway")
	profile := flag.String("cpuprofile", "", "write a CPU profile of the whole run here")
	floorMiB := flag.Int("heap-floor", 0, "the gateway's heap floor in MiB (0: its default; -1: none)")
	flag.Parse()
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(*rate, *dur, *rounds, int64(*floorMiB)<<20); err != nil {
		log.Print(err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

const answer = `{"id":"x","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"billing"},"finish_reason":"stop"}],"usage":{"prompt_tokens":20,"completion_tokens":1,"total_tokens":21}}`

func run(rate int, dur time.Duration, rounds int, heapFloor int64) error {
	var upCalls atomic.Int64
	up := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		upCalls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, answer)
	})}
	upLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go up.Serve(upLn) //nolint:errcheck // ends when the benchmark exits
	upURL := "http://" + upLn.Addr().String()

	dir, err := os.MkdirTemp("", "tunelab-gateway-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "lab.db"))
	if err != nil {
		return err
	}
	defer st.Close()
	task := lab.Task{Name: "bench", Output: lab.OutputLabel, Labels: []string{"billing", "shipping"}}
	v := prompt.Expand(lab.Variant{Name: "zero-shot", Technique: "zero-shot"}, task)
	if _, err := st.SaveDeployment(context.Background(), lab.Deployment{Name: "bench", Task: task,
		Candidate: lab.Candidate{ID: "m/zero-shot", Model: "openai-compatible:" + upURL + "/v1#m", Variant: v}}); err != nil {
		return err
	}
	secret, key := server.NewKey("bench", nil, 0, time.Now())
	if err := st.SaveKey(context.Background(), key); err != nil {
		return err
	}
	srv, err := server.New(context.Background(), server.Options{Store: st, TraceDir: filepath.Join(dir, "traces"), HeapFloor: heapFloor,
		Resolve: func(d lab.Deployment) (eval.Target, error) {
			ref, err := provider.ParseRef(d.Candidate.Model)
			if err != nil {
				return eval.Target{}, err
			}
			p, err := provider.New(provider.Config{Ref: ref, Timeout: 10 * time.Second})
			if err != nil {
				return eval.Target{}, err
			}
			b, err := prompt.NewBuilder(d.Task, d.Candidate.Variant, nil)
			return eval.Target{Candidate: d.Candidate, Builder: b, Provider: p}, err
		}})
	if err != nil {
		return err
	}
	gwLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	gw := &http.Server{Handler: srv.Public()}
	go gw.Serve(gwLn) //nolint:errcheck // shut down below
	gwURL := "http://" + gwLn.Addr().String()

	// The direct call sends what the gateway sends upstream for the same
	// input: the deployment's rendered prompt.
	b, _ := prompt.NewBuilder(task, v, nil)
	msgs, _ := b.Messages(lab.Example{Input: "I was charged twice for order 4411"})
	direct := fmt.Sprintf(`{"model":"m","messages":[{"role":"system","content":%q},{"role":"user","content":%q}]}`,
		firstOr(msgs, "system"), firstOr(msgs, "user"))
	viaGateway := `{"model":"bench","messages":[{"role":"user","content":"I was charged twice for order 4411"}]}`

	// The peer: Go's own reverse proxy, the least any gateway written with
	// net/http adds, forwarding the direct body to the same upstream. The
	// gateway's own work is what it adds beyond this extra hop.
	target, err := url.Parse(upURL)
	if err != nil {
		return err
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute}
	pxLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	px := &http.Server{Handler: rp}
	go px.Serve(pxLn) //nolint:errcheck // ends when the benchmark exits
	pxURL := "http://" + pxLn.Addr().String()

	client := &http.Client{Transport: &http.Transport{MaxIdleConns: 4096, MaxIdleConnsPerHost: 4096, IdleConnTimeout: time.Minute}}
	fmt.Printf("open-loop load at %d requests/s, %s per round, %d rounds each (GOMAXPROCS cores shared by load, gateway and upstream)\n",
		rate, dur, rounds)
	var all = map[string][]result{}
	warm := func(url, body, auth string) { load(client, url, body, auth, rate, time.Second) }
	warm(upURL+"/v1/chat/completions", direct, "")
	warm(pxURL+"/v1/chat/completions", direct, "")
	warm(gwURL+"/v1/chat/completions", viaGateway, secret)
	cpu := map[string]time.Duration{}
	for r := 0; r < rounds; r++ {
		c0 := cpuTime()
		all["direct"] = append(all["direct"], load(client, upURL+"/v1/chat/completions", direct, "", rate, dur)...)
		c1 := cpuTime()
		all["proxy"] = append(all["proxy"], load(client, pxURL+"/v1/chat/completions", direct, "", rate, dur)...)
		c2 := cpuTime()
		all["gateway"] = append(all["gateway"], load(client, gwURL+"/v1/chat/completions", viaGateway, secret, rate, dur)...)
		cpu["direct"] += c1 - c0
		cpu["proxy"] += c2 - c1
		cpu["gateway"] += cpuTime() - c2
	}
	fmt.Printf("%-8s %9s %8s %8s %8s %8s %7s %12s\n", "target", "requests", "rps", "p50 ms", "p99 ms", "max ms", "errors", "cpu us/call")
	p99 := map[string]float64{}
	for _, name := range []string{"direct", "proxy", "gateway"} {
		rs := all[name]
		var lat []float64
		errs := 0
		for _, x := range rs {
			if x.err {
				errs++
				continue
			}
			lat = append(lat, x.ms)
		}
		sort.Float64s(lat)
		p99[name] = pct(lat, 0.99)
		fmt.Printf("%-8s %9d %8.0f %8.3f %8.3f %8.3f %7d %12.0f\n", name, len(rs), float64(len(rs))/(dur.Seconds()*float64(rounds)),
			pct(lat, 0.5), p99[name], pct(lat, 1), errs, float64(cpu[name].Microseconds())/float64(len(rs)))
	}
	fmt.Printf("added p99: %.3f ms (gateway p99 / direct p99 = %.2f); a bare reverse proxy adds %.3f ms, so the gateway's own work adds %.3f ms\n",
		p99["gateway"]-p99["direct"], p99["gateway"]/p99["direct"], p99["proxy"]-p99["direct"], p99["gateway"]-p99["proxy"])

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := gw.Shutdown(ctx); err != nil {
		return err
	}
	if err := srv.Close(); err != nil {
		return err
	}
	ts, err := st.Traces(context.Background(), lab.TraceFilter{})
	if err != nil {
		return err
	}
	answered := 0
	for _, x := range all["gateway"] {
		if !x.err {
			answered++
		}
	}
	answered += int(gwWarm.Load())
	fmt.Printf("traces stored: %d for %d answered gateway calls (lost %d)\n", len(ts), answered, answered-len(ts))
	return nil
}

var gwWarm atomic.Int64

func firstOr(msgs []provider.Message, role string) string {
	for _, m := range msgs {
		if m.Role == role {
			return m.Content
		}
	}
	return ""
}

type result struct {
	ms  float64
	err bool
}

// load sends requests at rate for dur without waiting for answers (an
// open loop, so a slow server faces the same arrivals as a fast one) and
// returns each request's latency.
func load(c *http.Client, url, body, auth string, rate int, dur time.Duration) []result {
	n := int(float64(rate) * dur.Seconds())
	out := make([]result, n)
	var wg sync.WaitGroup
	start := time.Now()
	interval := time.Second / time.Duration(rate)
	for i := 0; i < n; i++ {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader([]byte(body)))
			req.Header.Set("Content-Type", "application/json")
			if auth != "" {
				req.Header.Set("Authorization", "Bearer "+auth)
			}
			resp, err := c.Do(req)
			if err != nil {
				out[i] = result{err: true}
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			out[i] = result{ms: float64(time.Since(t0)) / float64(time.Millisecond), err: resp.StatusCode != 200}
			if auth != "" && dur == time.Second && resp.StatusCode == 200 {
				gwWarm.Add(1)
			}
		}()
	}
	wg.Wait()
	return out
}

func pct(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(int(p*float64(len(sorted)-1)+0.5), len(sorted)-1)]
}

// cpuTime is the process's user and system CPU time so far: the whole
// process, so a call's figure includes the load generator and upstream.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
