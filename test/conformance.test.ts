// The golden vectors from the authors' PyTorch module, through the conformance runner, on both
// backends; and the runner's own verdicts on vectors that are wrong on purpose.

import { readFileSync, readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../src/backend.js';
import { isVectorFile, runConformance, type VectorFile } from '../src/conformance/run.js';
import { SafetensorsFile } from '../src/io/safetensors.js';
import { encodeSafetensors } from '../src/io/safetensors-write.js';
import { BACKENDS } from './support/backends.js';
import { makeMergeVector, randomSpec } from './support/make-vector.js';
import { VECTORS_DIR } from './support/vectors.js';

const DIR = VECTORS_DIR;
const files: VectorFile[] = readdirSync(DIR)
  .filter((f) => f.endsWith('.safetensors'))
  .map((name) => ({ name, bytes: new Uint8Array(readFileSync(`${DIR}/${name}`)) }));

/** A vector of known content (7×5, s = 0.5: 17 kept) with one reference tensor changed. */
function tamper(tensor: string, change: (d: Float32Array) => void): VectorFile {
  const { name, bytes } = makeMergeVector(randomSpec('snell', 7, 5, 4, 2, 3, 0.5, 9));
  const src = SafetensorsFile.parse(bytes, name);
  const tensors = Object.fromEntries([...src.entries.keys()].map((k) => [k, src.tensor(k)]));
  change(tensors[tensor].data);
  return { name, bytes: encodeSafetensors(tensors, { ...src.metadata }) };
}

for (const [kind, make] of BACKENDS) {
  describe(`golden vectors on ${kind}`, () => {
    let backend: Backend;
    beforeAll(async () => {
      backend = await make();
    });
    afterAll(() => backend?.destroy());

    const run = async (set: VectorFile[]) => {
      const lines: string[] = [];
      const summary = await runConformance(set, { backend, runtime: 'node', log: (l) => lines.push(l) });
      return { ...summary, lines };
    };

    it('every vector passes (merge, block, train)', async () => {
      const r = await run(files);
      expect(
        r.lines.filter((l) => !l.startsWith('PASS')),
        r.lines.join('\n'),
      ).toEqual([]);
      expect(r.passed).toBe(files.filter((f) => isVectorFile(f.name)).length);
    });

    it('a gradient off by 1e-3 fails, naming the output', async () => {
      const r = await run([tamper('grad.In_Qs', (d) => d.forEach((v, i) => (d[i] = v * 1.001)))]);
      expect(r.failed).toBe(1);
      expect(r.lines[0]).toMatch(/^FAIL merge_snell_7x5_q4_t0\.5 .*grad\.In_Qs relative error/);
    });

    it('a reference W of all ties (nothing kept) fails the kept-count rule', async () => {
      const r = await run([tamper('W', (d) => d.fill(0.5))]);
      expect(r.failed).toBe(1);
      expect(r.lines[0]).toMatch(/selection on the stored W keeps 0, reference 17/);
    });

    it('a broken file is one FAIL line naming it', async () => {
      const r = await run([{ name: 'merge_cut.safetensors', bytes: files[0].bytes.subarray(0, 100) }]);
      expect(r.lines).toEqual([
        expect.stringMatching(new RegExp(`^FAIL merge_cut\\.safetensors ${kind} node -- merge_cut\\.safetensors: .*truncated`)),
      ]);
    });
  });
}
