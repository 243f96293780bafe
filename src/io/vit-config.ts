// ViTConfig from a checkpoint's config.json and its tensor shapes, and config.json back from a ViTConfig.
//
// Hugging Face (ViTConfig): hidden_size D, num_hidden_layers, num_attention_heads, intermediate_size,
//   image_size, patch_size, num_channels, layer_norm_eps (default 1e-12), num_labels or id2label,
//   hidden_act (must be exact "gelu"); pooling is the cls token.
// timm: embed_dim (or num_features), depth, num_heads, mlp_ratio, img_size (or pretrained_cfg.input_size
//   [C, H, W]), patch_size, in_chans, num_classes, global_pool ("token" → cls, "avg" → mean); at the top
//   level or under model_args; eps 1e-6.
// What config.json leaves out comes from the shapes: D (norm.weight), depth (blocks.N), MLP width
// (fc1), classes (head), tokens (pos_embed), patch geometry (the conv weight [D, C, p, p]). The
// attention heads are not in any shape: without a config they come from options, else D/64 (timm's
// head width), noted. Every config value is then checked against every tensor's shape.

import type { PoolMode } from '../backend.js';
import type { ViTConfig } from '../model/config.js';
import { CheckpointError } from './errors.js';
import type { CheckpointLayout, Naming } from './vit-naming.js';

type Json = Record<string, unknown>;

export interface ConfigOptions {
  /** Attention heads, where config.json does not say. */
  heads?: number;
  /** Tokens per input, for a trunk without patch embedding (no pos_embed to read them from). */
  tokens?: number;
}

/** What the tensor shapes say, by engine name. */
export type ShapeOf = (engineName: string) => readonly number[] | undefined;

export interface ResolvedConfig {
  config: ViTConfig;
  /** The patch embedding's expected stored shape ([D, C, p, p], or [D, C·p·p] when stored flat). */
  patchShape: number[] | null;
  notes: string[];
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const pair = (v: unknown): [number, number] | undefined => {
  if (num(v) !== undefined) return [v as number, v as number];
  if (Array.isArray(v) && v.length === 2 && v.every((x) => num(x) !== undefined)) return [v[0], v[1]];
  return undefined;
};

/** Is this config.json Hugging Face's? */
export function isHfConfig(json: Json): boolean {
  return 'hidden_size' in json || json.model_type === 'vit';
}

export function resolveConfig(
  json: Json | null,
  shapeOf: ShapeOf,
  depthSeen: number,
  options: ConfigOptions,
  file: string,
): ResolvedConfig {
  const notes: string[] = [];
  const fail = (p: string): never => {
    throw new CheckpointError(file, p);
  };
  const hf = json && isHfConfig(json) ? json : null;
  const timm: Json | null = json && !hf ? { ...(json.model_args as Json | undefined), ...json } : null;
  const conv = shapeOf('patch_embed.proj.weight');
  const D =
    num(hf?.hidden_size) ??
    num(timm?.embed_dim) ??
    num(timm?.num_features) ??
    shapeOf('norm.weight')?.[0] ??
    fail('cannot tell the width D: no norm.weight and no config');
  const depth = num(hf?.num_hidden_layers) ?? num(timm?.depth) ?? depthSeen;
  const hidden =
    num(hf?.intermediate_size) ??
    (num(timm?.mlp_ratio) !== undefined ? num(timm?.mlp_ratio)! * D : undefined) ??
    shapeOf('blocks.0.mlp.fc1.weight')?.[0] ??
    fail('cannot tell the MLP width: no blocks.0.mlp.fc1.weight');
  let heads = num(hf?.num_attention_heads) ?? num(timm?.num_heads) ?? options.heads;
  if (heads === undefined) {
    if (D % 64 !== 0)
      fail(
        `the attention heads are not in the tensor shapes and D = ${D} is not a multiple of 64: pass { heads } or a config.json`,
      );
    heads = D / 64;
    notes.push(`attention heads not given: assumed D/64 = ${heads} (timm's head width 64)`);
  }
  if (hf?.hidden_act !== undefined && hf.hidden_act !== 'gelu')
    fail(`hidden_act "${String(hf.hidden_act)}" is not supported: the engine's GELU is the exact (erf) one, "gelu"`);
  const id2label = hf?.id2label && typeof hf.id2label === 'object' ? Object.keys(hf.id2label as Json).length : undefined;
  const classes = num(hf?.num_labels) ?? id2label ?? num(timm?.num_classes) ?? shapeOf('head.weight')?.[0] ?? 0;

  let patchShape: number[] | null = null;
  let patchDim: number | null = null;
  let tokens = options.tokens ?? shapeOf('pos_embed')?.[1];
  const inputSize = (timm?.pretrained_cfg as Json | undefined)?.input_size;
  const channels =
    num(hf?.num_channels) ??
    num(timm?.in_chans) ??
    (Array.isArray(inputSize) ? num(inputSize[0]) : undefined) ??
    (conv?.length === 4 ? conv[1] : undefined);
  const patch =
    pair(hf?.patch_size ?? timm?.patch_size) ?? (conv?.length === 4 ? ([conv[2], conv[3]] as [number, number]) : undefined);
  const image =
    pair(hf?.image_size ?? timm?.img_size) ??
    (Array.isArray(inputSize) && inputSize.length === 3 ? pair(inputSize.slice(1)) : undefined);
  if (conv) {
    if (channels === undefined || patch === undefined) {
      if (conv.length !== 2) fail(`patch_embed weight has shape [${conv.join(', ')}], neither [D, C, p, p] nor [D, C·p·p]`);
      patchShape = [D, conv[1]];
      patchDim = conv[1];
    } else {
      patchShape = conv.length === 2 ? [D, channels * patch[0] * patch[1]] : [D, channels, patch[0], patch[1]];
      patchDim = channels * patch[0] * patch[1];
    }
    if (image && patch) {
      if (image[0] % patch[0] || image[1] % patch[1])
        fail(`image size ${image.join('×')} is not a multiple of the patch size ${patch.join('×')}`);
      tokens = (image[0] / patch[0]) * (image[1] / patch[1]) + 1;
    }
  }
  if (tokens === undefined) fail('cannot tell the token count: no pos_embed; pass { tokens }');

  let pooling: PoolMode = 'cls';
  const pool = timm?.global_pool;
  if (pool === 'avg') pooling = 'mean';
  else if (pool !== undefined && pool !== 'token') fail(`global_pool "${String(pool)}" is not supported (use "token" or "avg")`);
  if (!conv && pool === undefined) pooling = 'mean';
  const eps = num(hf?.layer_norm_eps) ?? (hf ? 1e-12 : 1e-6);
  if (!Number.isInteger(hidden / D)) fail(`MLP width ${hidden} is not a multiple of D = ${D}`);
  return {
    config: { dim: D, depth, heads, mlpRatio: hidden / D, classes, tokens: tokens!, patchDim, pooling, eps },
    patchShape,
    notes,
  };
}

/** Every tensor the engine needs, by engine name, with its stored shape; `optional` ones may be absent. */
export function expectedShapes(
  c: ViTConfig,
  layout: Pick<CheckpointLayout, 'fusedQkv' | 'patchShape'>,
): Map<string, { shape: number[]; optional?: boolean }> {
  const D = c.dim;
  const H = c.mlpRatio * D;
  const out = new Map<string, { shape: number[]; optional?: boolean }>();
  const put = (name: string, shape: number[], optional = false) => out.set(name, { shape, optional });
  if (layout.patchShape) {
    put('patch_embed.proj.weight', layout.patchShape);
    put('patch_embed.proj.bias', [D]);
    put('cls_token', [1, 1, D]);
    put('pos_embed', [1, c.tokens, D]);
  }
  for (let n = 0; n < c.depth; n++) {
    const p = `blocks.${n}.`;
    for (const norm of ['norm1', 'norm2']) {
      put(`${p}${norm}.weight`, [D]);
      put(`${p}${norm}.bias`, [D]);
    }
    if (layout.fusedQkv) {
      put(`${p}attn.qkv.weight`, [3 * D, D]);
      put(`${p}attn.qkv.bias`, [3 * D], true);
    } else {
      for (const x of ['q', 'k', 'v']) {
        put(`${p}attn.${x}.weight`, [D, D]);
        put(`${p}attn.${x}.bias`, [D], true);
      }
    }
    for (const [name, dIn, dOut] of [
      ['attn.proj', D, D],
      ['mlp.fc1', D, H],
      ['mlp.fc2', H, D],
    ] as const) {
      put(`${p}${name}.weight`, [dOut, dIn]);
      put(`${p}${name}.bias`, [dOut]);
    }
  }
  put('norm.weight', [D]);
  put('norm.bias', [D]);
  put('head.weight', [c.classes, D], true);
  put('head.bias', [c.classes], true);
  return out;
}

/** config.json for a checkpoint written in `naming`, updating `source` (the one read) where given. */
export function configJson(c: ViTConfig, naming: Naming, patchShape: number[] | null, source: Json | null): Json {
  const side = Math.sqrt(c.tokens - 1);
  const channels = patchShape?.length === 4 ? patchShape[1] : 3;
  const patch = patchShape?.length === 4 ? patchShape[2] : Math.round(Math.sqrt((c.patchDim ?? 0) / channels));
  const image = Number.isInteger(side) ? side * patch : undefined;
  if (naming === 'hf') {
    const out: Json = {
      model_type: 'vit',
      architectures: ['ViTForImageClassification'],
      hidden_act: 'gelu',
      qkv_bias: true,
      ...source,
      hidden_size: c.dim,
      num_hidden_layers: c.depth,
      num_attention_heads: c.heads,
      intermediate_size: c.mlpRatio * c.dim,
      patch_size: patch,
      num_channels: channels,
      layer_norm_eps: c.eps,
      ...(image ? { image_size: image } : {}),
    };
    const labels = source?.id2label as Json | undefined;
    if (!labels || Object.keys(labels).length !== c.classes) {
      out.id2label = Object.fromEntries(Array.from({ length: c.classes }, (_, i) => [String(i), `LABEL_${i}`]));
      out.label2id = Object.fromEntries(Array.from({ length: c.classes }, (_, i) => [`LABEL_${i}`, i]));
    }
    delete out.num_labels;
    return out;
  }
  return {
    ...source,
    embed_dim: c.dim,
    depth: c.depth,
    num_heads: c.heads,
    mlp_ratio: c.mlpRatio,
    patch_size: patch,
    in_chans: channels,
    num_classes: c.classes,
    global_pool: c.pooling === 'cls' ? 'token' : 'avg',
    ...(image ? { img_size: image } : {}),
  };
}
