// The speed targets a CPU run of bench/compare.mjs is checked against, each computed from that run's own
// measurements (never from an earlier run's):
//   1. ViT-B/16 SNELL-8 step ≤ 1.5× LoRA-8's with branch noise on (dropout and DropPath 0.1), ≤ 1.2× with it
//      off, on Wasm, and on WebGPU where the adapter is a hardware one
//   2. the adapter's fwd+bwd at 768×768 (r 16, s 0.9, 1576 rows) on Wasm ≤ 1.0× PyTorch CPU's hand-written one
//   3. Wasm matmul at 1576×768×3072 ≥ 150 GFLOP/s with relaxed SIMD (the plain build's figure beside it)
//   4. ViT-B/16 LoRA-8 and full fine-tuning steps on Wasm ≤ 1.0× PyTorch CPU's
// A target whose measurements are not all in the run says why it was not measured; the GPU targets, without a
// hardware WebGPU adapter, collapse into one line saying so.

/** The key of a training row: `${size}-${method}`, with "-noise-off" for a branched method with branch noise off. */
export const trainKey = (size, method, noise) => `${size}-${method}${noise === 'off' && method !== 'full' ? '-noise-off' : ''}`;

const fmtMs = (v) => `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ms`;

/** { value } picked from `source`, or { why } it is not there (`source` missing or `pick` finding nothing). */
function measured(source, pick, absent) {
  if (source == null) return { why: absent };
  if (source.missing) return { why: source.missing };
  const value = pick(source);
  return value == null ? { why: absent } : { value };
}

/** A target on num / den ≤ max. */
function ratioTarget(target, max, num, den) {
  const why = num.why ?? den.why;
  if (why) return { target, threshold: `≤ ${max.toFixed(1)}×`, measured: '–', result: `not measured: ${why}` };
  const r = num.value / den.value;
  return {
    target,
    threshold: `≤ ${max.toFixed(1)}×`,
    measured: `${r.toFixed(2)}× (${fmtMs(num.value)} / ${fmtMs(den.value)})`,
    result: r <= max ? 'met' : 'missed',
  };
}

/**
 * The target rows [{ target, threshold, measured, result }] and the lines below them, from one run:
 *   ours         { wasm?, webgpu? }: each { matmul, adapter, train, software } as compare.mjs measured them
 *                (matmul.shapes the path the backend picks, matmul.plain the plain build's where relaxed ran)
 *   torch        pytorch.py's output ({ adapter, train }) or { missing }
 *   torchDevice  'cpu' or 'cuda' (the PyTorch targets compare with PyTorch CPU only)
 */
export function targets({ ours, torch, torchDevice }) {
  const rows = [];
  const lines = [];
  const backend = (kind) => ours[kind] ?? { missing: `${kind} not in --backends` };
  const label = (method) => ({ snell: 'SNELL-8', lora: 'LoRA-8', full: 'full fine-tuning' })[method];
  /** The ViT-B/16 step (ms) of `method` with branch noise `noise` from a `train` map of compare.mjs or pytorch.py. */
  const baseStep = (train, method, noise) => {
    const name = `ViT-B/16 ${label(method)}${noise === 'off' ? ' (branch noise off)' : ''}`;
    return measured(
      train?.[trainKey('base', method, noise)],
      (s) => s.ms,
      `${name} not in this run (--models, --methods, --branch-noise)`,
    );
  };
  const step = (kind, method, noise) => {
    const b = backend(kind);
    return b.missing ? { why: b.missing } : baseStep(b.train, method, noise);
  };
  const pytorchCpu = (get) =>
    torchDevice !== 'cpu'
      ? { why: `PyTorch ran on ${torchDevice}, the target is against PyTorch CPU` }
      : torch.missing
        ? { why: `PyTorch ${torch.missing}` }
        : get(torch);

  const snellOverLora = (kind, label) => {
    rows.push(
      ratioTarget(
        `ViT-B/16 SNELL-8 step / LoRA-8 step, ${label}, branch noise on`,
        1.5,
        step(kind, 'snell', 'on'),
        step(kind, 'lora', 'on'),
      ),
    );
    rows.push(
      ratioTarget(
        `ViT-B/16 SNELL-8 step / LoRA-8 step, ${label}, branch noise off`,
        1.2,
        step(kind, 'snell', 'off'),
        step(kind, 'lora', 'off'),
      ),
    );
  };
  snellOverLora('wasm', 'Wasm');

  const adapter = backend('wasm');
  rows.push(
    ratioTarget(
      'adapter fwd+bwd 768×768, r 16, s 0.9, 1576 rows: Wasm / PyTorch CPU hand-written',
      1.0,
      measured(
        adapter.missing ? adapter : adapter.adapter,
        (a) => a.shapes?.find((s) => s.n === 768 && s.m === 768)?.ms,
        'adapter not measured',
      ),
      pytorchCpu((t) => measured(t.adapter?.['768x768'], (a) => a.handwritten_ms, 'PyTorch adapter not in this run')),
    ),
  );

  const matmul = backend('wasm').missing ? backend('wasm') : ours.wasm.matmul;
  const fc1 = (shapes) => shapes?.find((s) => s.m === 1576 && s.k === 768 && s.n === 3072)?.gflops;
  const mm = { target: 'Wasm matmul 1576×768×3072, relaxed SIMD', threshold: '≥ 150 GFLOP/s' };
  if (matmul.missing) rows.push({ ...mm, measured: '–', result: `not measured: ${matmul.missing}` });
  else if (!matmul.plain) {
    const plain = fc1(matmul.shapes);
    rows.push({
      ...mm,
      measured: plain == null ? '–' : `plain SIMD ${plain.toFixed(1)} GFLOP/s`,
      result: 'not measured: this engine has no relaxed SIMD',
    });
  } else {
    const relaxed = fc1(matmul.shapes);
    rows.push({
      ...mm,
      measured: `${relaxed.toFixed(1)} GFLOP/s (plain SIMD ${fc1(matmul.plain).toFixed(1)} GFLOP/s)`,
      result: relaxed >= 150 ? 'met' : 'missed',
    });
  }

  for (const method of ['lora', 'full']) {
    rows.push(
      ratioTarget(
        `ViT-B/16 ${label(method)} step: Wasm / PyTorch CPU`,
        1.0,
        step('wasm', method, 'on'),
        pytorchCpu((t) => baseStep(t.train, method, 'on')),
      ),
    );
  }

  const gpu = ours.webgpu;
  if (gpu && !gpu.matmul?.missing && !gpu.software) snellOverLora('webgpu', 'WebGPU');
  else {
    const why = !gpu
      ? 'webgpu not in --backends'
      : gpu.matmul?.missing
        ? `no WebGPU adapter: ${gpu.matmul.missing}`
        : `software GPU: ${gpu.matmul.description}`;
    lines.push(`GPU targets not measured: no hardware adapter (${why}).`);
  }
  return { rows, lines };
}

/** The targets as Markdown lines: a table, then the lines below it. */
export function targetsTable({ rows, lines }) {
  return [
    '| target | threshold | measured | result |',
    '|---|---|---|---|',
    ...rows.map((r) => `| ${r.target} | ${r.threshold} | ${r.measured} | ${r.result} |`),
    ...(lines.length ? ['', ...lines] : []),
  ];
}
