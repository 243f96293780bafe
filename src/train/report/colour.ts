// The pictures' colours. Sparsity s in [0, 1] runs through a sequential scale (pale yellow at 0, where
// a layer keeps everything, through green and blue to deep purple at 1), linear between five stops.
// An update entry w runs through a diverging scale: white at 0 to red for w > 0 and blue for w < 0,
// at strength sqrt(|w| / max|w|), so that small kept entries stay visible.

export type Rgb = readonly [number, number, number];

const SPARSITY_STOPS: readonly Rgb[] = [
  [250, 235, 130],
  [120, 195, 110],
  [40, 145, 140],
  [45, 85, 155],
  [60, 25, 90],
];
const POSITIVE: Rgb = [180, 25, 40];
const NEGATIVE: Rgb = [30, 80, 170];
const WHITE: Rgb = [255, 255, 255];

const mix = (a: Rgb, b: Rgb, t: number): Rgb => [0, 1, 2].map((c) => Math.round(a[c]! + (b[c]! - a[c]!) * t)) as unknown as Rgb;

/** The colour of sparsity s (clamped to [0, 1]). */
export function sparsityColour(s: number): Rgb {
  const x = Math.min(1, Math.max(0, s)) * (SPARSITY_STOPS.length - 1);
  const k = Math.min(SPARSITY_STOPS.length - 2, Math.floor(x));
  return mix(SPARSITY_STOPS[k]!, SPARSITY_STOPS[k + 1]!, x - k);
}

/** The colour of an update entry w, on the scale whose ends are ±max (max > 0). */
export function updateColour(w: number, max: number): Rgb {
  const t = Math.sqrt(Math.min(1, Math.abs(w) / max));
  return mix(WHITE, w >= 0 ? POSITIVE : NEGATIVE, t);
}

export const cssColour = (c: Rgb): string => `rgb(${c[0]},${c[1]},${c[2]})`;
