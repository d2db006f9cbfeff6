#define _POSIX_C_SOURCE 199309L // clock_gettime under -std=c11

#include "cloop.h"

#include <time.h>

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

struct llama_model *cloop_load(const char *path) {
    struct llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = 0;
    return llama_model_load_from_file(path, mp);
}

// cloop_run sets up a context exactly as the engine does (same size, batch
// and threads), then times the same work: the prompt in batches with only
// the last token's logits, then greedy sampling with one decode per token.
cloop_result cloop_run(struct llama_model *model, const llama_token *prompt, int n_prompt, int n_gen,
                       int n_threads, int n_ctx, int n_batch) {
    cloop_result res = {0, 0, 0, 0};
    struct llama_context_params cp = llama_context_default_params();
    cp.n_ctx = n_ctx;
    cp.n_batch = n_batch;
    cp.n_ubatch = n_batch;
    cp.n_seq_max = 1;
    cp.n_threads = n_threads;
    cp.n_threads_batch = n_threads;
    cp.no_perf = 1;
    struct llama_context *ctx = llama_init_from_model(model, cp);
    if (ctx == NULL) {
        res.rc = -1;
        return res;
    }
    const struct llama_vocab *vocab = llama_model_get_vocab(model);
    struct llama_batch batch = llama_batch_init(n_batch, 0, 1);
    struct llama_sampler *smpl = llama_sampler_chain_init(llama_sampler_chain_default_params());
    llama_sampler_chain_add(smpl, llama_sampler_init_greedy());

    double t0 = now_ms();
    for (int start = 0; start < n_prompt; start += n_batch) {
        int m = n_prompt - start < n_batch ? n_prompt - start : n_batch;
        for (int i = 0; i < m; i++) {
            batch.token[i] = prompt[start + i];
            batch.pos[i] = start + i;
            batch.n_seq_id[i] = 1;
            batch.seq_id[i][0] = 0;
            batch.logits[i] = start + i == n_prompt - 1;
        }
        batch.n_tokens = m;
        if (llama_decode(ctx, batch) != 0) {
            res.rc = -2;
            goto done;
        }
    }
    double t1 = now_ms();
    res.prompt_ms = t1 - t0;

    for (int i = 0; i < n_gen; i++) {
        llama_token tok = llama_sampler_sample(smpl, ctx, -1);
        res.n_gen++;
        if (llama_vocab_is_eog(vocab, tok) || i == n_gen - 1) {
            break;
        }
        batch.token[0] = tok;
        batch.pos[0] = n_prompt + i;
        batch.n_seq_id[0] = 1;
        batch.seq_id[0][0] = 0;
        batch.logits[0] = 1;
        batch.n_tokens = 1;
        if (llama_decode(ctx, batch) != 0) {
            res.rc = -3;
            goto done;
        }
    }
    res.gen_ms = now_ms() - t1;

done:
    llama_sampler_free(smpl);
    llama_batch_free(batch);
    llama_free(ctx);
    return res;
}
