// Opens a survey landing page (GET /r/{token}) in headless Debian Chromium as a phone would, waits for
// the page's script to record the rating, and saves a full-page screenshot.
//
//   node tests/browser/landing.mjs <url> <screenshot.png>
//
// Prints one line of JSON: {"state","title","rating","bytes","consoleErrors"}. Exits 0 only when the
// page reached data-state="recorded" with no console errors (CSP violations are console errors);
// otherwise 1, with the JSON still printed. Needs scripts/browser-setup.sh to have run.
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { chromium } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';
const STATE_TIMEOUT_MS = 20_000;
const OVERALL_TIMEOUT_MS = 60_000;

const [url, shotArg] = process.argv.slice(2);
if (!url || !shotArg) {
  console.error('usage: node tests/browser/landing.mjs <url> <screenshot.png>');
  process.exit(2);
}
const shotPath = resolve(shotArg);

const result = { state: null, title: null, rating: null, bytes: 0, consoleErrors: [] };
let printed = false;
function finish(code) {
  if (!printed) {
    printed = true;
    process.stdout.write(JSON.stringify(result) + '\n');
  }
  process.exitCode = code;
}

let browser;
const hardTimeout = setTimeout(() => {
  result.consoleErrors.push(`timeout: gave up after ${OVERALL_TIMEOUT_MS / 1000} s`);
  finish(1);
  // Kill the browser process outright; close() may hang on whatever made us time out.
  try {
    browser?.process?.()?.kill('SIGKILL');
  } catch {}
  process.exit(1);
}, OVERALL_TIMEOUT_MS);
hardTimeout.unref();

async function main() {
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  try {
    const context = await browser.newContext({
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
      locale: 'ru-RU',
    });
    // Chromium asks for /favicon.ico on its own when the page links no icon; that request is the
    // browser's, not the page's, so a 404 for it must not count as a console error.
    await context.route(
      (u) => u.pathname === '/favicon.ico',
      (route) => route.fulfill({ status: 204, body: '' }),
    );
    const page = await context.newPage();
    page.on('console', (msg) => {
      if (msg.type() !== 'error') return;
      const where = msg.location()?.url;
      const text = msg.text();
      // "Failed to load resource" does not say which one: add the address.
      result.consoleErrors.push(where && !text.includes(where) ? `${text} (${where})` : text);
    });
    page.on('pageerror', (err) => result.consoleErrors.push(`pageerror: ${err.message}`));

    const response = await page.goto(url, { waitUntil: 'load', timeout: STATE_TIMEOUT_MS });
    if (response && !response.ok()) {
      result.consoleErrors.push(`http: ${response.status()} ${response.statusText()}`.trim());
    }
    try {
      await page.waitForFunction(
        () => document.body && document.body.dataset.state !== 'pending',
        null,
        { timeout: STATE_TIMEOUT_MS },
      );
    } catch (e) {
      result.consoleErrors.push(`wait: data-state still pending after ${STATE_TIMEOUT_MS / 1000} s`);
    }

    const info = await page.evaluate(() => {
      const body = document.body;
      const rated = document.querySelector('[data-rating]');
      return {
        state: body ? (body.dataset.state ?? null) : null,
        title: document.title,
        rating: (body && body.dataset.rating) ?? (rated ? rated.getAttribute('data-rating') : null),
        bytes: document.documentElement.outerHTML.length, // replaced by the served length below
      };
    });
    Object.assign(result, info);
    // The HTML as served (bytes on the wire after decoding), not the DOM the script has since changed.
    if (response) {
      try {
        result.bytes = (await response.body()).length;
      } catch {}
    }

    mkdirSync(dirname(shotPath), { recursive: true });
    await page.screenshot({ path: shotPath, fullPage: true });
    await context.close();
  } finally {
    await browser.close();
  }
}

try {
  await main();
  finish(result.state === 'recorded' && result.consoleErrors.length === 0 ? 0 : 1);
} catch (e) {
  result.consoleErrors.push(`error: ${e && e.message ? e.message.split('\n')[0] : String(e)}`);
  finish(1);
} finally {
  clearTimeout(hardTimeout);
}
