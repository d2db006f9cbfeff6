package finetune

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/tunelab/tunelab/internal/engine"
	"github.com/tunelab/tunelab/internal/gguf"
)

// Config is a training run's settings.
type Config struct {
	Epochs int
	// LR is the peak learning rate, reached after WarmupSteps and then
	// decayed along a cosine to LR*MinLRRatio at the last step.
	LR          float64
	WarmupSteps int
	MinLRRatio  float64
	// A micro-batch is Rows rows of RowLen tokens; Accum micro-batches
	// make one optimiser step.
	Rows, RowLen int
	Accum        int
	WeightDecay  float64
	// ClipNorm bounds the gradient's L2 norm (0: no clipping).
	ClipNorm float64
	Dropout  float64
	// Patience stops training after this many epochs without a better
	// validation loss (0: run every epoch); the best epoch's weights are
	// kept either way.
	Patience int
	Seed     uint64
	// CheckpointEvery saves the job every so many optimiser steps, besides
	// the end of each epoch (0: only at epoch ends).
	CheckpointEvery int
}

// Defaults fills what is unset with values that suit LoRA on small data.
func (c Config) Defaults() Config {
	if c.Epochs <= 0 {
		c.Epochs = 3
	}
	if c.LR <= 0 {
		c.LR = 1e-3
	}
	if c.MinLRRatio <= 0 {
		c.MinLRRatio = 0.1
	}
	if c.Rows <= 0 {
		c.Rows = 4
	}
	if c.RowLen <= 0 {
		c.RowLen = 256
	}
	if c.Accum <= 0 {
		c.Accum = 1
	}
	return c
}

// Point is a loss measured at an optimiser step.
type Point struct {
	Step  int     `json:"step"`
	Epoch float64 `json:"epoch"`
	Loss  float64 `json:"loss"`
}

// Progress is reported after every optimiser step and validation.
type Progress struct {
	Step, Steps  int
	Epoch        int
	Loss         float64
	LR           float64
	ValidLoss    float64 // NaN until the first validation
	TokensPerSec float64
	Elapsed, ETA time.Duration
}

// Result is what a finished run learned and how.
type Result struct {
	Steps     int           `json:"steps"`
	Epochs    int           `json:"epochs"`
	Train     []Point       `json:"train"`
	Valid     []Point       `json:"valid"`
	BestValid float64       `json:"best_valid_loss"`
	BestEpoch int           `json:"best_epoch"`
	Stopped   string        `json:"stopped"` // "completed" or "early stopping"
	Tokens    int64         `json:"tokens"`  // target tokens trained on
	Duration  time.Duration `json:"duration_ns"`
	// Resumed is set when the run continued from a checkpoint.
	Resumed bool `json:"resumed"`
}

// state is what a checkpoint records besides the tensors.
type state struct {
	Epoch     int     `json:"epoch"` // the epoch in progress
	Micro     int     `json:"micro"` // its next micro-batch
	Step      int     `json:"step"`  // optimiser steps done
	Train     []Point `json:"train"`
	Valid     []Point `json:"valid"`
	BestValid float64 `json:"best_valid"`
	BestEpoch int     `json:"best_epoch"`
	BadEpochs int     `json:"bad_epochs"`
	Tokens    int64   `json:"tokens"`
	ElapsedNS int64   `json:"elapsed_ns"`
	Done      bool    `json:"done"`
	Stopped   string  `json:"stopped"`
}

const (
	checkpointFile = "checkpoint.gguf"
	bestFile       = "best.gguf"
)

// Train trains tr on train, validating on valid after each epoch, and
// keeps its state in dir: a run killed at any point resumes from the last
// checkpoint there and ends with the same weights as one never stopped. On
// return tr holds the best epoch's weights (by validation loss, or the
// last when there is no validation data).
func Train(ctx context.Context, tr *engine.Trainer, train, valid []Example, cfg Config, dir string, onProgress func(Progress)) (*Result, error) {
	return TrainWith(ctx, tr, train, valid, cfg, dir, Hooks{OnProgress: onProgress})
}

// Hooks are what a caller of TrainWith hears of the run.
type Hooks struct {
	// OnProgress sees every optimiser step and every validation.
	OnProgress func(Progress)
	// OnCheckpoint runs after each checkpoint is written to dir (including
	// the one an interruption writes, and the last), so the caller can copy
	// dir elsewhere; an error ends training with it.
	OnCheckpoint func() error
	// YieldAt, when set, stops training at a checkpoint once it has
	// passed, with ErrYielded; at least one step is taken first, so a run
	// resumed slice by slice always gets further, however slowly it starts.
	YieldAt time.Time
}

// ErrYielded means training stopped at a checkpoint because Hooks.YieldAt
// passed; running it again resumes.
var ErrYielded = errors.New("training stopped at a checkpoint for its next slice")

// TrainWith is Train with hooks.
func TrainWith(ctx context.Context, tr *engine.Trainer, train, valid []Example, cfg Config, dir string, hooks Hooks) (*Result, error) {
	onProgress := hooks.OnProgress
	cfg = cfg.Defaults()
	if len(train) == 0 {
		return nil, errors.New("train: no training examples")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	// Every epoch's batches are known up front (the order is fixed by the
	// seed), so the schedule and the ETA count real steps.
	epochs := make([][]engine.Batch, cfg.Epochs)
	total := 0
	for e := range epochs {
		b, err := Pack(shuffled(train, cfg.Seed, e), cfg.Rows, cfg.RowLen)
		if err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		epochs[e] = b
		total += (len(b) + cfg.Accum - 1) / cfg.Accum
	}
	validBatches, err := Pack(valid, cfg.Rows, cfg.RowLen)
	if err != nil {
		return nil, fmt.Errorf("train: validation data: %w", err)
	}

	st := state{BestEpoch: -1}
	resumed := false
	ckpt := filepath.Join(dir, checkpointFile)
	if _, err := os.Stat(ckpt); err == nil {
		h, err := tr.LoadCheckpoint(ckpt)
		if err != nil {
			return nil, fmt.Errorf("train: resume: %w (delete %s to start over)", err, dir)
		}
		raw, _ := h.String("tunelab.train_state")
		if err := json.Unmarshal([]byte(raw), &st); err != nil {
			return nil, fmt.Errorf("train: resume %s: bad state: %w", ckpt, err)
		}
		resumed = true
	}
	save := func() error {
		raw, err := json.Marshal(st)
		if err != nil {
			return err
		}
		if err := tr.SaveCheckpoint(ckpt, []gguf.KV{{Key: "tunelab.train_state", Value: string(raw)}}); err != nil {
			return err
		}
		if hooks.OnCheckpoint != nil {
			// A best-epoch file is always followed by a checkpoint, so
			// this one hook sees both.
			return hooks.OnCheckpoint()
		}
		return nil
	}
	result := func() *Result {
		return &Result{Steps: st.Step, Epochs: st.Epoch, Train: st.Train, Valid: st.Valid, BestValid: st.BestValid,
			BestEpoch: st.BestEpoch, Stopped: st.Stopped, Tokens: st.Tokens, Duration: time.Duration(st.ElapsedNS), Resumed: resumed}
	}
	if st.Done {
		if err := restoreBest(tr, dir, st); err != nil {
			return nil, err
		}
		return result(), nil
	}

	adam := engine.AdamW{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: float32(cfg.WeightDecay)}
	start := time.Now()
	elapsed0 := time.Duration(st.ElapsedNS)
	tokens0, step0 := st.Tokens, st.Step
	validLoss := math.NaN()
	if n := len(st.Valid); n > 0 {
		validLoss = st.Valid[n-1].Loss
	}
	for st.Epoch < cfg.Epochs {
		batches := epochs[st.Epoch]
		for st.Micro < len(batches) {
			if !hooks.YieldAt.IsZero() && st.Step > step0 && time.Now().After(hooks.YieldAt) {
				st.ElapsedNS = int64(elapsed0 + time.Since(start))
				if err := save(); err != nil {
					return nil, fmt.Errorf("train: %w", err)
				}
				return nil, ErrYielded
			}
			if err := ctx.Err(); err != nil {
				st.ElapsedNS = int64(elapsed0 + time.Since(start))
				if serr := save(); serr != nil {
					return nil, fmt.Errorf("train: interrupted, and saving the checkpoint failed: %w", serr)
				}
				return nil, err
			}
			group := batches[st.Micro:min(st.Micro+cfg.Accum, len(batches))]
			var sum float64
			var targets int64
			for i, b := range group {
				n := countTargets(b)
				loss, err := tr.Backward(b, 1/float32(len(group)), float32(cfg.Dropout), cfg.Seed^uint64(st.Step)<<8^uint64(i))
				if err != nil {
					return nil, fmt.Errorf("train: step %d: %w", st.Step+1, err)
				}
				sum += float64(loss) * float64(n)
				targets += n
			}
			if cfg.ClipNorm > 0 {
				tr.ClipGrad(cfg.ClipNorm)
			}
			st.Step++
			adam.LR = float32(lrAt(cfg, st.Step, total))
			tr.Step(adam, int64(st.Step))
			tr.ZeroGrad()
			st.Micro += len(group)
			st.Tokens += targets
			loss := sum / float64(targets)
			if math.IsNaN(loss) || math.IsInf(loss, 0) {
				return nil, fmt.Errorf("train: the loss became %v at step %d; lower the learning rate (now %g)", loss, st.Step, cfg.LR)
			}
			st.Train = append(st.Train, Point{Step: st.Step, Epoch: float64(st.Epoch) + float64(st.Micro)/float64(len(batches)), Loss: loss})
			if cfg.CheckpointEvery > 0 && st.Step%cfg.CheckpointEvery == 0 && st.Micro < len(batches) {
				st.ElapsedNS = int64(elapsed0 + time.Since(start))
				if err := save(); err != nil {
					return nil, fmt.Errorf("train: %w", err)
				}
			}
			if onProgress != nil {
				el := time.Since(start)
				p := Progress{Step: st.Step, Steps: total, Epoch: st.Epoch + 1, Loss: loss, LR: float64(adam.LR),
					ValidLoss: validLoss, Elapsed: elapsed0 + el}
				if secs := el.Seconds(); secs > 0 {
					p.TokensPerSec = float64(st.Tokens-tokens0) / secs
					if done := st.Step - step0; done > 0 {
						p.ETA = time.Duration(float64(el) / float64(done) * float64(total-st.Step))
					}
				}
				onProgress(p)
			}
		}
		// End of an epoch: validate, keep the best, maybe stop.
		stop := false
		if len(validBatches) > 0 {
			vl, err := meanLoss(tr, validBatches)
			if err != nil {
				return nil, fmt.Errorf("train: validation: %w", err)
			}
			validLoss = vl
			st.Valid = append(st.Valid, Point{Step: st.Step, Epoch: float64(st.Epoch + 1), Loss: vl})
			if st.BestEpoch < 0 || vl < st.BestValid {
				st.BestValid, st.BestEpoch, st.BadEpochs = vl, st.Epoch+1, 0
				if err := tr.SaveCheckpoint(filepath.Join(dir, bestFile), nil); err != nil {
					return nil, fmt.Errorf("train: %w", err)
				}
			} else {
				st.BadEpochs++
				stop = cfg.Patience > 0 && st.BadEpochs >= cfg.Patience
			}
			if onProgress != nil {
				onProgress(Progress{Step: st.Step, Steps: total, Epoch: st.Epoch + 1, Loss: st.Train[len(st.Train)-1].Loss,
					LR: float64(adam.LR), ValidLoss: vl, Elapsed: elapsed0 + time.Since(start)})
			}
		}
		st.Epoch++
		st.Micro = 0
		if stop {
			st.Stopped = "early stopping"
			break
		}
		if st.Epoch < cfg.Epochs {
			st.ElapsedNS = int64(elapsed0 + time.Since(start))
			if err := save(); err != nil {
				return nil, fmt.Errorf("train: %w", err)
			}
		}
	}
	if st.Stopped == "" {
		st.Stopped = "completed"
	}
	st.Done = true
	st.ElapsedNS = int64(elapsed0 + time.Since(start))
	if err := save(); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	if err := restoreBest(tr, dir, st); err != nil {
		return nil, err
	}
	return result(), nil
}

// restoreBest loads the best epoch's weights when there was validation.
func restoreBest(tr *engine.Trainer, dir string, st state) error {
	if st.BestEpoch < 0 {
		return nil
	}
	if _, err := tr.LoadCheckpoint(filepath.Join(dir, bestFile)); err != nil {
		return fmt.Errorf("train: restore the best epoch: %w", err)
	}
	return nil
}

// lrAt is the learning rate for optimiser step (1-based) of total: linear
// warm-up, then a cosine down to LR*MinLRRatio.
func lrAt(c Config, step, total int) float64 {
	if c.WarmupSteps > 0 && step <= c.WarmupSteps {
		return c.LR * float64(step) / float64(c.WarmupSteps)
	}
	span := total - c.WarmupSteps
	if span <= 0 {
		return c.LR
	}
	frac := float64(step-c.WarmupSteps) / float64(span)
	lo := c.LR * c.MinLRRatio
	return lo + (c.LR-lo)*0.5*(1+math.Cos(math.Pi*math.Min(frac, 1)))
}

func countTargets(b engine.Batch) int64 {
	var n int64
	for _, t := range b.Targets {
		if t >= 0 {
			n++
		}
	}
	return n
}

// meanLoss is the loss over every target token of the batches.
func meanLoss(tr *engine.Trainer, batches []engine.Batch) (float64, error) {
	var sum float64
	var n int64
	for _, b := range batches {
		loss, err := tr.Loss(b)
		if err != nil {
			return 0, err
		}
		k := countTargets(b)
		sum += float64(loss) * float64(k)
		n += k
	}
	return sum / float64(n), nil
}

// MeanLoss is the mean per-token loss of examples under the trainer's
// current weights (held-out perplexity is exp of it).
func MeanLoss(tr *engine.Trainer, examples []Example, rows, rowLen int) (float64, error) {
	batches, err := Pack(examples, rows, rowLen)
	if err != nil {
		return 0, err
	}
	return meanLoss(tr, batches)
}
