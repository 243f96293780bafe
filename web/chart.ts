// The live training chart on a plain canvas: the loss of each step (left axis, auto-scaled) and the
// batch accuracy of each step and the validation accuracy of each epoch (right axis, 0–100%).

export interface ChartData {
  loss: number[];
  accuracy: number[];
  /** [step, accuracy] at the end of each epoch */
  validation: [number, number][];
}

export function drawChart(canvas: HTMLCanvasElement, d: ChartData): void {
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const { width: W, height: H } = canvas;
  const pad = { l: 44, r: 44, t: 12, b: 22 };
  const w = W - pad.l - pad.r;
  const h = H - pad.t - pad.b;
  ctx.clearRect(0, 0, W, H);
  ctx.font = '11px system-ui, sans-serif';
  ctx.strokeStyle = '#ccc';
  ctx.strokeRect(pad.l, pad.t, w, h);
  const n = Math.max(2, d.loss.length);
  const maxLoss = Math.max(1e-6, ...d.loss);
  const x = (i: number) => pad.l + (w * i) / (n - 1);
  const yLoss = (v: number) => pad.t + h * (1 - v / maxLoss);
  const yAcc = (v: number) => pad.t + h * (1 - v);
  const line = (values: number[], y: (v: number) => number, colour: string) => {
    ctx.strokeStyle = colour;
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    values.forEach((v, i) => (i ? ctx.lineTo(x(i), y(v)) : ctx.moveTo(x(i), y(v))));
    ctx.stroke();
  };
  line(d.accuracy, yAcc, '#9ecae1');
  line(d.loss, yLoss, '#d62728');
  ctx.fillStyle = '#2ca02c';
  for (const [s, a] of d.validation) ctx.fillRect(x(s) - 3, yAcc(a) - 3, 6, 6);
  ctx.fillStyle = '#333';
  ctx.textAlign = 'right';
  ctx.fillText(maxLoss.toFixed(2), pad.l - 4, pad.t + 10);
  ctx.fillText('0', pad.l - 4, pad.t + h);
  ctx.textAlign = 'left';
  ctx.fillText('100%', pad.l + w + 4, pad.t + 10);
  ctx.fillText('0%', pad.l + w + 4, pad.t + h);
  ctx.fillText(`loss (red), batch accuracy (blue), validation accuracy (green) — ${d.loss.length} steps`, pad.l, H - 6);
}
