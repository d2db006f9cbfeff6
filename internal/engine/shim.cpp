#include "shim.h"

#include <cstdio>
#include <cstring>
#include <exception>
#include <mutex>
#include <string>

#include "ggml-cpu.h"

namespace {

std::mutex log_mu;
std::string errors;        // errors logged since tl_clear_error, joined
bool continuing = false;   // the last piece logged was part of an error
bool log_verbose = false;

void set_error(const std::string &msg) {
    std::lock_guard<std::mutex> lock(log_mu);
    if (!errors.empty()) {
        errors += "; ";
    }
    errors += msg;
}

// llama.cpp logs a message in pieces (level CONT continues the last one)
// and often logs the cause of a failure before its summary, so every error
// since the last tl_clear_error is kept, newest last.
void log_cb(enum ggml_log_level level, const char *text, void *) {
    if (log_verbose) {
        fputs(text, stderr);
    }
    std::lock_guard<std::mutex> lock(log_mu);
    if (level == GGML_LOG_LEVEL_ERROR) {
        std::string msg = text;
        while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) {
            msg.pop_back();
        }
        if (!errors.empty()) {
            errors += "; ";
        }
        errors += msg;
        continuing = true;
    } else if (level == GGML_LOG_LEVEL_CONT && continuing) {
        errors += text;
    } else {
        continuing = false;
    }
    if (errors.size() > 4096) {
        errors.erase(0, errors.size() - 4096);
    }
}

}  // namespace

extern "C" {

void tl_init(bool verbose) {
    log_verbose = verbose;
    llama_log_set(log_cb, nullptr);
    llama_backend_init();
}

void tl_last_error(char *buf, size_t len) {
    std::lock_guard<std::mutex> lock(log_mu);
    std::string msg = errors;
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) {
        msg.pop_back();
    }
    snprintf(buf, len, "%s", msg.c_str());
}

void tl_clear_error(void) {
    std::lock_guard<std::mutex> lock(log_mu);
    errors.clear();
    continuing = false;
}

struct llama_model *tl_load_model(const char *path, bool use_mmap) {
    try {
        auto params = llama_model_default_params();
        params.use_mmap = use_mmap;
        params.n_gpu_layers = 0;
        return llama_model_load_from_file(path, params);
    } catch (const std::exception &e) {
        set_error(e.what());
    } catch (...) {
        set_error("unknown exception while loading the model");
    }
    return nullptr;
}

struct llama_context *tl_new_context(struct llama_model *model, uint32_t n_ctx, uint32_t n_batch,
                                     int32_t n_threads, bool embeddings) {
    try {
        auto params = llama_context_default_params();
        params.n_ctx = n_ctx;
        params.n_batch = n_batch;
        params.n_ubatch = n_batch;
        params.n_seq_max = 1;
        params.n_threads = n_threads;
        params.n_threads_batch = n_threads;
        params.embeddings = embeddings;
        params.no_perf = true;
        if (embeddings) {
            params.pooling_type = LLAMA_POOLING_TYPE_MEAN;
        }
        return llama_init_from_model(model, params);
    } catch (const std::exception &e) {
        set_error(e.what());
    } catch (...) {
        set_error("unknown exception while creating a context");
    }
    return nullptr;
}

int32_t tl_decode_tokens(struct llama_context *ctx, struct llama_batch *batch, int32_t cap,
                         const llama_token *tokens, int32_t n, int32_t pos0, bool all_outputs) {
    try {
        for (int32_t start = 0; start < n; start += cap) {
            int32_t m = n - start < cap ? n - start : cap;
            for (int32_t i = 0; i < m; i++) {
                batch->token[i] = tokens[start + i];
                batch->pos[i] = pos0 + start + i;
                batch->n_seq_id[i] = 1;
                batch->seq_id[i][0] = 0;
                batch->logits[i] = all_outputs || start + i == n - 1;
            }
            batch->n_tokens = m;
            int32_t rc = llama_decode(ctx, *batch);
            if (rc != 0) {
                return rc;
            }
        }
        return 0;
    } catch (const std::exception &e) {
        set_error(e.what());
    } catch (...) {
        set_error("unknown exception while decoding");
    }
    return -100;
}

int32_t tl_step(struct llama_context *ctx, struct llama_sampler *smpl, struct llama_batch *batch,
                int32_t pos, bool decode, llama_token *out) {
    try {
        llama_token tok = llama_sampler_sample(smpl, ctx, -1);
        *out = tok;
        const struct llama_vocab *vocab = llama_model_get_vocab(llama_get_model(ctx));
        if (llama_vocab_is_eog(vocab, tok)) {
            return 1;
        }
        if (!decode) {
            return 0;
        }
        batch->token[0] = tok;
        batch->pos[0] = pos;
        batch->n_seq_id[0] = 1;
        batch->seq_id[0][0] = 0;
        batch->logits[0] = 1;
        batch->n_tokens = 1;
        int32_t rc = llama_decode(ctx, *batch);
        return rc == 0 ? 0 : (rc > 0 ? -rc - 1000 : rc);
    } catch (const std::exception &e) {
        set_error(e.what());
    } catch (...) {
        set_error("unknown exception while sampling");
    }
    return -100;
}

struct llama_sampler *tl_new_sampler(const struct llama_vocab *vocab, float temp, float top_p,
                                     int32_t top_k, uint32_t seed, const char *grammar) {
    try {
        auto chain = llama_sampler_chain_init(llama_sampler_chain_default_params());
        if (grammar != nullptr && grammar[0] != '\0') {
            auto g = llama_sampler_init_grammar(vocab, grammar, "root");
            if (g == nullptr) {
                llama_sampler_free(chain);
                return nullptr;
            }
            llama_sampler_chain_add(chain, g);
        }
        if (temp <= 0) {
            llama_sampler_chain_add(chain, llama_sampler_init_greedy());
            return chain;
        }
        if (top_k > 0) {
            llama_sampler_chain_add(chain, llama_sampler_init_top_k(top_k));
        }
        if (top_p > 0 && top_p < 1) {
            llama_sampler_chain_add(chain, llama_sampler_init_top_p(top_p, 1));
        }
        llama_sampler_chain_add(chain, llama_sampler_init_temp(temp));
        llama_sampler_chain_add(chain, llama_sampler_init_dist(seed));
        return chain;
    } catch (const std::exception &e) {
        set_error(e.what());
    } catch (...) {
        set_error("unknown exception while building the sampler");
    }
    return nullptr;
}

int32_t tl_apply_template(const char *tmpl, const llama_chat_message *msgs, size_t n, bool add_ass,
                          char *buf, int32_t len) {
    try {
        return llama_chat_apply_template(tmpl, msgs, n, add_ass, buf, len);
    } catch (const std::exception &e) {
        set_error(e.what());
    } catch (...) {
        set_error("unknown exception while applying the chat template");
    }
    return -1;
}

struct llama_adapter_lora *tl_adapter_load(struct llama_model *model, const char *path) {
    try {
        return llama_adapter_lora_init(model, path);
    } catch (const std::exception &e) {
        set_error(e.what());
    } catch (...) {
        set_error("unknown exception while loading the adapter");
    }
    return nullptr;
}

uint32_t tl_quantize(const char *in, const char *out, int32_t ftype, int32_t nthread) {
    try {
        auto params = llama_model_quantize_default_params();
        params.ftype = (enum llama_ftype)ftype;
        params.nthread = nthread;
        return llama_model_quantize(in, out, &params);
    } catch (const std::exception &e) {
        set_error(e.what());
    } catch (...) {
        set_error("unknown exception while quantizing");
    }
    return 1;
}

void tl_cpu_features(char *buf, size_t len) {
    struct feature {
        const char *name;
        int (*has)(void);
    };
    static const feature features[] = {
        {"SSE3", ggml_cpu_has_sse3},         {"SSSE3", ggml_cpu_has_ssse3},
        {"AVX", ggml_cpu_has_avx},           {"AVX_VNNI", ggml_cpu_has_avx_vnni},
        {"AVX2", ggml_cpu_has_avx2},         {"BMI2", ggml_cpu_has_bmi2},
        {"F16C", ggml_cpu_has_f16c},         {"FMA", ggml_cpu_has_fma},
        {"AVX512", ggml_cpu_has_avx512},     {"AVX512_VBMI", ggml_cpu_has_avx512_vbmi},
        {"AVX512_VNNI", ggml_cpu_has_avx512_vnni}, {"AVX512_BF16", ggml_cpu_has_avx512_bf16},
        {"AMX_INT8", ggml_cpu_has_amx_int8}, {"NEON", ggml_cpu_has_neon},
        {"ARM_FMA", ggml_cpu_has_arm_fma},   {"FP16_VA", ggml_cpu_has_fp16_va},
        {"DOTPROD", ggml_cpu_has_dotprod},   {"MATMUL_INT8", ggml_cpu_has_matmul_int8},
        {"SVE", ggml_cpu_has_sve},           {"SME", ggml_cpu_has_sme},
        {"LLAMAFILE", ggml_cpu_has_llamafile},
    };
    std::string out;
    for (const auto &f : features) {
        if (f.has()) {
            if (!out.empty()) {
                out += ' ';
            }
            out += f.name;
        }
    }
    snprintf(buf, len, "%s", out.c_str());
}

}  // extern "C"
