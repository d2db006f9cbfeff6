// The C side of tunelab's llama.cpp binding. Every call that can throw a
// C++ exception goes through here: an exception that crosses into Go (or
// any C frame) aborts the process, so each is caught and turned into an
// error code plus a message the Go side can read back.
#ifndef TUNELAB_ENGINE_SHIM_H
#define TUNELAB_ENGINE_SHIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "llama.h"

#ifdef __cplusplus
extern "C" {
#endif

// tl_init installs the log handler and initialises the backend; verbose
// sends llama.cpp's own log lines to stderr as well.
void tl_init(bool verbose);

// tl_last_error copies the most recent error llama.cpp logged (or an
// exception's message) into buf; tl_clear_error forgets it.
void tl_last_error(char *buf, size_t len);
void tl_clear_error(void);

struct llama_model *tl_load_model(const char *path, bool use_mmap);

struct llama_context *tl_new_context(struct llama_model *model, uint32_t n_ctx, uint32_t n_batch,
                                     int32_t n_threads, bool embeddings);

// tl_decode_tokens decodes tokens[0..n) at positions pos0.. in chunks of
// the batch's capacity, asking for logits (or embeddings) of the last token
// only, or of every token when all_outputs is set. It returns llama_decode's
// code (0 on success), or -100 when llama.cpp threw.
int32_t tl_decode_tokens(struct llama_context *ctx, struct llama_batch *batch, int32_t cap,
                         const llama_token *tokens, int32_t n, int32_t pos0, bool all_outputs);

// tl_step samples one token from the last logits and, when decode is set
// and the token does not end the generation, decodes it at position pos to
// get the next logits. It returns 0 for a token, 1 when the sampled token
// ends the generation, and a negative code on failure (-1000-rc for a
// positive llama_decode code rc); *out receives the sampled token.
int32_t tl_step(struct llama_context *ctx, struct llama_sampler *smpl, struct llama_batch *batch,
                int32_t pos, bool decode, llama_token *out);

// tl_new_sampler builds the sampling chain: an optional grammar first (so
// every later stage sees only tokens the grammar allows), then top-k,
// top-p and temperature with a seeded draw, or a plain argmax when temp
// is not positive. It returns NULL when the grammar does not parse.
struct llama_sampler *tl_new_sampler(const struct llama_vocab *vocab, float temp, float top_p,
                                     int32_t top_k, uint32_t seed, const char *grammar);

int32_t tl_apply_template(const char *tmpl, const llama_chat_message *msgs, size_t n, bool add_ass,
                          char *buf, int32_t len);

struct llama_adapter_lora *tl_adapter_load(struct llama_model *model, const char *path);

uint32_t tl_quantize(const char *in, const char *out, int32_t ftype, int32_t nthread);

// tl_cpu_features writes the SIMD features the engine was compiled with
// as a space-separated list.
void tl_cpu_features(char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif
