// SNELLA's allocator on each backend against the authors' (alloc_* vectors), through the conformance
// runner's case (src/conformance/alloc-case.ts): beyond the vectors README's criteria, which let a
// float32 rounding move a split by one entry, every split here must come out exactly.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../src/backend.js';
import { runAllocCase } from '../src/conformance/alloc-case.js';
import { BACKENDS } from './support/backends.js';

describe.each(BACKENDS)('SNELLA allocator on %s', (_, create) => {
  let b: Backend;
  beforeAll(async () => {
    b = await create();
  });
  afterAll(() => b?.destroy());

  it.each(['alloc_warmup_t0.5', 'alloc_vtab_t0.8'])('%s: every split exact, final averages within 1e-4', async (name) => {
    const { errors, problems } = await runAllocCase(b, readFileSync(`test/vectors/${name}.safetensors`), name);
    expect(problems).toEqual([]);
    expect(errors[0]).toMatch(/^sparsity moved=0\//);
  });
});
