import { spawnSync } from 'node:child_process';
import { defineConfig } from 'vitest/config';
import { ASSET, assetModule } from './build-assets.js';
import { relaxedSimdSupported } from './src/wasm/simd.js';

/**
 * Node 20 has relaxed SIMD behind a V8 flag only: test processes get it where this Node takes it, so the
 * wasm suites run both builds of the kernels (test/support/simd.ts); later Nodes have it on by default.
 */
const RELAXED_FLAG = '--experimental-wasm-relaxed-simd';
const relaxedFlag =
  !relaxedSimdSupported() && spawnSync(process.execPath, [RELAXED_FLAG, '-e', ''], { stdio: 'ignore' }).status === 0
    ? [RELAXED_FLAG]
    : [];

export default defineConfig({
  plugins: [{ name: 'snell-assets', enforce: 'pre', load: (id) => (ASSET.test(id) ? assetModule(id) : null) }],
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
    execArgv: relaxedFlag,
  },
});
