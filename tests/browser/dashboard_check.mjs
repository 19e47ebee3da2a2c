// tests/browser/dashboard_check.mjs — drives the admin dashboard in headless Chromium
// (playwright-core, Debian's /usr/bin/chromium): a wrong token is refused, the right one shows
// every backend green, a killed backend turns red and comes back green, and screenshots are
// saved. tests/integration/test_dashboard.py starts ballast and the backends and runs this.
//
// Environment: DASHBOARD_URL, DASHBOARD_TOKEN, DASHBOARD_BACKENDS (comma-separated
// addresses), DASHBOARD_VICTIM (the one to kill), DASHBOARD_LISTENER, DASHBOARD_ARTIFACTS
// (folder for screenshots), CHROMIUM (default /usr/bin/chromium).
// It asks its parent to act by printing "@@kill ADDR" / "@@start ADDR" and reading one line.
// Every wait is on a DOM condition with a deadline; nothing sleeps.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import {chromium} from 'playwright-core';

const env = (name, fallback) => {
  const v = process.env[name] ?? fallback;
  if (v === undefined) {
    throw new Error(`${name} is not set`);
  }
  return v;
};

const url = env('DASHBOARD_URL');
const token = env('DASHBOARD_TOKEN');
const backends = env('DASHBOARD_BACKENDS').split(',');
const victim = env('DASHBOARD_VICTIM');
const listener = env('DASHBOARD_LISTENER', 'web');
const artifacts = env('DASHBOARD_ARTIFACTS', '/tmp/ballast-artifacts');
const executablePath = env('CHROMIUM', '/usr/bin/chromium');

const HEALTH_DEADLINE_MS = 5000; // a killed backend must show red within this
const LOAD_DEADLINE_MS = 10000;

const lines = readline.createInterface({input: process.stdin})[Symbol.asyncIterator]();
async function ask(command) {
  process.stdout.write(`@@${command}\n`);
  const {value, done} = await lines.next();
  if (done || value.trim() !== 'ok') {
    throw new Error(`parent did not confirm "${command}": ${value}`);
  }
}

const log = (msg) => process.stdout.write(`${msg}\n`);
const backendRow = (addr) => `#pools tr[data-backend="${addr}"]`;

async function waitHealth(page, addr, health, timeout = HEALTH_DEADLINE_MS) {
  const started = Date.now();
  await page.waitForSelector(`${backendRow(addr)}[data-health="${health}"]`, {timeout});
  return Date.now() - started;
}

const problems = [];
const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ballast-chromium-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath,
  headless: true,
  viewport: {width: 1400, height: 900},
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync',
         '--no-proxy-server'],
});
try {
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    // The wrong-token step makes the browser log its 401s; anything else is a fault.
    if (m.type() === 'error' && !/status of 401/.test(m.text())) {
      problems.push(`console error: ${m.text()}`);
    }
  });

  await page.goto(url);
  await page.waitForSelector('#sign-in-form', {state: 'visible', timeout: LOAD_DEADLINE_MS});
  log('ok: sign-in form shown');

  await page.fill('#token', 'not-the-token');
  await page.click('#sign-in-form button[type=submit]');
  await page.waitForSelector('#sign-in-error:not([hidden])', {timeout: LOAD_DEADLINE_MS});
  const refusal = await page.textContent('#sign-in-error');
  if (!/^Sign-in failed: /.test(refusal)) {
    throw new Error(`unexpected sign-in error text: ${refusal}`);
  }
  if (await page.isVisible('#dashboard')) {
    throw new Error('dashboard shown after a wrong token');
  }
  log(`ok: wrong token refused (${refusal})`);

  await page.fill('#token', token);
  await page.click('#sign-in-form button[type=submit]');
  await page.waitForSelector('#dashboard', {state: 'visible', timeout: LOAD_DEADLINE_MS});
  if (await page.isVisible('#sign-in-error')) {
    throw new Error('sign-in error still shown after signing in');
  }
  for (const addr of backends) {
    await waitHealth(page, addr, 'up', LOAD_DEADLINE_MS);
  }
  await page.waitForSelector('#pools .pool[data-health="up"]', {timeout: LOAD_DEADLINE_MS});
  log(`ok: signed in; all ${backends.length} backends green`);

  // Reloading the tab keeps the session (sessionStorage) and reconnects the stream.
  await page.reload();
  await page.waitForSelector('#dashboard', {state: 'visible', timeout: LOAD_DEADLINE_MS});
  await page.waitForSelector('#stream[data-state="open"]', {timeout: LOAD_DEADLINE_MS});
  await page.waitForSelector('#events li[data-kind="config.load"]', {timeout: LOAD_DEADLINE_MS});
  log('ok: session survives a reload; audit stream open with config.load');

  // The parent sends traffic through the listener: rate and percentiles become numbers.
  const row = `#listeners tr[data-listener="${listener}"]`;
  await page.waitForFunction((sel) => {
    const r = document.querySelector(sel);
    return r && parseFloat(r.querySelector('.rate').textContent) > 0 &&
           /\d/.test(r.querySelector('.p50').textContent) &&
           /\d/.test(r.querySelector('.p99').textContent) &&
           /\d/.test(r.querySelector('.errors').textContent);
  }, row, {timeout: LOAD_DEADLINE_MS});
  const cells = await page.$$eval(`${row} td`, (tds) => tds.map((td) => td.textContent));
  log(`ok: listener row ${JSON.stringify(cells)}`);

  await ask(`kill ${victim}`);
  const downMs = await waitHealth(page, victim, 'down');
  await page.waitForSelector('#pools .pool[data-health="degraded"]', {timeout: HEALTH_DEADLINE_MS});
  await page.waitForFunction((addr) => [...document.querySelectorAll(
      '#events li[data-kind="backend.health"] .detail')].some(
      (d) => d.textContent.includes(addr) && d.textContent.includes(' is down')),
  victim, {timeout: HEALTH_DEADLINE_MS});
  const others = await page.$$eval('#pools tr[data-backend]', (rows, v) => rows.filter(
      (r) => r.dataset.backend !== v).map((r) => `${r.dataset.backend}=${r.dataset.health}`),
  victim);
  if (others.length !== backends.length - 1 || others.some((o) => !o.endsWith('=up'))) {
    throw new Error(`the other backends should stay green: ${others}`);
  }
  log(`ok: ${victim} red ${downMs} ms after the kill; audit list shows it`);
  fs.mkdirSync(artifacts, {recursive: true});
  const downShot = path.join(artifacts, 'dashboard-down.png');
  await page.screenshot({path: downShot, fullPage: true});

  await ask(`start ${victim}`);
  const upMs = await waitHealth(page, victim, 'up');
  await page.waitForSelector('#pools .pool[data-health="up"]', {timeout: HEALTH_DEADLINE_MS});
  log(`ok: ${victim} green again ${upMs} ms after the restart`);
  const shot = path.join(artifacts, 'dashboard.png');
  await page.screenshot({path: shot, fullPage: true});

  await page.click('#sign-out');
  await page.waitForSelector('#sign-in-form', {state: 'visible', timeout: LOAD_DEADLINE_MS});
  if (await page.evaluate(() => sessionStorage.length) !== 0) {
    throw new Error('token left in sessionStorage after signing out');
  }
  log('ok: signed out');

  if (problems.length > 0) {
    throw new Error(problems.join('\n'));
  }
  log(`screenshot: ${shot}`);
  log(`screenshot: ${downShot}`);
  log('dashboard check passed');
} catch (e) {
  process.stdout.write(`FAIL: ${e.stack || e}\n`);
  process.exitCode = 1;
} finally {
  await context.close();
  fs.rmSync(userDataDir, {recursive: true, force: true});
  process.stdin.destroy();
}
