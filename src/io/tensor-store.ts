// The tensors of a checkpoint, read on demand: one safetensors file or, when there is none (the
// order transformers uses), the shards listed by `<file>.index.json` (Hugging Face's sharding:
// { metadata?: {...}, weight_map: { tensor: shard } }, every shard a plain file name in the same folder). Opening reads the headers alone; `read` fetches
// one tensor's bytes. Shapes are known before any data is read, so a mismatch fails fast.

import { SafetensorsError, SafetensorsFile, type TensorEntry } from './safetensors.js';
import { type ByteSource, type Folder, checkPlainName, readText } from './source.js';
import type { NamedArray } from '../core/weights.js';

export interface TensorStore {
  /** What opened (folder/file), for messages. */
  readonly name: string;
  /** Every tensor name, in file order (shard by shard). */
  readonly names: readonly string[];
  /** The header entry of `name`, or undefined. */
  entry(name: string): TensorEntry | undefined;
  /** The file holding `name`, for messages. */
  fileOf(name: string): string;
  read(name: string): Promise<NamedArray>;
  close(): Promise<void>;
}

/** Opens `file` in `folder`, or else the shards its `${file}.index.json` lists. */
export async function openTensors(folder: Folder, file = 'model.safetensors'): Promise<TensorStore> {
  const indexName = `${file}.index.json`;
  const where = (f: string) => `${folder.name}/${f}`;
  const src = await folder.open(file);
  if (src) {
    const f = await openOrClose(src, where(file));
    return storeOf(where(file), new Map(f.names.map((n) => [n, f])), [f]);
  }
  const indexText = await readText(folder, indexName);
  if (indexText === null)
    throw new SafetensorsError(where(file), `not found (nor ${indexName}): the folder holds no safetensors checkpoint`);
  const weightMap = parseIndex(indexText, where(indexName));
  const shards = new Map<string, SafetensorsFile>();
  const byTensor = new Map<string, SafetensorsFile>();
  try {
    for (const [tensor, shard] of weightMap) {
      let f = shards.get(shard);
      if (!f) {
        const src = await folder.open(shard);
        if (!src)
          throw new SafetensorsError(where(indexName), `shard "${shard}" (holding "${tensor}") is missing from the folder`);
        f = await openOrClose(src, where(shard));
        shards.set(shard, f);
      }
      if (!f.has(tensor)) throw new SafetensorsError(where(indexName), `maps "${tensor}" to ${shard}, which has no such tensor`);
      byTensor.set(tensor, f);
    }
  } catch (e) {
    for (const f of shards.values()) await f.close();
    throw e;
  }
  return storeOf(where(indexName), byTensor, [...shards.values()]);
}

async function openOrClose(src: ByteSource, name: string): Promise<SafetensorsFile> {
  try {
    return await SafetensorsFile.open(src, name);
  } catch (e) {
    await src.close?.();
    throw e;
  }
}

function parseIndex(text: string, name: string): Map<string, string> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new SafetensorsError(name, `is not valid JSON (${(e as Error).message})`);
  }
  const map = (json as { weight_map?: unknown } | null)?.weight_map;
  if (typeof map !== 'object' || map === null || Array.isArray(map))
    throw new SafetensorsError(name, 'has no "weight_map" object (tensor name → shard file)');
  const out = new Map<string, string>();
  for (const [tensor, shard] of Object.entries(map)) {
    if (typeof shard !== 'string') throw new SafetensorsError(name, `weight_map["${tensor}"] is not a file name`);
    checkPlainName(shard, name);
    out.set(tensor, shard);
  }
  if (out.size === 0) throw new SafetensorsError(name, 'weight_map is empty');
  return out;
}

function storeOf(name: string, byTensor: Map<string, SafetensorsFile>, files: SafetensorsFile[]): TensorStore {
  return {
    name,
    names: [...byTensor.keys()],
    entry: (n) => byTensor.get(n)?.entries.get(n),
    fileOf: (n) => byTensor.get(n)?.file ?? name,
    read: async (n) => {
      const f = byTensor.get(n);
      if (!f) throw new SafetensorsError(name, `tensor "${n}" is missing`);
      return f.read(n);
    },
    close: async () => {
      for (const f of files) await f.close();
    },
  };
}
