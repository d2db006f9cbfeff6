#!/usr/bin/env python3
"""Independent PyTorch reference for tunelab's LoRA training graph.

The Go/ggml trainer in internal/engine builds its LLaMA forward and backward
passes by hand; this script computes the same loss, logits and LoRA gradients
from the maths alone, in float64, so the Go test has something to be checked
against that shares no code with it.

Usage: python3 ref.py MODEL.gguf ADAPTER.gguf BATCH.json OUT.json
"""
import json
import math
import struct
import sys

import torch
import torch.nn.functional as F

# GGUF value types with a fixed-size encoding; 8 (string) and 9 (array) are handled apart.
SCALARS = {0: '<B', 1: '<b', 2: '<H', 3: '<h', 4: '<I', 5: '<i', 6: '<f', 7: '<?',
           10: '<Q', 11: '<q', 12: '<d'}
# ggml tensor types we can read; the test models are F32, F16 costs nothing to add.
DTYPES = {0: (torch.float32, 4), 1: (torch.float16, 2)}
LAYER_MATRICES = ('attn_q', 'attn_k', 'attn_v', 'attn_output', 'ffn_gate', 'ffn_up', 'ffn_down')


class Reader:
    def __init__(self, path, buf):
        self.path, self.buf, self.pos = path, buf, 0

    def take(self, fmt):
        try:
            (v,) = struct.unpack_from(fmt, self.buf, self.pos)
        except struct.error:
            raise ValueError(f'{self.path}: truncated at byte {self.pos}') from None
        self.pos += struct.calcsize(fmt)
        return v

    def string(self):
        n = self.take('<Q')
        if self.pos + n > len(self.buf):
            raise ValueError(f'{self.path}: string of {n} bytes at byte {self.pos} runs past the end')
        s = self.buf[self.pos:self.pos + n].decode('utf-8')
        self.pos += n
        return s

    def value(self, typ):
        if typ in SCALARS:
            return self.take(SCALARS[typ])
        if typ == 8:
            return self.string()
        if typ == 9:
            sub, n = self.take('<I'), self.take('<Q')
            return [self.value(sub) for _ in range(n)]
        raise ValueError(f'{self.path}: unknown GGUF value type {typ} before byte {self.pos}')


def read_gguf(path):
    """Returns (kv, tensors); tensors are float64, shaped row-major (ggml dims reversed)."""
    with open(path, 'rb') as f:
        buf = f.read()
    if buf[:4] != b'GGUF':
        raise ValueError(f'{path}: not a GGUF file (magic {buf[:4]!r})')
    r = Reader(path, buf)
    r.pos = 4
    version = r.take('<I')
    if version != 3:
        raise ValueError(f'{path}: GGUF version {version}; this reader knows version 3')
    n_tensors, n_kv = r.take('<Q'), r.take('<Q')
    kv = {}
    for _ in range(n_kv):
        key = r.string()
        kv[key] = r.value(r.take('<I'))
    infos = []
    for _ in range(n_tensors):
        name = r.string()
        dims = [r.take('<Q') for _ in range(r.take('<I'))]
        infos.append((name, dims, r.take('<I'), r.take('<Q')))
    align = kv.get('general.alignment', 32)
    start = (r.pos + align - 1) // align * align
    tensors = {}
    for name, dims, typ, off in infos:
        if typ not in DTYPES:
            raise ValueError(f'{path}: tensor {name} has ggml type {typ}; only F32 (0) and F16 (1) are read')
        dtype, size = DTYPES[typ]
        lo = start + off
        hi = lo + math.prod(dims) * size
        if hi > len(buf):
            raise ValueError(f'{path}: tensor {name} ends at byte {hi}, past the end of the file ({len(buf)})')
        flat = torch.frombuffer(bytearray(buf[lo:hi]), dtype=dtype)
        tensors[name] = flat.to(torch.float64).reshape(tuple(reversed(dims)))
    return kv, tensors


def load_adapter(path, weights):
    """Returns {target weight name: (A, B, alpha/r)} with A and B as float64 leaves needing grads."""
    kv, ts = read_gguf(path)
    if 'adapter.lora.alpha' not in kv:
        raise ValueError(f'{path}: missing KV adapter.lora.alpha')
    alpha = float(kv['adapter.lora.alpha'])
    lora = {}
    for name in ts:
        if not name.endswith('.lora_a'):
            if not name.endswith('.lora_b'):
                raise ValueError(f'{path}: tensor {name} is neither a .lora_a nor a .lora_b')
            continue
        target = name[:-len('.lora_a')]
        if target + '.lora_b' not in ts:
            raise ValueError(f'{path}: {name} has no matching {target}.lora_b')
        parts = target.split('.')
        if len(parts) != 4 or parts[0] != 'blk' or parts[2] not in LAYER_MATRICES or parts[3] != 'weight':
            raise ValueError(f'{path}: {name}: only blk.N.{{{",".join(LAYER_MATRICES)}}}.weight can be adapted')
        if target not in weights:
            raise ValueError(f'{path}: {name} adapts {target}, which the model does not have')
        a, b = ts[name], ts[target + '.lora_b']
        out, inp = weights[target].shape
        rank = a.shape[0]
        if a.shape != (rank, inp) or b.shape != (out, rank):
            raise ValueError(f'{path}: {target}: lora_a {tuple(a.shape)} and lora_b {tuple(b.shape)} '
                             f'do not fit weight (out, in) = {(out, inp)}')
        lora[target] = (a.requires_grad_(), b.requires_grad_(), alpha / rank)
    for name in ts:
        if name.endswith('.lora_b') and name[:-len('.lora_b')] not in lora:
            raise ValueError(f'{path}: {name} has no matching .lora_a')
    return lora


def rmsnorm(x, w, eps):
    return x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps) * w


def rope(x, pos, base):
    """llama.cpp "normal" RoPE: rotates adjacent pairs (2i, 2i+1); x is (B, T, heads, hd)."""
    hd = x.shape[-1]
    freq = base ** (-torch.arange(0, hd, 2, dtype=torch.float64) / hd)
    ang = pos[..., None].to(torch.float64) * freq
    cos, sin = ang.cos()[:, :, None, :], ang.sin()[:, :, None, :]
    a, b = x[..., 0::2], x[..., 1::2]
    return torch.stack((a * cos - b * sin, a * sin + b * cos), dim=-1).flatten(-2)


def hparams(kv):
    need = ['llama.embedding_length', 'llama.block_count', 'llama.attention.head_count',
            'llama.attention.layer_norm_rms_epsilon']
    missing = [k for k in need if k not in kv]
    if missing:
        raise ValueError(f'model: missing KVs {missing}')
    E, n_head = kv['llama.embedding_length'], kv['llama.attention.head_count']
    n_kv = kv.get('llama.attention.head_count_kv', n_head)
    if E % n_head or n_head % n_kv:
        raise ValueError(f'model: {n_head} heads, {n_kv} kv heads and width {E} do not divide evenly')
    if kv.get('llama.rope.dimension_count', E // n_head) != E // n_head:
        raise ValueError('model: llama.rope.dimension_count differs from the head size; partial RoPE is not modelled')
    return dict(E=E, L=kv['llama.block_count'], H=n_head, Hkv=n_kv,
                eps=kv['llama.attention.layer_norm_rms_epsilon'],
                base=kv.get('llama.rope.freq_base', 10000.0))


def batch_tensors(batch, vocab):
    fields = {}
    for key in ('tokens', 'positions', 'segments', 'targets'):
        if key not in batch:
            raise ValueError(f'batch: missing field "{key}"')
        rows = batch[key]
        if not rows or any(len(row) != len(rows[0]) for row in rows):
            raise ValueError(f'batch: "{key}" must be a non-empty list of equal-length rows')
        fields[key] = torch.tensor(rows, dtype=torch.long)
    shape = fields['tokens'].shape
    for key, t in fields.items():
        if t.shape != shape:
            raise ValueError(f'batch: "{key}" is {tuple(t.shape)} but "tokens" is {tuple(shape)}')
    tok, tgt = fields['tokens'], fields['targets']
    if tok.min() < 0 or tok.max() >= vocab:
        raise ValueError(f'batch: a token is outside the vocabulary of {vocab}')
    if tgt.min() < -1 or tgt.max() >= vocab:
        raise ValueError(f'batch: a target is neither -1 nor inside the vocabulary of {vocab}')
    if not (tgt >= 0).any():
        raise ValueError('batch: every target is -1, so there is no loss')
    return tok, fields['positions'], fields['segments'], tgt


def forward(kv, weights, lora, batch):
    """Returns (loss, logits (B, T, V)) as float64 tensors hooked to the LoRA leaves."""
    hp = hparams(kv)
    E, H, Hkv = hp['E'], hp['H'], hp['Hkv']
    hd = E // H
    emb = weights['token_embd.weight']
    tok, pos, seg, tgt = batch_tensors(batch, emb.shape[0])
    nb, T = tok.shape

    def lin(x, name):
        y = x @ weights[name].T
        if name in lora:
            a, b, scale = lora[name]
            y = y + scale * ((x @ a.T) @ b.T)
        return y

    causal = torch.ones(T, T, dtype=torch.bool).tril()
    visible = causal & (seg[:, :, None] == seg[:, None, :])  # (B, query t, key s)
    x = emb[tok]
    for layer in range(hp['L']):
        p = f'blk.{layer}.'
        h = rmsnorm(x, weights[p + 'attn_norm.weight'], hp['eps'])
        q = rope(lin(h, p + 'attn_q.weight').view(nb, T, H, hd), pos, hp['base'])
        k = rope(lin(h, p + 'attn_k.weight').view(nb, T, Hkv, hd), pos, hp['base'])
        v = lin(h, p + 'attn_v.weight').view(nb, T, Hkv, hd)
        # Query head j reads kv head j // (H/Hkv): repeat each kv head H/Hkv times in place.
        k = k.repeat_interleave(H // Hkv, dim=2)
        v = v.repeat_interleave(H // Hkv, dim=2)
        scores = torch.einsum('bthd,bshd->bhts', q, k) / math.sqrt(hd)
        scores = scores.masked_fill(~visible[:, None], float('-inf'))
        o = torch.einsum('bhts,bshd->bthd', scores.softmax(-1), v).reshape(nb, T, E)
        x = x + lin(o, p + 'attn_output.weight')
        h = rmsnorm(x, weights[p + 'ffn_norm.weight'], hp['eps'])
        ff = F.silu(lin(h, p + 'ffn_gate.weight')) * lin(h, p + 'ffn_up.weight')
        x = x + lin(ff, p + 'ffn_down.weight')
    out = 'output.weight' if 'output.weight' in weights else 'token_embd.weight'
    logits = lin(rmsnorm(x, weights['output_norm.weight'], hp['eps']), out)
    loss = F.cross_entropy(logits.reshape(nb * T, -1), tgt.reshape(-1), ignore_index=-1)
    return loss, logits


def run(model_path, adapter_path, batch):
    """Loads both files, runs forward and backward; returns (loss, logits, {lora tensor name: grad})."""
    kv, weights = read_gguf(model_path)
    if kv.get('general.architecture', 'llama') != 'llama':
        raise ValueError(f'{model_path}: architecture {kv["general.architecture"]!r}, want "llama"')
    lora = load_adapter(adapter_path, weights)
    loss, logits = forward(kv, weights, lora, batch)
    loss.backward()
    grads = {}
    for target, (a, b, _) in lora.items():
        grads[target + '.lora_a'] = a.grad
        grads[target + '.lora_b'] = b.grad
    return loss.detach(), logits.detach(), grads


def main(argv):
    if len(argv) != 5:
        sys.stderr.write('usage: ref.py MODEL.gguf ADAPTER.gguf BATCH.json OUT.json\n')
        return 2
    try:
        with open(argv[3]) as f:
            batch = json.load(f)
        loss, logits, grads = run(argv[1], argv[2], batch)
    except (OSError, ValueError) as e:
        sys.stderr.write(f'ref.py: {e}\n')
        return 1
    out = {'loss': loss.item(), 'logits': logits.reshape(-1).tolist(),
           'grads': {name: g.reshape(-1).tolist() for name, g in grads.items()}}
    with open(argv[4], 'w') as f:
        json.dump(out, f, allow_nan=False)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
