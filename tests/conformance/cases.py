"""The conformance cases 1.* to 7.* and 10.* (framing, pings, reserved bits and opcodes,
fragmentation, UTF-8, closing, auto-fragmentation), written from the Autobahn testsuite's case
descriptions, and the Case base class with Autobahn's verdict rules. See docs/conformance.md."""

import collections

from wsclient import (CLOSE_INVALID_PAYLOAD, CLOSE_NORMAL, CLOSE_PROTOCOL_ERROR, build_frame, is_utf8,
                      repeat_to)

OK = "OK"
NON_STRICT = "NON-STRICT"
INFORMATIONAL = "INFORMATIONAL"
UNIMPLEMENTED = "UNIMPLEMENTED"
FAILED = "FAILED"
# Closing-behaviour outcomes (Autobahn's "behaviorClose").
WRONG_CODE = "WRONG CODE"
UNCLEAN = "UNCLEAN"
FAILED_BY_CLIENT = "FAILED BY CLIENT"

VERDICTS = [OK, NON_STRICT, INFORMATIONAL, UNIMPLEMENTED, FAILED]


class Case:
    """A test case: what to send (on_open and timers), what may come back, how to close."""

    id = ""
    description = ""
    time_limit_s = None  # None: the runner's --timeout
    offer_deflate = None  # Sec-WebSocket-Extensions offer for the handshake

    def __init__(self):
        self.p = None
        self.received = []
        self.expected = {}  # verdict -> list of events
        self.expected_close = {}
        self.suppress_close = False
        self.behavior = FAILED
        self.behavior_close = FAILED
        self.result = "Actual events differ from any expected."
        self.result_close = "TCP connection was dropped without close handshake"
        self.deflate = None

    # events
    def record(self, event):
        self.received.append(event)

    def on_message(self, data, binary):
        self.record(("message", data, binary))
        self.finish_when_done()

    def on_ping(self, payload):
        self.record(("ping", payload))
        self.finish_when_done()

    def on_pong(self, payload):
        self.record(("pong", payload))
        self.finish_when_done()

    def on_open(self):
        raise NotImplementedError

    def finish_when_done(self):
        # As Autobahn: once the events match every expected outcome, start the closing
        # handshake ourselves if the case expects the client to close. Cases that judge
        # themselves have no expected events (a server's keep-alive ping must not end them).
        if not self.expected:
            return
        for events in self.expected.values():
            if self.received != events:
                return
        if self.expected_close.get("closedByMe") and not self.suppress_close:
            self.p.send_close(self.expected_close["closeCode"][0])

    def on_connection_lost(self):
        p = self.p
        for verdict in (OK, NON_STRICT, INFORMATIONAL):
            if verdict in self.expected and self.received == self.expected[verdict]:
                self.behavior = verdict
                self.result = "Actual events match at least one expected."
                break
        ec = self.expected_close
        if ec["closedByMe"] != p.closed_by_me:
            self.behavior_close = FAILED
            self.result_close = "The connection was failed by the wrong endpoint"
        elif ec["requireClean"] and not p.was_clean:
            self.behavior_close = UNCLEAN
            self.result_close = "The spec requires the connection to be failed cleanly here (%s)" % (
                p.not_clean_reason or "unclean")
        elif p.remote_close_code is not None and p.remote_close_code not in ec["closeCode"]:
            self.behavior_close = WRONG_CODE
            self.result_close = "The close code should have been %s or empty" % ",".join(map(str, ec["closeCode"]))
        elif p.dropped_by_me:
            self.behavior_close = FAILED_BY_CLIENT
            self.result_close = "It is preferred that the server close the TCP connection"
        else:
            self.behavior_close = OK
            self.result_close = "Connection was properly closed"

    def verdict(self):
        """One verdict from the two Autobahn outcomes (see docs/conformance.md)."""
        if self.behavior in (FAILED, UNIMPLEMENTED, INFORMATIONAL):
            return self.behavior
        if self.behavior_close in (OK, INFORMATIONAL):
            return self.behavior
        if self.behavior_close in (WRONG_CODE, FAILED_BY_CLIENT):
            return NON_STRICT
        return FAILED

    # helpers for case definitions
    def expect_echo(self, payload, binary=False):
        if isinstance(payload, str):
            payload = payload.encode()
        self.expected[OK] = [("message", payload, binary)]
        self.expect_close_by_me()

    def expect_close_by_me(self, codes=(CLOSE_NORMAL,), clean=True):
        self.expected_close = {"closedByMe": True, "closeCode": list(codes), "requireClean": clean}

    def expect_fail(self, codes=(CLOSE_PROTOCOL_ERROR,)):
        self.expected_close = {"closedByMe": False, "closeCode": list(codes), "requireClean": False}


# ---------------------------------------------------------------------------------------------
# Case catalogue. Each entry: id, description, and a builder of on_open behaviour.
# ---------------------------------------------------------------------------------------------

CASES = collections.OrderedDict()


def case(case_id, description, time_limit_s=None, offer_deflate=None):
    def register(fn):
        cls = type("Case_" + case_id.replace(".", "_"), (Case,), {
            "id": case_id, "description": description, "on_open": fn,
            "time_limit_s": time_limit_s, "offer_deflate": offer_deflate})
        CASES[case_id] = cls
        return fn
    return register


def case_class(case_id, cls):
    cls.id = case_id
    CASES[case_id] = cls


# ---- 1.* framing ----
def _add_framing():
    lengths = [0, 125, 126, 127, 128, 65535, 65536, 65536]
    for group, (opcode, fill, kind) in enumerate([(1, b"*", "text"), (2, b"\xfe", "binary")], start=1):
        for i, n in enumerate(lengths, start=1):
            chop = 997 if i == 8 else None
            desc = "Send %s message with payload length %d%s." % (kind, n, ", chopped into 997-octet writes" if chop else "")

            def on_open(self, n=n, opcode=opcode, fill=fill, chop=chop):
                payload = fill * n
                self.expect_echo(payload, opcode == 2)
                self.p.send_frame(opcode, payload, chopsize=chop)
                self.p.kill_after(10 if n > 60000 else 1)
            case("1.%d.%d" % (group, i), desc)(on_open)


_add_framing()


# ---- 2.* pings and pongs ----
def _add_pings():
    def ping_case(cid, desc, payload, chop=None, ok=True):
        def on_open(self):
            if ok:
                self.expected[OK] = [("pong", payload)]
                self.expect_close_by_me()
            else:
                self.expected[OK] = []
                self.expect_fail()
            self.p.send_frame(9, payload, chopsize=chop)
            self.p.kill_after(1)
        case(cid, desc)(on_open)

    ping_case("2.1", "Send ping without payload.", b"")
    ping_case("2.2", "Send ping with small text payload.", b"Hello, world!")
    ping_case("2.3", "Send ping with small binary (non UTF-8) payload.", b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff")
    ping_case("2.4", "Send ping with binary payload of 125 octets.", b"\xfe" * 125)
    ping_case("2.5", "Send ping with binary payload of 126 octets (a control frame over 125 octets).",
              b"\xfe" * 126, ok=False)
    ping_case("2.6", "Send ping with payload of 125 octets, in octet-wise chops.", b"\xfe" * 125, chop=1)

    def unsolicited(cid, desc, pong_payload, then_ping=None):
        def on_open(self):
            if then_ping is None:
                self.expected[OK] = []
            else:
                self.expected[OK] = [("pong", then_ping)]
            self.expect_close_by_me()
            self.p.send_frame(10, pong_payload)
            if then_ping is None:
                self.p.close_after(1)
            else:
                self.p.send_frame(9, then_ping)
                self.p.kill_after(1)
        case(cid, desc)(on_open)

    unsolicited("2.7", "Send unsolicited pong without payload; nothing comes back.", b"")
    unsolicited("2.8", "Send unsolicited pong with payload; nothing comes back.", b"unsolicited pong payload")
    unsolicited("2.9", "Send unsolicited pong with payload, then a ping with payload; only the ping's pong comes back.",
                b"unsolicited pong payload", b"ping payload")

    def ten_pings(cid, desc, chop):
        def on_open(self):
            payloads = [("payload-%d" % i).encode() for i in range(10)]
            self.expected[OK] = [("pong", p) for p in payloads]
            self.expect_close_by_me()
            for p in payloads:
                self.p.send_frame(9, p, chopsize=chop)
            self.p.close_after(3)
        case(cid, desc)(on_open)

    ten_pings("2.10", "Send 10 pings with payload; a pong for each, in order.", None)
    ten_pings("2.11", "Send 10 pings with payload, in octet-wise chops; a pong for each, in order.", 1)


_add_pings()


# ---- 3.* reserved bits, 4.* reserved opcodes ----
def _send_frames_sync(conn, frames, chop=None, gap_s=0.0):
    """Frames as separate writes (Autobahn's sync=True), optionally octet-wise chopped, with gaps."""
    delay = 0.0
    for frame in frames:
        if delay == 0.0:
            conn.send_raw(frame, chop)
        else:
            conn.continue_later(delay, lambda f=frame: conn.send_raw(f, chop))
        delay += gap_s


def _send_frames(conn, frames, mode=None):
    """Frames in one write (mode None), one write each ("frames") or octet-wise chops ("octets")."""
    if mode is None:
        conn.send_raw(b"".join(frames))
    elif mode == "frames":
        _send_frames_sync(conn, frames, gap_s=0.05)
    else:
        _send_frames_sync(conn, frames, chop=1, gap_s=0.05)


HELLO = b"Hello, world!"


def _bad_frame_case(cid, desc, bad_frame, lead_message=False, mode=None):
    """`bad_frame` must fail the connection (1002). With `lead_message`, a text message goes before
    it and a ping after it: the message's echo may come back first (OK) or not (NON-STRICT)."""
    def on_open(self):
        self.expected[OK] = [("message", HELLO, False)] if lead_message else []
        if lead_message:
            self.expected[NON_STRICT] = []
        self.expect_fail()
        frames = [bad_frame]
        if lead_message:
            frames = [build_frame(1, HELLO), bad_frame, build_frame(9)]
        _send_frames(self.p, frames, mode)
        self.p.kill_after(1)
    case(cid, desc)(on_open)


def _add_reserved():
    rsv = lambda bits, opcode, payload: build_frame(opcode, payload, rsv=bits)
    _bad_frame_case("3.1", "Send small text message with RSV = 1.", rsv(1, 1, HELLO))
    _bad_frame_case("3.2", "Send small text message, then again with RSV = 2, then a ping.", rsv(2, 1, HELLO), True)
    _bad_frame_case("3.3", "Send small text message, then again with RSV = 3, then a ping; frame-wise writes.",
                    rsv(3, 1, HELLO), True, "frames")
    _bad_frame_case("3.4", "Send small text message, then again with RSV = 4, then a ping; octet-wise chops.",
                    rsv(4, 1, HELLO), True, "octets")
    _bad_frame_case("3.5", "Send small binary message with RSV = 5.", rsv(5, 2, bytes(range(8))))
    _bad_frame_case("3.6", "Send ping with RSV = 6.", rsv(6, 9, b"ping payload"))
    _bad_frame_case("3.7", "Send close with RSV = 7.", rsv(7, 8, b""))

    reserved = b"reserved opcode payload"
    for cid, opcode, payload, lead in [("4.1.1", 3, b"", False), ("4.1.2", 4, reserved, False),
                                       ("4.1.3", 5, b"", True), ("4.1.4", 6, reserved, True),
                                       ("4.1.5", 7, reserved, True), ("4.2.1", 11, b"", False),
                                       ("4.2.2", 12, reserved, False), ("4.2.3", 13, b"", True),
                                       ("4.2.4", 14, reserved, True), ("4.2.5", 15, reserved, True)]:
        kind = "non-control" if opcode < 8 else "control"
        desc = "Send frame with reserved %s opcode %d%s." % (kind, opcode, " and payload" if payload else "")
        if lead:
            desc = "Send small text message, then f" + desc[1:-1] + ", then ping."
        _bad_frame_case(cid, desc, build_frame(opcode, payload), lead)


_add_reserved()


# ---- 5.* fragmentation ----
def _add_fragmentation():
    send = _send_frames

    def fail_case(cid, desc, frames_fn, mode=None, ok_events=None):
        def on_open(self):
            self.expected[OK] = ok_events or []
            if ok_events:
                self.expected[NON_STRICT] = []
            self.expect_fail()
            send(self.p, frames_fn(), mode)
            self.p.kill_after(1)
        case(cid, desc)(on_open)

    def echo_case(cid, desc, frames_fn, events, mode=None):
        def on_open(self):
            self.expected[OK] = events
            self.expect_close_by_me()
            send(self.p, frames_fn(), mode)
            self.p.kill_after(1)
        case(cid, desc)(on_open)

    fail_case("5.1", "Send ping fragmented into 2 fragments.",
              lambda: [build_frame(9, b"fragment1", fin=False), build_frame(0, b"fragment2")])
    fail_case("5.2", "Send pong fragmented into 2 fragments.",
              lambda: [build_frame(10, b"fragment1", fin=False), build_frame(0, b"fragment2")])
    two = lambda: [build_frame(1, b"fragment1", fin=False), build_frame(0, b"fragment2")]
    msg = [("message", b"fragment1fragment2", False)]
    echo_case("5.3", "Send text message in 2 fragments.", two, msg)
    echo_case("5.4", "Send text message in 2 fragments, frame-wise writes.", two, msg, "frames")
    echo_case("5.5", "Send text message in 2 fragments, octet-wise chops.", two, msg, "octets")
    with_ping = lambda: [build_frame(1, b"fragment1", fin=False), build_frame(9, b"pongme!"),
                         build_frame(0, b"fragment2")]
    ping_msg = [("pong", b"pongme!"), ("message", b"fragment1fragment2", False)]
    echo_case("5.6", "Send text message in 2 fragments with a ping in between.", with_ping, ping_msg)
    echo_case("5.7", "Send text message in 2 fragments with a ping in between, frame-wise writes.",
              with_ping, ping_msg, "frames")
    echo_case("5.8", "Send text message in 2 fragments with a ping in between, octet-wise chops.",
              with_ping, ping_msg, "octets")
    cont_fin = lambda: [build_frame(0, b"non-continuation payload"), build_frame(1, b"Hello, world!")]
    fail_case("5.9", "Send continuation frame with FIN = true and no message open, then a text message.", cont_fin)
    fail_case("5.10", "As 5.9, frame-wise writes.", cont_fin, "frames")
    fail_case("5.11", "As 5.9, octet-wise chops.", cont_fin, "octets")
    cont_nofin = lambda: [build_frame(0, b"non-continuation payload", fin=False), build_frame(1, b"Hello, world!")]
    fail_case("5.12", "Send continuation frame with FIN = false and no message open, then a text message.", cont_nofin)
    fail_case("5.13", "As 5.12, frame-wise writes.", cont_nofin, "frames")
    fail_case("5.14", "As 5.12, octet-wise chops.", cont_nofin, "octets")
    fail_case("5.15", "Send text message in 2 fragments, then continuation FIN = false with no message open, "
              "then text fragment FIN = true.",
              lambda: [build_frame(1, b"fragment1", fin=False), build_frame(0, b"fragment2"),
                       build_frame(0, b"fragment3", fin=False), build_frame(1, b"fragment4")],
              ok_events=[("message", b"fragment1fragment2", False)])
    fail_case("5.16", "Twice: continuation FIN = false (no message open), text FIN = false, continuation FIN = true.",
              lambda: [build_frame(0, b"fragment1", fin=False), build_frame(1, b"fragment2", fin=False),
                       build_frame(0, b"fragment3")] * 2)
    fail_case("5.17", "Twice: continuation FIN = true (no message open), text FIN = false, continuation FIN = true.",
              lambda: [build_frame(0, b"fragment1"), build_frame(1, b"fragment2", fin=False),
                       build_frame(0, b"fragment3")] * 2)
    fail_case("5.18", "Send text message in 2 fragments, both with opcode text.",
              lambda: [build_frame(1, b"fragment1", fin=False), build_frame(1, b"fragment2")])

    def five_fragments(cid, desc, mode):
        def on_open(self):
            self.expected[OK] = [("pong", b"pongme 1!"), ("pong", b"pongme 2!"),
                                 ("message", b"fragment1fragment2fragment3fragment4fragment5", False)]
            self.expect_close_by_me()
            first = [build_frame(1, b"fragment1", fin=False), build_frame(0, b"fragment2", fin=False),
                     build_frame(9, b"pongme 1!")]
            second = [build_frame(0, b"fragment3", fin=False), build_frame(0, b"fragment4", fin=False),
                      build_frame(9, b"pongme 2!"), build_frame(0, b"fragment5")]
            send(self.p, first, mode)

            def part2():
                send(self.p, second, mode)
                self.p.close_after(1)
            self.p.continue_later(1, part2)
        case(cid, desc)(on_open)

    five_fragments("5.19", "Send text message in 5 fragments: 2 fragments and a ping, wait 1 s, then 2 fragments, "
                   "a ping and the last fragment.", None)
    five_fragments("5.20", "As 5.19, frame-wise writes.", "frames")


_add_fragmentation()


# ---- 6.* UTF-8 ----
def utf8_sequences():
    """The UTF-8 decoder test table (Markus Kuhn's UTF-8-test.txt, as Autobahn groups it as 6.5-6.23).

    Returns [(title, [(valid, bytes), ...]), ...]."""
    kosme = bytes.fromhex("cebae1bdb9cf83cebcceb5")
    groups = []
    groups.append(("Some valid UTF-8 sequences", [
        (True, b"hello$world"), (True, b"hello\xc2\xa2world"), (True, b"hello\xe2\x82\xacworld"),
        (True, b"hello\xf0\xa4\xad\xa2world"), (True, kosme)]))
    groups.append(("All prefixes of a valid UTF-8 string that contains multi-byte code points",
                   [(is_utf8(kosme[:i]), kosme[:i]) for i in range(1, len(kosme) + 1)]))
    groups.append(("First possible sequence of a certain length", [
        (True, b"\x00"), (True, b"\xc2\x80"), (True, b"\xe0\xa0\x80"), (True, b"\xf0\x90\x80\x80")]))
    groups.append(("First possible sequence length 5/6 (invalid codepoints)", [
        (False, b"\xf8\x88\x80\x80\x80"), (False, b"\xfc\x84\x80\x80\x80\x80")]))
    groups.append(("Last possible sequence of a certain length", [
        (True, b"\x7f"), (True, b"\xdf\xbf"), (True, b"\xef\xbf\xbf"), (True, b"\xf4\x8f\xbf\xbf")]))
    groups.append(("Last possible sequence length 4/5/6 (invalid codepoints)", [
        (False, b"\xf7\xbf\xbf\xbf"), (False, b"\xfb\xbf\xbf\xbf\xbf"), (False, b"\xfd\xbf\xbf\xbf\xbf\xbf")]))
    groups.append(("Other boundary conditions", [
        (True, b"\xed\x9f\xbf"), (True, b"\xee\x80\x80"), (True, b"\xef\xbf\xbd"), (True, b"\xf4\x8f\xbf\xbf"),
        (False, b"\xf4\x90\x80\x80")]))
    groups.append(("Unexpected continuation bytes", [
        (False, b"\x80"), (False, b"\xbf"), (False, b"\x80\xbf"), (False, b"\x80\xbf\x80"),
        (False, b"\x80\xbf\x80\xbf"), (False, b"\x80\xbf\x80\xbf\x80"), (False, b"\x80\xbf\x80\xbf\x80\xbf"),
        (False, bytes(range(0x80, 0xbf)))]))
    lonely = []
    for lo, hi in [(0xc0, 0xdf), (0xe0, 0xef), (0xf0, 0xf7), (0xf8, 0xfb), (0xfc, 0xfd)]:
        lonely.append((False, b"".join(bytes([b, 0x20]) for b in range(lo, hi))))
    groups.append(("Lonely start characters", lonely))
    missing = [b"\xc0", b"\xe0\x80", b"\xf0\x80\x80", b"\xf8\x80\x80\x80", b"\xfc\x80\x80\x80\x80",
               b"\xdf", b"\xef\xbf", b"\xf7\xbf\xbf", b"\xfb\xbf\xbf\xbf", b"\xfd\xbf\xbf\xbf\xbf"]
    groups.append(("Sequences with last continuation byte missing", [(False, m) for m in missing]))
    groups.append(("Concatenation of incomplete sequences", [(False, b"".join(missing))]))
    groups.append(("Impossible bytes", [(False, b"\xfe"), (False, b"\xff"), (False, b"\xfe\xfe\xff\xff")]))
    groups.append(("Examples of an overlong ASCII character", [
        (False, b"\xc0\xaf"), (False, b"\xe0\x80\xaf"), (False, b"\xf0\x80\x80\xaf"),
        (False, b"\xf8\x80\x80\x80\xaf"), (False, b"\xfc\x80\x80\x80\x80\xaf")]))
    groups.append(("Maximum overlong sequences", [
        (False, b"\xc1\xbf"), (False, b"\xe0\x9f\xbf"), (False, b"\xf0\x8f\xbf\xbf"),
        (False, b"\xf8\x87\xbf\xbf\xbf"), (False, b"\xfc\x83\xbf\xbf\xbf\xbf")]))
    groups.append(("Overlong representation of the NUL character", [
        (False, b"\xc0\x80"), (False, b"\xe0\x80\x80"), (False, b"\xf0\x80\x80\x80"),
        (False, b"\xf8\x80\x80\x80\x80"), (False, b"\xfc\x80\x80\x80\x80\x80")]))
    groups.append(("Single UTF-16 surrogates", [(False, bytes.fromhex(h)) for h in [
        "eda080", "edadbf", "edae80", "edafbf", "edb080", "edbe80", "edbfbf"]]))
    groups.append(("Paired UTF-16 surrogates", [(False, bytes.fromhex(h)) for h in [
        "eda080edb080", "eda080edbfbf", "edadbfedb080", "edadbfedbfbf",
        "edae80edb080", "edae80edbfbf", "edafbfedb080", "edafbfedbfbf"]]))
    nonchars = [(True, b"\xef\xbf\xbe"), (True, b"\xef\xbf\xbf")]
    for z1 in [0xf0, 0xf1, 0xf2, 0xf3, 0xf4]:
        for z2 in [0x8f, 0x9f, 0xaf, 0xbf]:
            if z1 == 0xf4 and z2 != 0x8f:
                continue  # above U+10FFFF
            for z3 in [0xbe, 0xbf]:
                seq = bytes([z1, z2, 0xbf, z3])
                if seq not in (b"\xf0\x8f\xbf\xbe", b"\xf0\x8f\xbf\xbf"):  # overlong
                    nonchars.append((True, seq))
    groups.append(("Non-character code points (valid UTF-8)", nonchars))
    groups.append(("Unicode specials (i.e. replacement char)", [
        (True, bytes([0xef, 0xbf, b])) for b in range(0xb9, 0xc0)]))
    for title, seqs in groups:
        for valid, seq in seqs:
            assert valid == is_utf8(seq), (title, seq)
    return groups


KOSME = bytes.fromhex("cebae1bdb9cf83cebcceb5")
INVALID_KOSME = KOSME + b"\xed\xa0\x80" + b"edited"  # a UTF-16 surrogate inside valid text


def _add_utf8():
    def echo_case(cid, desc, fragments):
        def on_open(self):
            self.expect_echo(b"".join(fragments))
            frames = [build_frame(1 if i == 0 else 0, f, fin=(i == len(fragments) - 1))
                      for i, f in enumerate(fragments)]
            self.p.send_raw(b"".join(frames))
            self.p.kill_after(1)
        case(cid, desc)(on_open)

    echo_case("6.1.1", "Send text message of length 0.", [b""])
    echo_case("6.1.2", "Send fragmented text message, 3 fragments each of length 0.", [b"", b"", b""])
    echo_case("6.1.3", "Send fragmented text message, 3 fragments, first and last of length 0.",
              [b"", b"middle frame payload", b""])
    hello = "Hello-\u00b5@\u00df\u00f6\u00e4\u00fc\u00e0\u00e1-UTF-8!!".encode()
    echo_case("6.2.1", "Send a valid UTF-8 text message in one fragment.", [hello])
    echo_case("6.2.2", "Send a valid UTF-8 text message in two fragments, split on a code point boundary.",
              [hello[:12], hello[12:]])
    echo_case("6.2.3", "Send a valid UTF-8 text message in fragments of 1 octet (frames end inside code points).",
              [hello[i:i + 1] for i in range(len(hello))])
    echo_case("6.2.4", "Send a valid UTF-8 text message in fragments of 1 octet (frames end inside code points).",
              [KOSME[i:i + 1] for i in range(len(KOSME))])

    def invalid_case(cid, desc, fragments):
        def on_open(self):
            self.expected[OK] = []
            self.expect_fail((CLOSE_INVALID_PAYLOAD,))
            frames = [build_frame(1 if i == 0 else 0, f, fin=(i == len(fragments) - 1))
                      for i, f in enumerate(fragments)]
            self.p.send_raw(b"".join(frames))
            self.p.kill_after(1)
        case(cid, desc)(on_open)

    invalid_case("6.3.1", "Send invalid UTF-8 text message unfragmented.", [INVALID_KOSME])
    invalid_case("6.3.2", "Send invalid UTF-8 text message in fragments of 1 octet.",
                 [INVALID_KOSME[i:i + 1] for i in range(len(INVALID_KOSME))])

    # 6.4.*: fail fast. The invalid part arrives after a 1 s wait; the server must fail the
    # connection then, before the rest arrives 1 s later (else NON-STRICT).
    payload = KOSME + b"\xf4\x90\x80\x80" + b"edited"  # U+110000: beyond Unicode

    def fail_fast(cid, desc, parts, chops):
        def on_open(self):
            self.expected[OK] = [("timeout", "A")]
            self.expected[NON_STRICT] = [("timeout", "A"), ("timeout", "B")]
            self.expect_fail((CLOSE_INVALID_PAYLOAD,))
            if chops:
                # One frame, its payload written in three parts.
                frame = build_frame(1, payload)  # 2-octet header and 4-octet mask key: 6 octets
                cut1, cut2 = 6 + len(parts[0]), 6 + len(parts[0]) + len(parts[1])
                writes = [frame[:cut1], frame[cut1:cut2], frame[cut2:]]
            else:
                writes = [build_frame(1, parts[0], fin=False), build_frame(0, parts[1], fin=False),
                          build_frame(0, parts[2])]
            self.p.send_raw(writes[0])

            def part2():
                self.record(("timeout", "A"))
                self.p.send_raw(writes[1])
                self.p.continue_later(1, part3)

            def part3():
                self.record(("timeout", "B"))
                self.p.send_raw(writes[2])
                self.p.kill_after(1)
            self.p.continue_later(1, part2)
        case(cid, desc)(on_open)

    fail_fast("6.4.1", "Invalid UTF-8 text message in 3 frames; the 2nd holds the invalid sequence (U+110000).",
              [KOSME, b"\xf4\x90\x80\x80", b"edited"], False)
    fail_fast("6.4.2", "Invalid UTF-8 text message in 3 frames; the 2nd is the single octet that makes it invalid.",
              [payload[:12], payload[12:13], payload[13:]], False)
    fail_fast("6.4.3", "As 6.4.1, but 3 chops of one frame.", [KOSME, b"\xf4\x90\x80\x80", b"edited"], True)
    fail_fast("6.4.4", "As 6.4.2, but 3 chops of one frame.", [payload[:12], payload[12:13], payload[13:]], True)

    def table_case(cid, desc, valid, seq):
        def on_open(self):
            if valid:
                self.expect_echo(seq)
            else:
                self.expected[OK] = []
                self.expect_fail((CLOSE_INVALID_PAYLOAD,))
            self.p.send_frame(1, seq)
            self.p.kill_after(0.5)
        case(cid, desc)(on_open)

    for g, (title, seqs) in enumerate(utf8_sequences(), start=5):
        for j, (valid, seq) in enumerate(seqs, start=1):
            table_case("6.%d.%d" % (g, j), "%s: %s text message, payload 0x%s." % (
                title, "valid" if valid else "invalid", seq.hex()), valid, seq)


_add_utf8()


# ---- 7.* closing ----
class WrongCodeFails(Case):
    """In these 7.* cases a wrong close code fails the case, not only its closing behaviour."""

    def on_connection_lost(self):
        super().on_connection_lost()
        if self.behavior_close == WRONG_CODE:
            self.behavior = FAILED
            self.result = self.result_close


def _add_close():
    def c711(self):
        self.expect_echo(b"Hello World!")
        self.p.send_frame(1, b"Hello World!")
        self.p.kill_after(1)
    case("7.1.1", "Send a message followed by a close frame.")(c711)

    def after_close(cid, desc, then):
        def on_open(self):
            self.expected[OK] = []
            self.expect_close_by_me()
            self.p.send_close(CLOSE_NORMAL)
            then(self.p)
            self.p.kill_after(1)
        case(cid, desc)(on_open)

    after_close("7.1.2", "Send two close frames.", lambda p: p.send_raw(build_frame(8, (1000).to_bytes(2, "big"))))
    after_close("7.1.3", "Send a ping after a close frame.", lambda p: p.send_raw(build_frame(9, b"Hello World!")))
    after_close("7.1.4", "Send a text message after a close frame.",
                lambda p: p.send_raw(build_frame(1, b"Hello World!")))

    def c715(self):
        self.expected[OK] = []
        self.expect_close_by_me()
        self.p.send_raw(build_frame(1, b"fragment1", fin=False))
        self.p.send_close(CLOSE_NORMAL)
        self.p.send_raw(build_frame(0, b"fragment2"))
        self.p.kill_after(1)
    case("7.1.5", "Send message fragment 1, then a close frame, then fragment 2.")(c715)

    class Case716(Case):
        description = "Send a 256 KiB message, a small message, a close frame, then a ping (informational)."

        def on_open(self):
            self.suppress_close = True
            self.expected[OK] = [("message", b"Hello World!", False)]
            self.expected[NON_STRICT] = []
            self.expect_close_by_me()
            self.big = repeat_to("BAsd7&jh23", 256 * 1024)
            self.p.send_frame(1, self.big)
            self.p.send_frame(1, b"Hello World!")
            self.p.send_close(CLOSE_NORMAL)
            self.p.send_raw(build_frame(9))
            self.p.kill_after(1)

        def on_message(self, data, binary):
            if data == self.big:
                return  # the big message is not part of the comparison
            super().on_message(data, binary)

        def on_connection_lost(self):
            super().on_connection_lost()
            if self.behavior == OK:
                self.result = "Text message was processed before close."
            elif self.behavior == NON_STRICT:
                self.result = "Close was processed before the text message could be returned."
            self.behavior = INFORMATIONAL
            self.behavior_close = INFORMATIONAL
    case_class("7.1.6", Case716)

    def close_payload(cid, desc, payload, ok):
        def on_open(self):
            self.expected[OK] = []
            if ok:
                self.expect_close_by_me()
            else:
                self.expect_close_by_me((CLOSE_PROTOCOL_ERROR,), clean=False)
            self.p.send_close_payload(payload)
            self.p.kill_after(1)
        case(cid, desc)(on_open)

    code = (1000).to_bytes(2, "big")
    close_payload("7.3.1", "Send close with payload of length 0 (no close code).", b"", True)
    close_payload("7.3.2", "Send close with payload of length 1.", b"a", False)
    close_payload("7.3.3", "Send close with payload of length 2 (code 1000, no reason).", code, True)
    close_payload("7.3.4", "Send close with code 1000 and a short reason.", code + b"Hello World!", True)
    close_payload("7.3.5", "Send close with code 1000 and a reason of 123 octets (125 in all).", code + b"*" * 123,
                  True)
    close_payload("7.3.6", "Send close with code 1000 and a reason of 124 octets (126 in all: too long).",
                  code + b"*" * 124, False)

    class Case751(WrongCodeFails):
        description = "Send close with code 1000 and a reason that is not valid UTF-8."

        def on_open(self):
            self.expected[OK] = []
            self.expect_close_by_me((CLOSE_PROTOCOL_ERROR, CLOSE_INVALID_PAYLOAD), clean=False)
            self.p.send_close_payload(code + INVALID_KOSME)
            self.p.kill_after(1)
    case_class("7.5.1", Case751)

    class CodeCase(WrongCodeFails):
        close_code = 0
        valid = True

        def on_open(self):
            self.expected[OK] = []
            if self.valid:
                self.expect_close_by_me((CLOSE_NORMAL, self.close_code))
            else:
                self.expect_close_by_me((CLOSE_PROTOCOL_ERROR,), clean=False)
            self.p.send_close_payload(self.close_code.to_bytes(2, "big"))
            self.p.kill_after(1)

    for i, c in enumerate([1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999], start=1):
        case_class("7.7.%d" % i, type("Case_7_7_%d" % i, (CodeCase,), {
            "close_code": c, "valid": True,
            "description": "Send close with valid close code %d; clean close with 1000 or the same code." % c}))
    for i, c in enumerate([0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999], start=1):
        case_class("7.9.%d" % i, type("Case_7_9_%d" % i, (CodeCase,), {
            "close_code": c, "valid": False,
            "description": "Send close with invalid close code %d; close 1002 or drop TCP." % c}))

    class InfoCodeCase(CodeCase):
        valid = False

        def on_connection_lost(self):
            Case.on_connection_lost(self)
            self.behavior = INFORMATIONAL
            self.behavior_close = INFORMATIONAL
            self.result = "Close code %d: behaviour left open by the spec (answer: %s)." % (
                self.close_code, self.p.remote_close_code)
    for i, c in enumerate([5000, 65535], start=1):
        case_class("7.13.%d" % i, type("Case_7_13_%d" % i, (InfoCodeCase,), {
            "close_code": c,
            "description": "Send close with close code %d, outside every range (informational)." % c}))


_add_close()


# ---- 10.* auto-fragmentation ----
def c1011(self):
    payload = b"*" * 65536
    self.expect_echo(payload)
    self.p.send_message(payload, fragment_size=1300)
    self.p.kill_after(10)


case("10.1.1", "Send a text message of 65536 octets, auto-fragmented into frames of 1300 octets.")(c1011)
