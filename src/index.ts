// The runtime-independent public API. Each entry in src/entries adds the host's createBackend.
export type { Backend, BackendKind, DType, MatmulOptions, MergeKernel, Tensor } from './backend.js';
export { BackendError } from './backend.js';
export type { AdapterConfig, AdapterKind } from './adapter/config.js';
export { AdapterConfigError, defaultCoeff, resolveConfig } from './adapter/config.js';
export type { AdapterGradients, AdapterParams, MergedUpdate } from './adapter/op.js';
export { SnellAdapterOp } from './adapter/op.js';
