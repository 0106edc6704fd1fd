"""WebSocket client side for the conformance cases (RFC 6455, RFC 7692): frames, masking, the
opening handshake, and a Connection that behaves like the Autobahn testsuite's fuzzing client
(timers, closing handshake, what it records about the close). Python 3 standard library only."""

import base64
import collections
import hashlib
import os
import select
import socket
import time
import urllib.parse
import zlib

CLOSE_NORMAL = 1000
CLOSE_PROTOCOL_ERROR = 1002
CLOSE_INVALID_PAYLOAD = 1007

# Client-side timers, as the Autobahn client's defaults: how long we wait for the server's close
# after sending ours, and for the server to drop TCP once the close handshake is done.
CLOSE_HANDSHAKE_TIMEOUT_S = 1.0
SERVER_DROP_TIMEOUT_S = 1.0

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

OPEN, CLOSING, CLOSED = "open", "closing", "closed"


def valid_close_code(code):
    # RFC 6455 §7.4.1/§7.4.2 plus the IANA registrations 1012-1014.
    return code in (1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014) or 3000 <= code <= 4999


def is_utf8(data):
    try:
        bytes(data).decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def mask_bytes(payload, key):
    """XOR with the 4-byte key (RFC 6455 §5.3), as one big-integer operation: fast for MBs."""
    n = len(payload)
    if n == 0:
        return b""
    stream = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(stream, "little")).to_bytes(n, "little")


def build_frame(opcode, payload=b"", fin=True, rsv=0, mask=True, length=None):
    """One frame. `length` overrides the encoded payload length (for broken frames)."""
    n = len(payload) if length is None else length
    head = bytearray([(0x80 if fin else 0) | (rsv << 4) | opcode])
    mbit = 0x80 if mask else 0
    if n <= 125:
        head.append(mbit | n)
    elif n <= 0xFFFF:
        head.append(mbit | 126)
        head += n.to_bytes(2, "big")
    else:
        head.append(mbit | 127)
        head += n.to_bytes(8, "big")
    if mask:
        key = os.urandom(4)
        return bytes(head) + key + mask_bytes(payload, key)
    return bytes(head) + bytes(payload)


def repeat_to(pattern, length):
    if isinstance(pattern, str):
        pattern = pattern.encode()
    if length == 0:
        return b""
    return (pattern * (length // len(pattern) + 1))[:length]


def short(value, limit=48):
    """A printable, bounded form of a recorded event for reports."""
    if isinstance(value, (bytes, bytearray)):
        if len(value) > limit:
            return "<%d bytes %s...>" % (len(value), bytes(value[:16]).hex())
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return "0x" + bytes(value).hex()
    if isinstance(value, (list, tuple)):
        return [short(v, limit) for v in value]
    return value


class HandshakeError(Exception):
    pass


class Connection:
    """One client WebSocket with Autobahn-client semantics for timers, closing and recording."""

    def __init__(self, url, offer_deflate=None):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme != "ws":
            raise ValueError("only ws:// URLs are supported")
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.path = (parts.path or "/") + ("?" + parts.query if parts.query else "")
        self.offer_deflate = offer_deflate
        self.state = OPEN
        self.case = None
        self.sock = None
        self.inbuf = bytearray()
        self.outq = collections.deque()  # chunks, each sent by its own send() calls
        self.timers = []  # (deadline, seq, fn)
        self.timer_seq = 0
        self.msg_opcode = None  # opcode of the message being reassembled
        self.msg_parts = []
        self.close_handshake_done = False
        # What Autobahn records about the closing.
        self.closed_by_me = False
        self.failed_by_me = False
        self.dropped_by_me = False
        self.was_clean = False
        self.not_clean_reason = None
        self.remote_close_code = None
        self.remote_close_reason = None
        self.local_close_code = None
        self.extensions = None  # Sec-WebSocket-Extensions answered by the server

    # ---- opening handshake ----
    def open(self, timeout):
        self.sock = socket.create_connection((self.host, self.port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        key = base64.b64encode(os.urandom(16))
        lines = [
            "GET %s HTTP/1.1" % self.path,
            "Host: %s:%d" % (self.host, self.port),
            "Upgrade: websocket",
            "Connection: Upgrade",
            "Sec-WebSocket-Key: %s" % key.decode(),
            "Sec-WebSocket-Version: 13",
        ]
        if self.offer_deflate:
            lines.append("Sec-WebSocket-Extensions: %s" % self.offer_deflate)
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = bytearray()
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in head:
            if time.monotonic() > deadline or len(head) > 65536:
                raise HandshakeError("no complete response head")
            chunk = self.sock.recv(65536)
            if not chunk:
                raise HandshakeError("connection closed during the handshake")
            head += chunk
        end = head.index(b"\r\n\r\n") + 4
        self.inbuf += head[end:]
        text = head[:end].decode("latin-1").split("\r\n")
        status = text[0].split(" ")
        if len(status) < 2 or status[1] != "101":
            raise HandshakeError("answer: %s" % text[0])
        headers = {}
        for line in text[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers.setdefault(name.strip().lower(), []).append(value.strip())
        accept = base64.b64encode(hashlib.sha1(key + GUID).digest()).decode()
        if headers.get("sec-websocket-accept", [""])[0] != accept:
            raise HandshakeError("bad Sec-WebSocket-Accept")
        ext = headers.get("sec-websocket-extensions")
        self.extensions = ", ".join(ext) if ext else None
        self.sock.setblocking(False)

    # ---- timers (Autobahn's continueLater / killAfter / closeAfter) ----
    def later(self, delay, fn):
        self.timer_seq += 1
        self.timers.append((time.monotonic() + delay, self.timer_seq, fn))
        self.timers.sort()

    def continue_later(self, delay, fn):
        self.later(delay, lambda: fn() if self.state != CLOSED else None)

    def kill_after(self, delay):
        self.later(delay, self.fail_connection)

    def close_after(self, delay):
        self.later(delay, lambda: self.send_close() if self.state != CLOSED else None)

    # ---- sending ----
    def send_raw(self, data, chopsize=None):
        if self.state == CLOSED:
            return
        data = memoryview(bytes(data))
        if chopsize:
            for i in range(0, len(data), chopsize):
                self.outq.append(data[i:i + chopsize])
        elif len(data):
            self.outq.append(data)
        self.flush()

    def send_frame(self, opcode, payload=b"", fin=True, rsv=0, payload_len=None, chopsize=None, length=None):
        """Autobahn's sendFrame: `payload_len` repeats the payload to that length."""
        if isinstance(payload, str):
            payload = payload.encode()
        if payload_len is not None:
            payload = repeat_to(payload, payload_len)
        self.send_raw(build_frame(opcode, payload, fin, rsv, True, length), chopsize)

    def send_message(self, payload, binary=False, fragment_size=None):
        if isinstance(payload, str):
            payload = payload.encode()
        opcode = 2 if binary else 1
        if not fragment_size or len(payload) <= fragment_size:
            self.send_frame(opcode, payload)
            return
        pieces = [payload[i:i + fragment_size] for i in range(0, len(payload), fragment_size)]
        frames = []
        for i, piece in enumerate(pieces):
            frames.append(build_frame(opcode if i == 0 else 0, piece, i == len(pieces) - 1))
        self.send_raw(b"".join(frames))

    def send_close(self, code=None, reason=b""):
        """Autobahn's sendClose: starts the closing handshake if the connection is open."""
        if self.state != OPEN:
            return
        payload = b"" if code is None else code.to_bytes(2, "big") + reason
        self.send_close_payload(payload)
        self.local_close_code = code

    def send_close_payload(self, payload):
        """A close frame with any payload (also broken ones); the closing handshake starts."""
        if self.state != OPEN:
            return
        self.send_frame(8, payload)
        self.state = CLOSING
        self.closed_by_me = True
        self.later(CLOSE_HANDSHAKE_TIMEOUT_S, self.on_close_handshake_timeout)

    def flush(self):
        while self.outq and self.sock is not None:
            chunk = self.outq[0]
            try:
                sent = self.sock.send(chunk)
            except BlockingIOError:
                return
            except OSError:
                self.outq.clear()
                self.connection_lost("send failed: connection reset")
                return
            if sent < len(chunk):
                self.outq[0] = chunk[sent:]
                return
            self.outq.popleft()

    # ---- closing and failing ----
    def on_close_handshake_timeout(self):
        if self.state == CLOSING and not self.close_handshake_done:
            self.not_clean_reason = "peer did not answer our close in time"
            self.drop()

    def on_server_drop_timeout(self):
        if self.state != CLOSED:
            self.was_clean = False
            self.not_clean_reason = "server did not drop TCP after the closing handshake"
            self.drop()

    def fail_connection(self):
        """Autobahn's failConnection with failByDrop: the client drops TCP."""
        if self.state == CLOSED:
            return
        self.failed_by_me = True
        if not self.close_handshake_done:
            self.not_clean_reason = self.not_clean_reason or "the client failed the connection"
        self.drop()

    def drop(self):
        if self.state == CLOSED:
            return
        self.dropped_by_me = True
        self.connection_lost(None)

    def connection_lost(self, reason):
        if self.state == CLOSED:
            return
        if not self.close_handshake_done:
            self.was_clean = False
            if reason and not self.not_clean_reason:
                self.not_clean_reason = reason
        self.state = CLOSED
        try:
            self.sock.close()
        except OSError:
            pass

    def protocol_violation(self, what):
        # A broken server frame never matches an expected outcome.
        self.case.record(("protocol-violation", what))
        self.fail_connection()

    # ---- receiving ----
    def run(self, hard_deadline):
        self.flush()
        self.feed(b"")
        while self.state != CLOSED:
            now = time.monotonic()
            while self.timers and self.timers[0][0] <= now and self.state != CLOSED:
                _, _, fn = self.timers.pop(0)
                fn()
            if self.state == CLOSED:
                break
            if now >= hard_deadline:
                self.not_clean_reason = self.not_clean_reason or "case time limit reached"
                self.fail_connection()
                break
            wake = hard_deadline
            if self.timers:
                wake = min(wake, self.timers[0][0])
            try:
                readable, writable, _ = select.select(
                    [self.sock], [self.sock] if self.outq else [], [], max(0.0, wake - now))
            except (OSError, ValueError):
                self.connection_lost("socket error")
                break
            if writable:
                self.flush()
            if readable and self.state != CLOSED:
                try:
                    data = self.sock.recv(1 << 20)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if not data:
                    self.connection_lost("server closed TCP without a closing handshake")
                else:
                    self.feed(data)

    def feed(self, data):
        buf = self.inbuf
        buf += data
        pos = 0
        while self.state != CLOSED:
            avail = len(buf) - pos
            if avail < 2:
                break
            b0, b1 = buf[pos], buf[pos + 1]
            n = b1 & 0x7F
            hlen = 2
            if n == 126:
                hlen = 4
            elif n == 127:
                hlen = 10
            masked = bool(b1 & 0x80)
            if masked:
                hlen += 4
            if avail < hlen:
                break
            if n == 126:
                n = int.from_bytes(buf[pos + 2:pos + 4], "big")
            elif n == 127:
                n = int.from_bytes(buf[pos + 2:pos + 10], "big")
            if avail < hlen + n:
                break
            payload = bytes(buf[pos + hlen:pos + hlen + n])
            if masked:
                payload = mask_bytes(payload, bytes(buf[pos + hlen - 4:pos + hlen]))
            pos += hlen + n
            self.on_frame(bool(b0 & 0x80), (b0 >> 4) & 7, b0 & 0x0F, masked, payload)
        del buf[:pos]

    def on_frame(self, fin, rsv, opcode, masked, payload):
        if self.close_handshake_done or (self.remote_close_code is not None):
            return  # nothing may follow a close frame; it is ignored
        if masked:
            return self.protocol_violation("masked server frame")
        if rsv and not (rsv == 4 and self.case.deflate is not None and opcode in (1, 2)):
            return self.protocol_violation("RSV bits %d set" % rsv)
        if opcode >= 8:
            if opcode > 10:
                return self.protocol_violation("reserved control opcode %d" % opcode)
            if not fin or len(payload) > 125:
                return self.protocol_violation("fragmented or oversized control frame")
            if opcode == 9:
                self.case.on_ping(payload)
                if self.state == OPEN:
                    self.send_frame(10, payload)
            elif opcode == 10:
                self.case.on_pong(payload)
            else:
                self.on_close_frame(payload)
            return
        if opcode not in (0, 1, 2):
            return self.protocol_violation("reserved data opcode %d" % opcode)
        if opcode == 0:
            if self.msg_opcode is None:
                return self.protocol_violation("continuation without a message")
        else:
            if self.msg_opcode is not None:
                return self.protocol_violation("new message inside a fragmented message")
            self.msg_opcode = opcode
            self.msg_compressed = bool(rsv & 4)
        self.msg_parts.append(payload)
        if fin:
            data = b"".join(self.msg_parts)
            binary = self.msg_opcode == 2
            compressed = self.msg_compressed
            self.msg_opcode = None
            self.msg_parts = []
            if compressed:
                try:
                    data = self.case.deflate.decompress(data)
                except zlib.error as e:
                    return self.protocol_violation("bad deflate data: %s" % e)
            self.case.on_message(data, binary)

    def on_close_frame(self, payload):
        code = None
        reason = b""
        if len(payload) == 1:
            return self.protocol_violation("close payload of 1 byte")
        if len(payload) >= 2:
            code = int.from_bytes(payload[:2], "big")
            reason = payload[2:]
            if not valid_close_code(code):
                return self.protocol_violation("invalid close code %d from the server" % code)
            if not is_utf8(reason):
                return self.protocol_violation("close reason not UTF-8")
        self.remote_close_code = code
        self.remote_close_reason = reason
        if self.state == OPEN:
            # The server closes first: answer with the same code, then the server drops TCP.
            self.send_frame(8, payload[:2] if code is not None else b"")
            self.state = CLOSING
        self.close_handshake_done = True
        self.was_clean = True
        self.later(SERVER_DROP_TIMEOUT_S, self.on_server_drop_timeout)


class Deflate:
    """permessage-deflate for one connection (RFC 7692 §7.2): raw deflate, tail 00 00 ff ff."""

    def __init__(self, client_no_context_takeover, server_no_context_takeover, client_window_bits=15):
        self.client_reset = client_no_context_takeover
        self.server_reset = server_no_context_takeover
        self.client_bits = client_window_bits
        self.compressor = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -max(9, client_window_bits))
        # A 15-bit inflate window reads every smaller one (zlib rejects 8 for raw streams).
        self.decompressor = zlib.decompressobj(-15)

    def compress(self, data):
        if self.client_reset:
            self.compressor = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -max(9, self.client_bits))
        out = self.compressor.compress(data) + self.compressor.flush(zlib.Z_SYNC_FLUSH)
        return out[:-4] if out.endswith(b"\x00\x00\xff\xff") else out

    def decompress(self, data):
        if self.server_reset:
            self.decompressor = zlib.decompressobj(-15)
        return self.decompressor.decompress(data + b"\x00\x00\xff\xff")


def parse_deflate_answer(answer):
    """The server's accepted permessage-deflate parameters, or None when it declined."""
    if not answer:
        return None
    for ext in answer.split(","):
        fields = [f.strip() for f in ext.split(";")]
        if fields[0].lower() != "permessage-deflate":
            continue
        params = {}
        for f in fields[1:]:
            name, _, value = f.partition("=")
            params[name.strip().lower()] = value.strip().strip('"')
        return params
    return None
