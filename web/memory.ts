// The memory figure both modes show: each pool's live and peak bytes, and the peak total, as table rows.

import type { MemoryReport } from 'snell-js';

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(2)} MiB`;

export function memoryRows(m: MemoryReport): string {
  const rows = Object.keys(m.live).map(
    (p) =>
      `<tr><th>${p}</th><td>${mib(m.live[p as keyof typeof m.live])}</td><td>${mib(m.peak[p as keyof typeof m.peak])}</td></tr>`,
  );
  return `<tr><th>device memory</th><td>live</td><td>peak</td></tr>${rows.join('')}<tr><th>peak total</th><td></td><td>${mib(m.peakTotal)}</td></tr>`;
}
