#!/usr/bin/env python3
"""PyTorch side of bench/train: one LoRA training step on a 135M-shaped Llama.

The model is written out here in plain PyTorch (no transformers), with the
shape of gguf.Bench135M(): vocabulary 49152, hidden 576, 30 layers, 9 query
heads sharing 3 key/value heads, SwiGLU feed-forward of 1536, RMSNorm, RoPE
and an output layer tied to the embeddings. The base weights are random and
frozen; a rank-16 LoRA (alpha 32) on q, k, v, o, gate, up and down is the
only thing trained, with AdamW, on the same batch bench/train/main.go uses.
It prints the same JSON fields as main.go so run.sh can put them side by side.

Usage: /usr/bin/python3 torch_step.py [-rows 1] [-steps 5] [-threads N]
"""
import argparse
import json
import math
import os
import time

import torch
import torch.nn.functional as F

VOCAB, DIM, LAYERS, HEADS, KV_HEADS, FF = 49152, 576, 30, 9, 3, 1536
NORM_EPS, ROPE_BASE = 1e-5, 10000.0
SEQ_LEN, RANK, ALPHA, WARMUPS = 128, 16, 32, 2
HEAD_DIM = DIM // HEADS
KV_DIM = HEAD_DIM * KV_HEADS


def frozen(*shape, std=0.02):
    return torch.randn(*shape) * std


class LoRALinear:
    """A frozen weight plus a trainable low-rank update scaled by alpha/rank."""

    def __init__(self, n_in, n_out):
        self.w = frozen(n_out, n_in)
        bound = 1 / math.sqrt(n_in)  # the Kaiming-uniform bound PEFT uses
        self.a = ((torch.rand(RANK, n_in) * 2 - 1) * bound).requires_grad_()
        self.b = torch.zeros(n_out, RANK, requires_grad=True)
        self.scale = ALPHA / RANK

    def __call__(self, x):
        return F.linear(x, self.w) + F.linear(F.linear(x, self.a), self.b) * self.scale

    def params(self):
        return [self.a, self.b]


def rms_norm(x, w):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + NORM_EPS) * w


def rope_tables(n):
    inv = ROPE_BASE ** (-torch.arange(0, HEAD_DIM, 2, dtype=torch.float32) / HEAD_DIM)
    ang = torch.outer(torch.arange(n, dtype=torch.float32), inv)  # n x HEAD_DIM/2
    return ang.cos(), ang.sin()


def rope(x, cos, sin):
    # Rotates adjacent pairs (x0, x1), (x2, x3), ... as llama.cpp's "normal" RoPE does.
    x0, x1 = x[..., 0::2], x[..., 1::2]
    return torch.stack((x0 * cos - x1 * sin, x0 * sin + x1 * cos), dim=-1).flatten(-2)


class Block:
    def __init__(self):
        self.attn_norm = torch.ones(DIM)
        self.ffn_norm = torch.ones(DIM)
        self.q, self.k, self.v = LoRALinear(DIM, DIM), LoRALinear(DIM, KV_DIM), LoRALinear(DIM, KV_DIM)
        self.o = LoRALinear(DIM, DIM)
        self.gate, self.up, self.down = LoRALinear(DIM, FF), LoRALinear(DIM, FF), LoRALinear(FF, DIM)

    def __call__(self, x, cos, sin, mask):
        rows, n, _ = x.shape
        h = rms_norm(x, self.attn_norm)
        q = self.q(h).view(rows, n, HEADS, HEAD_DIM).transpose(1, 2)
        k = self.k(h).view(rows, n, KV_HEADS, HEAD_DIM).transpose(1, 2)
        v = self.v(h).view(rows, n, KV_HEADS, HEAD_DIM).transpose(1, 2)
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        group = HEADS // KV_HEADS
        k, v = k.repeat_interleave(group, dim=1), v.repeat_interleave(group, dim=1)
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(HEAD_DIM) + mask
        att = scores.softmax(-1) @ v
        x = x + self.o(att.transpose(1, 2).reshape(rows, n, DIM))
        h = rms_norm(x, self.ffn_norm)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))

    def params(self):
        return [p for m in (self.q, self.k, self.v, self.o, self.gate, self.up, self.down) for p in m.params()]


class Model:
    def __init__(self):
        self.embd = frozen(VOCAB, DIM)
        self.blocks = [Block() for _ in range(LAYERS)]
        self.out_norm = torch.ones(DIM)
        cos, sin = rope_tables(SEQ_LEN)
        self.cos, self.sin = cos, sin
        self.mask = torch.full((SEQ_LEN, SEQ_LEN), float('-inf')).triu(1)

    def loss(self, tokens, targets):
        x = F.embedding(tokens, self.embd)
        for b in self.blocks:
            x = b(x, self.cos, self.sin, self.mask)
        logits = F.linear(rms_norm(x, self.out_norm), self.embd)  # tied output layer
        return F.cross_entropy(logits.view(-1, VOCAB), targets.view(-1))

    def params(self):
        return [p for b in self.blocks for p in b.params()]


def make_batch(rows):
    """The tokens main.go's makeBatch builds, by the same formula."""
    def tok(r, i):
        return (r * 1009 + i * 7919 + 13) % VOCAB
    tokens = [[tok(r, i) for i in range(SEQ_LEN)] for r in range(rows)]
    targets = [[tok(r, i + 1) for i in range(SEQ_LEN)] for r in range(rows)]
    return torch.tensor(tokens), torch.tensor(targets)


def step_flops(rows, t, r):
    """Matrix-multiply FLOPs of one step, counted as main.go's stepFLOPs counts them."""
    mats = [(DIM, DIM, True), (DIM, KV_DIM, True), (DIM, KV_DIM, True), (DIM, DIM, False),
            (DIM, FF, False), (DIM, FF, False), (FF, DIM, False)]
    total = 0.0
    for layer in range(LAYERS):
        for n_in, n_out, block_input in mats:
            total += 2 * n_in * n_out * t + 2 * r * (n_in + n_out) * t
            total += 2 * r * n_out * t * 2 + 2 * n_in * r * t
            if not (layer == 0 and block_input):
                total += 2 * n_in * n_out * t + 2 * n_in * r * t
        total += 12 * DIM * (t * (t + 1) / 2)
    total += 2 * VOCAB * DIM * t * 2
    return total * rows


def blas_library():
    """The BLAS this process actually loaded: Debian's python3-torch takes
    whatever libblas.so.3 resolves to, and that decides its speed."""
    with open('/proc/self/maps') as f:
        libs = {line.split()[-1] for line in f if 'blas' in line.lower() and '/' in line}
    return ', '.join(sorted(os.path.basename(p) for p in libs)) or 'none found'


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('-rows', type=int, default=1)
    ap.add_argument('-steps', type=int, default=5)
    ap.add_argument('-threads', type=int, default=os.cpu_count())
    args = ap.parse_args()
    if args.rows < 1 or args.steps < 1 or args.threads < 1:
        ap.error('want -rows >= 1, -steps >= 1 and -threads >= 1')
    torch.set_num_threads(args.threads)
    torch.manual_seed(7)

    setup = time.perf_counter()
    model = Model()
    params = model.params()
    opt = torch.optim.AdamW(params, lr=1e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01, foreach=True)
    tokens, targets = make_batch(args.rows)
    setup_s = time.perf_counter() - setup

    opt_time = [0.0]

    def step():
        loss = model.loss(tokens, targets)
        loss.backward()
        start = time.perf_counter()
        opt.step()
        opt.zero_grad(set_to_none=True)
        opt_time[0] += time.perf_counter() - start
        return loss.item()

    for _ in range(WARMUPS):
        step()
    times, losses = [], []
    opt_time[0] = 0.0
    for _ in range(args.steps):
        start = time.perf_counter()
        losses.append(step())
        times.append(time.perf_counter() - start)
    with torch.no_grad():
        start = time.perf_counter()
        for _ in range(args.steps):
            model.loss(tokens, targets)
        forward_s = (time.perf_counter() - start) / args.steps

    per_step = sum(times) / len(times)
    tokens_per_step = args.rows * SEQ_LEN
    gflop = step_flops(args.rows, SEQ_LEN, RANK) / 1e9
    print(json.dumps({
        'impl': 'pytorch', 'optimizer': 'torch.optim.AdamW', 'torch': torch.__version__, 'blas': blas_library(),
        'threads': torch.get_num_threads(), 'rows': args.rows, 'seq_len': SEQ_LEN,
        'tokens_per_step': tokens_per_step, 'steps': args.steps,
        'seconds_per_step': per_step, 'median_step_seconds': sorted(times)[len(times) // 2],
        'tokens_per_s': tokens_per_step / per_step, 'gflop_per_step': gflop,
        'gflop_per_s': gflop / per_step, 'forward_seconds': forward_s,
        'optimizer_seconds': opt_time[0] / args.steps,
        'loss_first': losses[0], 'loss_last': losses[-1], 'step_seconds': times,
        'setup_seconds': setup_s,
    }))


if __name__ == '__main__':
    main()
