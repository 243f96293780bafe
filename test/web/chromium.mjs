// Headless Chromium for the page's end-to-end tests (playwright-core, Debian's /usr/bin/chromium or
// CHROMIUM_PATH), with WebGPU enabled; Unavailable when it cannot start (the tests then exit 3).

import { existsSync } from 'node:fs';

const CHROMIUM_ARGS = [
  '--enable-unsafe-webgpu',
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export class Unavailable extends Error {}

export async function launch() {
  let chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch (e) {
    throw new Unavailable(`playwright-core failed to load (${e.message}): npm install`);
  }
  const path = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find(
    (p) => p && existsSync(p),
  );
  if (!path) throw new Unavailable('no Chromium found (apt-get install chromium, or set CHROMIUM_PATH)');
  try {
    return await chromium.launch({ executablePath: path, args: CHROMIUM_ARGS, headless: true, timeout: 60_000 });
  } catch (e) {
    throw new Unavailable(`Chromium (${path}) failed to start: ${e.message.split('\n')[0]}`);
  }
}
