#!/usr/bin/python3
"""Memory per terminated permessage-deflate WebSocket: RSS growth of wsgate per connection.

    /usr/bin/python3 tests/compression/measure_memory.py WSGATE_PID URL_BASE PATH [N [MESSAGE_BYTES]]

Opens N WebSockets on PATH with python3-websockets (which offers permessage-deflate), sends one
JSON message of MESSAGE_BYTES (default 2 KiB) on each and reads its echo (so both zlib streams
were used), waits, then reads VmRSS of WSGATE_PID and prints the growth per WebSocket (after a
warm-up of 50 WebSockets opened and closed). Run it against a fresh wsgate per PATH: freed memory
is reused. Used for the figures in docs/configuration.md; not part of the test suite.
"""
import asyncio
import json
import sys

import websockets


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def measure(pid, base, path, n, size):
    message = json.dumps([{"id": i, "text": "hello world %d" % (i * 7919 % 10007)} for i in range(size // 20)])
    message = message[:size]
    before = rss_kib(pid)
    conns = []
    for start in range(0, n, 100):
        batch = await asyncio.gather(*(websockets.connect(base + path, ping_interval=None, open_timeout=30)
                                       for _ in range(min(100, n - start))))
        conns += batch
    for ws in conns:
        await ws.send(message)
    for ws in conns:
        assert await ws.recv() == message
    await asyncio.sleep(1)
    after = rss_kib(pid)
    negotiated = conns[0].response_headers.get("Sec-WebSocket-Extensions", "none")
    print(f"{path:13s} {size} B messages, {n} WebSockets: RSS +{after - before} KiB = {(after - before) / n:.1f} KiB each"
          f"  (extensions: {negotiated})", flush=True)
    await asyncio.gather(*(ws.close() for ws in conns))
    await asyncio.sleep(1)


async def main():
    pid, base, path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    n = int(sys.argv[4]) if len(sys.argv) > 4 else 300
    size = int(sys.argv[5]) if len(sys.argv) > 5 else 2048
    await measure(pid, base, path, 50, size)  # warm-up: arenas, lazily built tables
    await measure(pid, base, path, n, size)


asyncio.run(main())
