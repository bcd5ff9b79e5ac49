#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Fuzz every write path of ddemux's interface, as root in the test VM.

    tests/fuzz_proc.py [--writes N] [--seed S]

/proc/net/ddemux/shares gets N writes: valid commands, mutated ones,
random bytes, NUL bytes, overlong and empty writes, lines split across
write() calls.  An independent model of the rule language (below)
predicts every result; after each write the file must read back exactly
as the model says, and an error must leave it unchanged.  The sysctls
net.ddemux.{mode,domain,egress} get the same treatment.  Then four
processes write concurrently for a while: every error must be one of
EINVAL, ENOENT, ENOSPC, and the rules must always read back well formed.

Prints "test fuzz-...: PASS (...)" or "FAIL (...)" lines.
"""
import errno
import os
import random
import sys
import time

SHARES = "/proc/net/ddemux/shares"
SYSCTL = "/proc/sys/net/ddemux/"
PROTOS = ("tcp", "udp", "ping")
MAX_RANGES = 64


class Model:
    """The share rules as the documentation states them."""

    def __init__(self):
        self.ports = {p: set() for p in PROTOS}

    def ranges(self, proto):
        out, run = [], None
        for port in sorted(self.ports[proto]):
            if run and port == run[1] + 1:
                run[1] = port
            else:
                run = [port, port]
                out.append(run)
        return out

    def text(self):
        lines = []
        for p in PROTOS:
            for lo, hi in self.ranges(p):
                lines.append("add %s %s" % (p, lo if lo == hi else "%d-%d" % (lo, hi)))
        return "".join(l + "\n" for l in lines)

    def apply(self, data):
        """Apply one write; return 0 or a negative errno, like the kernel."""
        if not data or len(data) > 4095:
            return -errno.EINVAL
        if any(b != 0x0a and b != 0x09 and not 0x20 <= b <= 0x7e for b in data):
            return -errno.EINVAL
        work = {p: set(v) for p, v in self.ports.items()}
        for line in data.decode().split("\n"):
            words = line.replace("\t", " ").split()
            if not words or words[0].startswith("#"):
                continue
            if len(words) > 4:
                return -errno.EINVAL
            if words[0] == "flush":
                if len(words) != 1:
                    return -errno.EINVAL
                work = {p: set() for p in PROTOS}
                continue
            if words[0] not in ("add", "del") or len(words) != 3 or words[1] not in PROTOS:
                return -errno.EINVAL
            rng = parse_range(words[2])
            if not rng:
                return -errno.EINVAL
            span = set(range(rng[0], rng[1] + 1))
            if words[0] == "add":
                work[words[1]] |= span
            else:
                if not work[words[1]] & span:
                    return -errno.ENOENT
                work[words[1]] -= span
            if len(Model.of(work).ranges(words[1])) > MAX_RANGES:
                return -errno.ENOSPC
        self.ports = work
        return 0

    @staticmethod
    def of(ports):
        m = Model()
        m.ports = ports
        return m


def parse_port(t):
    if not t or len(t) > 5 or not t.isdigit() or not t.isascii():
        return None
    v = int(t)
    return v if 1 <= v <= 65535 else None


def parse_range(t):
    if "-" not in t:
        p = parse_port(t)
        return (p, p) if p else None
    a, _, b = t.partition("-")
    lo, hi = parse_port(a), parse_port(b)
    return (lo, hi) if lo and hi and lo <= hi else None


def write(path, data):
    """One write() of @data; 0 or a negative errno."""
    fd = os.open(path, os.O_WRONLY)
    try:
        n = os.write(fd, data)
        return 0 if n == len(data) else -errno.EIO
    except OSError as e:
        return -e.errno
    finally:
        os.close(fd)


def read(path):
    with open(path) as f:
        return f.read()


WORDS = ["add", "del", "flush", "tcp", "udp", "ping", "icmp", "UDP", "#", "53",
         "5353", "0", "65535", "65536", "1-100", "100-1", "1-2-3", "-", "+5",
         "0x10", "007", "99999", "1000-1010", "", "add udp", "\t"]


def gen(rng, valid_bias):
    """A write: mostly commands near the grammar, some garbage."""
    r = rng.random()
    if r < 0.05:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40)))
    if r < 0.07:
        return b"add udp 53\n" * rng.randrange(300, 500)  # overlong
    lines = []
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        if rng.random() < valid_bias:
            verb = rng.choice(("add", "add", "del", "flush"))
            if verb == "flush":
                lines.append("flush" if rng.random() < 0.9 else "flush now")
                continue
            lo = rng.randrange(1, 200)
            hi = lo + rng.randrange(0, 20)
            port = str(lo) if rng.random() < 0.5 else "%d-%d" % (lo, hi)
            lines.append("%s %s %s" % (verb, rng.choice(PROTOS), port))
        else:
            lines.append(" ".join(rng.choice(WORDS) for _ in range(rng.randrange(0, 5))))
    text = "\n".join(lines)
    if rng.random() < 0.5:
        text += "\n"
    data = text.encode()
    if rng.random() < 0.05:
        i = rng.randrange(len(data) + 1)
        data = data[:i] + rng.choice((b"\0", b"\r", b"\x7f", b"\xff")) + data[i:]
    return data


def fuzz_shares(rng, n):
    model = Model()
    write(SHARES, b"flush")
    kinds = {}
    for i in range(n):
        data = gen(rng, 0.7)
        if rng.random() < 0.05 and len(data) > 2:
            # a line split across two write() calls: two separate writes
            cut = rng.randrange(1, len(data))
            parts = [data[:cut], data[cut:]]
        else:
            parts = [data]
        for part in parts:
            before = read(SHARES)
            want = model.apply(part)
            got = write(SHARES, part)
            kinds[got] = kinds.get(got, 0) + 1
            if got != want:
                return "write #%d %r: got %s, model says %s" % (
                    i, part[:80], errno.errorcode.get(-got, got),
                    errno.errorcode.get(-want, want))
            after = read(SHARES)
            if after != model.text():
                return "write #%d %r: rules read back as %r, model %r" % (
                    i, part[:80], after[:200], model.text()[:200])
            if got and after != before:
                return "write #%d failed but changed the rules" % i
    write(SHARES, b"flush")
    return "%d writes; %s" % (n, ", ".join(
        "%s %d" % (errno.errorcode.get(-k, "ok") if k else "ok", v)
        for k, v in sorted(kinds.items())))


def fuzz_sysctls(rng, n):
    ranges = {"mode": (0, 2), "domain": (1, 3), "egress": (0, 1)}
    olds = {k: read(SYSCTL + k) for k in ranges}
    try:
        for i in range(n):
            name = rng.choice(list(ranges))
            lo, hi = ranges[name]
            cand = rng.choice([str(rng.randrange(-2, 6)), str(rng.randrange(lo, hi + 1)),
                               "%d\n" % rng.randrange(lo, hi + 1), " 1", "1 ", "1 2",
                               "x", "+1", "0x1", "\n", "1\n\n", "00" + str(lo), "1\0",
                               "9" * rng.randrange(1, 30)])
            data = cand.encode()
            text = cand[:-1] if cand.endswith("\n") else cand
            ok = (0 < len(text) <= 3 and text.isdigit() and lo <= int(text) <= hi)
            before = read(SYSCTL + name)
            got = write(SYSCTL + name, data)
            after = read(SYSCTL + name)
            if ok and (got or after.strip() != str(int(text))):
                return "%s=%r: got %s, value %r" % (name, cand, got, after)
            if not ok and (got != -errno.EINVAL or after != before):
                return "%s=%r: got %s, value %r (was %r)" % (name, cand, got, after, before)
        return "%d writes" % n
    finally:
        for k, v in olds.items():
            write(SYSCTL + k, v.encode())


def concurrent(rng, seconds):
    """Four writers at once: only allowed errors; always well formed."""
    pids = []
    for w in range(4):
        seed = rng.randrange(1 << 30)
        pid = os.fork()
        if pid == 0:
            r = random.Random(seed)
            end = time.time() + seconds
            n = 0
            while time.time() < end:
                got = write(SHARES, gen(r, 0.8))
                if got not in (0, -errno.EINVAL, -errno.ENOENT, -errno.ENOSPC):
                    os._exit(2)
                n += 1
            os._exit(0)
        pids.append(pid)
    reads = 0
    end = time.time() + seconds
    bad = None
    while time.time() < end and not bad:
        text = read(SHARES)
        reads += 1
        m = Model()
        if m.apply(text.encode()) if text else 0:
            bad = "unparsable rules: %r" % text[:200]
        elif text and m.text() != text:
            bad = "rules not in canonical form: %r" % text[:200]
    codes = [os.waitpid(p, 0)[1] for p in pids]
    write(SHARES, b"flush")
    if bad:
        return bad
    if any(codes):
        return "a writer got an unexpected errno"
    return "4 writers for %d s, %d consistent reads" % (seconds, reads)


def main():
    args = sys.argv[1:]
    n = int(args[args.index("--writes") + 1]) if "--writes" in args else 3000
    seed = int(args[args.index("--seed") + 1]) if "--seed" in args else 1
    rng = random.Random(seed)
    failed = 0
    for name, fn, arg in (("shares", fuzz_shares, n),
                          ("sysctls", fuzz_sysctls, n // 3),
                          ("concurrent", concurrent, 5)):
        res = fn(rng, arg)
        ok = res[0].isdigit()
        failed += not ok
        print("test fuzz-%s: %s (%s)" % (name, "PASS" if ok else "FAIL", res))
        sys.stdout.flush()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
