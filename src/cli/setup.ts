// What the training commands share: the model (a checkpoint folder, the embedded pretrained ViT, or a
// fresh one), the data (mnist, fashion-mnist or an image folder; full or VTAB-1k splits), the tuning
// plan from --method/--rank/--sparsity, and the backend, each from the host.

import type { Backend, BackendKind } from '../backend.js';
import { ImageDataset } from '../data/dataset.js';
import { loadImageTree } from '../data/folder-tree.js';
import { ImagePrep } from '../data/prep.js';
import type { SplitSet } from '../data/splits.js';
import { VTAB_TRAIN, VTAB_VAL, vtab1k } from '../data/splits.js';
import { type LoadedCheckpoint, loadCheckpoint } from '../io/checkpoint.js';
import type { FileSystem } from '../io/file-system.js';
import { type Geometry, GeometryError, geometryOf } from '../io/geometry.js';
import type { Folder } from '../io/source.js';
import { DEFAULT_PLAN, targetsMatching, type TuningPlan, type ViTConfig } from '../model/config.js';
import { initViTWeights } from '../model/init.js';
import type { Dataset } from '../core/dataset.js';
import { type Flag, type Flags, UsageError } from './args.js';
import { embeddedFolder } from './embedded.js';
import { type Host, writeLine } from './host.js';
import { SNELLA_INITIAL_SPARSITY } from './allocator-flags.js';

/** --sparsity when --method snell or snella-kernel does not give it. */
export const DEFAULT_SPARSITY = 0.5;

export const MODEL_FLAGS: Record<string, Flag> = {
  model: {
    type: 'string',
    help: 'checkpoint folder (model.safetensors + config.json), "embedded" (the bundled Fashion-MNIST ViT) or "scratch" (fresh weights of the embedded architecture)',
    default: 'embedded',
  },
  backend: {
    type: 'string',
    help: 'force a backend (default: WebGPU when an adapter exists, else Wasm)',
    choices: ['webgpu', 'wasm'],
  },
};

export const DATA_FLAGS: Record<string, Flag> = {
  data: { type: 'string', help: 'mnist, fashion-mnist, or a folder with one sub-folder of images per class', default: 'mnist' },
  split: {
    type: 'string',
    help: 'full: the official train/test split; vtab1k: 800 train / 200 val from the training set, the full test set',
    choices: ['full', 'vtab1k'],
    default: 'vtab1k',
  },
  seed: {
    type: 'number',
    help: 'seed of the split, the initialisation and the shuffling',
    default: 0,
    range: { min: 0, integer: true },
  },
};

export const PLAN_FLAGS: Record<string, Flag> = {
  method: {
    type: 'string',
    help: 'what trains',
    choices: ['snell', 'snella', 'snella-kernel', 'klora', 'lora', 'dense', 'full', 'linear'],
    default: 'snell',
  },
  rank: { type: 'number', help: 'rank r of the branches', default: 8, range: { min: 1, integer: true } },
  'kernel-heads': { type: 'number', help: 'kernel heads H of SNELL (LoRA uses 1)', default: 2, range: { min: 1, integer: true } },
  sparsity: {
    type: 'number',
    help: `sparsity s: keep |ΔW| above its s-quantile (snell, snella-kernel; default ${DEFAULT_SPARSITY}); snella: every layer's initial s (default ${SNELLA_INITIAL_SPARSITY}, then the allocator's)`,
    range: { min: 0, max: 1, openMax: true },
  },
  targets: {
    type: 'string',
    help: 'linears carrying branches, a pattern over q|k|v|proj|fc1|fc2',
    default: 'q|k|v|proj|fc1|fc2',
  },
  'branch-dropout': {
    type: 'number',
    help: 'dropout on the branch input while training (one mask for q, k and v; none on proj)',
    default: 0.1,
    range: { min: 0, max: 1, openMax: true },
  },
  'branch-drop-path': {
    type: 'number',
    help: 'DropPath on each branch output while training (per sample)',
    default: 0.1,
    range: { min: 0, max: 1, openMax: true },
  },
};

/** The architecture of the embedded model, also used by --model scratch. */
export const EMBEDDED_ARCH = { dim: 96, depth: 4, heads: 3, mlpRatio: 2, imageSize: 32, patch: 8, channels: 1 } as const;

export interface ModelSource {
  checkpoint: LoadedCheckpoint;
  geometry: Geometry;
  /** What --model named, for the records. */
  name: string;
}

/** The checkpoint's geometry; a model that cannot take images is a usage error (exit status 2). */
function modelGeometry(c: LoadedCheckpoint): Geometry {
  try {
    return geometryOf(c);
  } catch (e) {
    throw e instanceof GeometryError ? new UsageError(e.message) : e;
  }
}

/** The model --model names; its head is replaced later when the data has another class count. */
export async function loadModel(name: string, seed: number, files: FileSystem): Promise<ModelSource> {
  let checkpoint: LoadedCheckpoint;
  if (name === 'scratch') {
    const a = EMBEDDED_ARCH;
    const config: ViTConfig = {
      dim: a.dim,
      depth: a.depth,
      heads: a.heads,
      mlpRatio: a.mlpRatio,
      classes: 10,
      tokens: (a.imageSize / a.patch) ** 2 + 1,
      patchDim: a.channels * a.patch * a.patch,
      pooling: 'cls',
      eps: 1e-6,
    };
    checkpoint = {
      weights: initViTWeights(config, seed),
      config,
      sourceConfig: null,
      notes: [],
      layout: { naming: 'timm', hfPrefix: '', fusedQkv: true, patchShape: [a.dim, a.channels, a.patch, a.patch] },
    };
  } else {
    const folder: Folder = name === 'embedded' ? embeddedFolder() : files.folder(name);
    checkpoint = await loadCheckpoint(folder, { seed });
  }
  return { checkpoint, geometry: modelGeometry(checkpoint), name };
}

export interface DataSource {
  set: SplitSet;
  train: Dataset;
  /** Validation during training (VTAB-1k's 200), or null. */
  val: Dataset | null;
  test: Dataset | null;
  classes: readonly string[];
}

export async function loadSplitSet(data: string, geometry: Geometry, prep: ImagePrep, host: Host): Promise<SplitSet> {
  if (data === 'mnist') return host.dataSets.mnist();
  if (data === 'fashion-mnist') return host.dataSets.fashionMnist();
  if (
    !(await host.files.stat(data).then(
      (s) => s.isDirectory,
      () => false,
    ))
  ) {
    throw new UsageError(
      `--data ${data}: no such folder; give mnist, fashion-mnist, or a folder with one sub-folder of images per class`,
    );
  }
  const images = await loadImageTree(host.files, data, host.decodeImage, prep, {
    size: geometry.size,
    channels: geometry.channels,
    onSkip: (f) => writeLine(host.stderr, `snell: skipped ${f.file}: ${f.reason}`),
  });
  if (images.classes.length < 2) {
    throw new UsageError(
      `--data ${data} has ${images.classes.length === 1 ? `one class (${images.classes[0]})` : 'no class folder'}: ` +
        'a classifier needs at least two sub-folders of images, one per class',
    );
  }
  if (images.skipped.length) writeLine(host.stderr, `snell: skipped ${images.skipped.length} file(s) in ${data} (listed above)`);
  return { name: data, classes: images.classes, train: images, test: null };
}

export async function loadData(flags: Flags, geometry: Geometry, host: Host): Promise<DataSource> {
  const prep = await ImagePrep.create();
  const set = await loadSplitSet(flags.data as string, geometry, prep, host);
  const options = { patch: geometry.patch, size: geometry.size, channels: geometry.channels };
  const make = (view: { images: typeof set.train; indices: readonly number[] }) => ImageDataset.of(prep, view, options);
  const all = (images: typeof set.train) => ({ images, indices: Array.from({ length: images.count }, (_, i) => i) });
  if (flags.split === 'vtab1k') {
    if (set.train.count < VTAB_TRAIN + VTAB_VAL) {
      throw new UsageError(
        `--data ${flags.data} has ${set.train.count} images; the default --split vtab1k takes ${VTAB_TRAIN} for training ` +
          `and ${VTAB_VAL} for validation, so it needs ${VTAB_TRAIN + VTAB_VAL}: use --split full to train on all of them`,
      );
    }
    const v = vtab1k(set, flags.seed as number);
    return { set, train: make(v.train), val: make(v.val), test: v.test ? make(v.test) : null, classes: set.classes };
  }
  return { set, train: make(all(set.train)), val: null, test: set.test ? make(all(set.test)) : null, classes: set.classes };
}

/** --sparsity, or the method's default: SNELLA's allocator starts from the authors' init_thres. */
export function sparsityFromFlags(flags: Flags): number {
  const given = flags.sparsity as number | undefined;
  return given ?? (flags.method === 'snella' ? SNELLA_INITIAL_SPARSITY : DEFAULT_SPARSITY);
}

export function planFromFlags(flags: Flags): TuningPlan | null {
  const method = flags.method as string;
  if (method === 'linear') return null;
  const lora = method === 'lora';
  const plan: TuningPlan = {
    ...DEFAULT_PLAN,
    method: method === 'snella-kernel' ? 'snella' : (method as TuningPlan['method']),
    rank: flags.rank as number,
    kernelHeads: lora ? 1 : (flags['kernel-heads'] as number),
    sparsity: lora || method === 'klora' ? 0 : sparsityFromFlags(flags),
    targets: targetsMatching(flags.targets as string),
    branchDropout: flags['branch-dropout'] as number,
    branchDropPath: flags['branch-drop-path'] as number,
  };
  return plan;
}

export function backendFrom(flags: Flags, host: Host): Promise<Backend> {
  return host.createBackend({ prefer: flags.backend as BackendKind | undefined });
}
