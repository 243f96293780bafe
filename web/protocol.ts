// Messages between the page (app.ts) and the training worker (worker.ts).

import type { Evaluation, MemoryReport } from 'snell-js';

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
  rank: number;
  sparsity: number;
  epochs: number;
  lr: number;
  batch: number;
}

export type ToWorker =
  | StartRequest
  | { type: 'stop' }
  | { type: 'evaluate' }
  | { type: 'download'; what: 'adapter' | 'merged' }
  | { type: 'classify'; file: File };

/** An image for the page to draw: planar uint8 [C, H, W]. */
export interface Thumb {
  pixels: Uint8Array;
  channels: number;
  height: number;
  width: number;
  label: string;
}

export type FromWorker =
  | { type: 'status'; text: string }
  | { type: 'backend'; kind: string; description: string; fallback: string | null }
  | { type: 'ready'; classes: string[]; train: number; val: number; test: number; trainable: number; grid: Thumb[] }
  | { type: 'step'; step: number; epoch: number; loss: number; accuracy: number; imagesPerSecond: number; memory: MemoryReport }
  | { type: 'epoch'; epoch: number; loss: number; accuracy: number; validation: Evaluation | null }
  | { type: 'predictions'; labels: string[] }
  | { type: 'done'; stopped: boolean }
  | { type: 'evaluation'; validation: Evaluation | null; test: Evaluation | null }
  | { type: 'files'; what: 'adapter' | 'merged'; files: { name: string; blob: Blob }[] }
  | { type: 'classified'; label: string; probability: number }
  | { type: 'error'; text: string };
