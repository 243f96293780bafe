// Synthetic ViT checkpoints for the I/O tests: engine weights (initViTWeights, with every tensor
// perturbed so biases and LayerNorms are not trivial) written as timm or transformers files, with the
// renaming spelled out here independently of src/io/vit-naming.ts.

import type { ViTConfig } from '../../src/model/config.js';
import { initViTWeights } from '../../src/model/init.js';
import type { NamedArray } from '../../src/core/weights.js';
import { uniform } from '../../src/reference/random.js';
import { encodeSafetensors } from '../../src/io/safetensors-write.js';

/** D 24, depth 2, 2 heads, 4×4 RGB images in 2×2 patches (4 patches + cls = 5 tokens), 5 classes. */
export const tinyConfig: ViTConfig = {
  dim: 24,
  depth: 2,
  heads: 2,
  mlpRatio: 4,
  classes: 5,
  tokens: 5,
  patchDim: 12,
  pooling: 'cls',
  eps: 1e-6,
};

export function tinyWeights(config: ViTConfig = tinyConfig, seed = 7): Map<string, NamedArray> {
  const w = initViTWeights(config, seed);
  let s = seed * 100;
  for (const t of w.values()) {
    const noise = uniform(t.data.length, ++s, -0.05, 0.05);
    for (let i = 0; i < t.data.length; i++) t.data[i] += noise[i];
  }
  return w;
}

/** q, k, v of every block fused into attn.qkv (weight [3D, D], bias [3D]), as timm stores them. */
export function fuseQkv(w: Map<string, NamedArray>): Map<string, NamedArray> {
  const out = new Map<string, NamedArray>();
  for (const [name, t] of w) {
    const m = /^(blocks\.\d+\.attn\.)q\.(weight|bias)$/.exec(name);
    if (!m) {
      if (!/^blocks\.\d+\.attn\.[kv]\./.test(name)) out.set(name, t);
      continue;
    }
    const [q, k, v] = ['q', 'k', 'v'].map((p) => w.get(`${m[1]}${p}.${m[2]}`)!.data);
    const data = new Float32Array(3 * q!.length);
    [q, k, v].forEach((part, i) => data.set(part!, i * q!.length));
    out.set(`${m[1]}qkv.${m[2]}`, { shape: m[2] === 'weight' ? [3 * t.shape[0]!, t.shape[1]!] : [3 * t.shape[0]!], data });
  }
  return out;
}

/** timm's file: fused qkv, conv patch weight [D, 3, 2, 2]. */
export function timmTensors(w: Map<string, NamedArray>): Map<string, NamedArray> {
  const out = fuseQkv(w);
  const p = w.get('patch_embed.proj.weight')!;
  out.set('patch_embed.proj.weight', { shape: [p.shape[0], 3, 2, 2], data: p.data });
  return out;
}

/** transformers' ViTForImageClassification file. */
export function hfTensors(w: Map<string, NamedArray>, depth: number): Map<string, NamedArray> {
  const out = new Map<string, NamedArray>();
  const put = (to: string, from: string, shape?: number[]) => {
    const t = w.get(from)!;
    out.set(to, { shape: shape ?? [...t.shape], data: t.data });
  };
  const D = w.get('norm.weight')!.shape[0];
  put('vit.embeddings.cls_token', 'cls_token');
  put('vit.embeddings.position_embeddings', 'pos_embed');
  put('vit.embeddings.patch_embeddings.projection.weight', 'patch_embed.proj.weight', [D, 3, 2, 2]);
  put('vit.embeddings.patch_embeddings.projection.bias', 'patch_embed.proj.bias');
  for (let n = 0; n < depth; n++) {
    const [b, l] = [`blocks.${n}.`, `vit.encoder.layer.${n}.`];
    for (const p of ['weight', 'bias']) {
      put(`${l}layernorm_before.${p}`, `${b}norm1.${p}`);
      put(`${l}attention.attention.query.${p}`, `${b}attn.q.${p}`);
      put(`${l}attention.attention.key.${p}`, `${b}attn.k.${p}`);
      put(`${l}attention.attention.value.${p}`, `${b}attn.v.${p}`);
      put(`${l}attention.output.dense.${p}`, `${b}attn.proj.${p}`);
      put(`${l}layernorm_after.${p}`, `${b}norm2.${p}`);
      put(`${l}intermediate.dense.${p}`, `${b}mlp.fc1.${p}`);
      put(`${l}output.dense.${p}`, `${b}mlp.fc2.${p}`);
    }
  }
  put('vit.layernorm.weight', 'norm.weight');
  put('vit.layernorm.bias', 'norm.bias');
  put('classifier.weight', 'head.weight');
  put('classifier.bias', 'head.bias');
  return out;
}

export const timmConfigJson = {
  architecture: 'vit_tiny_test',
  embed_dim: 24,
  depth: 2,
  num_heads: 2,
  mlp_ratio: 4,
  img_size: 4,
  patch_size: 2,
  in_chans: 3,
  num_classes: 5,
  global_pool: 'token',
};
export const hfConfigJson = {
  model_type: 'vit',
  architectures: ['ViTForImageClassification'],
  hidden_size: 24,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  intermediate_size: 96,
  hidden_act: 'gelu',
  image_size: 4,
  patch_size: 2,
  num_channels: 3,
  layer_norm_eps: 1e-6,
  qkv_bias: true,
  id2label: { 0: 'a', 1: 'b', 2: 'c', 3: 'd', 4: 'e' },
  label2id: { a: 0, b: 1, c: 2, d: 3, e: 4 },
};

/** A folder's files: model.safetensors and config.json (omitted when null). */
export function checkpointFiles(tensors: Map<string, NamedArray>, config: object | null): Record<string, Uint8Array> {
  const files: Record<string, Uint8Array> = { 'model.safetensors': encodeSafetensors(tensors, { format: 'pt' }) };
  if (config) files['config.json'] = new TextEncoder().encode(JSON.stringify(config));
  return files;
}
