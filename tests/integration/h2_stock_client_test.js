// Stock-client check of wsgate's RFC 8441 support: Node's http2 module opens N WebSockets over one
// HTTP/2 connection (extended CONNECT), sends one masked text frame on each, reads the echo, and
// completes the close handshake. Run by gateway_h2_lifecycle_test.cpp.
//   node h2_stock_client_test.js PORT h2|h2c [COUNT]
// Prints "ok COUNT websockets" and exits 0, or prints what went wrong and exits 1.
'use strict';

const http2 = require('node:http2');
const crypto = require('node:crypto');

const [port, mode, countArg] = process.argv.slice(2);
const count = Number(countArg || 100);
const tls = mode === 'h2';
const authority = `localhost:${port}`;

function fail(message) {
  console.log(`FAIL ${message}`);
  process.exit(1);
}
setTimeout(() => fail('timeout'), 15000).unref();

// A masked client frame (RFC 6455 §5.2, §5.3).
function clientFrame(opcode, payload) {
  const key = crypto.randomBytes(4);
  let header;
  if (payload.length < 126) {
    header = Buffer.from([0x80 | opcode, 0x80 | payload.length]);
  } else {
    header = Buffer.alloc(4);
    header[0] = 0x80 | opcode;
    header[1] = 0x80 | 126;
    header.writeUInt16BE(payload.length, 2);
  }
  const masked = Buffer.from(payload);
  for (let i = 0; i < masked.length; i++) masked[i] ^= key[i % 4];
  return Buffer.concat([header, key, masked]);
}

// Unmasked server frames at the front of `buffer`: [{opcode, payload}], and the bytes left over.
function parseFrames(buffer) {
  const frames = [];
  let offset = 0;
  while (buffer.length - offset >= 2) {
    const opcode = buffer[offset] & 0x0f;
    let length = buffer[offset + 1] & 0x7f;
    let headerLength = 2;
    if (length === 126) {
      if (buffer.length - offset < 4) break;
      length = buffer.readUInt16BE(offset + 2);
      headerLength = 4;
    } else if (length === 127) {
      if (buffer.length - offset < 10) break;
      length = Number(buffer.readBigUInt64BE(offset + 2));
      headerLength = 10;
    }
    if (buffer.length - offset < headerLength + length) break;
    frames.push({opcode, payload: buffer.subarray(offset + headerLength, offset + headerLength + length)});
    offset += headerLength + length;
  }
  return {frames, rest: buffer.subarray(offset)};
}

const session = http2.connect(`${tls ? 'https' : 'http'}://127.0.0.1:${port}`, {rejectUnauthorized: false});
session.on('error', (error) => fail(`session error: ${error.message}`));

function openWebSocket(index) {
  return new Promise((resolve, reject) => {
    const stream = session.request({
      ':method': 'CONNECT',
      ':protocol': 'websocket',
      ':scheme': tls ? 'https' : 'http',
      ':authority': authority,
      ':path': '/echo',
      'sec-websocket-version': '13',
    });
    const text = `hello from node stream ${index}`;
    let received = Buffer.alloc(0);
    let echoed = false;
    stream.on('response', (headers) => {
      if (headers[':status'] !== 200) reject(new Error(`stream ${index}: status ${headers[':status']}`));
    });
    stream.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      const {frames, rest} = parseFrames(received);
      received = rest;
      for (const frame of frames) {
        if (frame.opcode === 0x1 && !echoed) {
          if (frame.payload.toString() !== text) reject(new Error(`stream ${index}: echo "${frame.payload}"`));
          echoed = true;
          stream.write(clientFrame(0x8, Buffer.from([0x03, 0xe8])));
        } else if (frame.opcode === 0x8) {
          if (!echoed) reject(new Error(`stream ${index}: close before the echo`));
          const code = frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : 1005;
          if (code !== 1000) reject(new Error(`stream ${index}: close code ${code}`));
          stream.end();
        }
      }
    });
    stream.on('close', () => (echoed ? resolve() : reject(new Error(`stream ${index}: closed early`))));
    stream.on('error', (error) => reject(new Error(`stream ${index}: ${error.message}`)));
    stream.write(clientFrame(0x1, Buffer.from(text)));
  });
}

session.once('remoteSettings', async (settings) => {
  if (!settings.enableConnectProtocol) fail('the server did not enable extended CONNECT');
  try {
    await Promise.all(Array.from({length: count}, (_, i) => openWebSocket(i)));
  } catch (error) {
    fail(error.message);
  }
  console.log(`ok ${count} websockets`);
  session.close(() => process.exit(0));
});
