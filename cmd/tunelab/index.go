package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tunelab/tunelab/internal/config"
	"github.com/tunelab/tunelab/internal/retrieval"
)

// indexPath is where a lab's knowledge index lives.
func indexPath(c *config.Config) string { return filepath.Join(c.Dir, ".tunelab", "knowledge.db") }

func newIndexCmd() *cobra.Command {
	var maxTokens, overlap int
	cmd := &cobra.Command{
		Use:   "index",
		Short: "Chunk and index the lab's knowledge: folders for retrieval (BM25); only changed files are re-indexed",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfgPath, _ := cmd.Flags().GetString("config")
			c, err := config.Load(cfgPath)
			if err != nil {
				return err
			}
			if len(c.Knowledge) == 0 {
				return fmt.Errorf("%s: no knowledge: folders to index: add `knowledge: [docs/]`", c.Path)
			}
			if err := os.MkdirAll(filepath.Dir(indexPath(c)), 0o755); err != nil {
				return err
			}
			idx, err := retrieval.OpenIndex(indexPath(c))
			if err != nil {
				return err
			}
			defer idx.Close()
			ctx := cmd.Context()
			out := cmd.OutOrStdout()
			seen := map[string]bool{}
			docs, changed, chunks := 0, 0, 0
			for _, k := range c.Knowledge {
				dir := k
				if !filepath.IsAbs(dir) {
					dir = filepath.Join(c.Dir, k)
				}
				found, skipped, err := retrieval.LoadDir(dir)
				if err != nil {
					return fmt.Errorf("knowledge %s: %w", k, err)
				}
				for _, s := range skipped {
					fmt.Fprintf(out, "skipped %s: %s\n", s.Path, s.Reason)
				}
				for _, d := range found {
					// Documents are keyed by their path in the lab, so two
					// folders may hold files of the same name.
					d.ID = filepath.ToSlash(filepath.Join(k, d.ID))
					seen[d.ID] = true
					cs := retrieval.ChunkDocument(d, retrieval.ChunkOptions{MaxTokens: maxTokens, Overlap: overlap})
					did, err := idx.Upsert(ctx, d.ID, d.Hash, cs)
					if err != nil {
						return fmt.Errorf("index %s: %w", d.Path, err)
					}
					docs++
					chunks += len(cs)
					if did {
						changed++
						fmt.Fprintf(out, "indexed %s (%d chunks)\n", d.ID, len(cs))
					}
				}
			}
			hashes, err := idx.DocHashes(ctx)
			if err != nil {
				return err
			}
			removed := 0
			for id := range hashes {
				if !seen[id] {
					if err := idx.Remove(ctx, id); err != nil {
						return err
					}
					removed++
					fmt.Fprintf(out, "removed %s (no longer on disk)\n", id)
				}
			}
			fmt.Fprintf(out, "%d documents, %d chunks: %d re-indexed, %d unchanged, %d removed (%s)\n", docs, chunks, changed, docs-changed, removed, indexPath(c))
			return nil
		},
	}
	cmd.Flags().IntVar(&maxTokens, "chunk-tokens", 200, "most tokens per chunk")
	cmd.Flags().IntVar(&overlap, "overlap", 30, "tokens shared by neighbouring chunks")
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
			if _, err := os.Stat(indexPath(c)); err != nil {
				return fmt.Errorf("no knowledge index at %s: run tunelab index first", indexPath(c))
			}
			idx, err := retrieval.OpenIndex(indexPath(c))
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
				fmt.Fprintf(out, "%d. %s  score %.2f  [%s]\n   %s\n", i+1, h.Chunk.ID, h.Score, h.Chunk.Heading, shortText(h.Chunk.Text, 300))
			}
			return nil
		},
	}
	cmd.Flags().IntVarP(&k, "k", "k", 5, "chunks to show")
	return cmd
}
