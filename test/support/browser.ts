import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

/** Debian's Chromium (apt-get install -y chromium); the tests never download a browser of their own. */
export const CHROMIUM = '/usr/bin/chromium';

/** Why the browser test cannot run here; in CI (which installs Chromium) it never skips, it fails. */
export function chromiumMissing(): string | null {
  if (existsSync(CHROMIUM) || process.env.CI) return null;
  return `${CHROMIUM} is not installed (apt-get install -y chromium)`;
}

/**
 * Opens a local page in headless Chromium with the network off, and reports the console errors and
 * the drawn paths of every chart; keeps a full-page screenshot.
 */
export async function openOffline(file: string, screenshot: string): Promise<{ errors: string[]; pathsPerChart: number[] }> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    // No sandbox as root in a container; no background traffic to hosts this machine cannot reach.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const context = await browser.newContext({ offline: true, viewport: { width: 1200, height: 900 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    page.on('pageerror', (error) => errors.push(String(error)));
    page.on('requestfailed', (request) => errors.push(`request failed: ${request.url()}`));
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    const pathsPerChart = await page.$$eval('figure.chart', (figures) => figures.map((figure) => figure.querySelectorAll('svg path').length));
    await page.screenshot({ path: screenshot, fullPage: true });
    return { errors, pathsPerChart };
  } finally {
    await browser.close();
  }
}
