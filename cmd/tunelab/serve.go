package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"runtime"
	"time"

	"github.com/spf13/cobra"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/server"
	"github.com/tunelab/tunelab/internal/workspace"
	"github.com/tunelab/tunelab/web"
)

func newServeCmd() *cobra.Command {
	var (
		listen, admin, storeDSN, adminTokenEnv string
		noAuth                                 bool
		grace                                  time.Duration
	)
	var openBrowser bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the lab's deployments behind an OpenAI-compatible endpoint, and the web UI",
		Long: `Answers /v1/chat/completions, /v1/completions, /v1/embeddings and /v1/models in
OpenAI's wire format; the model a client names is a deployment (tunelab deploy).
Every call is kept as a trace (tunelab traces); clients and reviewers rate traces
through POST /v1/feedback or the admin API. The admin surface (metrics, traces,
monitor) listens on its own address. Calls need a key (tunelab keys create)
unless --no-auth. Set OTEL_EXPORTER_OTLP_ENDPOINT to export OpenTelemetry spans.
Ctrl-C stops taking calls, finishes those in flight and stores every trace.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			w, err := openLab(cmd, storeDSN)
			if err != nil {
				return err
			}
			defer w.Close()
			sc := w.Config.Serve
			listen = pick(cmd, "listen", listen, sc.Listen, "127.0.0.1:8080")
			admin = pick(cmd, "admin", admin, sc.Admin, "127.0.0.1:8081")
			if listen == admin {
				return errors.New("--admin must differ from --listen: the admin surface is kept apart from the public one")
			}
			mon, err := monitorOptions(w)
			if err != nil {
				return err
			}
			logger := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			opts := server.Options{Store: w.Store, Resolve: w.ServeTarget, TraceDir: w.Path(".tunelab/traces"),
				NoAuth: noAuth, MaxBody: sc.MaxBody, Monitor: mon, Logger: logger}
			if adminTokenEnv != "" {
				if opts.AdminToken = os.Getenv(adminTokenEnv); opts.AdminToken == "" {
					return fmt.Errorf("--admin-token-env %s: the variable is empty; set it to the admin token", adminTokenEnv)
				}
			}
			if os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "" {
				exp, err := otlptracehttp.New(ctx)
				if err != nil {
					return fmt.Errorf("OpenTelemetry exporter: %w", err)
				}
				tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp))
				defer tp.Shutdown(context.Background()) //nolint:errcheck // spans are best effort at exit
				opts.Tracer = tp
			}
			if err := checkAuth(ctx, w, noAuth, listen, cmd.OutOrStdout()); err != nil {
				return err
			}
			ui, err := fs.Sub(web.Dist, "dist")
			if err != nil {
				return err
			}
			opts.UI = ui
			opts.Lab = &server.LabAPI{ConfigPath: w.Config.Path, Open: func(ctx context.Context) (*workspace.Workspace, error) {
				return workspace.Open(ctx, w.Config.Path, workspace.Options{Store: w.Store})
			}}
			srv, err := server.New(ctx, opts)
			if err != nil {
				return err
			}
			pub, err := net.Listen("tcp", listen)
			if err != nil {
				srv.Close()
				return fmt.Errorf("--listen %s: %w", listen, err)
			}
			adm, err := net.Listen("tcp", admin)
			if err != nil {
				pub.Close()
				srv.Close()
				return fmt.Errorf("--admin %s: %w", admin, err)
			}
			out := cmd.OutOrStdout()
			if srv.Replayed > 0 {
				fmt.Fprintf(out, "stored %d traces a previous server left in its log\n", srv.Replayed)
			}
			deps, err := w.Store.Deployments(ctx)
			if err != nil {
				return err
			}
			for _, d := range deps {
				if _, err := w.ServeTarget(d); err != nil {
					fmt.Fprintf(out, "warning: %v\n", err)
				}
			}
			fmt.Fprintf(out, "serving %d deployments at http://%s/v1\n", len(deps), pub.Addr())
			uiURL := "http://" + adm.Addr().String() + "/"
			fmt.Fprintf(out, "web UI and admin API: %s\n", uiURL)
			if openBrowser {
				if err := openURL(uiURL); err != nil {
					fmt.Fprintf(out, "could not open a browser (%v); open %s yourself\n", err, uiURL)
				}
			}
			err = srv.Serve(ctx, pub, adm, grace)
			fmt.Fprintln(out, "stopped; every trace is stored")
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", "", "public address (default: serve.listen, else 127.0.0.1:8080)")
	f.StringVar(&admin, "admin", "", "admin address (default: serve.admin, else 127.0.0.1:8081)")
	f.BoolVar(&noAuth, "no-auth", false, "answer calls without a key (only on a loopback address)")
	f.StringVar(&adminTokenEnv, "admin-token-env", "", "environment variable holding a token the admin surface requires")
	f.DurationVar(&grace, "grace", 30*time.Second, "how long shutdown waits for calls in flight")
	f.StringVar(&storeDSN, "store", "", "store DSN (default: the config's)")
	f.BoolVar(&openBrowser, "open", false, "open the web UI in a browser")
	return cmd
}

// newUICmd is `tunelab serve --open`: the UI is served by the same server.
func newUICmd() *cobra.Command {
	cmd := newServeCmd()
	cmd.Use = "ui"
	cmd.Short = "Serve the lab and open the web UI in a browser (tunelab serve --open)"
	cmd.Long = "Starts `tunelab serve` and opens its web UI, where you can try prompts in the playground,\n" +
		"compare runs side by side, run the ladder and read its verdict. Takes serve's flags."
	if err := cmd.Flags().Set("open", "true"); err != nil {
		panic(err) // the flag is defined just above; this cannot fail
	}
	return cmd
}

// openURL asks the desktop to open url.
func openURL(url string) error {
	name := "xdg-open"
	switch runtime.GOOS {
	case "darwin":
		name = "open"
	case "windows":
		return exec.Command("rundll32", "url.dll,FileProtocolHandler", url).Start()
	}
	if b := os.Getenv("BROWSER"); b != "" {
		name = b
	}
	return exec.Command(name, url).Start()
}

// pick chooses a flag, else the config's value, else the default.
func pick(cmd *cobra.Command, flag, val, cfg, def string) string {
	switch {
	case cmd.Flags().Changed(flag):
		return val
	case cfg != "":
		return cfg
	}
	return def
}

// checkAuth refuses --no-auth where others can reach it, and says so when
// no key exists yet (the gateway then refuses every call, the UI works).
func checkAuth(ctx context.Context, w *workspace.Workspace, noAuth bool, listen string, out io.Writer) error {
	host, _, _ := net.SplitHostPort(listen)
	ip := net.ParseIP(host)
	loopback := host == "localhost" || (ip != nil && ip.IsLoopback())
	if noAuth {
		if !loopback {
			return fmt.Errorf("--no-auth on %s would let anyone on the network call your models; use a loopback address or make keys with `tunelab keys create`", listen)
		}
		return nil
	}
	keys, err := w.Store.Keys(ctx)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if k.RevokedAt == nil {
			return nil
		}
	}
	fmt.Fprintln(out, "no API keys yet: the gateway refuses calls until you make one with `tunelab keys create NAME` (or serve with --no-auth on this machine)")
	return nil
}

// monitorOptions turns the config's serve.monitor into the server's.
func monitorOptions(w *workspace.Workspace) (server.MonitorOptions, error) {
	m := w.Config.Serve.Monitor
	o := server.MonitorOptions{Sample: 0.1, Window: m.Window, Interval: m.Interval, MinQuality: m.MinQuality,
		MaxP95MS: m.MaxP95MS, MaxErrorRate: m.MaxErrorRate, Webhook: m.Webhook, RetrainAfter: m.RetrainAfter}
	if m.Sample != nil {
		o.Sample = *m.Sample
	}
	o.Scorers = []lab.Scorer{server.ValidityScorer(w.Task)}
	if m.Judge != "" {
		j, err := w.JudgeScorer(m.Judge, m.Rubric)
		if err != nil {
			return o, fmt.Errorf("serve.monitor.judge: %w", err)
		}
		o.Scorers = append([]lab.Scorer{j}, o.Scorers...)
	}
	o.Primary = o.Scorers[0].Name()
	return o, nil
}
