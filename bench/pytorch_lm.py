#!/usr/bin/env python3
"""PyTorch reference for bench/lm.mjs: one training step of a LLaMA-family decoder at SmolLM2-135M's shape
(hidden 576, 30 layers, 9 query heads and 3 key/value heads of 64, SwiGLU MLP 1536, vocabulary 49152, tied
head, RoPE theta 1e5, RMSNorm eps 1e-5), random weights, float32, written out by hand (no transformers):

  h0 = embed[ids];  per layer:  x = x + o(attn(rope(q(n1)), rope(k(n1)), v(n1)))   n1 = RMSNorm(x)
                                x = x + down(silu(gate(n2)) * up(n2))                 n2 = RMSNorm(x)
  logits = RMSNorm(h_L) @ embed^T;  loss = cross-entropy of logits[b, t] against ids[b, t + 1]
  attn: causal softmax(q k^T / sqrt(64)) v, each key/value head shared by 3 query heads (repeat_kv);
  rope: x * cos + rotate_half(x) * sin, rotate_half(x) = cat(-x[..., 32:], x[..., :32]), frequencies
        theta^(-2i/64) for i < 32, each used twice (cat(freqs, freqs)), as transformers' LlamaRotaryEmbedding.

Every projection (q, k, v, o, gate, up, down) gets a trainable branch beside its frozen weight, y = x W0^T + branch(x):
SNELL-8 (bench/pytorch.py's Snell: the authors' kernelized merge with cdist over H = 2 heads, torch.quantile
selection at s = 0.9, W*|W| kept) or LoRA-8 ((x A) B). Only the branches train (AdamW, lr 1e-3, weight decay 1e-4),
as PEFT trains a causal LM; the last position of each sequence has no next token and is ignored (-100).

Prints ONE JSON object on stdout: {"facts": ..., "train": {"snell": {ms, tokens_per_s, steps, trainable_params}, ...}}.

  python3 bench/pytorch_lm.py [--seq 256] [--batch 4] [--layers 30] [--steps 3] [--methods snell,lora]
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from pytorch import Lora, Snell, facts, median_time  # noqa: E402


def option(name, fallback):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else fallback


SEQ = int(option('--seq', '256'))
BATCH = int(option('--batch', '4'))
LAYERS = int(option('--layers', '30'))
STEPS = int(option('--steps', '3'))
METHODS = option('--methods', 'snell,lora').split(',')
HIDDEN, HEADS, KV_HEADS, HEAD_DIM, INTERMEDIATE, VOCAB = 576, 9, 3, 64, 1536, 49152
THETA, EPS, RANK, SPARSITY = 100000.0, 1e-5, 8, 0.9
torch.set_num_threads(os.cpu_count() or 1)
torch.manual_seed(0)


class RMSNorm(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + EPS) * self.weight


class Projection(nn.Module):
    """A frozen bias-free nn.Linear (weight [out, in]) with its trainable branch beside it."""

    def __init__(self, n, m, method):
        super().__init__()
        self.base = nn.Linear(n, m, bias=False)
        self.branch = Snell(n, m, RANK, heads=2, sparsity=SPARSITY) if method == 'snell' else Lora(n, m, RANK)

    def forward(self, x):
        return self.base(x) + self.branch(x)


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class Layer(nn.Module):
    def __init__(self, method):
        super().__init__()
        q, kv = HEADS * HEAD_DIM, KV_HEADS * HEAD_DIM
        self.input_layernorm, self.post_attention_layernorm = RMSNorm(HIDDEN), RMSNorm(HIDDEN)
        self.q_proj, self.k_proj, self.v_proj = Projection(HIDDEN, q, method), Projection(HIDDEN, kv, method), Projection(HIDDEN, kv, method)
        self.o_proj = Projection(q, HIDDEN, method)
        self.gate_proj, self.up_proj = Projection(HIDDEN, INTERMEDIATE, method), Projection(HIDDEN, INTERMEDIATE, method)
        self.down_proj = Projection(INTERMEDIATE, HIDDEN, method)

    def attention(self, x, cos, sin, causal):
        B, T, _ = x.shape
        heads = lambda t, n: t.view(B, T, n, HEAD_DIM).transpose(1, 2)  # [B, n, T, D]
        q, k, v = heads(self.q_proj(x), HEADS), heads(self.k_proj(x), KV_HEADS), heads(self.v_proj(x), KV_HEADS)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        group = HEADS // KV_HEADS
        k, v = k.repeat_interleave(group, dim=1), v.repeat_interleave(group, dim=1)
        scores = (q @ k.transpose(-2, -1)) * HEAD_DIM ** -0.5
        probs = scores.masked_fill(causal, float('-inf')).softmax(dim=-1)
        return self.o_proj((probs @ v).transpose(1, 2).reshape(B, T, HEADS * HEAD_DIM))

    def forward(self, x, cos, sin, causal):
        x = x + self.attention(self.input_layernorm(x), cos, sin, causal)
        n = self.post_attention_layernorm(x)
        return x + self.down_proj(F.silu(self.gate_proj(n)) * self.up_proj(n))


class DecoderLM(nn.Module):
    def __init__(self, method):
        super().__init__()
        self.embed_tokens = nn.Embedding(VOCAB, HIDDEN)
        self.layers = nn.ModuleList(Layer(method) for _ in range(LAYERS))
        self.norm = RMSNorm(HIDDEN)
        inv_freq = THETA ** (-torch.arange(0, HEAD_DIM, 2, dtype=torch.float32) / HEAD_DIM)
        freqs = torch.outer(torch.arange(SEQ, dtype=torch.float32), inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)  # [T, D]
        self.register_buffer('cos', emb.cos())
        self.register_buffer('sin', emb.sin())
        self.register_buffer('causal', torch.ones(SEQ, SEQ, dtype=torch.bool).triu(1))

    def forward(self, ids):
        T = ids.shape[1]
        x = self.embed_tokens(ids)
        cos, sin, causal = self.cos[:T], self.sin[:T], self.causal[:T, :T]
        for layer in self.layers:
            x = layer(x, cos, sin, causal)
        return F.linear(self.norm(x), self.embed_tokens.weight)  # tied head


def bench_step(method):
    model = DecoderLM(method)
    trainable = []
    for name, p in model.named_parameters():
        train = '.branch.' in name
        p.requires_grad_(train)
        if train:
            trainable.append(p)
    opt = torch.optim.AdamW(trainable, lr=1e-3, weight_decay=1e-4)
    ids = torch.randint(0, VOCAB, (BATCH, SEQ))
    labels = torch.cat((ids[:, 1:], torch.full((BATCH, 1), -100)), dim=1)

    def step():
        opt.zero_grad(set_to_none=True)
        logits = model(ids)
        loss = F.cross_entropy(logits.view(-1, VOCAB), labels.view(-1), ignore_index=-100)
        loss.backward()
        opt.step()

    t = median_time(step, STEPS)
    return {'ms': t * 1e3, 'tokens_per_s': BATCH * SEQ / t, 'steps': STEPS,
            'trainable_params': sum(p.numel() for p in trainable)}


if __name__ == '__main__':
    result = {'facts': facts(), 'shape': {'seq': SEQ, 'batch': BATCH, 'layers': LAYERS}, 'train': {}}
    for method in METHODS:
        t0 = time.perf_counter()
        result['train'][method] = bench_step(method)
        print(f'pytorch: {method} step {result["train"][method]["ms"]:.0f} ms (run {time.perf_counter() - t0:.0f} s)', file=sys.stderr)
    print(json.dumps(result))
