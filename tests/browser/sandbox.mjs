// Drives the sandbox page (GET /sandbox) in headless Debian Chromium as a person playing the
// shops' customers. At 1280 px: completes a "Russia 2026" order for a customer with MAX, types the
// answer into the page's MAX chat at human speed (the page refreshes meanwhile; the box must keep
// its focus and every character), sends it with Enter and waits for our reply; completes one for a
// customer without MAX, opens the short link in the SMS inbox and taps a rating on the page it
// opens; completes a main-shop order, taps a button of the WhatsApp question and sees its own
// answer and our reply in the chat. At 390×800 (a phone): another MAX customer types and sends the
// same way, a 2, and the inspector fails the complaint it opened; managers and the KPI read as
// names. At both widths, once the page is full: no sideways scroll, and all of it in Russian.
//
//   node tests/browser/sandbox.mjs <sandbox-url> <max-phone> <sms-phone> <whatsapp-phone> <max-phone-390> <email>
//
// Also at 1280 px, a main-shop customer with only an email finds the whole letter (sender,
// subject, text) in the page's mailbox and opens one of its links.
//
// Prints one line of JSON: {"maxQuestion","maxReply","sms","landing","whatsapp","mail","phone","layout",
// "consoleErrors"}. Exits 0 only when every step happened with no console errors on any page;
// otherwise 1, with the JSON still printed. Needs scripts/browser-setup.sh to have run.
import { chromium } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';
const STEP_TIMEOUT_MS = 60_000;
// The whole walk through (five customers, a complaint, the KPI) took 67–99 s in full test runs
// and once passed 180 s with every step well inside its own minute: the bound is for a hang, not
// for a slow machine.
const OVERALL_TIMEOUT_MS = 360_000;

// A person typing on a phone or a keyboard: about seven characters a second, so a message of
// twenty takes longer than the page's two-second refresh.
const TYPING_DELAY_MS = 140;

const [url, withMax, withoutMax, onWhatsapp, onPhone, mailbox] = process.argv.slice(2);
if (!url || !withMax || !withoutMax || !onWhatsapp || !onPhone || !mailbox) {
  console.error(
    'usage: node tests/browser/sandbox.mjs <sandbox-url> <max-phone> <sms-phone> <whatsapp-phone> <max-phone-390> <email>',
  );
  process.exit(2);
}

const result = {
  maxQuestion: null,
  maxReply: null,
  sms: null,
  landing: null,
  whatsapp: null,
  mail: null,
  phone: null,
  layout: [],
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

function watch(page, name) {
  page.on('console', (msg) => {
    if (msg.type() === 'error') result.consoleErrors.push(`${name}: ${msg.text()}`);
  });
  page.on('pageerror', (err) => result.consoleErrors.push(`${name}: pageerror: ${err.message}`));
}

// The shop completes an order on the Russian site, as a person fills the page's form.
async function completeOrder(page, name, phone, noMax, shop = 'russia-2026', email = '') {
  await page.fill('#new input[name=name]', name);
  await page.fill('#new input[name=phone]', phone);
  await page.fill('#new input[name=email]', email);
  await page.selectOption('#new select[name=shop]', shop);
  await page.setChecked('#new input[name=no_max]', noMax);
  await page.evaluate(() => (document.getElementById('newres').textContent = ''));
  await page.click('#new button');
  await page.waitForFunction(() => /выполнен/.test(document.getElementById('newres').textContent), null, {
    timeout: STEP_TIMEOUT_MS,
  });
}

// The customer answers our MAX question as a person does: clicks the box, types at human speed
// while the page keeps refreshing, and presses Enter. Returns our question and our reply.
async function answerOnMax(page, phone, text) {
  const chat = page.locator(`.maxchat[data-phone="${phone}"]`);
  await chat.locator('.msg.out').first().waitFor({ timeout: STEP_TIMEOUT_MS });
  const question = (await chat.locator('.msg.out').first().textContent()).trim();
  const box = chat.locator('input[data-channel=max]');
  await box.click();
  await box.pressSequentially(text, { delay: TYPING_DELAY_MS });
  const kept = await box.evaluate((el) => ({ focused: document.activeElement === el, value: el.value }));
  if (!kept.focused || kept.value !== text) {
    throw new Error(`the chat box lost the typing: ${JSON.stringify(kept)}, typed ${JSON.stringify(text)}`);
  }
  await page.keyboard.press('Enter');
  // The customer's message, then our reply after it, both in the chat.
  await chat.locator('.msg.in', { hasText: text }).waitFor({ timeout: STEP_TIMEOUT_MS });
  await chat.locator('.msg.in ~ .msg.out').first().waitFor({ timeout: STEP_TIMEOUT_MS });
  const reply = (await chat.locator('.msg.in ~ .msg.out').first().textContent()).trim();
  if ((await box.inputValue()) !== '') throw new Error('the chat box kept the sent text');
  return { question, reply };
}

// Names the page may show in Latin letters: the messengers', the CRM's and the metrics' own
// names, and the SMS sender name the provider records. Everything else a person reads is Russian.
const LATIN_NAMES = new Set(['WhatsApp', 'MAX', 'retailCRM', 'KPI', 'CSAT', 'Otklik']);

// The page at this width: no sideways scroll (the document is no wider than the window) and one
// language (Latin words other than the names above, once links, addresses and emails are taken
// out of the visible text).
async function layout(page, width) {
  const seen = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    clientWidth: document.documentElement.clientWidth,
    text: document.body.innerText,
  }));
  const stripped = seen.text.replace(/https?:\/\/\S+/g, ' ').replace(/\S+@\S+/g, ' ');
  // Words only: an order number such as «1005A» is retailCRM's, not a language.
  const words = stripped.match(/(?<![0-9A-Za-z])[A-Za-z][A-Za-z'-]*/g) || [];
  const foreign = [...new Set(words.filter((w) => !LATIN_NAMES.has(w)))];
  const checked = { width, scrollWidth: seen.scrollWidth, clientWidth: seen.clientWidth, foreign };
  result.layout.push(checked);
  if (seen.scrollWidth > seen.clientWidth) throw new Error(`sideways scroll at ${width} px: ${JSON.stringify(checked)}`);
  if (foreign.length) {
    const where = foreign.map((w) => {
      const i = stripped.search(new RegExp(`(^|[^A-Za-z])${w}([^A-Za-z]|$)`));
      return JSON.stringify(stripped.slice(Math.max(0, i - 40), i + 40));
    });
    throw new Error(`not in Russian at ${width} px: ${where.join('; ')}`);
  }
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

    // A customer with MAX: the question appears in their MAX chat; they type the answer.
    await completeOrder(page, 'Марат', withMax, false);
    const max = await answerOnMax(page, withMax, '5, всё отлично');
    result.maxQuestion = max.question;
    result.maxReply = max.reply;

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

    // A main-shop customer on WhatsApp taps a button of the question: the tap is their answer.
    await completeOrder(page, 'Вера', onWhatsapp, false, 'main-shop');
    const wa = page.locator(`.wachat[data-phone="${onWhatsapp}"]`);
    await wa.locator('.msg.out .tap').first().waitFor({ timeout: STEP_TIMEOUT_MS });
    const buttons = await wa.locator('.msg.out .tap').allTextContents();
    await wa.locator('.msg.out .tap', { hasText: /^4$/ }).click();
    await wa.locator('.msg.in', { hasText: '4' }).waitFor({ timeout: STEP_TIMEOUT_MS });
    await wa.locator('.msg.in ~ .msg.out').first().waitFor({ timeout: STEP_TIMEOUT_MS });
    result.whatsapp = {
      buttons,
      answer: (await wa.locator('.msg.in').first().textContent()).trim(),
      reply: (await wa.locator('.msg.in ~ .msg.out').first().textContent()).trim(),
    };

    // A main-shop customer with only an email: the whole letter is in the mailbox, its links open
    // our page.
    await completeOrder(page, 'Ольга', '', false, 'main-shop', mailbox);
    const mail = page.locator(`.mail[data-to="${mailbox}"]`).first();
    await mail.locator('.text a').first().waitFor({ timeout: STEP_TIMEOUT_MS });
    result.mail = {
      from: (await mail.locator('.from').textContent()).trim(),
      subject: (await mail.locator('.subject').textContent()).trim(),
      text: (await mail.locator('.text').textContent()).trim(),
      links: await mail.locator('.text a').evaluateAll((as) => as.map((a) => a.href)),
    };
    const [opened] = await Promise.all([context.waitForEvent('page'), mail.locator('.text a[href*="/r/"]').first().click()]);
    watch(opened, 'letter-link');
    await opened.waitForLoadState('load');
    result.mail.opened = opened.url();
    await opened.close();
    await layout(page, 1280);
    await context.close();

    // On a phone: another MAX customer types and sends the same way.
    const small = await browser.newContext({ viewport: { width: 390, height: 800 }, locale: 'ru-RU' });
    await small.route((u) => u.pathname === '/favicon.ico', (route) => route.fulfill({ status: 204, body: '' }));
    const phonePage = await small.newPage();
    watch(phonePage, 'sandbox-390');
    await phonePage.goto(url, { waitUntil: 'load', timeout: STEP_TIMEOUT_MS });
    await completeOrder(phonePage, 'Лиля', onPhone, false);
    result.phone = await answerOnMax(phonePage, onPhone, '2 — курьер опоздал');
    // The 2 opened a complaint; the inspector fails it from the page.
    const complaint = phonePage.locator('.complaint').first();
    await complaint.waitFor({ timeout: STEP_TIMEOUT_MS });
    await complaint.locator('button[data-to=failed]').click();
    await phonePage.locator('.complaint[data-stage=failed]').first().waitFor({ timeout: STEP_TIMEOUT_MS });
    result.phone.complaint = (await phonePage.locator('.complaint .stage').first().textContent()).trim();
    // People are named: the orders' managers and the KPI's employees.
    result.phone.managers = await phonePage.locator('.order .manager').allTextContents();
    await phonePage.locator('#kpi td.name').first().waitFor({ timeout: STEP_TIMEOUT_MS });
    result.phone.kpi = await phonePage.locator('#kpi td.name').allTextContents();
    await layout(phonePage, 390);
    await small.close();
  } finally {
    await browser.close();
  }
}

try {
  await main();
  const ok = result.maxReply && result.landing && result.whatsapp && result.mail && result.phone && result.layout.length === 2 && result.consoleErrors.length === 0;
  finish(ok ? 0 : 1);
} catch (e) {
  result.consoleErrors.push(`error: ${e && e.message ? e.message.split('\n')[0] : String(e)}`);
  finish(1);
} finally {
  clearTimeout(hardTimeout);
}
