// Drives the sandbox page (GET /sandbox) in headless Debian Chromium as a person playing the
// "Russia 2026" shop's customers: completes an order for a customer with MAX, answers the MAX
// question in the page's chat box and waits for our reply to appear there; completes one for a
// customer without MAX, opens the short link in the SMS inbox and taps a rating on the page it
// opens.
//
//   node tests/browser/sandbox.mjs <sandbox-url> <phone-with-max> <phone-without-max>
//
// Prints one line of JSON: {"maxQuestion","maxReply","sms","landing","consoleErrors"}. Exits 0 only
// when every step happened with no console errors on either page; otherwise 1, with the JSON still
// printed. Needs scripts/browser-setup.sh to have run.
import { chromium } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';
const STEP_TIMEOUT_MS = 60_000;
const OVERALL_TIMEOUT_MS = 180_000;

const [url, withMax, withoutMax] = process.argv.slice(2);
if (!url || !withMax || !withoutMax) {
  console.error('usage: node tests/browser/sandbox.mjs <sandbox-url> <phone-with-max> <phone-without-max>');
  process.exit(2);
}

const result = { maxQuestion: null, maxReply: null, sms: null, landing: null, consoleErrors: [] };
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

function watch(page, name) {
  page.on('console', (msg) => {
    if (msg.type() === 'error') result.consoleErrors.push(`${name}: ${msg.text()}`);
  });
  page.on('pageerror', (err) => result.consoleErrors.push(`${name}: pageerror: ${err.message}`));
}

// The shop completes an order on the Russian site, as a person fills the page's form.
async function completeOrder(page, name, phone, noMax) {
  await page.fill('#new input[name=name]', name);
  await page.fill('#new input[name=phone]', phone);
  await page.selectOption('#new select[name=shop]', 'russia-2026');
  await page.setChecked('#new input[name=no_max]', noMax);
  await page.click('#new button');
  await page.waitForFunction(() => /completed/.test(document.getElementById('newres').textContent), null, {
    timeout: STEP_TIMEOUT_MS,
  });
}

async function main() {
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-sync'],
  });
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'ru-RU' });
    await context.route((u) => u.pathname === '/favicon.ico', (route) => route.fulfill({ status: 204, body: '' }));
    const page = await context.newPage();
    watch(page, 'sandbox');
    await page.goto(url, { waitUntil: 'load', timeout: STEP_TIMEOUT_MS });

    // A customer with MAX: the question appears in their MAX chat; they answer in the box.
    await completeOrder(page, 'Марат', withMax, false);
    const chat = page.locator(`.maxchat[data-phone="${withMax}"]`);
    await chat.locator('.msg.out').first().waitFor({ timeout: STEP_TIMEOUT_MS });
    result.maxQuestion = (await chat.locator('.msg.out').first().textContent()).trim();
    await chat.locator('input[data-channel=max]').fill('5');
    await chat.locator('button[data-channel=max]').click();
    // Our reply (the thank-you) appears after the customer's message.
    await chat.locator('.msg.in', { hasText: '5' }).waitFor({ timeout: STEP_TIMEOUT_MS });
    await chat.locator('.msg.out').nth(1).waitFor({ timeout: STEP_TIMEOUT_MS });
    result.maxReply = (await chat.locator('.msg.out').nth(1).textContent()).trim();

    // A customer without MAX: the SMS with its short link appears; the link opens our page.
    await completeOrder(page, 'Галина', withoutMax, true);
    const inbox = page.locator(`.inbox[data-phone="${withoutMax}"]`);
    const link = inbox.locator('.sms a').first();
    await link.waitFor({ timeout: STEP_TIMEOUT_MS });
    result.sms = (await inbox.locator('.sms').first().textContent()).trim();
    const [landing] = await Promise.all([context.waitForEvent('page'), link.click()]);
    watch(landing, 'landing');
    await landing.waitForLoadState('load');
    await landing.click('button[name=rating][value="4"]');
    await landing.waitForFunction(() => document.body.dataset.state === 'recorded', null, {
      timeout: STEP_TIMEOUT_MS,
    });
    result.landing = { state: 'recorded', rating: await landing.evaluate(() => document.body.dataset.rating) };
    await context.close();
  } finally {
    await browser.close();
  }
}

try {
  await main();
  const ok = result.maxReply && result.landing && result.consoleErrors.length === 0;
  finish(ok ? 0 : 1);
} catch (e) {
  result.consoleErrors.push(`error: ${e && e.message ? e.message.split('\n')[0] : String(e)}`);
  finish(1);
} finally {
  clearTimeout(hardTimeout);
}
