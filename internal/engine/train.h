// The C side of tunelab's trainer: a LLaMA training graph built directly
// on ggml (llama.cpp's own training entry point only trains the output
// layer), differentiated by ggml's autodiff and stepped with ggml-opt's
// AdamW kernel. The Go side (train.go) owns the data, the schedule and the
// checkpoints; this file owns tensors and graphs.
#ifndef TUNELAB_ENGINE_TRAIN_H
#define TUNELAB_ENGINE_TRAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// LoRA targets, one bit each, in the order of tl_lora_target_names.
enum {
    TL_LORA_Q = 1 << 0,
    TL_LORA_K = 1 << 1,
    TL_LORA_V = 1 << 2,
    TL_LORA_O = 1 << 3,
    TL_LORA_GATE = 1 << 4,
    TL_LORA_UP = 1 << 5,
    TL_LORA_DOWN = 1 << 6,
};

typedef struct tl_train_params {
    int32_t n_vocab, n_embd, n_layer, n_head, n_head_kv, n_ff;
    float norm_eps, rope_base;
    bool tied;              // no output.weight: the output layer is token_embd
    int32_t lora_rank;      // 0: no adapter
    float lora_scale;       // alpha / rank
    uint32_t lora_targets;  // TL_LORA_* bits
    bool full;              // base weights are trained too
    int32_t n_threads;
} tl_train_params;

typedef struct tl_trainer tl_trainer;

// tl_train_new allocates the model's tensors (zeroed), the adapter, the
// gradient accumulators and the AdamW moments. NULL with a message in err
// when the shape is inconsistent.
tl_trainer *tl_train_new(const tl_train_params *p, char *err, size_t errlen);
void tl_train_free(tl_trainer *t);

// Tensors by index or name. Every trainable tensor has companions named
// NAME.grad, NAME.adam_m and NAME.adam_v.
int32_t tl_train_n_tensors(const tl_trainer *t);
const char *tl_train_tensor_name(const tl_trainer *t, int32_t i);
int64_t tl_train_tensor_nelem(const tl_trainer *t, int32_t i);
bool tl_train_tensor_trainable(const tl_trainer *t, int32_t i);
int32_t tl_train_find(const tl_trainer *t, const char *name);
void tl_train_set(tl_trainer *t, int32_t i, const float *data);
void tl_train_get(const tl_trainer *t, int32_t i, float *data);

// tl_train_batch runs the model on n_seq rows of n_tok tokens. Tokens that
// share a segment id within a row are one sequence (packing): attention is
// causal and stays inside the segment. targets[i] is the token position i
// must predict, or -1 to leave it out of the loss. The loss is the mean
// cross-entropy over the targets times loss_scale. With backward set, the
// gradients are added to the accumulators (so micro-batches accumulate
// until tl_train_zero_grad); dropout is then applied to the adapter's
// inputs with the given seed. logits, when not NULL, receives
// n_seq*n_tok*n_vocab values. Returns 0, or -1 with a message in err.
int32_t tl_train_batch(tl_trainer *t, int32_t n_seq, int32_t n_tok, const int32_t *tokens,
                       const int32_t *pos, const int32_t *seg, const int32_t *targets,
                       float loss_scale, bool backward, float dropout, uint64_t seed,
                       float *loss, float *logits, char *err, size_t errlen);

// tl_train_fast_grads is how many backward products of the last batch ran
// as mul_mat through the frozen weights' transposed copies (LoRA only).
int32_t tl_train_fast_grads(const tl_trainer *t);
// tl_train_out_prods is how many out_prod nodes the last batch's graph
// computed: none in a LoRA backward pass, whose outer products run as
// mul_mat (fast_outer_grads).
int32_t tl_train_out_prods(const tl_trainer *t);

// tl_train_opt_step applies one AdamW step to every trainable tensor from
// the accumulated gradients. iter counts steps from 1 (bias correction).
// Weight decay applies to matrices only, not to norms.
void tl_train_opt_step(tl_trainer *t, float lr, float beta1, float beta2, float eps, float wd,
                       int64_t iter);
void tl_train_zero_grad(tl_trainer *t);

// tl_train_grad_norm is the L2 norm of the accumulated gradients.
double tl_train_grad_norm(const tl_trainer *t);
// tl_train_scale_grad multiplies the accumulated gradients by s (clipping).
void tl_train_scale_grad(tl_trainer *t, float s);

#ifdef __cplusplus
}
#endif

#endif
