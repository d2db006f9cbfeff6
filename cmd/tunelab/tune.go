package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tunelab/tunelab/internal/finetune"
	"github.com/tunelab/tunelab/internal/finetune/openaift"
	"github.com/tunelab/tunelab/internal/provider"
	"github.com/tunelab/tunelab/internal/workspace"
)

// tuneFlags are the settings a command line can override; zero means the
// lab's tune: section, then the defaults.
type tuneFlags struct {
	base, backend, name, promptName string
	rank, epochs, maxTokens         int
	alpha, dropout, lr              float64
	targets                         []string
	threads                         int
	quiet, full                     bool
	apiBase, hfBase                 string
	poll                            time.Duration
	queued                          bool
	storeDSN                        string
}

func newTuneCmd() *cobra.Command {
	var f tuneFlags
	cmd := &cobra.Command{
		Use:   "tune",
		Short: "Fine-tune a model on the lab's training data (LoRA on the local engine by default)",
		Long: `Prepares the lab's train split (the same prompt the tuned model will be served,
through the model's chat template, the answer as the assistant's turn), trains
a LoRA adapter on the local engine with a live loss curve, keeps the epoch with
the best validation loss, and registers the result as local:NAME (the merged
model in models/NAME.gguf, the adapter beside it). Jobs checkpoint as they go:
run the same command again after an interruption and it resumes; run it after
success and it reuses the result.

With --queue (a PostgreSQL store) the job goes to the team's queue instead: a
'tunelab worker' in a copy of the lab trains it, keeping its checkpoints in
the store so that another worker resumes it if that one dies, and this
command follows it and fetches the tuned model when it is done.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runTune(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.base, "base", "", "model to tune (default: tune.base in tunelab.yaml, else local:base)")
	fl.StringVar(&f.backend, "backend", "", "local (default), openai or export")
	fl.StringVar(&f.name, "name", "", "name of the tuned model (default: BASE-tuned)")
	fl.StringVar(&f.promptName, "prompt", "", "prompt variant the model learns to answer (default zero-shot)")
	fl.BoolVar(&f.full, "full", false, "train every weight instead of a LoRA adapter (small models)")
	fl.IntVar(&f.rank, "rank", 0, "LoRA rank (default 16)")
	fl.Float64Var(&f.alpha, "alpha", 0, "LoRA alpha (default 2 x rank)")
	fl.Float64Var(&f.dropout, "dropout", -1, "LoRA dropout (default 0.05)")
	fl.StringSliceVar(&f.targets, "targets", nil, "weights to adapt: q,k,v,o,gate,up,down (default all)")
	fl.IntVar(&f.epochs, "epochs", 0, "passes over the training data (default 4)")
	fl.Float64Var(&f.lr, "lr", 0, "peak learning rate (default 1e-3)")
	fl.IntVar(&f.maxTokens, "max-tokens", 0, "drop examples longer than this many tokens (default 512)")
	fl.IntVar(&f.threads, "threads", 0, "CPU threads (default: one per core)")
	fl.BoolVar(&f.quiet, "quiet", false, "no progress bar")
	fl.StringVar(&f.apiBase, "api-base", "", "openai backend: the API's base URL (default https://api.openai.com/v1)")
	fl.DurationVar(&f.poll, "poll", 10*time.Second, "openai backend and --queue: how often to check the job")
	fl.BoolVar(&f.queued, "queue", false, "put the local job in the team's PostgreSQL queue for a tunelab worker to train, follow it, and fetch the tuned model")
	fl.StringVar(&f.storeDSN, "store", "", "store to use instead of the config's (a SQLite path or postgres:// URL)")
	fl.StringVar(&f.hfBase, "hf-base", "", "export backend: the Hugging Face model id to train on the GPU machine")
	cmd.AddCommand(newTuneStatusCmd(), newTuneLogsCmd(), newTuneCancelCmd())
	return cmd
}

// loadJob reads the job named on the command line.
func loadJob(cmd *cobra.Command, id string) (finetune.Jobs, *finetune.Job, error) {
	jobs, err := labJobs(cmd)
	if err != nil {
		return jobs, nil, err
	}
	job, err := jobs.Load(id)
	return jobs, job, err
}

func labJobs(cmd *cobra.Command) (finetune.Jobs, error) {
	dir, err := labDir(cmd)
	return finetune.JobsIn(dir), err
}

// labDir is the lab folder -c names (the config file's folder, or the
// folder itself), for commands that need the lab's files but not its
// parsed config.
func labDir(cmd *cobra.Command) (string, error) {
	cfgPath, _ := cmd.Flags().GetString("config")
	st, err := os.Stat(cfgPath)
	if err != nil {
		return "", fmt.Errorf("%s: %w (run it in a lab folder, or give -c)", cfgPath, err)
	}
	if !st.IsDir() {
		return filepath.Dir(cfgPath), nil
	}
	return cfgPath, nil
}

func runTune(cmd *cobra.Command, f tuneFlags) error {
	ctx := cmd.Context()
	cfgPath, _ := cmd.Flags().GetString("config")
	w, err := workspace.Open(ctx, cfgPath, workspace.Options{StoreDSN: f.storeDSN})
	if err != nil {
		return err
	}
	defer w.Close()
	s := finetune.SettingsFrom(w.Config.Tune, finetune.Settings{
		Base: f.base, Backend: f.backend, Prompt: f.promptName, Name: f.name, Full: f.full, Rank: f.rank, Alpha: f.alpha,
		Dropout: f.dropout, LR: f.lr, Targets: f.targets, Epochs: f.epochs, MaxTokens: f.maxTokens,
	})
	ref, err := provider.ParseRef(s.Base)
	if err != nil {
		return fmt.Errorf("--base %s: %w", s.Base, err)
	}
	switch s.Backend {
	case "openai", "export":
		builder, err := finetune.Builder(w, s.Prompt)
		if err != nil {
			return err
		}
		if s.Backend == "openai" {
			return runTuneOpenAI(cmd, w, f, s, builder)
		}
		return runTuneExport(cmd, w, f, s, builder, ref)
	}
	if f.queued {
		return runTuneQueued(cmd, w, f, s)
	}
	threads := f.threads
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	stderr := cmd.ErrOrStderr()
	bar := newTrainProgress(stderr, f.quiet, "tune")
	job, err := finetune.TuneLab(ctx, finetune.LabRequest{
		W: w, Settings: s, Threads: threads, OnProgress: bar.update,
		OnLog:  func(line string) { bar.finish(); fmt.Fprintln(stderr, line) },
		OnData: func(data *finetune.Prepared, spec finetune.Spec) { printTuneData(stderr, data, spec) },
	})
	bar.finish()
	if err != nil {
		if ctx.Err() != nil {
			fmt.Fprintln(stderr, "interrupted: the job kept its checkpoint; run the same command to resume")
			return errInterrupted
		}
		return err
	}
	r := job.Result
	fmt.Fprintf(cmd.OutOrStdout(), "tuned %s: %s (job %s, %d steps, %s, best validation loss %.4f at epoch %d)\nevaluate it: tunelab eval --model %s\n",
		s.Base, job.Model, job.ID, r.Steps, r.Duration.Round(time.Second), r.BestValid, r.BestEpoch, job.Model)
	return nil
}

func printTuneData(w io.Writer, data *finetune.Prepared, spec finetune.Spec) {
	fmt.Fprintf(w, "data: %d training and %d validation examples (%d prompt + %d answer tokens, longest %d); %d dropped\n",
		len(data.Train), len(data.Valid), data.PromptTokens, data.CompletionTokens, data.LongestExample, len(data.Dropped))
	for _, d := range data.Dropped {
		fmt.Fprintf(w, "  dropped %s (%s): %s\n", d.ID, d.Split, d.Reason)
	}
	what := fmt.Sprintf("LoRA rank %d on %s", spec.LoRA.Rank, strings.Join(spec.LoRA.Targets, ","))
	if spec.LoRA.Full {
		what = "full fine-tuning"
	}
	fmt.Fprintf(w, "job %s: %s of %s, %d epochs\n", spec.ID(), what, spec.Base, spec.Train.Epochs)
}

func newTuneStatusCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "status [JOB]",
		Short: "List tuning jobs, or show one",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			jobs, err := labJobs(cmd)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if len(args) == 1 {
				job, err := jobs.Load(args[0])
				if err != nil {
					return err
				}
				fmt.Fprintf(out, "job %s: %s\nbase %s -> %s\nexamples %d train, %d validation, %d dropped\n",
					job.ID, statusOf(job), job.Spec.Base, orDash(job.Model), job.Examples, job.Valid, len(job.Dropped))
				if job.Error != "" {
					fmt.Fprintf(out, "error: %s\n", job.Error)
				}
				if r := job.Result; r != nil {
					fmt.Fprintf(out, "%d steps in %s, best validation loss %.4f at epoch %d (%s)\n", r.Steps, r.Duration.Round(time.Second), r.BestValid, r.BestEpoch, r.Stopped)
				}
				return nil
			}
			list, err := jobs.List()
			if err != nil {
				return err
			}
			if len(list) == 0 {
				fmt.Fprintln(out, "no tuning jobs yet: run tunelab tune")
				return nil
			}
			tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "JOB\tSTATUS\tBASE\tMODEL\tUPDATED")
			for _, j := range list {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", j.ID, statusOf(j), j.Spec.Base, orDash(j.Model), j.Updated.Local().Format("2006-01-02 15:04"))
			}
			return tw.Flush()
		},
	}
}

// statusOf reports a job whose process died while running as interrupted.
func statusOf(j *finetune.Job) string {
	if j.Status == finetune.StatusRunning && !j.Alive() {
		return finetune.StatusInterrupted
	}
	return j.Status
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func newTuneLogsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "logs JOB",
		Short: "Show a job's log and loss curve",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, job, err := loadJob(cmd, args[0])
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			for _, l := range job.Log {
				fmt.Fprintln(out, l)
			}
			if r := job.Result; r != nil {
				fmt.Fprintln(out, "step\tepoch\ttrain loss")
				for _, p := range r.Train {
					fmt.Fprintf(out, "%d\t%.2f\t%.4f\n", p.Step, p.Epoch, p.Loss)
				}
			}
			return nil
		},
	}
}

func newTuneCancelCmd() *cobra.Command {
	var apiBase, storeDSN string
	cmd := &cobra.Command{
		Use:   "cancel JOB",
		Short: "Stop a running job (a local job keeps its last checkpoint; an OpenAI job is cancelled at the provider; a queued job leaves the queue)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			jobs, job, err := loadJob(cmd, args[0])
			if errors.Is(err, finetune.ErrNoJob) || (err == nil && job.Spec.Backend == "local" && !job.Alive()) {
				// Not running here: it may be queued for the team's workers.
				cancelled, qerr := cancelQueued(cmd, args[0], storeDSN)
				if qerr != nil {
					return qerr
				}
				if cancelled {
					fmt.Fprintf(cmd.OutOrStdout(), "cancelled queued job %s\n", args[0])
					return nil
				}
			}
			if err != nil {
				return err
			}
			// The process running (or, for OpenAI, watching) the job.
			running, pid := job.Alive(), job.PID
			if job.Spec.Backend == "openai" && job.Provider != "" && job.Status != finetune.StatusSucceeded && job.Status != finetune.StatusCancelled {
				key := os.Getenv("OPENAI_API_KEY")
				if key == "" {
					return fmt.Errorf("cancelling OpenAI job %s needs OPENAI_API_KEY", job.Provider)
				}
				client, err := openaift.New(key, apiBase, nil)
				if err != nil {
					return err
				}
				if err := finetune.CancelOpenAI(cmd.Context(), client, job); err != nil {
					return err
				}
			} else if !running {
				return fmt.Errorf("job %s is %s, not running", job.ID, statusOf(job))
			}
			job.Status = finetune.StatusCancelled
			if err := jobs.Save(job); err != nil {
				return err
			}
			if running {
				if err := finetune.Interrupt(pid); err != nil {
					return errors.Join(fmt.Errorf("cancel job %s", job.ID), err)
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "cancelled job %s\n", job.ID)
			return nil
		},
	}
	cmd.Flags().StringVar(&apiBase, "api-base", "", "OpenAI jobs: the API's base URL (default https://api.openai.com/v1)")
	cmd.Flags().StringVar(&storeDSN, "store", "", "queued jobs: the PostgreSQL store to use instead of the config's")
	return cmd
}
