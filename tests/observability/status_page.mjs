// Browser test of wsgate's status page (GET / on the admin listener, gateway/status_page.cpp):
// headless Chromium loads the page, which must list the configured routes, listener and backend and
// the 2 WebSockets the harness holds open; then Chromium itself opens 2 more WebSockets on route
// echo from a second tab, and the page's self-refresh (fetch + replace of <main id=status> every
// 5 s, no navigation) must bring the count to 4 without a reload. Screenshots: OUT_DIR/status-initial.png
// (2 open) and OUT_DIR/status.png (4 open, after the self-refresh).
// Usage: node status_page.mjs http://127.0.0.1:ADMIN_PORT/ ws://127.0.0.1:PORT/echo
// Env: CHROMIUM (default /usr/bin/chromium), OUT_DIR (default ./out), TEST_TIMEOUT_MS (default 40000),
//      USER_DATA_DIR (default: a fresh temp dir). playwright-core is resolved from
//      tests/browser/node_modules (status_page.sh runs npm ci --prefix tests/browser if it is missing).
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', 'browser', 'package.json'));
const { chromium } = require('playwright-core');

const [pageUrl, wsUrl] = process.argv.slice(2);
if (!pageUrl || !wsUrl) {
  console.error('usage: node status_page.mjs http://127.0.0.1:ADMIN_PORT/ ws://127.0.0.1:PORT/echo');
  process.exit(2);
}
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const outDir = process.env.OUT_DIR || path.join(here, 'out');
const timeoutMs = Number(process.env.TEST_TIMEOUT_MS || 40000);
const kHeld = 2;       // WebSockets the harness holds open before the page loads
const kFromBrowser = 2;  // opened by Chromium while the page is shown
const kRefreshMs = 5000;

fs.mkdirSync(outDir, { recursive: true });
const userDataDir = process.env.USER_DATA_DIR || fs.mkdtempSync(path.join(os.tmpdir(), 'wsgate-chromium-'));
fs.mkdirSync(userDataDir, { recursive: true });

const results = [];
function check(name, ok, detail = '') {
  results.push({ name, ok: Boolean(ok) });
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? ' — ' + detail : ''}`);
}

// The cells of the status page's tables, by section heading: {Routes: [{name, 'open WebSockets', ...}]}.
async function readTables(page) {
  return page.evaluate(() => {
    const tables = {};
    for (const h2 of document.querySelectorAll('#status h2')) {
      const table = h2.nextElementSibling;
      if (!table || table.tagName !== 'TABLE') continue;
      const rows = [...table.querySelectorAll('tr')];
      const heads = [...rows[0].querySelectorAll('th')].map((th) => th.textContent.trim());
      tables[h2.textContent.trim()] = rows.slice(1).map((tr) => {
        const cells = [...tr.querySelectorAll('td')].map((td) => td.textContent.trim());
        return Object.fromEntries(heads.map((h, i) => [h, cells[i]]));
      });
    }
    return tables;
  });
}

async function openWebSocketsFromBrowser(context) {
  const tab = await context.newPage();
  // From a page of the admin origin (an http: origin; about:blank would send Origin: null).
  await tab.goto(pageUrl);
  const states = await tab.evaluate(([url, n]) => new Promise((resolve) => {
    window.held = [];
    let settled = 0;
    const states = [];
    for (let i = 0; i < n; i++) {
      const ws = new WebSocket(url);
      window.held.push(ws);
      ws.onopen = () => { ws.send('from chromium ' + i); };
      ws.onmessage = (e) => { states[i] = 'echo:' + e.data; if (++settled === n) resolve(states); };
      ws.onerror = () => { states[i] = 'error'; if (++settled === n) resolve(states); };
      ws.onclose = (e) => { states[i] = (states[i] || '') + ' close:' + e.code; };
    }
    setTimeout(() => resolve(states), 8000);
  }), [wsUrl, kFromBrowser]);
  return { tab, states };
}

async function run() {
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    timeout: timeoutMs,
    viewport: { width: 1200, height: 800 },
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
    const page = context.pages()[0] || (await context.newPage());
    page.setDefaultTimeout(15000);
    const consoleErrors = [];
    page.on('console', (msg) => { if (msg.type() === 'error') consoleErrors.push(msg.text()); });
    page.on('pageerror', (err) => consoleErrors.push(String(err)));
    // Answers >= 400 other than the favicon the browser asks for on its own (the page has none).
    const badResponses = [];
    page.on('response', (r) => {
      if (r.status() >= 400 && !r.url().endsWith('/favicon.ico')) badResponses.push(`${r.status()} ${r.url()}`);
    });
    let navigations = 0;
    page.on('framenavigated', (frame) => { if (frame === page.mainFrame()) navigations++; });

    const response = await page.goto(pageUrl, { waitUntil: 'load' });
    check('status page loads with 200', response && response.status() === 200, `status ${response && response.status()}`);
    check('served as text/html', /^text\/html/.test(response.headers()['content-type'] || ''),
      response.headers()['content-type']);
    check('title', (await page.title()) === 'wsgate status', await page.title());
    const meta = (await page.textContent('#status .meta')) || '';
    check('shows ready', /\bready\b/.test(meta) && !/not ready|draining/.test(meta), meta.slice(0, 80));

    let tables = await readTables(page);
    const routes = tables.Routes || [];
    const names = routes.map((r) => r.name);
    check('route names listed (echo, chat)', names.includes('echo') && names.includes('chat'), names.join(', '));
    const echoRow = () => (tables.Routes || []).find((r) => r.name === 'echo') || {};
    check(`route echo shows ${kHeld} open WebSockets`, echoRow()['open WebSockets'] === String(kHeld),
      JSON.stringify(echoRow()));
    check('route chat shows 0 open WebSockets',
      (routes.find((r) => r.name === 'chat') || {})['open WebSockets'] === '0');
    check(`header line says ${kHeld} open WebSockets`, meta.includes(`${kHeld} open WebSockets`), meta);
    check('listener public listed', (tables.Listeners || []).some((l) => l.name === 'public'),
      JSON.stringify(tables.Listeners));
    const backend = (tables.Backends || []).find((b) => b.name === 'echo') || {};
    check('backend echo listed with a healthy endpoint', /healthy/.test(backend.endpoints || '') &&
      !/unhealthy/.test(backend.endpoints || ''), JSON.stringify(backend));

    await page.screenshot({ path: path.join(outDir, 'status-initial.png'), fullPage: true });

    // Live update: 2 more WebSockets from Chromium; the page refreshes its <main> itself.
    const { tab, states } = await openWebSocketsFromBrowser(context);
    check(`Chromium opened ${kFromBrowser} WebSockets through wsgate (echo received)`,
      states.length === kFromBrowser && states.every((s) => s && s.startsWith('echo:')), JSON.stringify(states));
    const want = String(kHeld + kFromBrowser);
    const started = Date.now();
    let updated = false;
    try {
      await page.waitForFunction((n) => {
        for (const tr of document.querySelectorAll('#status tr')) {
          const tds = tr.querySelectorAll('td');
          if (tds.length > 3 && tds[0].textContent === 'echo') return tds[3].textContent === n;
        }
        return false;
      }, want, { timeout: 2 * kRefreshMs + 3000 });
      updated = true;
    } catch (e) {
      updated = false;
    }
    tables = await readTables(page);
    check(`self-refresh shows ${want} open WebSockets on echo`, updated,
      `after ${Date.now() - started} ms: ${JSON.stringify(echoRow())}`);
    check('no navigation: <main> replaced in place', navigations === 1, `${navigations} navigations`);
    check('no failed requests (favicon aside)', badResponses.length === 0, badResponses.join(' | '));
    const pageErrors = consoleErrors.filter((e) => !/Failed to load resource: .* 404/.test(e) || badResponses.length);
    check('no console errors (the favicon 404 aside)', pageErrors.length === 0, consoleErrors.join(' | '));

    await page.screenshot({ path: path.join(outDir, 'status.png'), fullPage: true });
    await tab.close();
  } finally {
    await context.close();
  }
}

const timer = setTimeout(() => {
  console.error(`status-page: timed out after ${timeoutMs} ms`);
  process.exit(1);
}, timeoutMs);
try {
  await run();
} catch (err) {
  check('browser session', false, String(err && err.stack ? err.stack.split('\n').slice(0, 3).join(' ') : err));
}
clearTimeout(timer);
if (!process.env.USER_DATA_DIR) fs.rmSync(userDataDir, { recursive: true, force: true });
const failedCount = results.filter((r) => !r.ok).length;
console.log(`checks: ${results.length - failedCount} passed, ${failedCount} failed`);
process.exit(failedCount === 0 && results.length > 0 ? 0 : 1);
