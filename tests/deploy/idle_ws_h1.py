#!/usr/bin/python3
"""Opens N idle WebSockets over HTTP/1.1 through wsgate and reports wsgate's memory and fds.

    /usr/bin/python3 tests/deploy/idle_ws_h1.py WSGATE_PID PORT [N]

Uses Debian's python3-websockets. Warms up with 50 WebSockets (opened and closed) so thread
arenas and lazily built tables are not counted, then reads VmRSS and the fd count of WSGATE_PID,
opens N WebSockets (no pings, no compression, nothing sent), waits 2 s, reads them again, and
prints one line per figure. Used by tests/deploy/measure-idle-memory.sh (docs/operations.md).
"""
import asyncio
import os
import sys

import websockets


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


async def open_many(uri, n, batch=200):
    conns = []
    for start in range(0, n, batch):
        conns += await asyncio.gather(
            *(websockets.connect(uri, ping_interval=None, compression=None, open_timeout=30)
              for _ in range(min(batch, n - start))))
    return conns


async def main():
    pid, port = int(sys.argv[1]), int(sys.argv[2])
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 2000
    uri = f"ws://127.0.0.1:{port}/echo"
    warm = await open_many(uri, 50)
    for c in warm:
        await c.close()
    await asyncio.sleep(1)
    rss0, fd0 = rss_kib(pid), fds(pid)
    conns = await open_many(uri, n)
    await asyncio.sleep(2)
    rss1, fd1 = rss_kib(pid), fds(pid)
    print(f"h1 websockets={n}")
    print(f"h1 rss_before_kib={rss0} rss_after_kib={rss1}")
    print(f"h1 bytes_per_websocket={(rss1 - rss0) * 1024 / n:.0f}")
    print(f"h1 fds_before={fd0} fds_after={fd1} fds_per_websocket={(fd1 - fd0) / n:.2f}")
    await asyncio.gather(*(c.close() for c in conns))


asyncio.run(main())
