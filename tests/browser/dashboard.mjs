// Opens the dashboard through its signed link in headless Debian Chromium, as a phone (360×800,
// JavaScript off: the page must read without it) and as a desktop (1280×800); reads every figure
// the page marks (data-figure / data-value), follows the first employee link, downloads the
// employee CSV, walks a paged employee list by its "next" links at phone width (`--paged`), and
// opens the bad links it is given. Saves full-page screenshots.
//
//   node tests/browser/dashboard.mjs <signin-url> <out-dir> [--paged <url>] [<bad-url> ...]
//
// Prints one line of JSON: {finalUrl, cookie, phone, desktop, employee, paged, csv, bad,
// consoleErrors}.
// Exits 0 when every page loaded with no console error (CSP violations are console errors);
// otherwise 1, with the JSON still printed. The Rust test (tests/flow/tests/dashboard.rs) checks
// the figures. Needs scripts/browser-setup.sh to have run.
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';
const STEP_TIMEOUT_MS = 20_000;
const OVERALL_TIMEOUT_MS = 90_000;

const [signin, outArg, ...rest] = process.argv.slice(2);
const pagedAt = rest.indexOf('--paged');
const pagedUrl = pagedAt >= 0 ? rest[pagedAt + 1] : null;
const badUrls = pagedAt >= 0 ? rest.filter((_, i) => i !== pagedAt && i !== pagedAt + 1) : rest;
if (!signin || !outArg) {
  console.error('usage: node tests/browser/dashboard.mjs <signin-url> <out-dir> [<bad-url> ...]');
  process.exit(2);
}
const out = resolve(outArg);
mkdirSync(out, { recursive: true });

const result = {
  finalUrl: null,
  cookie: null,
  phone: null,
  desktop: null,
  employee: null,
  paged: null,
  csv: null,
  bad: [],
  consoleErrors: [],
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
  try {
    browser?.process?.()?.kill('SIGKILL');
  } catch {}
  process.exit(1);
}, OVERALL_TIMEOUT_MS);
hardTimeout.unref();

function watch(page, label) {
  page.on('console', (msg) => {
    if (msg.type() === 'error') result.consoleErrors.push(`${label}: ${msg.text()}`);
  });
  page.on('pageerror', (err) => result.consoleErrors.push(`${label}: pageerror: ${err.message}`));
}

// Every marked figure, whether the page scrolls sideways, and its title.
async function read(page) {
  return page.evaluate(() => {
    const figures = {};
    for (const el of document.querySelectorAll('[data-figure]')) {
      figures[el.getAttribute('data-figure')] = el.getAttribute('data-value');
    }
    return {
      figures,
      title: document.title,
      page: document.body?.dataset.page ?? null,
      scrollWidth: document.documentElement.scrollWidth,
      innerWidth: window.innerWidth,
      ratings: document.querySelectorAll('article.rating').length,
      text: document.body?.innerText ?? '',
    };
  });
}

async function context(viewport, mobile, javaScriptEnabled) {
  const ctx = await browser.newContext({
    viewport,
    deviceScaleFactor: mobile ? 2 : 1,
    isMobile: mobile,
    hasTouch: mobile,
    locale: 'ru-RU',
    javaScriptEnabled,
    acceptDownloads: true,
  });
  await ctx.route(
    (u) => u.pathname === '/favicon.ico',
    (route) => route.fulfill({ status: 204, body: '' }),
  );
  return ctx;
}

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
    // The phone, without JavaScript.
    const phone = await context({ width: 360, height: 800 }, true, false);
    const p = await phone.newPage();
    watch(p, 'phone');
    const r = await p.goto(signin, { waitUntil: 'load', timeout: STEP_TIMEOUT_MS });
    result.finalUrl = p.url();
    const cookies = await phone.cookies();
    const c = cookies.find((x) => x.name === 'otklik_report');
    result.cookie = c
      ? { httpOnly: c.httpOnly, secure: c.secure, sameSite: c.sameSite, path: c.path }
      : null;
    if (r && !r.ok()) result.consoleErrors.push(`phone: http ${r.status()}`);
    result.phone = await read(p);
    delete result.phone.text;
    await p.screenshot({ path: join(out, 'dashboard-phone.png'), fullPage: true });
    await phone.close();

    // The desktop, with JavaScript (the page has none of its own; nothing may break either).
    const desk = await context({ width: 1280, height: 800 }, false, true);
    const d = await desk.newPage();
    watch(d, 'desktop');
    const r2 = await d.goto(signin, { waitUntil: 'load', timeout: STEP_TIMEOUT_MS });
    if (r2 && !r2.ok()) result.consoleErrors.push(`desktop: http ${r2.status()}`);
    result.desktop = await read(d);
    delete result.desktop.text;
    await d.screenshot({ path: join(out, 'dashboard-desktop.png'), fullPage: true });

    // The CSV, as the person downloads it.
    const [download] = await Promise.all([
      d.waitForEvent('download', { timeout: STEP_TIMEOUT_MS }),
      d.click('a[href*="/employees.csv"]'),
    ]);
    const path = await download.path();
    result.csv = { name: download.suggestedFilename(), text: readFileSync(path, 'utf8') };

    // The first employee's page.
    await Promise.all([
      d.waitForURL(/\/reports\/employee\//, { timeout: STEP_TIMEOUT_MS }),
      d.click('#employees tbody tr:first-child td:first-child a'),
    ]);
    result.employee = { url: d.url(), ...(await read(d)) };
    await d.screenshot({ path: join(out, 'dashboard-employee.png'), fullPage: true });

    // A long list at phone width: page after page by the "next" link, as a person taps it.
    if (pagedUrl) {
      await d.setViewportSize({ width: 360, height: 800 });
      await d.goto(pagedUrl, { waitUntil: 'load', timeout: STEP_TIMEOUT_MS });
      result.paged = { pages: [], total: null, widest: 0, innerWidth: 360 };
      for (let i = 0; i < 50; i++) {
        const seen = await read(d);
        const pager = await d.evaluate(() => {
          const nav = document.querySelector('nav.pager');
          const next = document.querySelector('a[rel="next"]');
          return {
            page: nav?.dataset.page ?? null,
            total: nav?.dataset.total ?? null,
            next: next ? next.href : null,
          };
        });
        result.paged.pages.push({ page: pager.page, ratings: seen.ratings });
        result.paged.total = pager.total;
        result.paged.widest = Math.max(result.paged.widest, seen.scrollWidth);
        if (!pager.next) break;
        await Promise.all([
          d.waitForURL((u) => u.href === pager.next, { timeout: STEP_TIMEOUT_MS }),
          d.click('a[rel="next"]'),
        ]);
      }
      await d.screenshot({ path: join(out, 'dashboard-employee-paged.png'), fullPage: true });
    }
    await desk.close();

    // Bad links, in a browser with no cookie.
    for (const url of badUrls) {
      const ctx = await context({ width: 360, height: 800 }, true, false);
      const b = await ctx.newPage();
      const resp = await b.goto(url, { waitUntil: 'load', timeout: STEP_TIMEOUT_MS });
      const error = await b.evaluate(
        () => document.querySelector('[data-error]')?.getAttribute('data-error') ?? null,
      );
      result.bad.push({ status: resp ? resp.status() : null, error, url: b.url() });
      await ctx.close();
    }
  } finally {
    await browser.close();
  }
}

try {
  await main();
  finish(result.consoleErrors.length === 0 ? 0 : 1);
} catch (e) {
  result.consoleErrors.push(`error: ${e && e.message ? e.message.split('\n')[0] : String(e)}`);
  finish(1);
} finally {
  clearTimeout(hardTimeout);
}
