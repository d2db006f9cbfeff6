package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tunelab/tunelab/internal/example"
)

func newInitCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "init [DIR]",
		Short: "Write the example lab (a support-ticket routing task) into DIR",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			files, err := example.Write(dir)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Wrote the example lab to %s (%d files).\n", dir, len(files))
			fmt.Fprintf(out, "Next: cd %s && tunelab ladder   (or tunelab eval for the prompts alone)\n", dir)
			return nil
		},
	}
}
