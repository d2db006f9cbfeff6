// tunelab's LLaMA training graph on ggml; see train.h for the contract.
//
// The graph mirrors llama.cpp's "llama" inference graph exactly (RMSNorm,
// RoPE in normal mode, grouped-query attention, SwiGLU) so that weights
// trained here behave the same when llama.cpp runs them. It differs where
// training needs it: there is no KV cache, a batch holds several packed
// sequences with a block-diagonal causal mask, and only the positions that
// have a target go through the output layer.
#include "train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ggml-alloc.h"
#include "ggml-backend.h"
#include "ggml-cpu.h"
#include "ggml.h"

typedef struct {
    struct ggml_tensor *w, *a, *b;
} tl_lin;

typedef struct {
    struct ggml_tensor *attn_norm, *ffn_norm;
    tl_lin q, k, v, o, gate, up, down;
} tl_layer;

struct tl_trainer {
    tl_train_params p;
    ggml_backend_t backend;
    struct ggml_context *ctx_w, *ctx_g;
    ggml_backend_buffer_t buf_w, buf_g;
    // Activations and gradients of one batch; see alloc_all.
    ggml_backend_buffer_t buf_c;

    struct ggml_tensor *tok_embd, *out_norm, *output;
    tl_layer *layers;

    // Every tensor Go can read or write, in a stable order.
    struct ggml_tensor **items;
    int32_t n_items;
    // Trainable tensors and their companions.
    struct ggml_tensor **params, **grads, **ms, **vs;
    int32_t n_params;

    // Transposed copies of the frozen matrices (LoRA only); see
    // fast_input_grads.
    struct ggml_context *ctx_t;
    ggml_backend_buffer_t buf_t;
    struct ggml_tensor **frozen, **frozen_t;
    int32_t n_frozen;
    bool frozen_stale;  // a frozen matrix was set since its copy was made
    int32_t n_rewritten;  // nodes fast_input_grads rewrote in the last batch
    int32_t n_out_prods;  // out_prod nodes left in the last batch's graph

    struct ggml_tensor *loss_grad;  // d loss / d loss = 1, never cleared
    struct ggml_tensor *opt_decay, *opt_nodecay;
    int graph_size;
    // Room for a batch graph's tensor and graph headers, kept between
    // batches: allocating and zeroing tens of MB per step showed up as
    // page clearing in profiles.
    void *meta;
    size_t meta_size;
};

static void set_err(char *err, size_t len, const char *msg) {
    if (err && len) {
        snprintf(err, len, "%s", msg);
    }
}

static const char *lin_names[7] = {"attn_q", "attn_k", "attn_v", "attn_output",
                                   "ffn_gate", "ffn_up", "ffn_down"};

static struct ggml_tensor *new_w(struct ggml_context *ctx, const char *name, int64_t n0, int64_t n1) {
    struct ggml_tensor *t = n1 > 0 ? ggml_new_tensor_2d(ctx, GGML_TYPE_F32, n0, n1)
                                   : ggml_new_tensor_1d(ctx, GGML_TYPE_F32, n0);
    ggml_set_name(t, name);
    return t;
}

// build_tensors creates every tensor in the weight context, in the order
// Go sees them. It runs twice: once to count (ctx NULL) and once for real.
static int build_tensors(tl_trainer *t, struct ggml_context *ctx) {
    const tl_train_params *p = &t->p;
    const int64_t E = p->n_embd, Ekv = (int64_t)p->n_embd / p->n_head * p->n_head_kv, F = p->n_ff;
    int n = 0;
    char name[GGML_MAX_NAME];
#define TL_W(dst, nm, n0, n1)                                  \
    do {                                                      \
        if (ctx) {                                            \
            (dst) = new_w(ctx, (nm), (n0), (n1));             \
            t->items[n] = (dst);                              \
        }                                                     \
        n++;                                                  \
    } while (0)
    TL_W(t->tok_embd, "token_embd.weight", E, p->n_vocab);
    TL_W(t->out_norm, "output_norm.weight", E, 0);
    if (!p->tied) {
        TL_W(t->output, "output.weight", E, p->n_vocab);
    }
    for (int l = 0; l < p->n_layer; l++) {
        // Counting writes into a scratch layer that is thrown away.
        tl_layer scratch;
        tl_layer *L = ctx ? &t->layers[l] : &scratch;
        tl_lin *lins[7] = {&L->q, &L->k, &L->v, &L->o, &L->gate, &L->up, &L->down};
        const int64_t in[7] = {E, E, E, E, E, E, F};
        const int64_t out[7] = {E, Ekv, Ekv, E, F, F, E};
        snprintf(name, sizeof(name), "blk.%d.attn_norm.weight", l);
        TL_W(L->attn_norm, name, E, 0);
        for (int j = 0; j < 7; j++) {
            snprintf(name, sizeof(name), "blk.%d.%s.weight", l, lin_names[j]);
            TL_W(lins[j]->w, name, in[j], out[j]);
            if (j == 3) {
                snprintf(name, sizeof(name), "blk.%d.ffn_norm.weight", l);
                TL_W(L->ffn_norm, name, E, 0);
            }
        }
        if (p->lora_rank > 0) {
            for (int j = 0; j < 7; j++) {
                if (!(p->lora_targets & (1u << j))) {
                    continue;
                }
                snprintf(name, sizeof(name), "blk.%d.%s.weight.lora_a", l, lin_names[j]);
                TL_W(lins[j]->a, name, in[j], p->lora_rank);
                snprintf(name, sizeof(name), "blk.%d.%s.weight.lora_b", l, lin_names[j]);
                TL_W(lins[j]->b, name, p->lora_rank, out[j]);
            }
        }
    }
#undef TL_W
    return n;
}

static bool is_lora(const struct ggml_tensor *w) {
    const char *s = strstr(w->name, ".lora_");
    return s != NULL;
}

// In LoRA training the base matrices are frozen, but the gradient still
// has to flow through them to the layers below: dx = W^T·dy. ggml's
// autodiff writes that as out_prod(W, dy^T), a kernel that streams all of
// W once per token and ran 2.9x the forward pass's time, where the forward
// pass's mul_mat runs on the blocked sgemm. With W^T kept as its own
// contiguous matrix the same product is an ordinary mul_mat(W^T, dy), so
// fast_input_grads rewrites those nodes after autodiff has built the
// backward graph. The copies cost the base weights' memory once more,
// which only LoRA (whose W never changes) can amortise.
static bool new_transposes(tl_trainer *t) {
    const tl_train_params *p = &t->p;
    const int32_t max = 7 * p->n_layer + 1;
    t->frozen = calloc(max, sizeof(*t->frozen));
    t->frozen_t = calloc(max, sizeof(*t->frozen_t));
    struct ggml_init_params ip = {(size_t)(max + 1) * ggml_tensor_overhead(), NULL, true};
    t->ctx_t = ggml_init(ip);
    for (int l = 0; l < p->n_layer; l++) {
        tl_layer *L = &t->layers[l];
        tl_lin *lins[7] = {&L->q, &L->k, &L->v, &L->o, &L->gate, &L->up, &L->down};
        for (int j = 0; j < 7; j++) {
            t->frozen[t->n_frozen++] = lins[j]->w;
        }
    }
    t->frozen[t->n_frozen++] = p->tied ? t->tok_embd : t->output;
    for (int32_t k = 0; k < t->n_frozen; k++) {
        const struct ggml_tensor *w = t->frozen[k];
        t->frozen_t[k] = ggml_new_tensor_2d(t->ctx_t, GGML_TYPE_F32, w->ne[1], w->ne[0]);
        ggml_format_name(t->frozen_t[k], "%s.T", w->name);
    }
    t->buf_t = ggml_backend_alloc_ctx_tensors(t->ctx_t, t->backend);
    t->frozen_stale = true;
    return t->buf_t != NULL;
}

// refresh_transposes remakes the copies after the base weights were set.
// The CPU backend keeps tensors in host memory, so this is a plain loop,
// in tiles so that both sides stay in cache.
static void refresh_transposes(tl_trainer *t) {
    enum { TILE = 32 };
    for (int32_t k = 0; k < t->n_frozen; k++) {
        const float *w = (const float *)t->frozen[k]->data;
        float *wt = (float *)t->frozen_t[k]->data;
        const int64_t K = t->frozen[k]->ne[0], M = t->frozen[k]->ne[1];
        for (int64_t m0 = 0; m0 < M; m0 += TILE) {
            for (int64_t k0 = 0; k0 < K; k0 += TILE) {
                const int64_t m1 = m0 + TILE < M ? m0 + TILE : M, k1 = k0 + TILE < K ? k0 + TILE : K;
                for (int64_t m = m0; m < m1; m++) {
                    for (int64_t c = k0; c < k1; c++) {
                        wt[c * M + m] = w[m * K + c];
                    }
                }
            }
        }
    }
    t->frozen_stale = false;
}

// fast_input_grads turns each out_prod(W, transpose(dy)) that autodiff made
// for a frozen W into mul_mat(W^T, dy): the same [K, N] result, computed by
// the kernel the forward pass uses. Nodes it does not recognise are left
// as they are, so correctness never depends on the rewrite happening.
static void fast_input_grads(tl_trainer *t, struct ggml_cgraph *gf) {
    const int n = ggml_graph_n_nodes(gf);
    t->n_rewritten = 0;
    for (int i = 0; i < n; i++) {
        struct ggml_tensor *node = ggml_graph_node(gf, i);
        if (node->op != GGML_OP_OUT_PROD || node->src[1]->op != GGML_OP_TRANSPOSE) {
            continue;
        }
        struct ggml_tensor *dy = node->src[1]->src[0];
        if (!ggml_is_contiguous(dy) || ggml_n_dims(dy) > 2 || ggml_n_dims(node) > 2) {
            continue;
        }
        for (int32_t k = 0; k < t->n_frozen; k++) {
            if (node->src[0] != t->frozen[k]) {
                continue;
            }
            struct ggml_tensor *wt = t->frozen_t[k];
            if (wt->ne[0] != dy->ne[0] || wt->ne[1] != node->ne[0] || dy->ne[1] != node->ne[1]) {
                break;
            }
            node->op = GGML_OP_MUL_MAT;
            node->src[0] = wt;
            node->src[1] = dy;
            t->n_rewritten++;
            break;
        }
    }
}

// outer_eligible says whether fast_outer_grads can rewrite node: an f32
// out_prod of f32 operands with the same batch dimensions (no broadcast),
// as in the attention's backward pass and the adapter's.
static bool outer_eligible(const struct ggml_tensor *node) {
    if (node->op != GGML_OP_OUT_PROD || node->type != GGML_TYPE_F32) {
        return false;
    }
    const struct ggml_tensor *a = node->src[0], *b = node->src[1];
    return a->type == GGML_TYPE_F32 && b->type == GGML_TYPE_F32 && a->ne[1] == b->ne[1] &&
           a->ne[2] == node->ne[2] && b->ne[2] == node->ne[2] && a->ne[3] == node->ne[3] &&
           b->ne[3] == node->ne[3];
}

// fast_outer_grads rewrites the out_prods fast_input_grads leaves: in a
// LoRA graph, the gradients of A and B and the input gradient through A.
// out_prod(a, b)[i,j] = sum_k a[i,k] b[j,k] walks one row at a time
// (ggml_vec_mad_f32_unroll, 17% of a step's samples on a 135M model); the
// same sums are mul_mat(cont(a^T), cont(b^T)), which runs on the blocked
// sgemm. The copies are small: activations of one batch, or an adapter
// matrix. The nodes they need come before their use, so the result is a
// new graph; gf is returned unchanged when nothing qualifies.
static struct ggml_cgraph *fast_outer_grads(tl_trainer *t, struct ggml_context *ctx,
                                            struct ggml_cgraph *gf) {
    const int n = ggml_graph_n_nodes(gf);
    int extra = 0;
    for (int i = 0; i < n; i++) {
        extra += outer_eligible(ggml_graph_node(gf, i)) ? 2 : 0;
    }
    if (extra == 0) {
        return gf;
    }
    struct ggml_cgraph *g2 = ggml_new_graph_custom(ctx, n + extra, false);
    for (int i = 0; i < n; i++) {
        struct ggml_tensor *node = ggml_graph_node(gf, i);
        if (outer_eligible(node)) {
            struct ggml_tensor *a = node->src[0], *b = node->src[1];
            struct ggml_tensor *at = ggml_cont(ctx, ggml_transpose(ctx, a));
            ggml_graph_add_node(g2, at);
            struct ggml_tensor *bt;
            if (b->op == GGML_OP_TRANSPOSE && ggml_is_contiguous(b->src[0])) {
                bt = b->src[0];  // already b^T in memory
            } else {
                bt = ggml_cont(ctx, ggml_transpose(ctx, b));
                ggml_graph_add_node(g2, bt);
            }
            node->op = GGML_OP_MUL_MAT;
            node->src[0] = at;
            node->src[1] = bt;
        }
        ggml_graph_add_node(g2, node);
    }
    return g2;
}

// count_out_prods is how many out_prod nodes gf still computes.
static int32_t count_out_prods(struct ggml_cgraph *gf) {
    int32_t c = 0;
    for (int i = 0; i < ggml_graph_n_nodes(gf); i++) {
        c += ggml_graph_node(gf, i)->op == GGML_OP_OUT_PROD;
    }
    return c;
}

tl_trainer *tl_train_new(const tl_train_params *p, char *err, size_t errlen) {
    if (p->n_vocab <= 0 || p->n_embd <= 0 || p->n_layer <= 0 || p->n_head <= 0 ||
        p->n_head_kv <= 0 || p->n_ff <= 0) {
        set_err(err, errlen, "model shape has a zero or negative dimension");
        return NULL;
    }
    if (p->n_embd % p->n_head != 0 || p->n_head % p->n_head_kv != 0 ||
        (p->n_embd / p->n_head) % 2 != 0) {
        set_err(err, errlen, "heads do not divide the embedding evenly");
        return NULL;
    }
    if (p->lora_rank < 0 || (p->lora_rank == 0 && !p->full) || (p->lora_rank > 0 && p->lora_targets == 0)) {
        set_err(err, errlen, "nothing to train: give a LoRA rank and targets, or full fine-tuning");
        return NULL;
    }
    tl_trainer *t = calloc(1, sizeof(*t));
    t->p = *p;
    t->layers = calloc(p->n_layer, sizeof(tl_layer));
    t->n_items = build_tensors(t, NULL);
    t->items = calloc(t->n_items * 4, sizeof(*t->items));

    const size_t n_meta = (size_t)t->n_items * 4 + 8;
    struct ggml_init_params ip = {n_meta * ggml_tensor_overhead(), NULL, true};
    t->ctx_w = ggml_init(ip);
    t->ctx_g = ggml_init(ip);
    build_tensors(t, t->ctx_w);

    // Trainable tensors: the adapter, or everything in full fine-tuning.
    const int32_t n_base = t->n_items;
    t->params = calloc(n_base, sizeof(*t->params));
    t->grads = calloc(n_base, sizeof(*t->grads));
    t->ms = calloc(n_base, sizeof(*t->ms));
    t->vs = calloc(n_base, sizeof(*t->vs));
    for (int32_t i = 0; i < n_base; i++) {
        struct ggml_tensor *w = t->items[i];
        if (!(p->full || is_lora(w))) {
            continue;
        }
        int32_t k = t->n_params++;
        ggml_set_param(w);
        t->params[k] = w;
        t->grads[k] = ggml_dup_tensor(t->ctx_g, w);
        ggml_format_name(t->grads[k], "%s.grad", w->name);
        t->ms[k] = ggml_dup_tensor(t->ctx_w, w);
        ggml_format_name(t->ms[k], "%s.adam_m", w->name);
        t->vs[k] = ggml_dup_tensor(t->ctx_w, w);
        ggml_format_name(t->vs[k], "%s.adam_v", w->name);
    }
    for (int32_t k = 0; k < t->n_params; k++) {
        t->items[t->n_items++] = t->grads[k];
        t->items[t->n_items++] = t->ms[k];
        t->items[t->n_items++] = t->vs[k];
    }
    t->loss_grad = ggml_new_tensor_1d(t->ctx_w, GGML_TYPE_F32, 1);
    ggml_set_name(t->loss_grad, "loss.grad");
    t->opt_decay = ggml_new_tensor_1d(t->ctx_w, GGML_TYPE_F32, 7);
    t->opt_nodecay = ggml_new_tensor_1d(t->ctx_w, GGML_TYPE_F32, 7);

    t->backend = ggml_backend_cpu_init();
    if (!t->backend) {
        set_err(err, errlen, "cannot start ggml's CPU backend");
        tl_train_free(t);
        return NULL;
    }
    ggml_backend_cpu_set_n_threads(t->backend, p->n_threads > 0 ? p->n_threads : 1);
    t->buf_w = ggml_backend_alloc_ctx_tensors(t->ctx_w, t->backend);
    t->buf_g = ggml_backend_alloc_ctx_tensors(t->ctx_g, t->backend);
    if (!t->buf_w || !t->buf_g) {
        set_err(err, errlen, "out of memory allocating the model's tensors");
        tl_train_free(t);
        return NULL;
    }
    ggml_backend_buffer_clear(t->buf_w, 0);
    ggml_backend_buffer_clear(t->buf_g, 0);
    if (!p->full && !new_transposes(t)) {
        set_err(err, errlen, "out of memory allocating the transposed base weights");
        tl_train_free(t);
        return NULL;
    }
    const float one = 1.0f;
    ggml_backend_tensor_set(t->loss_grad, &one, 0, sizeof(one));
    t->graph_size = 2048 + 600 * p->n_layer;
    // A batch graph, and the second one fast_outer_grads may build with
    // its transposed copies (three tensors per rewritten product).
    t->meta_size = (size_t)t->graph_size * 3 * ggml_tensor_overhead() +
                   ggml_graph_overhead_custom(t->graph_size, true) +
                   ggml_graph_overhead_custom(t->graph_size * 3, false) +
                   (size_t)t->graph_size * 3 * ggml_tensor_overhead();
    t->meta = malloc(t->meta_size);
    return t;
}

void tl_train_free(tl_trainer *t) {
    if (!t) {
        return;
    }
    if (t->buf_c) ggml_backend_buffer_free(t->buf_c);
    if (t->buf_w) ggml_backend_buffer_free(t->buf_w);
    if (t->buf_g) ggml_backend_buffer_free(t->buf_g);
    if (t->buf_t) ggml_backend_buffer_free(t->buf_t);
    if (t->ctx_t) ggml_free(t->ctx_t);
    free(t->frozen);
    free(t->frozen_t);
    if (t->ctx_w) ggml_free(t->ctx_w);
    if (t->ctx_g) ggml_free(t->ctx_g);
    if (t->backend) ggml_backend_free(t->backend);
    free(t->meta);
    free(t->layers);
    free(t->items);
    free(t->params);
    free(t->grads);
    free(t->ms);
    free(t->vs);
    free(t);
}

int32_t tl_train_n_tensors(const tl_trainer *t) { return t->n_items; }
int32_t tl_train_fast_grads(const tl_trainer *t) { return t->n_rewritten; }
int32_t tl_train_out_prods(const tl_trainer *t) { return t->n_out_prods; }
const char *tl_train_tensor_name(const tl_trainer *t, int32_t i) { return t->items[i]->name; }
int64_t tl_train_tensor_nelem(const tl_trainer *t, int32_t i) { return ggml_nelements(t->items[i]); }
bool tl_train_tensor_trainable(const tl_trainer *t, int32_t i) {
    return (t->items[i]->flags & GGML_TENSOR_FLAG_PARAM) != 0;
}

int32_t tl_train_find(const tl_trainer *t, const char *name) {
    for (int32_t i = 0; i < t->n_items; i++) {
        if (strcmp(t->items[i]->name, name) == 0) {
            return i;
        }
    }
    return -1;
}

void tl_train_set(tl_trainer *t, int32_t i, const float *data) {
    ggml_backend_tensor_set(t->items[i], data, 0, ggml_nbytes(t->items[i]));
    for (int32_t k = 0; k < t->n_frozen; k++) {
        if (t->frozen[k] == t->items[i]) {
            t->frozen_stale = true;
        }
    }
}

void tl_train_get(const tl_trainer *t, int32_t i, float *data) {
    ggml_backend_tensor_get(t->items[i], data, 0, ggml_nbytes(t->items[i]));
}

// The per-batch inputs that are filled after the graph is allocated.
typedef struct {
    struct ggml_tensor *tokens, *pos, *mask, *rows, *labels;
    struct ggml_tensor *drops[4 * 512];
    int n_drops;
} tl_inputs;

static struct ggml_tensor *input(struct ggml_context *ctx, enum ggml_type type, int64_t n0, int64_t n1,
                                 int64_t n2, int64_t n3) {
    struct ggml_tensor *t = ggml_new_tensor_4d(ctx, type, n0, n1, n2, n3);
    ggml_set_input(t);
    return t;
}

static struct ggml_tensor *dropout_mask(struct ggml_context *ctx, tl_inputs *in, int64_t n0, int64_t n1) {
    if (in->n_drops >= (int)(sizeof(in->drops) / sizeof(in->drops[0]))) {
        return NULL;
    }
    struct ggml_tensor *m = input(ctx, GGML_TYPE_F32, n0, n1, 1, 1);
    in->drops[in->n_drops++] = m;
    return m;
}

// lin is W·x plus, when the weight is adapted, scale·B·(A·dropout(x)).
static struct ggml_tensor *lin(struct ggml_context *ctx, const tl_trainer *t, const tl_lin *l,
                               struct ggml_tensor *x, struct ggml_tensor *drop) {
    struct ggml_tensor *y = ggml_mul_mat(ctx, l->w, x);
    if (l->a) {
        struct ggml_tensor *xa = drop ? ggml_mul(ctx, x, drop) : x;
        struct ggml_tensor *d = ggml_mul_mat(ctx, l->b, ggml_mul_mat(ctx, l->a, xa));
        y = ggml_add(ctx, y, ggml_scale(ctx, d, t->p.lora_scale));
    }
    return y;
}

static bool any_lora(const tl_lin *a, const tl_lin *b, const tl_lin *c) {
    return (a && a->a) || (b && b->a) || (c && c->a);
}

static struct ggml_tensor *build(struct ggml_context *ctx, const tl_trainer *t, tl_inputs *in, int64_t B,
                                 int64_t T, int64_t M, bool dropout, bool want_logits,
                                 struct ggml_tensor **logits_all) {
    const tl_train_params *p = &t->p;
    const int64_t E = p->n_embd, N = B * T, hd = E / p->n_head;
    in->tokens = input(ctx, GGML_TYPE_I32, N, 1, 1, 1);
    in->pos = input(ctx, GGML_TYPE_I32, N, 1, 1, 1);
    in->mask = input(ctx, GGML_TYPE_F32, T, T, 1, B);
    in->rows = input(ctx, GGML_TYPE_I32, M, 1, 1, 1);
    in->labels = input(ctx, GGML_TYPE_F32, p->n_vocab, M, 1, 1);

    struct ggml_tensor *x = ggml_get_rows(ctx, t->tok_embd, in->tokens);  // [E, N]
    for (int l = 0; l < p->n_layer; l++) {
        const tl_layer *L = &t->layers[l];
        struct ggml_tensor *cur = ggml_mul(ctx, ggml_rms_norm(ctx, x, p->norm_eps), L->attn_norm);
        struct ggml_tensor *drop = dropout && any_lora(&L->q, &L->k, &L->v) ? dropout_mask(ctx, in, E, N) : NULL;
        struct ggml_tensor *q = lin(ctx, t, &L->q, cur, drop);
        struct ggml_tensor *k = lin(ctx, t, &L->k, cur, drop);
        struct ggml_tensor *v = lin(ctx, t, &L->v, cur, drop);
        q = ggml_rope_ext(ctx, ggml_reshape_3d(ctx, q, hd, p->n_head, N), in->pos, NULL, (int)hd, 0, 0,
                          p->rope_base, 1.0f, 0.0f, 1.0f, 32.0f, 1.0f);
        k = ggml_rope_ext(ctx, ggml_reshape_3d(ctx, k, hd, p->n_head_kv, N), in->pos, NULL, (int)hd, 0, 0,
                          p->rope_base, 1.0f, 0.0f, 1.0f, 32.0f, 1.0f);
        // [hd, heads, T, B] -> [hd, T, heads, B]
        q = ggml_cont(ctx, ggml_permute(ctx, ggml_reshape_4d(ctx, q, hd, p->n_head, T, B), 0, 2, 1, 3));
        k = ggml_cont(ctx, ggml_permute(ctx, ggml_reshape_4d(ctx, k, hd, p->n_head_kv, T, B), 0, 2, 1, 3));
        // v^T per head: [T, hd, heads_kv, B]
        struct ggml_tensor *vt =
            ggml_cont(ctx, ggml_permute(ctx, ggml_reshape_4d(ctx, v, hd, p->n_head_kv, T, B), 1, 2, 0, 3));
        if (p->n_head_kv < p->n_head) {
            // Grouped-query attention: query head h reads kv head h/nr.
            // ggml's mul_mat broadcasts that, but its backward pass cannot
            // when there is more than one row, so the heads are repeated.
            const int64_t nr = p->n_head / p->n_head_kv;
            k = ggml_reshape_4d(ctx, ggml_repeat_4d(ctx, ggml_reshape_4d(ctx, k, hd * T, 1, p->n_head_kv, B),
                                                    hd * T, nr, p->n_head_kv, B),
                                hd, T, p->n_head, B);
            vt = ggml_reshape_4d(ctx, ggml_repeat_4d(ctx, ggml_reshape_4d(ctx, vt, hd * T, 1, p->n_head_kv, B),
                                                     hd * T, nr, p->n_head_kv, B),
                                 T, hd, p->n_head, B);
        }
        struct ggml_tensor *kq = ggml_mul_mat(ctx, k, q);  // [T_k, T_q, heads, B]
        kq = ggml_soft_max_ext(ctx, kq, in->mask, 1.0f / sqrtf((float)hd), 0.0f);
        struct ggml_tensor *kqv = ggml_mul_mat(ctx, vt, kq);  // [hd, T_q, heads, B]
        kqv = ggml_cont(ctx, ggml_permute(ctx, kqv, 0, 2, 1, 3));
        kqv = ggml_reshape_2d(ctx, kqv, E, N);
        drop = dropout && L->o.a ? dropout_mask(ctx, in, E, N) : NULL;
        x = ggml_add(ctx, x, lin(ctx, t, &L->o, kqv, drop));

        cur = ggml_mul(ctx, ggml_rms_norm(ctx, x, p->norm_eps), L->ffn_norm);
        drop = dropout && any_lora(&L->gate, &L->up, NULL) ? dropout_mask(ctx, in, E, N) : NULL;
        struct ggml_tensor *g = lin(ctx, t, &L->gate, cur, drop);
        struct ggml_tensor *u = lin(ctx, t, &L->up, cur, drop);
        struct ggml_tensor *h = ggml_mul(ctx, ggml_silu(ctx, g), u);
        drop = dropout && L->down.a ? dropout_mask(ctx, in, p->n_ff, N) : NULL;
        x = ggml_add(ctx, x, lin(ctx, t, &L->down, h, drop));
    }
    x = ggml_mul(ctx, ggml_rms_norm(ctx, x, p->norm_eps), t->out_norm);
    struct ggml_tensor *out_w = p->tied ? t->tok_embd : t->output;
    struct ggml_tensor *logits;
    if (want_logits) {
        *logits_all = ggml_mul_mat(ctx, out_w, x);  // [V, N]
        ggml_set_output(*logits_all);
        logits = ggml_get_rows(ctx, *logits_all, in->rows);
    } else {
        logits = ggml_mul_mat(ctx, out_w, ggml_get_rows(ctx, x, in->rows));  // [V, M]
    }
    return ggml_cross_entropy_loss(ctx, logits, in->labels);
}

// alloc_all gives every tensor of a batch's graph its own memory in one
// buffer kept between batches. ggml's graph allocator, which reuses memory
// once a tensor's last reader has run, corrupted activations that the
// backward pass still needed (the gradients of attention weights came out
// wrong against finite differences, and right with this allocation), so
// the trainer does not share memory between tensors. Activations must be
// kept for the backward pass anyway, so the cost is the backward pass's
// own temporaries.
static bool alloc_all(tl_trainer *t, struct ggml_context *ctx) {
    ggml_backend_buffer_type_t buft = ggml_backend_get_default_buffer_type(t->backend);
    const size_t align = ggml_backend_buft_get_alignment(buft);
    size_t need = 0;
    for (struct ggml_tensor *x = ggml_get_first_tensor(ctx); x; x = ggml_get_next_tensor(ctx, x)) {
        if (x->data == NULL && x->view_src == NULL) {
            need += GGML_PAD(ggml_backend_buft_get_alloc_size(buft, x), align);
        }
    }
    need += align;
    if (!t->buf_c || ggml_backend_buffer_get_size(t->buf_c) < need) {
        if (t->buf_c) {
            ggml_backend_buffer_free(t->buf_c);
        }
        t->buf_c = ggml_backend_buft_alloc_buffer(buft, need + need / 8);
        if (!t->buf_c) {
            return false;
        }
    }
    struct ggml_tallocr ta = ggml_tallocr_new(t->buf_c);
    for (struct ggml_tensor *x = ggml_get_first_tensor(ctx); x; x = ggml_get_next_tensor(ctx, x)) {
        enum ggml_status st = GGML_STATUS_SUCCESS;
        if (x->data == NULL && x->view_src == NULL) {
            st = ggml_tallocr_alloc(&ta, x);
        } else if (x->view_src != NULL && x->buffer == NULL) {
            st = ggml_backend_view_init(x);
        }
        if (st != GGML_STATUS_SUCCESS) {
            return false;
        }
    }
    return true;
}

// splitmix64, for dropout masks: fast, and reproducible from the seed.
static uint64_t next_rand(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

int32_t tl_train_batch(tl_trainer *t, int32_t n_seq, int32_t n_tok, const int32_t *tokens,
                       const int32_t *pos, const int32_t *seg, const int32_t *targets,
                       float loss_scale, bool backward, float dropout, uint64_t seed,
                       float *loss_out, float *logits_out, char *err, size_t errlen) {
    const int64_t B = n_seq, T = n_tok, N = B * T, V = t->p.n_vocab;
    int64_t M = 0;
    for (int64_t i = 0; i < N; i++) {
        if (tokens[i] < 0 || tokens[i] >= V || targets[i] >= V || pos[i] < 0) {
            set_err(err, errlen, "token id or position out of range");
            return -1;
        }
        M += targets[i] >= 0;
    }
    if (M == 0) {
        set_err(err, errlen, "the batch has no target tokens");
        return -1;
    }
    const bool use_dropout = backward && dropout > 0.0f && t->p.lora_rank > 0;
    struct ggml_init_params ip = {t->meta_size, t->meta, true};
    struct ggml_context *ctx = ggml_init(ip);
    tl_inputs in = {0};
    struct ggml_tensor *logits_all = NULL;
    struct ggml_tensor *loss =
        build(ctx, t, &in, B, T, M, use_dropout, logits_out != NULL, &logits_all);
    loss = ggml_scale(ctx, loss, loss_scale);
    ggml_set_output(loss);
    ggml_set_loss(loss);

    struct ggml_cgraph *gf = ggml_new_graph_custom(ctx, t->graph_size, backward);
    ggml_build_forward_expand(gf, loss);
    if (backward) {
        const int n_nodes = ggml_graph_n_nodes(gf);
        struct ggml_tensor **accs = calloc(n_nodes, sizeof(*accs));
        for (int i = 0; i < n_nodes; i++) {
            struct ggml_tensor *node = ggml_graph_node(gf, i);
            if (node == loss) {
                accs[i] = t->loss_grad;
            }
            for (int32_t k = 0; k < t->n_params; k++) {
                if (t->params[k] == node) {
                    accs[i] = t->grads[k];
                }
            }
        }
        ggml_build_backward_expand(ctx, gf, accs);
        free(accs);
        if (t->n_frozen > 0) {
            if (t->frozen_stale) {
                refresh_transposes(t);
            }
            fast_input_grads(t, gf);
            gf = fast_outer_grads(t, ctx, gf);
        }
    }
    t->n_out_prods = count_out_prods(gf);
    if (!alloc_all(t, ctx)) {
        ggml_free(ctx);
        set_err(err, errlen, "out of memory allocating the training graph");
        return -1;
    }

    // Inputs.
    ggml_backend_tensor_set(in.tokens, tokens, 0, N * sizeof(int32_t));
    ggml_backend_tensor_set(in.pos, pos, 0, N * sizeof(int32_t));
    float *mask = (float *)in.mask->data;
    for (int64_t b = 0; b < B; b++) {
        const int32_t *sg = seg + b * T;
        for (int64_t q = 0; q < T; q++) {
            float *row = mask + (b * T + q) * T;
            for (int64_t k = 0; k < T; k++) {
                row[k] = (k <= q && sg[k] == sg[q]) ? 0.0f : -INFINITY;
            }
        }
    }
    int32_t *rows = (int32_t *)in.rows->data;
    float *labels = (float *)in.labels->data;
    memset(labels, 0, ggml_nbytes(in.labels));
    for (int64_t i = 0, m = 0; i < N; i++) {
        if (targets[i] >= 0) {
            rows[m] = (int32_t)i;
            labels[m * V + targets[i]] = 1.0f;
            m++;
        }
    }
    uint64_t rs = seed;
    const float keep = 1.0f / (1.0f - dropout);
    for (int d = 0; d < in.n_drops; d++) {
        float *m = (float *)in.drops[d]->data;
        const int64_t n = ggml_nelements(in.drops[d]);
        const uint64_t threshold = (uint64_t)((double)dropout * 18446744073709551615.0);
        for (int64_t i = 0; i < n; i++) {
            m[i] = next_rand(&rs) < threshold ? 0.0f : keep;
        }
    }

    enum ggml_status st = ggml_backend_graph_compute(t->backend, gf);
    if (st != GGML_STATUS_SUCCESS) {
        ggml_free(ctx);
        set_err(err, errlen, "ggml could not compute the training graph");
        return -1;
    }
    ggml_backend_tensor_get(loss, loss_out, 0, sizeof(float));
    if (logits_out) {
        ggml_backend_tensor_get(logits_all, logits_out, 0, ggml_nbytes(logits_all));
    }
    ggml_free(ctx);
    return 0;
}

void tl_train_opt_step(tl_trainer *t, float lr, float beta1, float beta2, float eps, float wd,
                       int64_t iter) {
    const float b1h = 1.0f / (1.0f - powf(beta1, (float)iter));
    const float b2h = 1.0f / (1.0f - powf(beta2, (float)iter));
    const float dec[7] = {lr, beta1, beta2, eps, wd, b1h, b2h};
    const float nodec[7] = {lr, beta1, beta2, eps, 0.0f, b1h, b2h};
    ggml_backend_tensor_set(t->opt_decay, dec, 0, sizeof(dec));
    ggml_backend_tensor_set(t->opt_nodecay, nodec, 0, sizeof(nodec));

    // Each step reads four leaves (weight, gradient, two moments) and adds
    // one node per trainable tensor.
    const int size = 64 + 6 * t->n_params;
    struct ggml_init_params ip = {(size_t)size * ggml_tensor_overhead() + ggml_graph_overhead_custom(size, false),
                                  NULL, true};
    struct ggml_context *ctx = ggml_init(ip);
    struct ggml_cgraph *g = ggml_new_graph_custom(ctx, size, false);
    for (int32_t k = 0; k < t->n_params; k++) {
        struct ggml_tensor *w = t->params[k];
        struct ggml_tensor *opt = ggml_n_dims(w) >= 2 ? t->opt_decay : t->opt_nodecay;
        ggml_build_forward_expand(g, ggml_opt_step_adamw(ctx, w, t->grads[k], t->ms[k], t->vs[k], opt));
    }
    ggml_backend_graph_compute(t->backend, g);
    ggml_free(ctx);
}

void tl_train_zero_grad(tl_trainer *t) { ggml_backend_buffer_clear(t->buf_g, 0); }

double tl_train_grad_norm(const tl_trainer *t) {
    double s = 0;
    for (int32_t k = 0; k < t->n_params; k++) {
        const float *g = (const float *)t->grads[k]->data;
        const int64_t n = ggml_nelements(t->grads[k]);
        for (int64_t i = 0; i < n; i++) {
            s += (double)g[i] * g[i];
        }
    }
    return sqrt(s);
}

void tl_train_scale_grad(tl_trainer *t, float s) {
    for (int32_t k = 0; k < t->n_params; k++) {
        float *g = (float *)t->grads[k]->data;
        const int64_t n = ggml_nelements(t->grads[k]);
        for (int64_t i = 0; i < n; i++) {
            g[i] *= s;
        }
    }
}
