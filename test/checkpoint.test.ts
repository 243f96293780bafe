// ViT checkpoints: timm and transformers naming load to the same engine weights and outputs, configs
// are read or inferred, mismatches name the tensor and both shapes, and saving writes the input's
// naming back (atomically, F32 or F16).

import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../src/backend.js';
import { loadCheckpoint, replaceHead, saveCheckpoint } from '../src/io/checkpoint.js';
import { SafetensorsFile } from '../src/io/safetensors.js';
import { encodeSafetensors } from '../src/io/safetensors-write.js';
import { type BlobFolder, blobFolder } from '../src/io/source-blob.js';
import { nodeFolder } from '../runtimes/node/files.js';
import type { ViTConfig } from '../src/model/config.js';
import type { NamedArray, Weights } from '../src/core/weights.js';
import { ViT } from '../src/model/vit.js';
import { uniform } from '../src/reference/random.js';
import { createWasmBackend } from '../src/wasm/backend.js';
import {
  checkpointFiles,
  hfConfigJson,
  hfTensors,
  timmConfigJson,
  timmTensors,
  tinyConfig,
  tinyWeights,
} from './support/vit-files.js';

const weights = tinyWeights();
const timmFiles = checkpointFiles(timmTensors(weights), timmConfigJson);
const hfFiles = checkpointFiles(hfTensors(weights, 2), hfConfigJson);

async function namesAndShapes(folder: BlobFolder, file = 'model.safetensors') {
  const bytes = new Uint8Array(await folder.files.get(file)!.arrayBuffer());
  const f = SafetensorsFile.parse(bytes, file);
  return Object.fromEntries([...f.entries].map(([n, e]) => [n, e.shape]));
}

describe('ViT checkpoints', () => {
  let b: Backend;
  let expected: Float32Array;
  beforeAll(async () => {
    b = await createWasmBackend();
    expected = await logits(tinyConfig, weights);
  });
  afterAll(() => b.destroy());

  const input = uniform(2 * 4 * 12, 11);
  const logits = async (config: ViTConfig, w: Weights) => {
    const model = new ViT(b, config, w, { plan: null, seed: 1 });
    const x = b.upload(input, [2, 4, 12]);
    const out = (await b.read(model.forward(x, false))) as Float32Array;
    model.dispose();
    b.free(x);
    return out;
  };

  it('timm and transformers checkpoints of the same weights load to the same config and outputs', async () => {
    const timm = await loadCheckpoint(blobFolder(timmFiles));
    const hf = await loadCheckpoint(blobFolder(hfFiles));
    expect(timm.config).toEqual(tinyConfig);
    expect(hf.config).toEqual(tinyConfig);
    expect(timm.layout).toEqual({ naming: 'timm', hfPrefix: '', fusedQkv: true, patchShape: [24, 3, 2, 2] });
    expect(hf.layout).toEqual({ naming: 'hf', hfPrefix: 'vit.', fusedQkv: false, patchShape: [24, 3, 2, 2] });
    expect(hf.weights.get('blocks.1.attn.k.weight')!.shape).toEqual([24, 24]);
    expect(await logits(timm.config, timm.weights)).toEqual(expected);
    expect(await logits(hf.config, hf.weights)).toEqual(expected);
  });

  it('a sharded checkpoint (index.json) loads like the single file', async () => {
    const t = hfTensors(weights, 2);
    const names = [...t.keys()];
    const [first, second] = [names.slice(0, 10), names.slice(10)];
    const shard = (list: string[]) => encodeSafetensors(new Map(list.map((n) => [n, t.get(n)!])));
    const index = {
      metadata: {},
      weight_map: Object.fromEntries([
        ...first.map((n) => [n, 'model-00001-of-00002.safetensors']),
        ...second.map((n) => [n, 'model-00002-of-00002.safetensors']),
      ]),
    };
    const folder = blobFolder({
      'model-00001-of-00002.safetensors': shard(first),
      'model-00002-of-00002.safetensors': shard(second),
      'model.safetensors.index.json': new TextEncoder().encode(JSON.stringify(index)),
      'config.json': hfFiles['config.json'],
    });
    const c = await loadCheckpoint(folder);
    expect(await logits(c.config, c.weights)).toEqual(expected);
  });

  it('without config.json the shapes give the config (heads from options), pooler and qkv_bias = False handled', async () => {
    const noHeads = loadCheckpoint(blobFolder(checkpointFiles(timmTensors(weights), null)));
    await expect(noHeads).rejects.toThrow(
      /attention heads are not in the tensor shapes and D = 24 is not a multiple of 64: pass \{ heads \}/,
    );
    const t = hfTensors(weights, 2);
    t.set('vit.pooler.dense.weight', { shape: [24, 24], data: new Float32Array(576) });
    t.set('vit.pooler.dense.bias', { shape: [24], data: new Float32Array(24) });
    const c = await loadCheckpoint(blobFolder(checkpointFiles(t, null)), { heads: 2 });
    expect(c.config).toEqual(tinyConfig);
    expect(c.notes).toContain('skipped "vit.pooler.dense.weight" (not used for classification)');
    expect(await logits(c.config, c.weights)).toEqual(expected);

    const noBias = timmTensors(weights);
    noBias.delete('blocks.0.attn.qkv.bias');
    const zeroBias = new Map(weights);
    for (const p of ['q', 'k', 'v']) zeroBias.set(`blocks.0.attn.${p}.bias`, { shape: [24], data: new Float32Array(24) });
    const nb = await loadCheckpoint(blobFolder(checkpointFiles(noBias, timmConfigJson)));
    expect(await logits(nb.config, nb.weights)).toEqual(await logits(tinyConfig, zeroBias));
  });

  it('BF16 and F16 checkpoints load (values as stored)', async () => {
    const folder = blobFolder({ 'config.json': hfFiles['config.json'] });
    await saveCheckpoint(
      folder,
      weights,
      tinyConfig,
      { naming: 'hf', hfPrefix: 'vit.', fusedQkv: false, patchShape: [24, 3, 2, 2] },
      { dtype: 'F16' },
    );
    const c = await loadCheckpoint(folder);
    const got = await logits(c.config, c.weights);
    for (let i = 0; i < got.length; i++) expect(Math.abs(got[i] - expected[i])).toBeLessThan(1e-2);
    // BF16: hand-encode the upper halves of the float32s
    const bf: Record<string, unknown> = {};
    const parts: Uint8Array[] = [];
    let offset = 0;
    for (const [name, t] of timmTensors(weights)) {
      const u16 = new Uint16Array(t.data.length);
      const u32 = new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length);
      for (let i = 0; i < u16.length; i++) u16[i] = u32[i] >>> 16;
      bf[name] = { dtype: 'BF16', shape: t.shape, data_offsets: [offset, offset + u16.byteLength] };
      parts.push(new Uint8Array(u16.buffer));
      offset += u16.byteLength;
    }
    const head = new TextEncoder().encode(JSON.stringify(bf));
    const len = new Uint8Array(8);
    new DataView(len.buffer).setBigUint64(0, BigInt(head.length), true);
    const bytes = new Uint8Array(await new Blob([len, head, ...parts] as Uint8Array<ArrayBuffer>[]).arrayBuffer());
    const cb = await loadCheckpoint(blobFolder({ 'model.safetensors': bytes, 'config.json': timmFiles['config.json'] }));
    const truncated = cb.weights.get('norm.weight')!.data;
    expect(truncated[0]).toBe(
      new Float32Array(new Uint32Array([(new Uint32Array(weights.get('norm.weight')!.data.buffer)[0] >>> 16) << 16]).buffer)[0],
    );
    const gotBf = await logits(cb.config, cb.weights);
    for (let i = 0; i < gotBf.length; i++) expect(Math.abs(gotBf[i] - expected[i])).toBeLessThan(5e-2);
  });

  const variant = (edit: (t: Map<string, NamedArray>) => void, config: object | null = hfConfigJson) => {
    const t = hfTensors(weights, 2);
    edit(t);
    return blobFolder(checkpointFiles(t, config), 'ckpt');
  };
  const mismatches: Array<[string, () => BlobFolder, RegExp]> = [
    [
      'a config.json of another width',
      () => variant(() => {}, { ...hfConfigJson, hidden_size: 32 }),
      /ckpt\/model.safetensors: tensor "vit.embeddings.patch_embeddings.projection.weight" has shape \[24, 3, 2, 2\], but config.json implies \[32, 3, 2, 2\]/,
    ],
    [
      'a config.json of another image size',
      () => variant(() => {}, { ...hfConfigJson, image_size: 8 }),
      /tensor "vit.embeddings.position_embeddings" has shape \[1, 5, 24\], but config.json implies \[1, 17, 24\]/,
    ],
    [
      'a config.json with other labels',
      () => variant(() => {}, { ...hfConfigJson, id2label: { 0: 'a' }, label2id: undefined }),
      /tensor "classifier.weight" has shape \[5, 24\], but config.json implies \[1, 24\]/,
    ],
    [
      'a tensor of the wrong shape',
      () =>
        variant((t) =>
          t.set('vit.encoder.layer.1.intermediate.dense.weight', { shape: [48, 24], data: new Float32Array(48 * 24) }),
        ),
      /tensor "vit.encoder.layer.1.intermediate.dense.weight" has shape \[48, 24\], but config.json implies \[96, 24\]/,
    ],
    [
      'a missing tensor',
      () => variant((t) => t.delete('vit.encoder.layer.1.layernorm_after.bias')),
      /ckpt\/model.safetensors: has no tensor "vit.encoder.layer.1.layernorm_after.bias" \(shape \[24\] expected\)/,
    ],
    [
      'an unknown tensor',
      () => variant((t) => t.set('vit.encoder.layer.0.ls1.gamma', { shape: [24], data: new Float32Array(24) })),
      /holds 1 tensor\(s\) a plain ViT \(hf naming\) does not have: "vit.encoder.layer.0.ls1.gamma"; this model variant is not supported/,
    ],
    [
      'a block beyond the config depth',
      () => variant(() => {}, { ...hfConfigJson, num_hidden_layers: 1 }),
      /tensor "vit.encoder.layer.1.layernorm_before.weight" does not belong to a ViT of depth 1 \(config.json\)/,
    ],
    [
      'an unsupported activation',
      () => variant(() => {}, { ...hfConfigJson, hidden_act: 'gelu_new' }),
      /ckpt\/config.json: hidden_act "gelu_new" is not supported/,
    ],
    [
      'a config.json that is not JSON',
      () => blobFolder({ ...hfFiles, 'config.json': new TextEncoder().encode('{"a":') }, 'ckpt'),
      /ckpt\/config.json: is not valid JSON/,
    ],
    [
      'a pytorch_model.bin only',
      () => blobFolder({ 'pytorch_model.bin': new Uint8Array(8) }, 'ckpt'),
      /ckpt\/model.safetensors: not found/,
    ],
  ];
  for (const [what, folder, message] of mismatches) {
    it(`${what} is refused, naming the tensor or file`, async () => {
      await expect(loadCheckpoint(folder())).rejects.toThrow(message);
    });
  }

  it('ignoreUnknown skips unknown tensors; a new class count gets a fresh head', async () => {
    const c = await loadCheckpoint(
      variant((t) => t.set('extra.thing', { shape: [1], data: new Float32Array(1) })),
      { ignoreUnknown: true, classes: 7, seed: 3 },
    );
    expect(c.notes.join('\n')).toMatch(
      /skipped 1 unknown tensor\(s\): extra.thing[\s\S]*fresh head for 7 classes \(the checkpoint's has 5\)/,
    );
    expect(c.config.classes).toBe(7);
    expect(c.weights.get('head.weight')!.shape).toEqual([7, 24]);
    expect((await logits(c.config, c.weights)).length).toBe(14);
    const h = replaceHead(weights, 3, 1);
    expect(h.get('head.bias')).toEqual({ shape: [3], data: new Float32Array(3) });
    expect(weights.get('head.weight')!.shape).toEqual([5, 24]); // the input is not changed
    const headless = hfTensors(weights, 2);
    headless.delete('classifier.weight');
    headless.delete('classifier.bias');
    await expect(loadCheckpoint(blobFolder(checkpointFiles(headless, hfConfigJson)))).rejects.toThrow(
      /has no classifier head .*: pass \{ classes \}/,
    );
  });

  it('saving writes the naming, fusion and conv shape it was loaded with; reloading gives the same outputs', async () => {
    for (const files of [timmFiles, hfFiles]) {
      const c = await loadCheckpoint(blobFolder(files));
      const out = blobFolder({}, 'out');
      await saveCheckpoint(out, c.weights, c.config, c.layout, { sourceConfig: c.sourceConfig });
      expect(await namesAndShapes(out)).toEqual(await namesAndShapes(blobFolder(files)));
      const again = await loadCheckpoint(out);
      expect(again.config).toEqual(tinyConfig);
      expect(await logits(again.config, again.weights)).toEqual(expected);
    }
  });

  it('a timm checkpoint can be written in transformers naming and back (config.json follows)', async () => {
    const c = await loadCheckpoint(blobFolder(timmFiles));
    const out = blobFolder({}, 'out');
    await saveCheckpoint(out, c.weights, c.config, { ...c.layout, naming: 'hf', hfPrefix: 'vit.', fusedQkv: false });
    expect(Object.keys(await namesAndShapes(out)).sort()).toEqual(Object.keys(await namesAndShapes(blobFolder(hfFiles))).sort());
    const cfg = JSON.parse(await out.files.get('config.json')!.text());
    expect(cfg).toMatchObject({
      hidden_size: 24,
      num_hidden_layers: 2,
      num_attention_heads: 2,
      intermediate_size: 96,
      image_size: 4,
      patch_size: 2,
      num_channels: 3,
    });
    expect(Object.keys(cfg.id2label)).toHaveLength(5);
    const again = await loadCheckpoint(out);
    expect(await logits(again.config, again.weights)).toEqual(expected);
  });

  it('saving to a directory is atomic and leaves no temporary files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ckpt-'));
    try {
      const c = await loadCheckpoint(blobFolder(hfFiles));
      await saveCheckpoint(nodeFolder(dir), c.weights, c.config, c.layout, { sourceConfig: c.sourceConfig });
      await saveCheckpoint(nodeFolder(dir), c.weights, c.config, c.layout, { sourceConfig: c.sourceConfig });
      expect((await readdir(dir)).sort()).toEqual(['config.json', 'model.safetensors']);
      const again = await loadCheckpoint(nodeFolder(dir));
      expect(again.sourceConfig).toMatchObject({ id2label: hfConfigJson.id2label });
      expect(await logits(again.config, again.weights)).toEqual(expected);
    } finally {
      await rm(dir, { recursive: true });
    }
  });
});
