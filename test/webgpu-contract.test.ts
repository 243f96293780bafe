// The backend contract's table of bad calls on the WebGPU backend (Dawn via the `webgpu` package; Mesa
// lavapipe where no GPU exists; skipped without any adapter): the exact messages of
// test/support/contract-suite.ts, which the wasm backend gives too (wasm-contract.test.ts).

import { create, globals } from 'webgpu';
import { createWebGpuBackend } from '../src/webgpu/backend.js';
import { describeContract } from './support/contract-suite.js';

Object.assign(globalThis, globals);
const gpu = create([]);

describeContract('webgpu', async () => ((await gpu.requestAdapter()) ? createWebGpuBackend(gpu) : null));
