import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';

/**
 * Headless Chromium for the tests that look at a web page: Debian's `chromium` package, driven by
 * playwright-core (which never downloads a browser of its own).
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  // Tests run as root in containers, where Chromium's sandbox cannot start.
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  // Without these Chromium phones home on start (updates, sync, field trials); a closed network
  // refuses those connections and the noise hides what the page itself requested.
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`No Chromium at ${CHROMIUM}: install Debian's chromium package (\`sudo apt-get install chromium\`, as .ci/run does) or set CHROMIUM_PATH to a Chromium or Chrome binary`);
  }
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

/** `.harvester/screenshots/` in the repo: git-ignored, kept after the run for a person to look at. */
const SCREENSHOT_DIR = fileURLToPath(new URL('../../.harvester/screenshots/', import.meta.url));

/** Saves a screenshot of the whole page as `<name>.png` and returns its path. */
export async function saveScreenshot(page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
