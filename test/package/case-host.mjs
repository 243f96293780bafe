// One golden adapter case through the installed package in Node, Deno or Bun (each takes its own export
// condition). In Node and Bun the project has no `webgpu` package, so the backend must fall back to Wasm
// and its stated reason must say how to get WebGPU.
import { readFileSync } from 'node:fs';
import { createBackend, detectRuntime, runConformance } from 'snell-js';

const name = 'merge_snell_7x5_q4_t0.5.safetensors';
const runtime = detectRuntime();
let reason;
const backend = await createBackend({
  onFallback: (r) => {
    reason = r;
  },
});
console.log(`# ${runtime}: ${backend.description}${reason ? ` (fallback: ${reason})` : ''}`);
if ((runtime === 'node' || runtime === 'bun') && !/(npm install|bun add) webgpu/.test(reason ?? '')) {
  console.log(`FAIL without Dawn, ${runtime} should fall back to Wasm saying how to install webgpu; reason: ${reason}`);
  process.exit(1);
}
try {
  const { failed } = await runConformance([{ name, bytes: new Uint8Array(readFileSync(name)) }], {
    backend,
    runtime,
    log: console.log,
  });
  process.exitCode = failed === 0 ? 0 : 1;
} finally {
  backend.destroy();
}
