#!/usr/bin/python3
"""A stock WebSocket client (Debian's python3-websockets) through wsgate, run by gateway_load_test.cpp.

usage: stock_client_test.py URL    (ws://HOST:PORT/PATH or wss://...; TLS without verification)

Echoes a text, a 70000-byte text and a binary message, pings, closes 1000 and checks the close the
server answered with. Prints "stock client: OK" and exits 0, or prints what went wrong and exits 1.
Every step is bounded; the whole run takes at most 15 s.
"""
import asyncio
import ssl
import sys

import websockets


async def run(url):
    context = None
    if url.startswith("wss:"):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    async with websockets.connect(url, ssl=context, open_timeout=5, close_timeout=5, max_size=1 << 24) as ws:
        for message in ["hello through wsgate", "x" * 70000, bytes(range(256)) * 40]:
            await ws.send(message)
            echoed = await asyncio.wait_for(ws.recv(), 5)
            if echoed != message:
                raise AssertionError(f"echo differs: sent {len(message)} {type(message).__name__}, "
                                     f"got {len(echoed)} {type(echoed).__name__}")
        pong = await ws.ping(b"are you there")
        await asyncio.wait_for(pong, 5)
        await ws.close(1000, "done")
    if ws.close_code != 1000 or ws.close_reason != "done":
        raise AssertionError(f"server answered close {ws.close_code} {ws.close_reason!r}")


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        asyncio.run(asyncio.wait_for(run(sys.argv[1]), 15))
    except Exception as error:  # noqa: BLE001 - report whatever failed
        print(f"stock client: FAILED: {type(error).__name__}: {error}", flush=True)
        return 1
    print("stock client: OK", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
