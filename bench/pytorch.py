#!/usr/bin/env python3
"""PyTorch reference numbers for snell-js's benchmarks, on the CPU or on CUDA (never needed by the package or
its tests).

Prints ONE JSON object on stdout:
  matmul      GFLOP/s of float32 a@b at 1024^3 and at the ViT-B/16 shapes (1576x768x768, 1576x768x3072),
              and at 4096^3 on CUDA (the card's float32 ceiling; TF32 stays off, as PyTorch's default)
  adapter     median forward+backward of one SNELL adapter at 768x768 and 768x3072, r = 16, H = 2, s = 0.9,
              1576 rows: the authors' formulation through autograd (ms), and a hand-written one (handwritten_ms):
              the same math with its backward written out, W formed once, the threshold from torch.kthvalue
  train       median training step and images/s per model (tiny, base) and method (snell, lora, full)
  facts       torch version, device, threads, BLAS/OpenMP configuration

The SNELL module follows ssfgunner/SNELL (model/vision_transformer_timm.py, class SNELL): W = sum_h c_h *
torch.cdist(In_Qs, Out_Qs)[h]; thres = torch.quantile(|W|.detach(), s); Ws = W * F.threshold(|W|.detach(), thres, 0)
(= W*|W|*[|W| > t], |W| constant); y = F.linear(x, Ws.T); no gradient checkpointing (commented out there).

LoRA-8 is the usual low-rank form, y = (x·A)·B (never materialising A·B); full fine-tuning trains every
parameter and has no branch.

  python3 bench/pytorch.py [--quick] [--device cpu|cuda] [--batch N] [--models tiny,base]
                           [--methods snell,lora,full] [--branch-noise on|off] [matmul] [adapter] [train]
  --branch-noise off sets the branches' dropout and DropPath to 0 (default on: 0.1 each).
  bench/compare.mjs runs it twice for its CPU section: everything with --branch-noise on, then
  `train --methods snell,lora --branch-noise off`. --help prints this text.
"""
import json
import math
import os
import statistics
import sys
import time

if '--help' in sys.argv or '-h' in sys.argv:
    print(__doc__)
    sys.exit(0)

import torch
import torch.nn as nn
import torch.nn.functional as F



def option(name, fallback):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else fallback


QUICK = '--quick' in sys.argv
DEVICE = torch.device(option('--device', 'cpu'))
CUDA = DEVICE.type == 'cuda'
BATCH = int(option('--batch', '8'))
MODELS = option('--models', 'tiny,base').split(',')
METHODS = option('--methods', 'snell,lora,full').split(',')
BRANCH_NOISE = 0.1 if option('--branch-noise', 'on') == 'on' else 0.0
torch.set_num_threads(os.cpu_count() or 1)
torch.manual_seed(0)
DT = torch.float32


def sync():
    if CUDA:
        torch.cuda.synchronize()


def median_time(fn, reps, warmup=1):
    for _ in range(warmup):
        fn()
    sync()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


# ---------------------------------------------------------------- a. matmul GFLOP/s
def bench_matmul():
    out = {}
    shapes = [(1024, 1024, 1024), (1576, 768, 768), (1576, 768, 3072)] + ([(4096, 4096, 4096)] if CUDA else [])
    for (m, k, n) in shapes:
        a = torch.randn(m, k, dtype=DT, device=DEVICE)
        b = torch.randn(k, n, dtype=DT, device=DEVICE)
        c = torch.empty(m, n, dtype=DT, device=DEVICE)
        t = median_time(lambda: torch.matmul(a, b, out=c), 3 if QUICK else (50 if CUDA else 10), warmup=2 if not CUDA else 10)
        out[f'{m}x{k}x{n}'] = {'ms': t * 1e3, 'gflops': 2 * m * k * n / t / 1e9}
    return out


# ---------------------------------------------------------------- SNELL module (authors' formulation)
class Snell(nn.Module):
    """ssfgunner/SNELL's SNELL module: kernelized merge with cdist, quantile competition, W*|W| kept."""

    def __init__(self, n, m, rank, heads=2, sparsity=0.9, scale=0.1):
        super().__init__()
        self.In_Qs = nn.Parameter(torch.empty(heads, n, rank // heads))
        self.Out_Qs = nn.Parameter(torch.empty(heads, m, rank // heads))
        self.register_buffer('coeff', scale * torch.tensor([(-1.0) ** h for h in range(heads)]).view(heads, 1, 1))
        nn.init.kaiming_uniform_(self.In_Qs, a=math.sqrt(5))
        nn.init.kaiming_uniform_(self.Out_Qs, a=math.sqrt(5))
        self.sparsity = sparsity

    def weight(self):
        W = torch.sum(self.coeff * torch.cdist(self.In_Qs, self.Out_Qs, p=2), dim=0)  # [n, m]
        if self.sparsity == 0:
            return W
        w_abs = W.detach().abs()
        thres = torch.quantile(w_abs.flatten(), self.sparsity)
        return W * F.threshold(w_abs, float(thres), 0.0)  # W * |W| * [|W| > t]

    def forward(self, x):
        return F.linear(x, self.weight().T)


def quantile_by_kthvalue(a, s):
    """torch.quantile(a, s)'s linear interpolation from one or two order statistics (kthvalue is 1-based)."""
    flat = a.flatten()
    pos = s * (flat.numel() - 1)
    lo = math.floor(pos)
    t = torch.kthvalue(flat, lo + 1).values
    if pos > lo:
        t = t + (pos - lo) * (torch.kthvalue(flat, lo + 2).values - t)
    return t


@torch.no_grad()
def handwritten_step(A, B, coeff, x, dy, s):
    """One SNELL forward + backward written out: returns y, dx, dA, dB (W formed once, kept for backward)."""
    diff_norms = torch.cdist(A, B)  # D[h, i, o] = ||A[h, i] - B[h, o]||
    W = torch.sum(coeff * diff_norms, dim=0)
    a = W.abs()
    keep = a > quantile_by_kthvalue(a, s)
    Ws = W * a * keep
    y = x @ Ws
    dx = dy @ Ws.T
    dW = (x.T @ dy) * a * keep
    # K[h, i, o] = c_h·dW[i, o] / D[h, i, o] (0 at D = 0); dA = A·Σ_o K − K·B, dB = B·Σ_i K − Kᵀ·A
    K = torch.where(diff_norms > 0, coeff * dW / diff_norms, torch.zeros((), dtype=W.dtype, device=W.device))
    dA = A * K.sum(2, keepdim=True) - K @ B
    dB = B * K.sum(1).unsqueeze(2) - K.transpose(1, 2) @ A
    return y, dx, dA, dB


def bench_adapter():
    out = {}
    rows, rank = 1576, 16
    for (n, m) in [(768, 768), (768, 3072)]:
        op = Snell(n, m, rank).to(DEVICE)
        x = torch.rand(rows, n, dtype=DT, device=DEVICE).mul_(2).sub_(1).requires_grad_(True)
        dy = torch.rand(rows, m, dtype=DT, device=DEVICE).mul_(2).sub_(1)

        def step():
            op.In_Qs.grad = op.Out_Qs.grad = x.grad = None
            y = op(x)
            y.backward(dy)

        t = median_time(step, 3 if QUICK else (20 if CUDA else 7))
        A, B = op.In_Qs.detach(), op.Out_Qs.detach()
        th = median_time(lambda: handwritten_step(A, B, op.coeff, x.detach(), dy, op.sparsity), 3 if QUICK else (20 if CUDA else 7))
        # the selection alone (torch.quantile over n*m elements), as our bench reports it
        with torch.no_grad():
            W_abs = torch.sum(op.coeff * torch.cdist(op.In_Qs, op.Out_Qs), dim=0).abs().flatten()
        tq = median_time(lambda: torch.quantile(W_abs, 0.9), 3 if QUICK else (20 if CUDA else 7))
        out[f'{n}x{m}'] = {'ms': t * 1e3, 'handwritten_ms': th * 1e3, 'quantile_ms': tq * 1e3, 'elements': n * m}
    return out


class Lora(nn.Module):
    """Plain LoRA: y = (x·A)·B, A [n, r] Kaiming-uniform, B [r, m] zero, never materialising A·B."""

    def __init__(self, n, m, rank):
        super().__init__()
        self.A = nn.Parameter(torch.empty(n, rank))
        self.B = nn.Parameter(torch.zeros(rank, m))
        nn.init.kaiming_uniform_(self.A, a=math.sqrt(5))

    def forward(self, x):
        return (x @ self.A) @ self.B


# ---------------------------------------------------------------- c. ViT training steps
class DropPath(nn.Module):
    def __init__(self, p):
        super().__init__()
        self.p = p

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        keep = 1 - self.p
        mask = x.new_empty((x.shape[0],) + (1,) * (x.dim() - 1)).bernoulli_(keep)
        return x * mask / keep


class Branch(nn.Module):
    """TuningModule('snell'): DropPath(0.1)(SNELL(x)) (0 with --branch-noise off), or the same around LoRA."""

    def __init__(self, n, m, rank, sparsity, method):
        super().__init__()
        self.op = Snell(n, m, rank, sparsity=sparsity) if method == 'snell' else Lora(n, m, rank)
        self.drop_path = DropPath(BRANCH_NOISE)

    def forward(self, x):
        return self.drop_path(self.op(x))


class NoBranch(nn.Module):
    """Full fine-tuning: no branch (its output is a zero that autograd skips)."""

    def forward(self, x):
        return 0


class Block(nn.Module):
    def __init__(self, d, heads, hidden, rank, sparsity, method):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(d, eps=1e-6)
        self.q, self.k, self.v, self.proj = (nn.Linear(d, d) for _ in range(4))
        self.norm2 = nn.LayerNorm(d, eps=1e-6)
        self.fc1, self.fc2 = nn.Linear(d, hidden), nn.Linear(hidden, d)
        branch = (lambda n, m: NoBranch()) if method == 'full' else (lambda n, m: Branch(n, m, rank, sparsity, method))
        self.a_q, self.a_k, self.a_v, self.a_proj = (branch(d, d) for _ in range(4))
        self.a_fc1, self.a_fc2 = branch(d, hidden), branch(hidden, d)
        self.drop = nn.Dropout(BRANCH_NOISE)  # branch inputs, not on proj

    def attn(self, x):
        B, N, C = x.shape
        xd = self.drop(x)
        split = lambda t: t.reshape(B, N, self.heads, C // self.heads).permute(0, 2, 1, 3)
        q = split(self.q(x) + self.a_q(xd))
        k = split(self.k(x) + self.a_k(xd))
        v = split(self.v(x) + self.a_v(xd))
        a = ((q @ k.transpose(-2, -1)) * (C // self.heads) ** -0.5).softmax(dim=-1)
        o = (a @ v).transpose(1, 2).reshape(B, N, C)
        return self.proj(o) + self.a_proj(o)

    def mlp(self, x):
        h = F.gelu(self.fc1(x) + self.a_fc1(self.drop(x)))  # exact (erf) GELU
        return self.fc2(h) + self.a_fc2(self.drop(h))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class ViT(nn.Module):
    def __init__(self, d, depth, heads, hidden, method, patches=196, patch_dim=768, classes=100, rank=8, sparsity=0.9):
        super().__init__()
        self.patch_embed = nn.Linear(patch_dim, d)  # = Conv2d(3, d, 16, 16) on patches cut beforehand
        self.cls_token = nn.Parameter(torch.randn(1, 1, d) * 0.02)
        self.pos_embed = nn.Parameter(torch.randn(1, patches + 1, d) * 0.02)
        self.blocks = nn.Sequential(*[Block(d, heads, hidden, rank, sparsity, method) for _ in range(depth)])
        self.norm = nn.LayerNorm(d, eps=1e-6)
        self.head = nn.Linear(d, classes)

    def forward(self, patches):
        x = self.patch_embed(patches)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
        x = self.norm(self.blocks(x))
        return self.head(x[:, 0])


SIZES = {'tiny': dict(d=192, depth=12, heads=3, hidden=768), 'base': dict(d=768, depth=12, heads=12, hidden=3072)}


def bench_step(size, method, batch):
    model = ViT(**SIZES[size], method=method).to(DEVICE)
    trainable = []
    for name, p in model.named_parameters():
        train = method == 'full' or '.a_' in name or name.startswith('head') or name == 'cls_token'
        p.requires_grad_(train)
        if train:
            trainable.append(p)
    opt = torch.optim.AdamW(trainable, lr=1e-3, weight_decay=1e-4)
    model.train()
    x = torch.rand(batch, 196, 768, dtype=DT, device=DEVICE) * 2 - 1
    labels = torch.arange(batch, device=DEVICE) % 100

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), labels)
        loss.backward()
        opt.step()

    slow = not CUDA and size == 'base'
    t = median_time(step, 1 if slow else (2 if QUICK else (10 if CUDA else 4)))
    return {'ms': t * 1e3, 'images_per_s': batch / t, 'batch': batch,
            'trainable_params': sum(p.numel() for p in trainable)}


def bench_train():
    out = {}
    for size in MODELS:
        for method in METHODS:
            out[f'{size}-{method}'] = bench_step(size, method, BATCH)
            print(f'pytorch: {size} {method} {out[f"{size}-{method}"]["ms"]:.1f} ms', file=sys.stderr)
    return out


def openblas():
    """The OpenBLAS that torch loaded (Debian's torch calls the system libblas): version, kernel, threads."""
    import ctypes
    try:
        libs = sorted({l.split()[-1] for l in open('/proc/self/maps') if 'openblas' in l.lower() and l.split()[-1].startswith('/')})
    except OSError:
        return None
    for path in libs:
        try:
            lib = ctypes.CDLL(path)
            lib.openblas_get_config.restype = ctypes.c_char_p
            lib.openblas_get_corename.restype = ctypes.c_char_p
            return {'library': path, 'config': lib.openblas_get_config().decode().strip(),
                    'core': lib.openblas_get_corename().decode(), 'threads': lib.openblas_get_num_threads()}
        except (OSError, AttributeError):
            continue
    return None


def facts():
    cfg = torch.__config__.show()
    blas = next((l.strip() for l in cfg.splitlines() if 'BLAS_INFO' in l), '')
    blas = next((part.strip() for part in blas.split(',') if 'BLAS_INFO' in part), blas)
    return {
        'torch': torch.__version__,
        'device': torch.cuda.get_device_name(DEVICE) if CUDA else 'cpu',
        'cuda': torch.version.cuda if CUDA else None,
        'tf32': torch.backends.cuda.matmul.allow_tf32,
        'python': sys.version.split()[0],
        'threads': torch.get_num_threads(),
        'cpu_count': os.cpu_count(),
        'parallel': next((l.strip() for l in torch.__config__.parallel_info().splitlines() if 'parallel backend' in l), ''),
        'blas_info': blas,
        'mkldnn': torch.backends.mkldnn.is_available(),
        'openblas': openblas(),
        'env': {k: os.environ[k] for k in ('OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE', 'OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS') if k in os.environ},
    }


if __name__ == '__main__':
    result = {'facts': facts()}
    flags_with_value = {'--device', '--batch', '--models', '--methods', '--branch-noise'}
    only = [a for i, a in enumerate(sys.argv[1:]) if not a.startswith('--') and sys.argv[i] not in flags_with_value]
    for name, fn in (('matmul', bench_matmul), ('adapter', bench_adapter), ('train', bench_train)):
        if only and name not in only:
            continue
        t0 = time.perf_counter()
        result[name] = fn()
        print(f'pytorch: {name} done in {time.perf_counter() - t0:.1f} s', file=sys.stderr)
    print(json.dumps(result))
