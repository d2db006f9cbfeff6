package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tunelab/tunelab/internal/config"
	"github.com/tunelab/tunelab/internal/retrieval"
	"github.com/tunelab/tunelab/internal/workspace"
)

func newIndexCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "index",
		Short: "Chunk and index the lab's knowledge: folders for retrieval (BM25); only changed files are re-indexed",
		Long: `Chunks the files of the lab's knowledge: folders (Markdown, text, HTML, PDF text,
JSONL records) and indexes them for retrieval. Only new and changed files are re-indexed (by content
hash), and files no longer on disk are removed. Files that cannot be read or are
not text are listed and skipped. Chunk size and overlap come from
retrieval.chunk_tokens and retrieval.overlap; an index built with other values
is rebuilt from scratch rather than mixed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfgPath, _ := cmd.Flags().GetString("config")
			c, err := config.Load(cfgPath)
			if err != nil {
				return err
			}
			k, err := workspace.SyncKnowledge(cmd.Context(), c)
			if err != nil {
				return err
			}
			defer k.Index.Close()
			out := cmd.OutOrStdout()
			rep := k.Report
			for _, s := range rep.Skipped {
				fmt.Fprintf(out, "skipped %s: %s\n", s.Path, s.Reason)
			}
			if rep.Rebuilt {
				fmt.Fprintf(out, "rebuilt: the index was built with other settings (%s); now %s\n", rep.Previous,
					retrieval.SettingsOf(retrieval.ChunkOptions{MaxTokens: c.Retrieval.ChunkTokens, Overlap: c.Retrieval.Overlap}))
			}
			for _, id := range rep.Indexed {
				fmt.Fprintf(out, "indexed %s\n", id)
			}
			for _, id := range rep.Removed {
				fmt.Fprintf(out, "removed %s (no longer on disk)\n", id)
			}
			fmt.Fprintf(out, "%d documents, %d chunks: %d re-indexed, %d unchanged, %d removed (%s)\n",
				rep.Docs, rep.Chunks, len(rep.Indexed), rep.Docs-len(rep.Indexed), len(rep.Removed), c.KnowledgeIndexPath())
			return nil
		},
	}
	return cmd
}

func newRetrieveCmd() *cobra.Command {
	var k int
	cmd := &cobra.Command{
		Use:   "retrieve QUERY",
		Short: "Try the knowledge index by hand: the best-matching chunks for a query (BM25)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfgPath, _ := cmd.Flags().GetString("config")
			c, err := config.Load(cfgPath)
			if err != nil {
				return err
			}
			if _, err := os.Stat(c.KnowledgeIndexPath()); err != nil {
				return fmt.Errorf("no knowledge index at %s: run tunelab index first", c.KnowledgeIndexPath())
			}
			idx, err := retrieval.OpenIndex(c.KnowledgeIndexPath())
			if err != nil {
				return err
			}
			defer idx.Close()
			hits, err := idx.Search(cmd.Context(), strings.Join(args, " "), k)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if len(hits) == 0 {
				fmt.Fprintln(out, "no chunk matches")
			}
			for i, h := range hits {
				fmt.Fprintf(out, "%d. %s  score %.2f  [%s]\n   %s\n", i+1, h.Chunk.ID, h.Score, h.Chunk.Label(), shortText(h.Chunk.Text, 300))
			}
			return nil
		},
	}
	cmd.Flags().IntVarP(&k, "k", "k", 5, "chunks to show")
	return cmd
}
