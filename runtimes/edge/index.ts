// The package entry for edge runtimes (the "workerd", "worker" and "edge-light" export conditions): the
// runtime-independent API plus the edge host's createBackend. Built by tsup into dist/edge.js, whose
// .wasm imports stay imports of the files beside it (dist/*.wasm), which edge runtimes and their
// bundlers (wrangler) load as precompiled modules.
export * from '../api.js';
export { createBackend } from './backend.js';
