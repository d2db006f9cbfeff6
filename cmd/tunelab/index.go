package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tunelab/tunelab/internal/config"
	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/provider"
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
	var (
		k            int
		mode, rerank string
	)
	cmd := &cobra.Command{
		Use:   "retrieve QUERY",
		Short: "Try the knowledge index by hand: the chunks a retrieval prompt would get for a query",
		Long: `Searches the lab's knowledge as a prompt with retrieval: true would, with
the retrieval section's settings (mode, k, the embedding model, the
reranker), which the flags override. The index is brought up to date first.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfgPath, _ := cmd.Flags().GetString("config")
			ctx := cmd.Context()
			w, err := workspace.Open(ctx, cfgPath, workspace.Options{})
			if err != nil {
				return err
			}
			defer w.Close()
			if len(w.Config.Knowledge) == 0 {
				return fmt.Errorf("%s has no knowledge to search: add `knowledge: [docs/]` with the folders that hold it, then run tunelab index", w.Config.Path)
			}
			switch mode {
			case "", lab.RetrieveBM25, lab.RetrieveVector, lab.RetrieveHybrid:
			default:
				return fmt.Errorf("--mode %q: use bm25, vector or hybrid", mode)
			}
			if (mode == lab.RetrieveVector || mode == lab.RetrieveHybrid) && w.Config.Retrieval.Embed == "" {
				return fmt.Errorf("--mode %s needs an embedding model: set retrieval.embed in %s", mode, w.Config.Path)
			}
			if rerank != "" && rerank != config.NoRerank {
				if _, err := provider.ParseRef(rerank); err != nil {
					return fmt.Errorf("--rerank: %v (or none to turn the lab's reranker off)", err)
				}
			}
			if k < 0 {
				return fmt.Errorf("--k %d: give a positive number of chunks", k)
			}
			p := config.NewPromptRetrieval(mode, k, 0)
			p.Rerank = rerank
			search, r, err := w.Searcher(ctx, p)
			if err != nil {
				return err
			}
			hits, err := search(ctx, strings.Join(args, " "))
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			how := fmt.Sprintf("%s, k=%d", r.Mode, r.K)
			if r.Rerank != "" {
				how += fmt.Sprintf(", the best %d reranked by %s", r.Candidates, r.Rerank)
			}
			fmt.Fprintf(out, "%s\n", how)
			if len(hits) == 0 {
				fmt.Fprintln(out, "no chunk matches")
			}
			for i, h := range hits {
				fmt.Fprintf(out, "%d. %s  score %.2f  [%s]\n   %s\n", i+1, h.Chunk.ID, h.Score, h.Chunk.Label(), shortText(h.Chunk.Text, 300))
			}
			return nil
		},
	}
	cmd.Flags().IntVarP(&k, "k", "k", 0, "chunks to show (default: the retrieval section's k)")
	cmd.Flags().StringVar(&mode, "mode", "", "bm25, vector or hybrid (default: the retrieval section's mode)")
	cmd.Flags().StringVar(&rerank, "rerank", "", "a model to rerank with, or none (default: the retrieval section's rerank)")
	return cmd
}
