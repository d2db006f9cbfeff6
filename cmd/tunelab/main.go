// Command tunelab decides, with evidence, how to make a language model do a
// task well: a better prompt, retrieval, or fine-tuning. This package only
// wires the commands to the internal packages.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	// Backends register themselves with the provider registry.
	_ "github.com/tunelab/tunelab/internal/provider/anthropic"
	_ "github.com/tunelab/tunelab/internal/provider/gemini"
	_ "github.com/tunelab/tunelab/internal/provider/local"
	_ "github.com/tunelab/tunelab/internal/provider/openai"
)

// Exit codes: 2 for anything the user can fix (bad input, config, missing
// key, unreachable model), 130 when interrupted with results kept.
const (
	exitUser        = 2
	exitInterrupted = 130
)

// errInterrupted marks a command stopped by Ctrl-C after saving its work.
var errInterrupted = errors.New("interrupted")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRoot()
	err := root.ExecuteContext(ctx)
	if err == nil {
		return
	}
	if errors.Is(err, errInterrupted) {
		os.Exit(exitInterrupted)
	}
	fmt.Fprintln(os.Stderr, "tunelab:", err)
	os.Exit(exitUser)
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "tunelab",
		Short:         "Decide, with evidence, between a better prompt, retrieval and fine-tuning",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringP("config", "c", "tunelab.yaml", "the lab's config file or directory")
	root.AddCommand(newInitCmd(), newEvalCmd(), newDataCmd(), newOptimizeCmd(), newIndexCmd(), newRetrieveCmd(), newModelCmd(), newVersionCmd(), newCostCmd(), newTuneCmd(), newLadderCmd(),
		newDeployCmd(), newServeCmd(), newUICmd(), newKeysCmd(), newTracesCmd(), newMonitorCmd(), newWorkerCmd(), newExportCmd(), newImportCmd())
	return root
}
