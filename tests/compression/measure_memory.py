#!/usr/bin/python3
"""Memory per terminated permessage-deflate WebSocket: RSS growth of wsgate per connection.

    /usr/bin/python3 tests/compression/measure_memory.py WSGATE_PID URL_BASE [N]

For each route path (/plain: compression off, /takeover: terminate with context takeover,
/no-takeover: terminate with server_ and client_no_context_takeover) it opens N WebSockets with
python3-websockets (which offers permessage-deflate), sends one 2 KiB JSON message on each and
reads its echo (so both zlib streams were used), then reads VmRSS of WSGATE_PID and prints the
growth per WebSocket. Connections of one path are closed before the next is measured. Used for
the figures in docs/configuration.md; not part of the test suite.
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


async def measure(pid, base, path, n):
    message = json.dumps([{"id": i, "text": "hello world"} for i in range(80)])
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
    print(f"{path:13s} {n} WebSockets: RSS +{after - before} KiB = {(after - before) / n:.1f} KiB each"
          f"  (extensions: {negotiated})", flush=True)
    await asyncio.gather(*(ws.close() for ws in conns))
    await asyncio.sleep(1)


async def main():
    pid, base = int(sys.argv[1]), sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 300
    await measure(pid, base, "/plain", 50)  # warm-up: arenas, lazily built tables
    for path in ("/plain", "/takeover", "/no-takeover", "/plain"):
        await measure(pid, base, path, n)


asyncio.run(main())
