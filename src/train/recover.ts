// After a lost WebGPU device: the backend a run continues on. A new device is asked for first (a
// driver reset or a crashed GPU process usually gives one back); when none comes, the Wasm backend,
// which needs no device. The note says which, and why, for the user.

import type { Backend, BackendKind, DeviceLostError } from '../backend.js';
import type { WasmSimd } from '../wasm/simd.js';

/** How many times one run takes itself on after a lost device before it gives up. */
export const MAX_RECOVERIES = 3;

/** A host's backend constructor: `prefer` as in CreateBackendOptions, `wasmSimd` the Wasm kernels' build. */
export type BackendFactory = (options: { prefer?: BackendKind; wasmSimd?: WasmSimd }) => Promise<Backend>;

export async function replacementBackend(
  create: BackendFactory,
  lost: DeviceLostError,
): Promise<{ backend: Backend; note: string }> {
  const where = lost.step === null ? '' : ` at step ${lost.step + 1}`;
  try {
    const backend = await create({ prefer: 'webgpu' });
    return {
      backend,
      note: `the WebGPU device was lost${where} (${lost.message}); continuing on a new device (${backend.description})`,
    };
  } catch (e) {
    const backend = await create({ prefer: 'wasm' });
    return {
      backend,
      note: `the WebGPU device was lost${where} (${lost.message}) and no new one came (${(e as Error).message}); continuing on ${backend.kind} (${backend.description})`,
    };
  }
}
