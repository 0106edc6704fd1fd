"""The conformance cases 9.* (large messages and fragments, chopped writes, round trips) and
12.*/13.* (permessage-deflate, RFC 7692), written from the Autobahn testsuite's case descriptions."""

import random
import time

from cases import OK, FAILED, UNIMPLEMENTED, Case, case_class
from wsclient import CLOSE_NORMAL, Deflate, build_frame, parse_deflate_answer, repeat_to


# ---- 9.* limits and performance ----
class SelfJudgingCase(Case):
    """A case that sets its own behaviour when the echo comes back (Autobahn's 9.* and 12.*/13.*):
    the events are not compared with expected lists; the closing behaviour is judged as usual."""

    wait_s = 100

    def on_open(self):
        self.expected_close = {"closedByMe": True, "closeCode": [CLOSE_NORMAL], "requireClean": True}
        self.started = time.monotonic()
        self.start()
        self.p.close_after(self.wait_s)

    def judge(self, ok, result):
        self.behavior = OK if ok else FAILED
        self.result = result
        self.p.send_close(CLOSE_NORMAL)

    def on_connection_lost(self):
        behavior, result = self.behavior, self.result
        super().on_connection_lost()
        self.behavior, self.result = behavior, result


class BigMessageCase(SelfJudgingCase):
    """Send one large message (maybe fragmented or chopped), expect it echoed in time."""

    size = 0
    binary = False
    fragment_size = None
    chopsize = None

    def start(self):
        self.result = "Did not receive the message within %d seconds." % self.wait_s
        self.payload = repeat_to(b"\xfe" if self.binary else b"BAsd7&jh23", self.size)
        if self.fragment_size:
            self.p.send_message(self.payload, self.binary, self.fragment_size)
        else:
            self.p.send_frame(2 if self.binary else 1, self.payload, chopsize=self.chopsize)

    def on_message(self, data, binary):
        if binary != self.binary:
            self.judge(False, "Expected a %s message, got %s." % (
                "binary" if self.binary else "text", "binary" if binary else "text"))
        elif data != self.payload:
            self.judge(False, "Echoed message differs (length %d, expected %d)." % (len(data), len(self.payload)))
        else:
            self.judge(True, "Received the message of length %d in %.3f s." % (
                len(data), time.monotonic() - self.started))


class RoundTripCase(SelfJudgingCase):
    """Send `count` messages one after another, each after the previous echo came back."""

    size = 0
    binary = False
    count = 1000
    wait_s = 60

    def start(self):
        self.done = 0
        self.result = "Did not receive all %d messages within %d seconds." % (self.count, self.wait_s)
        self.send_next()

    def message(self, i):
        return repeat_to(b"\xfe" if self.binary else b"*", self.size)

    def send_next(self):
        self.p.send_frame(2 if self.binary else 1, self.message(self.done))

    def on_message(self, data, binary):
        if data != self.message(self.done) or binary != self.binary:
            return self.judge(False, "Echo %d differs." % self.done)
        self.done += 1
        if self.done < self.count:
            return self.send_next()
        self.judge(True, "%d round trips in %.3f s." % (self.count, time.monotonic() - self.started))


def _add_limits():
    KiB, MiB = 1024, 1024 * 1024
    for group, binary in [(1, False), (2, True)]:
        for i, size in enumerate([64 * KiB, 256 * KiB, MiB, 4 * MiB, 8 * MiB, 16 * MiB], start=1):
            cid = "9.%d.%d" % (group, i)
            case_class(cid, type("Case_" + cid.replace(".", "_"), (BigMessageCase,), {
                "size": size, "binary": binary, "time_limit_s": 110,
                "description": "Send %s message of %d octets." % ("binary" if binary else "text", size)}))
    for group, binary in [(3, False), (4, True)]:
        for i, frag in enumerate([64, 256, KiB, 4 * KiB, 16 * KiB, 64 * KiB, 256 * KiB, MiB, 4 * MiB], start=1):
            cid = "9.%d.%d" % (group, i)
            case_class(cid, type("Case_" + cid.replace(".", "_"), (BigMessageCase,), {
                "size": 4 * MiB, "binary": binary, "fragment_size": frag, "time_limit_s": 110,
                "description": "Send fragmented %s message of 4 MiB in frames of %d octets." % (
                    "binary" if binary else "text", frag)}))
    for group, binary in [(5, False), (6, True)]:
        for i, chop in enumerate([64, 128, 256, 512, 1024, 2048], start=1):
            cid = "9.%d.%d" % (group, i)
            case_class(cid, type("Case_" + cid.replace(".", "_"), (BigMessageCase,), {
                "size": MiB, "binary": binary, "chopsize": chop, "time_limit_s": 110,
                "description": "Send %s message of 1 MiB in one frame, written in chops of %d octets." % (
                    "binary" if binary else "text", chop)}))
    for group, binary in [(7, False), (8, True)]:
        for i, size in enumerate([0, 16, 64, 256, KiB, 4 * KiB], start=1):
            cid = "9.%d.%d" % (group, i)
            case_class(cid, type("Case_" + cid.replace(".", "_"), (RoundTripCase,), {
                "size": size, "binary": binary, "time_limit_s": 70,
                "description": "Send 1000 %s messages of %d octets, one round trip at a time." % (
                    "binary" if binary else "text", size)}))


_add_limits()


# ---- 12.*, 13.* permessage-deflate (RFC 7692) ----
class DeflateCase(RoundTripCase):
    """Round trips with permessage-deflate (RFC 7692); UNIMPLEMENTED when the server declines it."""

    corpus = "json"
    fragment_size = 0
    unimplemented = False

    def start(self):
        params = parse_deflate_answer(self.p.extensions)
        if params is None:
            self.unimplemented = True
            self.behavior = UNIMPLEMENTED
            self.result = "The server does not implement permessage-deflate (offer declined)."
            self.p.send_close(CLOSE_NORMAL)
            return
        self.deflate = Deflate("client_no_context_takeover" in params, "server_no_context_takeover" in params,
                               int(params.get("client_max_window_bits") or 15))
        self.data = deflate_corpus(self.corpus)
        super().start()

    def message(self, i):
        # As Autobahn: consecutive slices of the corpus, wrapping around at its end.
        start = (i * self.size) % len(self.data)
        piece = self.data[start:start + self.size]
        while len(piece) < self.size:
            piece += self.data[:self.size - len(piece)]
        return piece

    def send_next(self):
        # RFC 7692 §6.1: RSV1 on the first frame of a compressed message only.
        data = self.deflate.compress(self.message(self.done))
        step = self.fragment_size or max(1, len(data))
        pieces = [data[i:i + step] for i in range(0, len(data), step)] or [b""]
        self.p.send_raw(b"".join(
            build_frame((2 if self.binary else 1) if i == 0 else 0, piece, fin=(i == len(pieces) - 1),
                        rsv=4 if i == 0 else 0)
            for i, piece in enumerate(pieces)))

    def on_connection_lost(self):
        super().on_connection_lost()
        if self.unimplemented:
            self.behavior = UNIMPLEMENTED
            self.behavior_close = OK


_CORPORA = {}
_CORPUS_BYTES = 512 * 1024


def deflate_corpus(kind):
    """512 KiB of deterministic data standing in for one of Autobahn's corpus files (which are not
    here): ASCII JSON or HTML (sent as text), prose or bitmap/PDF-like bytes (sent as binary)."""
    if kind in _CORPORA:
        return _CORPORA[kind]
    rng = random.Random(kind)
    words = ["Faust", "Mephistopheles", "Gretchen", "Studierzimmer", "Nacht", "Habe", "nun", "ach",
             "Philosophie", "Juristerei", "und", "Medizin", "leider", "auch", "Theologie", "durchaus",
             "studiert", "mit", "hei\u00dfem", "Bem\u00fchn", "Da", "steh", "ich", "armer", "Tor"]
    parts, n = [], 0
    while n < _CORPUS_BYTES:
        if kind == "json":
            item = '{"id": %d, "name": "%s", "tags": ["%s", "%s"], "score": %.3f},\n' % (
                rng.randrange(10 ** 6), rng.choice(words[:15]), rng.choice(words[:15]), rng.choice(words[:15]),
                rng.random())
            piece = item.encode("ascii")
        elif kind == "html":
            piece = ('<div class="%s"><p>%s %s</p><a href="/%s">%s</a></div>\n' % (
                rng.choice(words[:15]).lower(), rng.choice(words[:15]), rng.choice(words[:15]),
                rng.choice(words[:15]).lower(), rng.choice(words[:15]))).encode("ascii")
        elif kind == "prose":
            piece = (" ".join(rng.choice(words) for _ in range(12)) + ".\n").encode("utf-8")
        else:  # bitmap- or PDF-like: runs of a few values with noise
            piece = bytes([rng.choice((0, 0, 0, 255, rng.randrange(256)))]) * rng.randrange(1, 64)
        parts.append(piece)
        n += len(piece)
    _CORPORA[kind] = b"".join(parts)[:_CORPUS_BYTES]
    return _CORPORA[kind]


def _add_deflate():
    # (payload octets, messages, seconds allowed, frame size of the compressed payload; 0 = one frame),
    # as Autobahn's table for 12.* and 13.*.
    sizes = [(16, 1000, 60, 0), (64, 1000, 60, 0), (256, 1000, 120, 0), (1024, 1000, 240, 0),
             (4096, 1000, 480, 0), (8192, 1000, 480, 0), (16384, 1000, 480, 0), (32768, 1000, 480, 0),
             (65536, 1000, 480, 0), (131072, 1000, 480, 0), (8192, 1000, 480, 256), (16384, 1000, 480, 256),
             (32768, 1000, 480, 256), (65536, 1000, 480, 256), (131072, 1000, 480, 256),
             (131072, 1000, 480, 1024), (131072, 1000, 480, 4096), (131072, 1000, 480, 32768)]
    default_offer = "permessage-deflate; client_no_context_takeover; client_max_window_bits"

    def add(cid, corpus, binary, offer, size, count, wait_s, frame_size, title):
        case_class(cid, type("Case_" + cid.replace(".", "_"), (DeflateCase,), {
            "count": count, "size": size, "binary": binary, "corpus": corpus, "fragment_size": frame_size,
            "offer_deflate": offer, "wait_s": wait_s, "time_limit_s": wait_s + 10,
            "description": "Send %d compressed messages of %d octets (%s), frames of %s octets; offer: %s." % (
                count, size, title, frame_size or "any", offer)}))

    # 12.*: five kinds of data (stand-ins for Autobahn's corpus files), the default offer.
    corpora = [("prose", True, "German prose, as binary"), ("bitmap", True, "bitmap-like binary"),
               ("pdf", True, "PDF-like binary"), ("json", False, "JSON text"), ("html", False, "HTML text")]
    for g, (corpus, binary, title) in enumerate(corpora, start=1):
        for i, (size, count, wait_s, frame_size) in enumerate(sizes, start=1):
            add("12.%d.%d" % (g, i), corpus, binary, default_offer, size, count, wait_s, frame_size, title)
    # 13.*: the offer's parameters (context takeover, window bits), on JSON text.
    offers = [default_offer,
              default_offer + "; server_no_context_takeover",
              default_offer + "; server_max_window_bits=8",
              default_offer + "; server_max_window_bits=15",
              default_offer + "; server_no_context_takeover; server_max_window_bits=8",
              default_offer + "; server_no_context_takeover; server_max_window_bits=15",
              ", ".join([default_offer + "; server_no_context_takeover; server_max_window_bits=8",
                         default_offer + "; server_no_context_takeover", default_offer])]
    for g, offer in enumerate(offers, start=1):
        for i, (size, count, wait_s, frame_size) in enumerate(sizes, start=1):
            add("13.%d.%d" % (g, i), "json", False, offer, size, count, wait_s, frame_size, "JSON text")


_add_deflate()
