// The backend contract's table of bad calls on the wasm backend: the exact messages of
// test/support/contract-suite.ts, which the WebGPU backend gives too (webgpu-contract.test.ts).

import { createWasmBackend } from '../src/wasm/backend.js';
import { describeContract } from './support/contract-suite.js';

describeContract('wasm', createWasmBackend);
