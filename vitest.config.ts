import { defineConfig } from 'vitest/config';
import { ASSET, assetModule } from './build-assets.js';

export default defineConfig({
  plugins: [{ name: 'snell-assets', enforce: 'pre', load: (id) => (ASSET.test(id) ? assetModule(id) : null) }],
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
