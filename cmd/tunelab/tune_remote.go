package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tunelab/tunelab/internal/finetune"
	"github.com/tunelab/tunelab/internal/finetune/export"
	"github.com/tunelab/tunelab/internal/finetune/openaift"
	"github.com/tunelab/tunelab/internal/prompt"
	"github.com/tunelab/tunelab/internal/provider"
	"github.com/tunelab/tunelab/internal/provider/local"
	"github.com/tunelab/tunelab/internal/workspace"
)

// runTuneOpenAI tunes an OpenAI model through its fine-tuning API.
func runTuneOpenAI(cmd *cobra.Command, w *workspace.Workspace, f tuneFlags, s finetune.Settings, b *prompt.Builder) error {
	base := s.Base
	if !strings.HasPrefix(base, "openai:") {
		return fmt.Errorf("--base %s: the openai backend tunes OpenAI models, e.g. openai:gpt-4o-mini-2024-07-18", base)
	}
	key := os.Getenv("OPENAI_API_KEY")
	if key == "" {
		return fmt.Errorf("the openai backend needs OPENAI_API_KEY set to an API key with fine-tuning access")
	}
	dataDir := filepath.Join(w.Config.Dir, ".tunelab", "data")
	trainPath, validPath := filepath.Join(dataDir, "openai-train.jsonl"), filepath.Join(dataDir, "openai-validation.jsonl")
	trainHash, n, err := finetune.WriteChatJSONL(trainPath, b, w.Train)
	if err != nil {
		return err
	}
	validHash, nv, err := finetune.WriteChatJSONL(validPath, b, w.Val)
	if err != nil {
		return err
	}
	if nv == 0 {
		validPath = ""
	}
	client, err := openaift.New(key, f.apiBase, nil)
	if err != nil {
		return err
	}
	name := s.Name
	if name == "" {
		name = w.Task.Name
	}
	// Epochs only when asked for: the API's own default ("auto") adapts to
	// the data size, which ours (meant for small local models) does not.
	epochs := f.epochs
	if epochs <= 0 {
		epochs = w.Config.Tune.Epochs
	}
	spec := finetune.Spec{Backend: "openai", Base: base, Name: name, Prompt: s.Prompt, DataHash: trainHash + validHash,
		Train: finetune.Config{Epochs: epochs}}
	stderr := cmd.ErrOrStderr()
	fmt.Fprintf(stderr, "job %s: %d training and %d validation examples to OpenAI fine-tuning of %s\n", spec.ID(), n, nv, base)
	job, err := finetune.RunOpenAI(cmd.Context(), finetune.OpenAIRequest{
		Jobs: finetune.LabJobs(w), Client: client, Spec: spec, TrainFile: trainPath, ValidFile: validPath, Poll: f.poll,
		OnEvent: func(e openaift.Event) {
			if !f.quiet {
				fmt.Fprintf(stderr, "%s %s\n", e.CreatedAt.Local().Format("15:04:05"), e.Message)
			}
		},
	})
	if err != nil {
		if cmd.Context().Err() != nil {
			fmt.Fprintf(stderr, "interrupted: the provider keeps training; run the same command to watch job %s again\n", spec.ID())
			return errInterrupted
		}
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "tuned %s: %s (job %s, provider job %s)\nevaluate it: tunelab eval --model %s\n", base, job.Model, job.ID, job.Provider, job.Model)
	return nil
}

// runTuneExport writes a job folder for a GPU machine.
func runTuneExport(cmd *cobra.Command, w *workspace.Workspace, f tuneFlags, s finetune.Settings, b *prompt.Builder, ref provider.Ref) error {
	if f.hfBase == "" {
		return fmt.Errorf("the export backend needs --hf-base: the Hugging Face id of the model to train (e.g. HuggingFaceTB/SmolLM2-135M-Instruct)")
	}
	name := s.Name
	if name == "" {
		name = w.Task.Name + "-export"
	}
	dir := filepath.Join(w.Config.Dir, "export", name)
	trainPath, validPath := filepath.Join(dir, "tunelab-train.jsonl"), filepath.Join(dir, "tunelab-validation.jsonl")
	if _, _, err := finetune.WriteChatJSONL(trainPath, b, w.Train); err != nil {
		return err
	}
	if _, nv, err := finetune.WriteChatJSONL(validPath, b, w.Val); err != nil {
		return err
	} else if nv == 0 {
		validPath = ""
	}
	// The learning rate only when asked for: the export package's default
	// suits a GPU run of a real model, ours a small local one.
	lr := f.lr
	if lr <= 0 {
		lr = w.Config.Tune.LR
	}
	files, err := export.Write(dir, export.Spec{
		HFBase: f.hfBase, TrainFile: trainPath, ValidationFile: validPath, Rank: s.Rank, Alpha: s.Alpha,
		Dropout: s.Dropout, Targets: s.Targets, Epochs: s.Epochs, LR: lr, ImportCommand: "tunelab model import",
	})
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "wrote a fine-tuning job for a GPU machine in %s (%d files); its README.md has the commands.\n", dir, len(files))
	fmt.Fprintf(out, "bring the adapter back with: tunelab model import %s --base %s --name %s\n", filepath.Join(dir, export.AdapterDir), ref, name)
	return nil
}

func newModelImportCmd() *cobra.Command {
	var base, name string
	cmd := &cobra.Command{
		Use:   "import PEFT_DIR",
		Short: "Bring back a LoRA adapter trained elsewhere (PEFT, Axolotl, Unsloth) as local:NAME",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir, err := labDir(cmd)
			if err != nil {
				return err
			}
			ref, err := provider.ParseRef(base)
			if err != nil || ref.Provider != local.Name {
				return fmt.Errorf("--base %s: give the local base model the adapter was trained on, e.g. local:base", base)
			}
			if name == "" {
				return fmt.Errorf("--name is required: the adapter is registered as local:NAME")
			}
			out, err := finetune.Import(args[0], local.Resolve(dir, ref.Model), filepath.Join(dir, local.ModelsDir), name)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "imported %s as local:%s (%s)\n", args[0], name, out)
			return nil
		},
	}
	cmd.Flags().StringVar(&base, "base", "local:base", "the local base model the adapter belongs to")
	cmd.Flags().StringVar(&name, "name", "", "register the result as local:NAME")
	return cmd
}
