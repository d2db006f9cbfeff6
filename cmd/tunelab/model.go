package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tunelab/tunelab/internal/engine"
)

func newModelCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "model", Short: "Inspect and try local GGUF models: info, generate, embed, quantize"}
	var threads, ctx int
	cmd.PersistentFlags().IntVar(&threads, "threads", 0, "CPU threads (default: one per core)")
	cmd.PersistentFlags().IntVar(&ctx, "ctx", 0, "context size in tokens (default: the model's, capped)")
	load := func(path string) (*engine.Model, error) {
		return engine.Load(path, engine.Options{Threads: threads, ContextSize: ctx})
	}

	info := &cobra.Command{
		Use:   "info MODEL.gguf",
		Short: "Architecture, size, quantization, context and chat template",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := load(args[0])
			if err != nil {
				return err
			}
			defer m.Close()
			asJSON, _ := cmd.Flags().GetBool("json")
			in := m.Info()
			out := cmd.OutOrStdout()
			if asJSON {
				b, err := json.MarshalIndent(in, "", "  ")
				if err != nil {
					return err
				}
				fmt.Fprintln(out, string(b))
				return nil
			}
			fmt.Fprintf(out, "path:          %s\narchitecture:  %s\ndescription:   %s\nparameters:    %d\nsize:          %d bytes\nweights:       %s\ncontext:       %d tokens (trained)\nvocabulary:    %d tokens\nembedding:     %d\nlayers/heads:  %d/%d\nchat template: %t\n",
				in.Path, in.Architecture, in.Description, in.Params, in.SizeBytes, in.FileType, in.ContextLength, in.VocabSize, in.EmbeddingSize, in.Layers, in.Heads, in.ChatTemplate != "")
			return nil
		},
	}
	info.Flags().Bool("json", false, "print as JSON")

	var (
		maxTokens   int
		temperature float64
		seed        uint32
		chat        bool
		system      string
	)
	generate := &cobra.Command{
		Use:   "generate MODEL.gguf PROMPT",
		Short: "Generate text from a prompt (greedy unless --temperature is set)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := load(args[0])
			if err != nil {
				return err
			}
			defer m.Close()
			out := cmd.OutOrStdout()
			opts := engine.GenerateOptions{MaxTokens: maxTokens, Temperature: temperature, Seed: seed}
			stream := func(s string) { fmt.Fprint(out, s) }
			var res *engine.Result
			if chat {
				var msgs []engine.Message
				if system != "" {
					msgs = append(msgs, engine.Message{Role: "system", Content: system})
				}
				msgs = append(msgs, engine.Message{Role: "user", Content: args[1]})
				res, err = m.Chat(cmd.Context(), msgs, opts, stream)
			} else {
				res, err = m.Generate(cmd.Context(), args[1], opts, stream)
			}
			if err != nil {
				return err
			}
			fmt.Fprintln(out)
			gen := res.GenerateDuration.Seconds()
			rate := 0.0
			if gen > 0 {
				rate = float64(res.OutputTokens) / gen
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "%d prompt tokens in %s, %d generated in %s (%.1f tokens/s), finish: %s\n",
				res.PromptTokens, res.PromptDuration.Round(1e6), res.OutputTokens, res.GenerateDuration.Round(1e6), rate, res.FinishReason)
			return nil
		},
	}
	generate.Flags().IntVar(&maxTokens, "max-tokens", 128, "tokens to generate at most")
	generate.Flags().Float64Var(&temperature, "temperature", 0, "sampling temperature (0: greedy, reproducible)")
	generate.Flags().Uint32Var(&seed, "seed", 1, "sampling seed")
	generate.Flags().BoolVar(&chat, "chat", false, "wrap the prompt in the model's chat template as a user turn")
	generate.Flags().StringVar(&system, "system", "", "system prompt (with --chat)")

	embed := &cobra.Command{
		Use:   "embed MODEL.gguf TEXT",
		Short: "Print the text's embedding (mean-pooled, unit length) as JSON",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := load(args[0])
			if err != nil {
				return err
			}
			defer m.Close()
			v, n, err := m.Embed(cmd.Context(), args[1])
			if err != nil {
				return err
			}
			b, err := json.Marshal(map[string]any{"tokens": n, "dimensions": len(v), "embedding": v})
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), string(b))
			return nil
		},
	}

	quantize := &cobra.Command{
		Use:   "quantize IN.gguf OUT.gguf TYPE",
		Short: "Quantize weights, e.g. to Q8_0, Q4_K_M (types: " + strings.Join(engine.QuantTypes(), ", ") + ")",
		Args:  cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := engine.Quantize(args[0], args[1], args[2], threads); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (%s)\n", args[1], args[2])
			return nil
		},
	}
	cmd.AddCommand(info, generate, embed, quantize, newPretrainCmd(), newModelImportCmd())
	return cmd
}
