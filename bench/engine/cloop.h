// The reference loop: llama.cpp driven directly from C, the way its own
// examples do it, so the benchmark can show what the Go binding costs.
#ifndef TUNELAB_BENCH_CLOOP_H
#define TUNELAB_BENCH_CLOOP_H

#include "llama.h"

typedef struct {
    double prompt_ms;   // decoding the prompt
    double gen_ms;      // sampling n_gen tokens and decoding all but the last
    int n_gen;          // tokens actually generated (fewer on end of generation)
    int rc;             // 0, or what failed: -1 context, -2 prompt decode, -3 generation decode
} cloop_result;

struct llama_model *cloop_load(const char *path);

cloop_result cloop_run(struct llama_model *model, const llama_token *prompt, int n_prompt, int n_gen,
                       int n_threads, int n_ctx, int n_batch);

#endif
