#!/usr/bin/env node
// End-to-end test of the fine-tuning page (web/): builds it, serves it on http://localhost, opens it in
// headless Chromium (playwright-core, Debian's /usr/bin/chromium), trains SNELL on the built-in MNIST,
// waits for a falling loss on the chart, screenshots the page mid-training
// (test-artifacts/web-training.png), reloads the page and resumes the run from the browser's storage
// (the same losses again), stops, evaluates, downloads the adapter, and checks in Node that
// the adapter loads onto the embedded ViT and gives the page's validation accuracy on the same 200
// VTAB-1k validation images (Trainer.evaluate, same backend as the page). Then SNELLA: the heat strip
// must show one cell per adapted layer, the kept-entry map of the first layer must appear after the
// first epoch with as many drawn pixels as it says entries are kept, a reload must resume with the
// same losses and the strip back, and a clicked cell's layer must get its map.
// Exit: 0 pass, 1 fail, 3 Chromium or playwright-core unavailable. Needs npm run build first.

import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { launch, Unavailable } from './chromium.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SETTINGS = { rank: '8', sparsity: '0.5', epochs: '30', lr: '0.05', batch: '32' };
const MIN_STEPS = 30;

const log = (s) => console.log(`# ${s}`);
const mean = (a) => a.reduce((x, y) => x + y, 0) / a.length;

/** Trains on the page, stops, evaluates, downloads the adapter into `dir`; returns what the page reported. */
async function drivePage(page, url, dir) {
  const failures = [];
  page.on('pageerror', (e) => failures.push(`page error: ${e.message}`));
  page.on('console', (m) => m.type() === 'error' && failures.push(`console: ${m.text()}`));
  page.on(
    'request',
    (r) =>
      !r.url().startsWith(url) &&
      !r.url().startsWith('blob:') &&
      !r.url().startsWith('data:') &&
      failures.push(`fetched ${r.url()}`),
  );
  await page.goto(url, { waitUntil: 'load', timeout: 30_000 });
  if (!(await page.evaluate(() => globalThis.crossOriginIsolated))) throw new Error('the page is not cross-origin isolated');
  // A bad checkpoint file: a message on the page saying what to do, and the page can train again.
  await page.setInputFiles('#checkpoint', {
    name: 'broken.safetensors',
    mimeType: 'application/octet-stream',
    buffer: Buffer.from('not a checkpoint'),
  });
  await page.click('#train');
  await page.waitForSelector('#error:not([hidden])', { timeout: 30_000 });
  log(`bad checkpoint: ${await page.textContent('#error')}`);
  await page.check('input[name=model][value=embedded]');
  for (const [id, v] of Object.entries(SETTINGS)) await page.fill(`#${id}`, v);
  const t0 = Date.now();
  await page.click('#train');
  const fail = () =>
    page.waitForSelector('#error:not([hidden])', { timeout: 0 }).then(async () => {
      throw new Error(`the page shows: ${await page.textContent('#error')}`);
    });
  // A falling loss: at least MIN_STEPS steps, the last 10 lower on average than the first 10.
  await Promise.race([
    fail(),
    page.waitForFunction(
      (n) => {
        const l = JSON.parse(document.getElementById('chart').dataset.losses);
        const avg = (a) => a.reduce((x, y) => x + y, 0) / a.length;
        return l.length >= n && avg(l.slice(-10)) < avg(l.slice(0, 10));
      },
      MIN_STEPS,
      { timeout: 90_000, polling: 250 },
    ),
  ]);
  const losses = JSON.parse(await page.getAttribute('#chart', 'data-losses'));
  log(
    `${losses.length} steps in ${((Date.now() - t0) / 1000).toFixed(1)} s: loss ${mean(losses.slice(0, 10)).toFixed(3)} → ${mean(losses.slice(-10)).toFixed(3)}; ${await page.textContent('#speed')}`,
  );
  log(await page.textContent('#device'));
  await mkdir(join(ROOT, 'test-artifacts'), { recursive: true });
  await page.screenshot({ path: join(ROOT, 'test-artifacts', 'web-training.png'), fullPage: true });
  if ((await page.getAttribute('body', 'data-state')) !== 'training')
    throw new Error('training ended before Stop: raise SETTINGS.epochs');
  await reloadAndResume(page, fail);
  await page.click('#stop');
  await Promise.race([fail(), page.waitForSelector('body[data-state=done]', { timeout: 30_000 })]);
  log(`stopped: ${await page.textContent('#status')}`);
  await page.click('#evaluate');
  await Promise.race([fail(), page.waitForSelector('#evaluation[data-validation]', { timeout: 60_000 })]);
  const validation = JSON.parse(await page.getAttribute('#evaluation', 'data-validation'));
  log(`page: ${await page.textContent('#evaluation')}`);
  await page.click('#adapter');
  await Promise.race([fail(), page.waitForSelector('#downloads a >> nth=1', { timeout: 30_000 })]);
  for (const a of await page.$$('#downloads a')) {
    const [download] = await Promise.all([page.waitForEvent('download'), a.click()]);
    await download.saveAs(join(dir, download.suggestedFilename()));
    log(`downloaded ${download.suggestedFilename()}`);
  }
  // The merged model, and one test image classified on the page.
  await page.click('#merged');
  await Promise.race([fail(), page.waitForSelector('#downloads a[download="model.safetensors"]', { timeout: 30_000 })]);
  log(`merged: ${(await page.$$eval('#downloads a', (as) => as.map((a) => a.textContent))).join(', ')}`);
  await page.setInputFiles('#classify', { name: 'digit.png', mimeType: 'image/png', buffer: await mnistPng(0) });
  await Promise.race([
    fail(),
    page.waitForFunction(() => /predicted/.test(document.getElementById('classified').textContent), null, { timeout: 30_000 }),
  ]);
  log(`classify MNIST test image 0 (a 7): ${await page.textContent('#classified')}`);
  if (failures.length) throw new Error(failures.join('\n'));
  return { validation, backend: await page.getAttribute('#device', 'data-backend') };
}

/**
 * Reloads the page mid-run: it must offer the run saved in IndexedDB (a checkpoint every 10 steps) and,
 * resumed, give the chart's earlier losses back and run the steps after the checkpoint again with the
 * same losses, digit for digit.
 */
async function reloadAndResume(page, fail) {
  // reload between checkpoints (steps 3 to 7 past one), so that some steps must run again
  await page.waitForFunction(
    () => [3, 4, 5, 6, 7].includes(JSON.parse(document.getElementById('chart').dataset.losses).length % 10),
    null,
    { timeout: 60_000, polling: 20 },
  );
  const before = JSON.parse(await page.getAttribute('#chart', 'data-losses'));
  await page.reload({ waitUntil: 'load', timeout: 30_000 });
  await page.waitForSelector('#saved:not([hidden])', { timeout: 30_000 });
  const saved = Number(await page.getAttribute('#saved', 'data-step'));
  log(`reloaded after ${before.length} steps: ${await page.textContent('#saved-text')}`);
  if (!(saved >= 10 && saved % 10 === 0 && saved < before.length)) {
    throw new Error(
      `the saved run is at step ${saved}, the page was at ${before.length}: the last checkpoint (every 10 steps) before it was expected`,
    );
  }
  await page.click('#resume');
  await Promise.race([
    fail(),
    page.waitForFunction((n) => JSON.parse(document.getElementById('chart').dataset.losses).length >= n, before.length + 5, {
      timeout: 90_000,
      polling: 250,
    }),
  ]);
  const after = JSON.parse(await page.getAttribute('#chart', 'data-losses'));
  const differ = before.map((l, i) => [i, l, after[i]]).filter(([, l, m]) => l !== m);
  if (differ.length)
    throw new Error(
      `after resuming from step ${saved}, steps ${differ
        .slice(0, 5)
        .map(([i, l, m]) => `${i + 1} (${l} then ${m})`)
        .join(', ')} differ`,
    );
  log(
    `resumed from step ${saved}: steps ${saved + 1}–${before.length} ran again with the same losses; now at step ${after.length}`,
  );
}

const SNELLA = { method: 'snella', epochs: '3', target: '0.8' };
/** The embedded ViT's adapted layers: 4 blocks × q, k, v, proj, fc1, fc2. */
const LAYERS = 24;

/** The page's SNELLA view: the heat strip's cells (layer, sparsity) and the kept map's canvas. */
const strip = (page) =>
  page.$$eval('#strip rect[data-layer]', (rs) =>
    rs.map((r) => [r.getAttribute('data-layer'), Number(r.getAttribute('data-sparsity'))]),
  );
const keptCanvas = (page) =>
  page.evaluate(() => {
    const c = document.getElementById('kept');
    const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let drawn = 0;
    for (let i = 3; i < px.length; i += 4) if (px[i] === 255) drawn++;
    return {
      layer: c.dataset.layer,
      epoch: Number(c.dataset.epoch),
      width: c.width,
      height: c.height,
      drawn,
      text: document.getElementById('kept-text').textContent,
    };
  });

function checkStrip(cells) {
  const names = new Set(cells.map(([l]) => l));
  if (cells.length !== LAYERS || names.size !== LAYERS || cells.some(([, s]) => !(s >= 0 && s <= 1)))
    throw new Error(
      `the heat strip shows ${cells.length} cells over ${names.size} layers (${LAYERS} expected, each a sparsity in [0, 1])`,
    );
}

/** Kept entries the caption gives, against the pixels drawn (no pooling below 256 a side). */
function checkKept(k, layer, [height, width]) {
  const said = Number(/: (\d+) of/.exec(k.text)?.[1]);
  if (k.layer !== layer || k.width !== width || k.height !== height || k.drawn !== said || !(said > 0))
    throw new Error(`kept map ${JSON.stringify(k)}: ${layer} at ${height}×${width} with one drawn pixel per kept entry expected`);
}

/** Trains SNELLA on the page: the strip, the kept maps, a reload and resume, and a clicked cell's map. */
async function driveSnella(page, url) {
  const failures = [];
  page.on('pageerror', (e) => failures.push(`page error: ${e.message}`));
  await page.goto(url, { waitUntil: 'load', timeout: 30_000 });
  await page.check('input[name=model][value=embedded]');
  for (const [id, v] of Object.entries(SETTINGS)) await page.fill(`#${id}`, v);
  await page.selectOption('#method', SNELLA.method);
  if ((await page.inputValue('#target-sparsity')) !== SNELLA.target)
    throw new Error('the target sparsity is not the allocator default 0.8');
  await page.fill('#epochs', SNELLA.epochs);
  const fail = () =>
    page.waitForSelector('#error:not([hidden])', { timeout: 0 }).then(async () => {
      throw new Error(`the page shows: ${await page.textContent('#error')}`);
    });
  await page.click('#train');
  await Promise.race([fail(), page.waitForSelector('#allocation:not([hidden]) #strip rect[data-layer]', { timeout: 60_000 })]);
  checkStrip(await strip(page));
  log(`snella: ${await page.textContent('#budget')}`);
  const first = (await strip(page))[0][0];
  await Promise.race([fail(), page.waitForSelector('#kept[data-epoch="1"]', { timeout: 120_000 })]);
  const k1 = await keptCanvas(page);
  checkKept(k1, first, [96, 96]);
  log(`snella: ${k1.text}`);
  // reload in epoch 2, after its re-mask gave each layer its own sparsity: the checkpoint at step 30 must restore them
  await Promise.race([
    fail(),
    page.waitForFunction(() => JSON.parse(document.getElementById('chart').dataset.losses).length > 30, null, {
      timeout: 60_000,
      polling: 50,
    }),
  ]);
  const remasked = await strip(page);
  if (new Set(remasked.map(([, s]) => s)).size < 2) throw new Error('epoch 2 re-masked every layer to one sparsity');
  await reloadAndResume(page, fail);
  await Promise.race([fail(), page.waitForSelector('#allocation:not([hidden]) #strip rect[data-layer]', { timeout: 30_000 })]);
  const restored = await strip(page);
  if (JSON.stringify(restored) !== JSON.stringify(remasked))
    throw new Error(`after resuming, the strip shows ${JSON.stringify(restored)}, before ${JSON.stringify(remasked)}`);
  checkStrip(await strip(page));
  const fc1 = 'blocks.2.mlp.additional_fc1.learnable';
  await page.click(`#strip rect[data-layer="${fc1}"]`);
  await Promise.race([fail(), page.waitForSelector(`#strip rect[data-layer="${fc1}"][stroke="#000"]`, { timeout: 30_000 })]);
  await Promise.race([fail(), page.waitForSelector(`#kept[data-layer="${fc1}"]`, { timeout: 120_000 })]);
  const k2 = await keptCanvas(page);
  checkKept(k2, fc1, [96, 192]);
  log(`snella, clicked: ${k2.text}; ${await page.textContent('#budget')}`);
  await Promise.race([fail(), page.waitForSelector('body[data-state=done]', { timeout: 120_000 })]);
  if (failures.length) throw new Error(failures.join('\n'));
}

/** MNIST test image i as PNG bytes. */
async function mnistPng(i) {
  const { PNG } = await import('pngjs');
  const pkg = await import(pathToFileURL(join(ROOT, 'dist', 'node.js')).href);
  const t = (await pkg.loadMnist()).test;
  const png = new PNG({ width: t.width, height: t.height, colorType: 0, inputColorType: 0, inputHasAlpha: false });
  png.data = Buffer.from(t.pixels.subarray(i * t.width * t.height, (i + 1) * t.width * t.height));
  return PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false });
}

/** The page's adapter on the embedded ViT, evaluated in Node on the VTAB-1k validation images. */
async function evaluateInNode(dir, backendKind) {
  const pkg = await import(pathToFileURL(join(ROOT, 'dist', 'node.js')).href);
  const base = await pkg.loadCheckpoint(pkg.embeddedCheckpoint(), { seed: 0 });
  const adapter = await pkg.loadAdapter(pkg.nodeFolder(dir), base);
  const backend = await pkg.createBackend({ prefer: backendKind });
  const model = new pkg.ViT(backend, adapter.config, adapter.weights, { plan: adapter.plan, seed: 0 });
  const prep = await pkg.ImagePrep.create();
  const { val } = pkg.vtab1k(await pkg.loadMnist(), 0);
  const result = await new pkg.Trainer(model).evaluate(pkg.ImageDataset.of(prep, val, { patch: 8, size: 32, channels: 1 }), 64);
  model.dispose();
  backend.destroy();
  return result;
}

async function main() {
  const started = Date.now();
  const { buildWeb } = await import('../../web/build.mjs');
  const { serve } = await import('../../web/serve.mjs');
  await buildWeb();
  const server = await serve();
  const url = `http://localhost:${server.address().port}/`;
  const dir = await mkdtemp(join(tmpdir(), 'snell-web-'));
  let browser;
  try {
    browser = await launch();
    log(`chromium ${browser.version()}, page ${url}`);
    const page = await browser.newPage({ acceptDownloads: true });
    const shown = await drivePage(page, url, dir);
    const node = await evaluateInNode(dir, shown.backend);
    log(
      `node (${shown.backend}): validation accuracy ${(100 * node.accuracy).toFixed(2)}% (${node.samples} images), loss ${node.loss.toFixed(4)}`,
    );
    // Same backend: the same numbers; 1 image of slack for a GPU's reduction order.
    const slack = shown.backend === 'wasm' ? 0 : 1 / node.samples;
    const lossOff = Math.abs(node.loss - shown.validation.loss) / node.loss;
    if (
      node.samples !== shown.validation.samples ||
      Math.abs(node.accuracy - shown.validation.accuracy) > slack + 1e-9 ||
      lossOff > (slack ? 1e-3 : 1e-6)
    ) {
      throw new Error(
        `the page reported accuracy ${shown.validation.accuracy}, loss ${shown.validation.loss} on ${shown.validation.samples} images, Node ${node.accuracy}, loss ${node.loss} on ${node.samples}`,
      );
    }
    await driveSnella(page, url);
    console.log(
      `PASS web e2e: SNELLA's heat strip and kept maps shown; page and Node agree on validation accuracy ${(100 * node.accuracy).toFixed(2)}% (${((Date.now() - started) / 1000).toFixed(1)} s)`,
    );
    return 0;
  } finally {
    await browser?.close().catch(() => {});
    server.closeAllConnections?.();
    await new Promise((ok) => server.close(ok));
    await rm(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    console.error(`${e instanceof Unavailable ? 'unavailable' : 'FAIL web e2e'}: ${e?.stack ?? e}`);
    process.exitCode = e instanceof Unavailable ? 3 : 1;
  },
);
