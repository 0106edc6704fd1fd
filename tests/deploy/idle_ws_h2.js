// Opens N idle WebSockets over HTTP/2 (RFC 8441 extended CONNECT, h2c prior knowledge) through
// wsgate, spread over C connections, and reports wsgate's memory and fds.
//   node tests/deploy/idle_ws_h2.js WSGATE_PID PORT [N] [C]
// Same method as idle_ws_h1.py: warm up, read VmRSS and fds, open, wait 2 s, read again.
'use strict';
const http2 = require('node:http2');
const fs = require('node:fs');

const [pid, port, nArg, cArg] = process.argv.slice(2);
const n = Number(nArg || 2000);
const c = Number(cArg || 4);

const rssKiB = () => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
const fdCount = () => fs.readdirSync(`/proc/${pid}/fd`).length;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
setTimeout(() => { console.log('FAIL timeout'); process.exit(1); }, 120000).unref();

function connect() {
  return new Promise((resolve, reject) => {
    const s = http2.connect(`http://127.0.0.1:${port}`, {peerMaxConcurrentStreams: 100000});
    s.once('remoteSettings', () => resolve(s));
    s.once('error', reject);
  });
}

function openWebSocket(session) {
  return new Promise((resolve, reject) => {
    const stream = session.request({
      ':method': 'CONNECT', ':protocol': 'websocket', ':scheme': 'http',
      ':authority': `127.0.0.1:${port}`, ':path': '/echo', 'sec-websocket-version': '13',
    });
    stream.on('response', (h) => (h[':status'] === 200 ? resolve(stream) : reject(new Error(`status ${h[':status']}`))));
    stream.on('error', reject);
  });
}

async function openMany(sessions, count) {
  const streams = [];
  for (let start = 0; start < count; start += 200) {
    const batch = [];
    for (let i = start; i < Math.min(count, start + 200); i++) batch.push(openWebSocket(sessions[i % sessions.length]));
    streams.push(...(await Promise.all(batch)));
  }
  return streams;
}

(async () => {
  const warmSession = await connect();
  const warm = await openMany([warmSession], 50);
  warm.forEach((s) => s.close());
  warmSession.close();
  await sleep(1000);
  const rss0 = rssKiB(), fd0 = fdCount();
  const sessions = [];
  for (let i = 0; i < c; i++) sessions.push(await connect());
  const streams = await openMany(sessions, n);
  await sleep(2000);
  const rss1 = rssKiB(), fd1 = fdCount();
  console.log(`h2 websockets=${n} connections=${c}`);
  console.log(`h2 rss_before_kib=${rss0} rss_after_kib=${rss1}`);
  console.log(`h2 bytes_per_websocket=${Math.round((rss1 - rss0) * 1024 / n)}`);
  console.log(`h2 fds_before=${fd0} fds_after=${fd1} fds_per_websocket=${((fd1 - fd0) / n).toFixed(3)}`);
  streams.forEach((s) => s.close());
  sessions.forEach((s) => s.close());
  await sleep(200);
  process.exit(0);
})().catch((e) => { console.log(`FAIL ${e.message}`); process.exit(1); });
