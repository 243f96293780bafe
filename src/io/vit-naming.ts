// Tensor names of ViT checkpoints and the engine's own (timm's, src/model/vit.ts).
//
//   engine / timm                    Hugging Face transformers (prefix "vit." or "" for ViTModel)
//   cls_token [1,1,D]                {p}embeddings.cls_token
//   pos_embed [1,T,D]                {p}embeddings.position_embeddings
//   patch_embed.proj.weight          {p}embeddings.patch_embeddings.projection.weight   conv [D,C,p,p]
//   blocks.N.norm1.*                 {p}encoder.layer.N.layernorm_before.*
//   blocks.N.attn.q|k|v.*            {p}encoder.layer.N.attention.attention.query|key|value.*
//     (timm fuses them: blocks.N.attn.qkv.weight [3D, D] = rows q, k, v; bias [3D])
//   blocks.N.attn.proj.*             {p}encoder.layer.N.attention.output.dense.*
//   blocks.N.norm2.*                 {p}encoder.layer.N.layernorm_after.*
//   blocks.N.mlp.fc1.* / fc2.*       {p}encoder.layer.N.intermediate.dense.* / output.dense.*
//   norm.*                           {p}layernorm.*
//   head.*                           classifier.*
// Linear weights are [out, in] in all three. HF's {p}pooler.* is not used by image classification
// and is skipped. SNELL branch tensors (blocks.N.*.additional_*.learnable.*) keep their names.

import type { NamedArray, Weights } from '../core/weights.js';

export type Naming = 'timm' | 'hf';

/** How a checkpoint was laid out, so it can be written back the same way. */
export interface CheckpointLayout {
  naming: Naming;
  /** HF: the backbone's name prefix ("vit." for ViTForImageClassification, "" for ViTModel). */
  hfPrefix: string;
  /** timm: q, k, v stored fused as attn.qkv. */
  fusedQkv: boolean;
  /** The patch embedding's stored shape (conv [D, C, p, p]), or null without a patch embedding. */
  patchShape: number[] | null;
}

const HF_PAIRS: Array<[string, string]> = [
  ['embeddings.cls_token', 'cls_token'],
  ['embeddings.position_embeddings', 'pos_embed'],
  ['embeddings.patch_embeddings.projection.{p}', 'patch_embed.proj.{p}'],
  ['encoder.layer.{n}.layernorm_before.{p}', 'blocks.{n}.norm1.{p}'],
  ['encoder.layer.{n}.attention.attention.query.{p}', 'blocks.{n}.attn.q.{p}'],
  ['encoder.layer.{n}.attention.attention.key.{p}', 'blocks.{n}.attn.k.{p}'],
  ['encoder.layer.{n}.attention.attention.value.{p}', 'blocks.{n}.attn.v.{p}'],
  ['encoder.layer.{n}.attention.output.dense.{p}', 'blocks.{n}.attn.proj.{p}'],
  ['encoder.layer.{n}.layernorm_after.{p}', 'blocks.{n}.norm2.{p}'],
  ['encoder.layer.{n}.intermediate.dense.{p}', 'blocks.{n}.mlp.fc1.{p}'],
  ['encoder.layer.{n}.output.dense.{p}', 'blocks.{n}.mlp.fc2.{p}'],
  ['layernorm.{p}', 'norm.{p}'],
];
const HF_HEAD: [string, string] = ['classifier.{p}', 'head.{p}'];

const TIMM = [
  /^(cls_token|pos_embed)$/,
  /^patch_embed\.proj\.(weight|bias)$/,
  /^blocks\.\d+\.(norm1|norm2)\.(weight|bias)$/,
  /^blocks\.\d+\.attn\.(qkv|q|k|v|proj)\.(weight|bias)$/,
  /^blocks\.\d+\.mlp\.(fc1|fc2)\.(weight|bias)$/,
  /^(norm|head)\.(weight|bias)$/,
];
/** A SNELL branch tensor in the reference's naming. */
export const BRANCH_TENSOR = /^blocks\.\d+\.(attn|mlp)\.additional_\w+\.learnable\.\w+$/;

function compile(template: string): RegExp {
  const src = template.replace(/\./g, '\\.').replace('{n}', '(?<n>\\d+)').replace('{p}', '(?<p>weight|bias)');
  return new RegExp(`^${src}$`);
}
function fill(template: string, groups: Record<string, string> | undefined): string {
  return template.replace('{n}', groups?.n ?? '').replace('{p}', groups?.p ?? '');
}
const HF_TO_ENGINE = HF_PAIRS.map(([hf, eng]) => ({ from: compile(hf), to: eng }));
const ENGINE_TO_HF = HF_PAIRS.map(([hf, eng]) => ({ from: compile(eng), to: hf }));

/** The layout of a checkpoint from its tensor names (patchShape left to the caller). */
export function detectNaming(names: readonly string[]): Omit<CheckpointLayout, 'patchShape'> {
  const hfRoot = names.find((n) => /(^|\.)embeddings\.(cls_token|patch_embeddings\.)|(^|\.)encoder\.layer\.\d+\./.test(n));
  if (hfRoot) {
    const hfPrefix = hfRoot.slice(0, hfRoot.search(/(embeddings|encoder)\./));
    return { naming: 'hf', hfPrefix, fusedQkv: false };
  }
  return { naming: 'timm', hfPrefix: '', fusedQkv: names.some((n) => /^blocks\.\d+\.attn\.qkv\.weight$/.test(n)) };
}

/** The engine's name for a checkpoint tensor; null for tensors deliberately skipped; undefined when unknown. */
export function toEngineName(name: string, layout: Omit<CheckpointLayout, 'patchShape'>): string | null | undefined {
  if (BRANCH_TENSOR.test(name)) return name;
  if (layout.naming === 'timm') return TIMM.some((re) => re.test(name)) ? name : undefined;
  const head = compile(HF_HEAD[0]).exec(name);
  if (head) return fill(HF_HEAD[1], head.groups);
  if (!name.startsWith(layout.hfPrefix)) return undefined;
  const rest = name.slice(layout.hfPrefix.length);
  if (/^pooler\.dense\.(weight|bias)$/.test(rest)) return null;
  for (const { from, to } of HF_TO_ENGINE) {
    const m = from.exec(rest);
    if (m) return fill(to, m.groups);
  }
  return undefined;
}

/** The checkpoint name of an engine tensor (q/k/v split; fusion is toCheckpointTensors' job). */
export function fromEngineName(name: string, layout: Omit<CheckpointLayout, 'patchShape'>): string {
  if (layout.naming === 'timm' || BRANCH_TENSOR.test(name)) return name;
  const head = compile(HF_HEAD[1]).exec(name);
  if (head) return fill(HF_HEAD[0], head.groups);
  for (const { from, to } of ENGINE_TO_HF) {
    const m = from.exec(name);
    if (m) return layout.hfPrefix + fill(to, m.groups);
  }
  throw new Error(`no Hugging Face name for the engine tensor "${name}"`);
}

/**
 * Engine weights → a plain checkpoint's tensors in `layout`'s naming: branch tensors dropped, q/k/v
 * fused into attn.qkv for a fused timm layout (a copy) or split otherwise (views), the patch weight
 * reshaped to its stored conv shape.
 */
export function toCheckpointTensors(weights: Weights, layout: CheckpointLayout): Map<string, NamedArray> {
  const split = splitQkvWeights(weights);
  const out = new Map<string, NamedArray>();
  const fused = new Set<string>();
  for (const [name, t] of split) {
    if (BRANCH_TENSOR.test(name)) continue;
    const qkv = /^(blocks\.\d+\.attn\.)[qkv]\.(weight|bias)$/.exec(name);
    if (layout.naming === 'timm' && layout.fusedQkv && qkv) {
      const key = `${qkv[1]}qkv.${qkv[2]}`;
      if (fused.has(key)) continue;
      fused.add(key);
      const parts = ['q', 'k', 'v'].map((p) => split.get(`${qkv[1]}${p}.${qkv[2]}`));
      if (parts.some((p) => !p)) throw new Error(`cannot fuse ${key}: one of q, k, v is missing`);
      const data = new Float32Array(parts.reduce((a, p) => a + p!.data.length, 0));
      let at = 0;
      for (const p of parts) {
        data.set(p!.data, at);
        at += p!.data.length;
      }
      out.set(key, { shape: qkv[2] === 'weight' ? [3 * parts[0]!.shape[0], ...parts[0]!.shape.slice(1)] : [data.length], data });
      continue;
    }
    const shape = name === 'patch_embed.proj.weight' && layout.patchShape ? layout.patchShape : t.shape;
    out.set(fromEngineName(name, layout), { shape, data: t.data });
  }
  return out;
}

/** The weights with every fused attn.qkv split into attn.q, attn.k, attn.v (views, not copies). */
export function splitQkvWeights(weights: Weights): Map<string, NamedArray> {
  const out = new Map<string, NamedArray>();
  for (const [name, t] of weights) {
    const m = /^(blocks\.\d+\.attn\.)qkv\.(weight|bias)$/.exec(name);
    if (!m) {
      out.set(name, t);
      continue;
    }
    const third = t.data.length / 3;
    ['q', 'k', 'v'].forEach((p, i) => {
      const shape = m[2] === 'weight' ? [t.shape[0] / 3, ...t.shape.slice(1)] : [third];
      out.set(`${m[1]}${p}.${m[2]}`, { shape, data: t.data.subarray(i * third, (i + 1) * third) });
    });
  }
  return out;
}
