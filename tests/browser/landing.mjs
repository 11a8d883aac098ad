// Opens a survey landing page (GET /r/{token}) in headless Debian Chromium as a phone (or a desktop)
// would, waits for the page's script to settle, and saves a full-page screenshot.
//
//   node tests/browser/landing.mjs <url> <screenshot.png> [options]
//
//   --width N        viewport width in CSS px (390, a phone, by default; 1280 is a desktop)
//   --expect STATE   the data-state the page must reach ("recorded" by default)
//   --status N       the HTTP status the page is served with (a 2xx by default; 409, 410 expected)
//   --click SEL      once settled, click the element and wait for the page it leads to
//   --text S         the visible text must contain S (repeatable)
//   --absent S       the visible text must not contain S (repeatable)
//
// Prints one line of JSON: {"state","title","rating","bytes","status","width","overflow",
// "consoleErrors","failed"}. Exits 0 only when the page reached the expected state, with no console
// errors (CSP violations are console errors), nothing wider than the viewport, and every text check
// met; otherwise 1, with the JSON still printed. Needs scripts/browser-setup.sh to have run.
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { chromium } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';
const STATE_TIMEOUT_MS = 20_000;
const OVERALL_TIMEOUT_MS = 60_000;

const [url, shotArg, ...rest] = process.argv.slice(2);
if (!url || !shotArg) {
  console.error('usage: node tests/browser/landing.mjs <url> <screenshot.png> [options]');
  process.exit(2);
}
const shotPath = resolve(shotArg);
const opts = { width: 390, expect: 'recorded', status: null, click: null, text: [], absent: [] };
for (let i = 0; i < rest.length; i += 2) {
  const [flag, value] = [rest[i], rest[i + 1]];
  if (value === undefined) {
    console.error(`${flag} needs a value`);
    process.exit(2);
  }
  if (flag === '--width') opts.width = Number(value);
  else if (flag === '--expect') opts.expect = value;
  else if (flag === '--status') opts.status = Number(value);
  else if (flag === '--click') opts.click = value;
  else if (flag === '--text') opts.text.push(value);
  else if (flag === '--absent') opts.absent.push(value);
  else {
    console.error(`unknown option ${flag}`);
    process.exit(2);
  }
}
const phone = opts.width < 600;

const result = {
  state: null,
  title: null,
  rating: null,
  bytes: 0,
  status: null,
  width: opts.width,
  overflow: false,
  consoleErrors: [],
  failed: [],
};
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
      viewport: { width: opts.width, height: phone ? 844 : 800 },
      deviceScaleFactor: phone ? 2 : 1,
      isMobile: phone,
      hasTouch: phone,
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
      // The expected status of the page itself (409 answered, 410 expired) is not an error.
      if (opts.status && text.includes(`status of ${opts.status}`)) return;
      // "Failed to load resource" does not say which one: add the address.
      result.consoleErrors.push(where && !text.includes(where) ? `${text} (${where})` : text);
    });
    page.on('pageerror', (err) => result.consoleErrors.push(`pageerror: ${err.message}`));

    const response = await page.goto(url, { waitUntil: 'load', timeout: STATE_TIMEOUT_MS });
    result.status = response ? response.status() : null;
    if (response && (opts.status ? response.status() !== opts.status : !response.ok())) {
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

    if (opts.click) {
      await Promise.all([
        page.waitForNavigation({ waitUntil: 'load', timeout: STATE_TIMEOUT_MS }),
        page.click(opts.click, { timeout: STATE_TIMEOUT_MS }),
      ]);
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
    // What a person sees: the visible text, and nothing sticking out of the viewport sideways.
    const seen = await page.evaluate(() => ({
      text: document.body ? document.body.innerText : '',
      overflow: document.documentElement.scrollWidth > window.innerWidth,
    }));
    result.overflow = seen.overflow;
    if (seen.overflow) result.failed.push(`wider than ${opts.width} px`);
    if (result.state !== opts.expect) result.failed.push(`state ${result.state}, want ${opts.expect}`);
    for (const t of opts.text) if (!seen.text.includes(t)) result.failed.push(`no text: ${t}`);
    for (const t of opts.absent) if (seen.text.includes(t)) result.failed.push(`text present: ${t}`);
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
  finish(result.failed.length === 0 && result.consoleErrors.length === 0 ? 0 : 1);
} catch (e) {
  result.consoleErrors.push(`error: ${e && e.message ? e.message.split('\n')[0] : String(e)}`);
  finish(1);
} finally {
  clearTimeout(hardTimeout);
}
