// Messages between the page (app.ts) and the training worker (worker.ts).

import type { Evaluation, MemoryReport } from 'snell-js';
import type { ChartData } from './chart.js';

/** A file with its path inside a dropped or picked folder ("root/class/name.png"). */
export interface PathFile {
  path: string;
  file: File;
}

export interface StartRequest {
  type: 'start';
  /** null: the embedded ViT; else a .safetensors file and its config.json. */
  checkpoint: File[] | null;
  /** null: the built-in MNIST (VTAB-1k 800/200); else an image folder, one sub-folder per class. */
  folder: PathFile[] | null;
  backend: 'auto' | 'webgpu' | 'wasm';
  /** snella: SNELLA with its sparsity allocator (absent in runs saved before the choice existed: snell). */
  method?: 'snell' | 'snella';
  rank: number;
  /** snell: every layer's sparsity; snella: every layer's initial sparsity. */
  sparsity: number;
  /** snella: the sparsity the allocator brings the whole model to. */
  targetSparsity?: number;
  epochs: number;
  lr: number;
  batch: number;
}

export type ToWorker =
  | StartRequest
  | { type: 'stop' }
  /** Continue the run saved in the browser's storage; or forget it; or say whether there is one. */
  | { type: 'resume' }
  | { type: 'discard' }
  | { type: 'saved?' }
  | { type: 'evaluate' }
  | { type: 'download'; what: 'adapter' | 'merged' }
  | { type: 'classify'; file: File }
  /** The layer whose kept-entry map the page shows (a branch name). */
  | { type: 'select-layer'; layer: string };

/** An image for the page to draw: planar uint8 [C, H, W]. */
export interface Thumb {
  pixels: Uint8Array;
  channels: number;
  height: number;
  width: number;
  label: string;
}

/** An epoch's allocation (SNELLA): the budget in kept entries, each layer's sparsity, and the heat strip. */
export interface AllocationView {
  epoch: number;
  budget: number;
  remask: boolean;
  layers: string[];
  sparsity: number[];
  /** The block × projection grid as SVG; each cell a rect[data-layer]. */
  svg: string;
}

/** A layer's kept-entry map: Ws [dIn, dOut] max-pooled by |Ws| to [height, width] RGBA pixels. */
export interface KeptView {
  layer: string;
  /** Epochs completed when it was read. */
  epoch: number;
  dIn: number;
  dOut: number;
  kept: number;
  width: number;
  height: number;
  rgba: Uint8ClampedArray<ArrayBuffer>;
}

export type FromWorker =
  | { type: 'status'; text: string }
  /** The allocator's defaults, for the settings the page offers. */
  | { type: 'defaults'; targetSparsity: number }
  | ({ type: 'allocation' } & AllocationView)
  | ({ type: 'kept' } & KeptView)
  | { type: 'backend'; kind: string; description: string; fallback: string | null }
  | {
      type: 'ready';
      classes: string[];
      train: number;
      val: number;
      test: number;
      trainable: number;
      grid: Thumb[];
      /** The chart so far: empty for a new run, up to the checkpoint for a resumed one (resumedAt: its step). */
      history: ChartData;
      resumedAt: number | null;
    }
  /** A saved run that a reload can resume, or null. */
  | { type: 'saved'; run: { step: number; steps: number; epochs: number; lr: number; batch: number; savedAt: number } | null }
  /** The device was lost; training goes on from `step` (the chart is back to `history`). */
  | { type: 'recovered'; step: number; history: ChartData; text: string }
  | { type: 'step'; step: number; epoch: number; loss: number; accuracy: number; imagesPerSecond: number; memory: MemoryReport }
  | { type: 'epoch'; epoch: number; loss: number; accuracy: number; validation: Evaluation | null }
  | { type: 'predictions'; labels: string[] }
  | { type: 'done'; stopped: boolean }
  | { type: 'evaluation'; validation: Evaluation | null; test: Evaluation | null }
  | { type: 'files'; what: 'adapter' | 'merged'; files: { name: string; blob: Blob }[] }
  | { type: 'classified'; label: string; probability: number }
  | { type: 'error'; text: string };
