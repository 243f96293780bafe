// Types of targets.mjs (the speed targets a bench run is checked against), for the test that checks it.
export interface TargetRow {
  target: string;
  threshold: string;
  measured: string;
  result: string;
}
export function trainKey(size: string, method: string, noise: 'on' | 'off'): string;
export function targets(run: { ours: Record<string, unknown>; torch: Record<string, unknown>; torchDevice: string }): {
  rows: TargetRow[];
  lines: string[];
};
export function targetsTable(targets: { rows: TargetRow[]; lines: string[] }): string[];
