// Browser test of the demo page (deploy/demo) served by wsgate over TLS: headless Chromium loads
// the page, connects, exchanges three messages through the echo backend and closes; then
// Chromium's net-log must show the WebSocket as an RFC 8441 extended CONNECT (:protocol websocket)
// on the page's own HTTP/2 session, and no HTTP/1.1 Upgrade handshake anywhere. A second WebSocket
// on /deflate (compression: terminate) must negotiate permessage-deflate and echo.
// Usage: node test.mjs https://127.0.0.1:PORT/   (run.sh starts the processes and calls this)
// Env: CHROMIUM (default /usr/bin/chromium), OUT_DIR (default ./out), TEST_TIMEOUT_MS (default 40000),
//      USER_DATA_DIR (default: a fresh temp dir; removed after).
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const pageUrl = process.argv[2];
if (!pageUrl) {
  console.error('usage: node test.mjs https://127.0.0.1:PORT/');
  process.exit(2);
}
const origin = new URL(pageUrl);
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const outDir = process.env.OUT_DIR || path.join(here, 'out');
const timeoutMs = Number(process.env.TEST_TIMEOUT_MS || 40000);
const messages = ['hello 1', 'héllo 2 ✓', 'hello 3 ' + 'x'.repeat(40)];

fs.mkdirSync(outDir, { recursive: true });
const userDataDir = process.env.USER_DATA_DIR || fs.mkdtempSync(path.join(os.tmpdir(), 'wsgate-chromium-'));
fs.mkdirSync(userDataDir, { recursive: true });
const netLogPath = path.join(outDir, 'netlog.json');
fs.rmSync(netLogPath, { force: true });

const results = [];  // { name, ok, detail }
function check(name, ok, detail = '') {
  results.push({ name, ok: Boolean(ok), detail });
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? ' — ' + detail : ''}`);
}

async function drivePage() {
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    ignoreHTTPSErrors: true,
    timeout: timeoutMs,
    viewport: { width: 1000, height: 760 },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--ignore-certificate-errors',
      `--log-net-log=${netLogPath}`,
      '--net-log-capture-mode=Everything',
    ],
  });
  try {
    const page = context.pages()[0] || (await context.newPage());
    page.setDefaultTimeout(10000);
    const consoleErrors = [];
    page.on('console', (msg) => {
      if (msg.type() === 'error') consoleErrors.push(msg.text());
    });
    page.on('pageerror', (err) => consoleErrors.push(String(err)));

    const response = await page.goto(pageUrl, { waitUntil: 'load' });
    check('page loads with 200', response && response.status() === 200, `status ${response && response.status()}`);
    const protocol = await page.evaluate(() => performance.getEntriesByType('navigation')[0]?.nextHopProtocol);
    check('page came over HTTP/2', protocol === 'h2', `nextHopProtocol ${protocol}`);
    const subresources = await page.evaluate(() =>
      performance.getEntriesByType('resource').map((e) => `${new URL(e.name).pathname}:${e.nextHopProtocol}`));
    check('app.js and style.css loaded over h2',
      ['/app.js:h2', '/style.css:h2'].every((s) => subresources.includes(s)), subresources.join(' '));

    const expectedWs = `wss://${origin.host}/echo`;
    const urlValue = await page.inputValue('#url');
    check('#url prefilled from location', urlValue === expectedWs, urlValue);
    check('#state starts closed', (await page.textContent('#state')) === 'closed');

    await page.click('#connect');
    await page.waitForSelector('#state[data-state="open"]');
    check('WebSocket opens', true);

    for (const [i, text] of messages.entries()) {
      await page.fill('#message', text);
      await page.click('#send');
      await page.waitForFunction(
        ([want, count]) => [...document.querySelectorAll('#log li[data-kind="received"] .text')]
          .filter((e) => e.textContent === want).length >= count,
        [text, 1]);
      check(`message ${i + 1} echoed`, true, JSON.stringify(text.slice(0, 20)));
    }
    const sent = await page.$$eval('#log li[data-kind="sent"] .text', (els) => els.map((e) => e.textContent));
    const received = await page.$$eval('#log li[data-kind="received"] .text', (els) => els.map((e) => e.textContent));
    check('log shows 3 sent and 3 received, in order',
      JSON.stringify(sent) === JSON.stringify(messages) && JSON.stringify(received) === JSON.stringify(messages));

    await page.click('#close');
    await page.waitForSelector('#state[data-state="closed"]');
    const closedText = await page.textContent('#log li[data-kind="closed"] .text');
    check('close handshake completes with 1000', /code 1000/.test(closedText) && !/not clean/.test(closedText),
      closedText);
    const errors = await page.$$eval('#log li[data-kind="error"]', (els) => els.length);
    check('no WebSocket errors in the log', errors === 0, `${errors} error entries`);
    check('no console errors', consoleErrors.length === 0, consoleErrors.join(' | '));

    // compression: terminate on /deflate (run.sh): Chromium offers permessage-deflate, the gateway
    // answers it and (de)compresses; the page's WebSocket reports the negotiated extension.
    const deflate = await page.evaluate(async (url) => {
      const ws = new WebSocket(url);
      await new Promise((resolve, reject) => {
        ws.onopen = resolve;
        ws.onerror = () => reject(new Error('WebSocket error'));
      });
      const big = JSON.stringify(Array.from({ length: 5000 }, (_, i) => ({ id: i, text: 'hello world' })));
      const texts = ['hello', 'héllo ✓', big, ''];
      const echoed = [];
      for (const text of texts) {
        const got = new Promise((resolve) => { ws.onmessage = (e) => resolve(e.data); });
        ws.send(text);
        echoed.push(await got);
      }
      const closed = new Promise((resolve) => { ws.onclose = (e) => resolve(e.code); });
      ws.close(1000);
      return { extensions: ws.extensions, echoed: texts.every((t, i) => echoed[i] === t), code: await closed };
    }, `wss://${origin.host}/deflate`);
    check('compression: terminate negotiates permessage-deflate with Chromium',
      /^permessage-deflate/.test(deflate.extensions), `extensions "${deflate.extensions}"`);
    check('compressed messages echoed (5 B .. 150 KB)', deflate.echoed);
    check('compressed WebSocket closes with 1000', deflate.code === 1000, `code ${deflate.code}`);

    await page.screenshot({ path: path.join(outDir, 'demo.png'), fullPage: true });
  } finally {
    // Closing the browser is what finishes the net-log file.
    await context.close();
  }
}

// Net-log JSON: {constants: {logEventTypes: {NAME: id}}, events: [{type, source: {id}, params}]}.
// A browser killed mid-write leaves the events array unterminated; close it so it still parses.
function readNetLog(file) {
  let text = fs.readFileSync(file, 'utf8').trimEnd();
  try {
    return JSON.parse(text);
  } catch {
    text = text.replace(/,\s*$/, '');
    return JSON.parse(text.endsWith(']}') ? text : text + ']}');
  }
}

function analyseNetLog() {
  const log = readNetLog(netLogPath);
  const typeName = Object.fromEntries(Object.entries(log.constants.logEventTypes).map(([k, v]) => [v, k]));
  const events = log.events.map((e) => ({ ...e, name: typeName[e.type] }));
  const hostPort = `${origin.hostname}:${origin.port || 443}`;

  // HTTP2_SESSION (begin) names the host the session is for.
  const sessions = events.filter((e) => e.name === 'HTTP2_SESSION' && e.params && String(e.params.host).includes(hostPort));
  const sessionIds = new Set(sessions.map((e) => e.source.id));
  check(`one HTTP/2 session to ${hostPort}`, sessionIds.size === 1, `${sessionIds.size} session(s)`);

  const headersOf = (e) => (Array.isArray(e.params?.headers) ? e.params.headers : []);
  const sent = events.filter((e) => e.name === 'HTTP2_SESSION_SEND_HEADERS' && sessionIds.has(e.source.id));
  const pageStream = sent.find((e) => headersOf(e).includes(':method: GET') && headersOf(e).includes(':path: /'));
  check('page GET / went over that session', pageStream, pageStream ? `stream ${pageStream.params.stream_id}` : '');
  const wsStream = sent.find((e) => headersOf(e).includes(':method: CONNECT') &&
    headersOf(e).includes(':protocol: websocket'));
  check('WebSocket is an extended CONNECT (:protocol: websocket) on the same session', wsStream,
    wsStream ? `stream ${wsStream.params.stream_id}: ${headersOf(wsStream).filter((h) => h.startsWith(':')).join(', ')}` : '');

  const settings = events.filter((e) => e.name === 'HTTP2_SESSION_RECV_SETTING' && sessionIds.has(e.source.id));
  const connectProtocol = settings.find((e) => /ENABLE_CONNECT_PROTOCOL/.test(String(e.params?.id)) && e.params.value === 1);
  check('server sent SETTINGS_ENABLE_CONNECT_PROTOCOL = 1', connectProtocol);

  if (wsStream) {
    const answer = events.find((e) => e.name === 'HTTP2_SESSION_RECV_HEADERS' && e.source.id === wsStream.source.id &&
      e.params?.stream_id === wsStream.params.stream_id);
    check('extended CONNECT answered :status: 200', answer && headersOf(answer).includes(':status: 200'),
      answer ? headersOf(answer).filter((h) => h.startsWith(':')).join(', ') : 'no answer headers');
  }

  // An HTTP/1.1 WebSocket handshake would be a request line plus Upgrade: websocket on its own socket.
  const h1Upgrades = events.filter((e) => e.name === 'HTTP_TRANSACTION_SEND_REQUEST_HEADERS' &&
    headersOf(e).some((h) => /^upgrade:\s*websocket$/i.test(h)));
  const h1Lines = events.filter((e) => e.name === 'HTTP_TRANSACTION_SEND_REQUEST_HEADERS' &&
    typeof e.params?.line === 'string' && /HTTP\/1\.1/.test(e.params.line));
  check('no HTTP/1.1 WebSocket handshake', h1Upgrades.length === 0, `${h1Upgrades.length} found`);
  check('no HTTP/1.1 requests at all', h1Lines.length === 0, h1Lines.map((e) => e.params.line.trim()).join(' | '));

  // Sockets to the gateway: Chromium may open a spare one in parallel before it knows the first
  // speaks h2, and closes it unused ("Switching to HTTP2 session"); exactly one may carry traffic.
  const socketIds = new Set(events.filter((e) => e.name === 'TCP_CONNECT_ATTEMPT' &&
    String(e.params?.address) === hostPort).map((e) => e.source.id));
  const used = [...socketIds].filter((id) => events.some((e) => e.name === 'SOCKET_IN_USE' && e.source.id === id));
  const spare = [...socketIds].filter((id) => !used.includes(id));
  check('a single TCP connection to the gateway carried traffic', used.length === 1,
    `${socketIds.size} connected, ${used.length} used` + (spare.length ? `, ${spare.length} spare closed unused` : ''));
}

let failed = false;
const deadline = setTimeout(() => {
  console.error(`browser test: timed out after ${timeoutMs} ms`);
  process.exit(1);
}, timeoutMs + 10000);
try {
  await drivePage();
} catch (err) {
  check('page interaction', false, err.message.split('\n')[0]);
}
try {
  analyseNetLog();
} catch (err) {
  check('net-log readable', false, err.message);
}
clearTimeout(deadline);
fs.rmSync(userDataDir, { recursive: true, force: true });
failed = results.some((r) => !r.ok);
const passedCount = results.filter((r) => r.ok).length;
console.log(`checks: ${passedCount} passed, ${results.length - passedCount} failed`);
process.exit(failed ? 1 : 0);
