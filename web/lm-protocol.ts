// Messages between the page's text mode (text-mode.ts) and the language-model worker (lm-worker.ts).

import type { LmEvaluation, MemoryReport } from 'snell-js';
import type { PathFile } from './protocol.js';

/** What trains: SNELL branches, LoRA branches, every tensor, or the output head alone. */
export type LmMethod = 'snell' | 'lora' | 'full' | 'head';

export interface LmTrainRequest {
  type: 'train';
  /** The whole text: its last tenth is held out (lm-text.ts). */
  text: string;
  method: LmMethod;
  epochs: number;
  /** Tokens per training window. */
  seqLen: number;
  lr: number;
  batch: number;
}

export interface LmGenerateRequest {
  type: 'generate';
  prompt: string;
  maxNewTokens: number;
  /** 0: greedy. */
  temperature: number;
  seed: number;
}

export type ToLmWorker =
  /** The base model: the embedded LM (null), or a dropped folder's files; on that backend. */
  | { type: 'load'; checkpoint: PathFile[] | null; backend: 'auto' | 'webgpu' | 'wasm' }
  | LmTrainRequest
  | { type: 'stop' }
  | LmGenerateRequest
  | { type: 'download'; what: 'adapter' | 'merged' };

export type FromLmWorker =
  | { type: 'status'; text: string }
  | { type: 'backend'; kind: string; description: string; fallback: string | null }
  | {
      type: 'loaded';
      name: string;
      /** e.g. "llama, 2 layers, hidden 32, 4 heads (2 KV), vocabulary 291". */
      summary: string;
      parameters: number;
      maxPositions: number;
      notes: string[];
      memory: MemoryReport;
    }
  | {
      type: 'ready';
      trainWindows: number;
      /** Tokens the held-out tenth predicts. */
      heldTokens: number;
      trainable: number;
      steps: number;
    }
  /** The base model's held-out loss and perplexity, before anything trains. */
  | { type: 'before'; evaluation: LmEvaluation }
  | { type: 'step'; step: number; epoch: number; loss: number; accuracy: number; tokensPerSecond: number; memory: MemoryReport }
  | { type: 'epoch'; epoch: number; loss: number; validation: LmEvaluation | null }
  | { type: 'done'; stopped: boolean; after: LmEvaluation; stepsPerSecond: number }
  /** The text generated so far (streamed, one message per new token). */
  | { type: 'token'; text: string }
  | { type: 'generated'; text: string; ids: number[]; model: 'base' | 'adapted'; tokensPerSecond: number }
  | { type: 'files'; files: { name: string; blob: Blob }[] }
  | { type: 'error'; text: string };
