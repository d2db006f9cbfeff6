package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/tunelab/tunelab/internal/config"
	"github.com/tunelab/tunelab/internal/fsutil"
	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/store"
	"github.com/tunelab/tunelab/internal/transfer"
	"github.com/tunelab/tunelab/internal/workspace"
)

func newExportCmd() *cobra.Command {
	var storeDSN string
	cmd := &cobra.Command{
		Use:   "export FILE",
		Short: "Write the lab's runs, results, deployments, traces, reviews, keys and artifacts to a file",
		Long: `Writes everything the lab's store holds (runs with their results, every
version of every deployment, traces, reviews, gateway keys, as hashes, and
the store's artifacts: tuned models and tuning jobs' checkpoints and
records) to FILE as JSON Lines, to move the lab to another store with
'tunelab import'. The response cache is not written. FILE is replaced only
once complete.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := openLabStore(cmd, storeDSN)
			if err != nil {
				return err
			}
			defer st.Close()
			var c transfer.Counts
			err = fsutil.WriteAtomic(args[0], 0o600, func(w io.Writer) error {
				var err error
				c, err = transfer.Export(cmd.Context(), st, w)
				return err
			})
			if err != nil {
				return fmt.Errorf("export: %w", err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s: %s\n", args[0], c)
			return nil
		},
	}
	cmd.Flags().StringVar(&storeDSN, "store", "", "store to export instead of the config's (a SQLite path or postgres:// URL)")
	return cmd
}

func newImportCmd() *cobra.Command {
	var storeDSN string
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Read a file written by 'tunelab export' into the lab's store",
		Long: `Reads FILE, written by 'tunelab export', into the lab's store (or --store).
Runs and results are added or replaced; deployments whose name the store
already has, and reviews and keys it already holds, are left as they were.
An artifact is stored once its size and SHA-256 match the file's; one the
store holds with the same content is left alone, one with other content is
replaced. Importing twice, or again after an interruption, records nothing
twice.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := os.Open(args[0])
			if err != nil {
				return fmt.Errorf("import: %w", err)
			}
			defer f.Close()
			st, err := openLabStore(cmd, storeDSN)
			if err != nil {
				return err
			}
			defer st.Close()
			c, err := transfer.Import(cmd.Context(), st, f, args[0])
			if err != nil {
				return fmt.Errorf("import stopped (what came before is stored; fix the line and import again): %w", err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "imported %s: %s\n", args[0], c)
			return nil
		},
	}
	cmd.Flags().StringVar(&storeDSN, "store", "", "store to import into instead of the config's (a SQLite path or postgres:// URL)")
	return cmd
}

// openLabStore opens the store dsn names, or the config's when dsn is
// empty; neither the data nor the knowledge is read.
func openLabStore(cmd *cobra.Command, dsn string) (lab.Store, error) {
	if dsn == "" {
		cfgPath, _ := cmd.Flags().GetString("config")
		cfg, err := config.Load(cfgPath)
		if err != nil {
			return nil, err
		}
		dsn = workspace.StoreDSN(cfg, "")
	}
	st, err := store.Open(context.WithoutCancel(cmd.Context()), dsn)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	return st, nil
}
