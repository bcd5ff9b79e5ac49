#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Stress and churn, as root in the test VM with ddemux loaded.

    tests/stress.py --ko PATH [--seconds S] [--reloads N]

Bounded in time and count; loopback and network namespaces only.

  stress-churn        processes of three users in two cgroups bind, connect,
                      send, listen, accept and close on a few overlapping
                      ports for S seconds, while network namespaces holding
                      sockets are created and destroyed; a checker samples
                      the kernel's own socket tables (ss) all along: no two
                      sockets of different users may overlap, ever; every
                      veto ddemux reports is between two users
  stress-one-domain   the same load from one user: nothing is vetoed
  stress-exact        at the end of each of those, with the sockets still
                      open, the registry holds exactly the live sockets;
                      when they close, it is back where it started
  stress-reload       the churn load, namespaces coming and going and a
                      VXLAN device going up and down (its socket is bound
                      under RTNL), while the module is unloaded and loaded
                      N times
                      (the first half with no L2TP/IP module, the rest
                      with it); a TCP connection and a UDP socket pair
                      keep working across every reload

Prints "test stress-...: PASS (figures)" or "FAIL (why)" lines.
"""
import collections
import multiprocessing as mp
import os
import random
import re
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ddemux_tests as dt  # noqa: E402

UDP_PORTS = (30001, 30002, 30003)
TCP_PORTS = (30011, 30012)
PING_IDENTS = (30021, 30022)
ADDRS4 = ("0.0.0.0", "127.0.0.1", "127.0.0.2")
ADDRS6 = ("::", "::1")
CGROUPS = ("ddsA", "ddsB")
STAT = "/proc/net/ddemux/stats"


def stats():
    return {k: int(v) for k, v in (l.split() for l in open(STAT))}


def klog():
    return subprocess.run(["dmesg"], capture_output=True, text=True).stdout.splitlines()


def klog_mark():
    """A unique line in the kernel log (line counts stop growing once the
    ring buffer is full)."""
    mark = "ddemux-stress-mark %d.%f" % (os.getpid(), time.time())
    with open("/dev/kmsg", "w") as f:
        f.write(mark + "\n")
    return mark


def klog_since(mark):
    lines = klog()
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].endswith(mark):
            return lines[i + 1:]
    return lines


# ---- the load ---------------------------------------------------------

def new_socket(rng, kind):
    if kind == "ping":
        fam = rng.choice((socket.AF_INET, socket.AF_INET6))
        s = socket.socket(fam, socket.SOCK_DGRAM,
                          socket.IPPROTO_ICMP if fam == socket.AF_INET else socket.IPPROTO_ICMPV6)
        addr = ("0.0.0.0" if fam == socket.AF_INET else "::", rng.choice(PING_IDENTS))
    else:
        v6 = rng.random() < 0.4
        fam = socket.AF_INET6 if v6 else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_DGRAM if kind == "udp" else socket.SOCK_STREAM)
        host = rng.choice(ADDRS6 if v6 else ADDRS4)
        if v6 and host == "::":
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, rng.random() < 0.5)
        addr = (host, rng.choice(UDP_PORTS if kind == "udp" else TCP_PORTS))
    if rng.random() < 0.6:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if rng.random() < 0.3:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.setblocking(False)
    return s, addr


def worker(uid, cgroup, seed, seconds, report, release, stop):
    """Random socket traffic until the deadline (or @stop), then hold what
    is open until the checker has looked, then close everything."""
    with open("%s/%s/cgroup.procs" % (dt.CGROOT, cgroup), "w") as f:
        f.write(str(os.getpid()))
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
    rng = random.Random(seed)
    ops = collections.Counter()
    socks = []
    end = time.time() + seconds
    while time.time() < end and not stop.is_set():
        r = rng.random()
        try:
            if r < 0.45 or not socks:
                kind = rng.choice(("udp", "udp", "tcp", "ping"))
                s, addr = new_socket(rng, kind)
                try:
                    s.bind(addr)
                    ops["bind"] += 1
                    if kind == "tcp" and rng.random() < 0.7:
                        s.listen(8)
                        ops["listen"] += 1
                    socks.append((kind, s))
                except OSError as e:
                    ops["bind_" + ("eaddrinuse" if e.errno == 98 else "err")] += 1
                    s.close()
            elif r < 0.65:
                kind, s = socks.pop(rng.randrange(len(socks)))
                s.close()
                ops["close"] += 1
            elif r < 0.8:
                # a client: connect() picks the port (TCP), sendto() too (UDP)
                if rng.random() < 0.5:
                    c = socket.socket()
                    c.setblocking(False)
                    try:
                        c.connect(("127.0.0.1", rng.choice(TCP_PORTS)))
                    except BlockingIOError:
                        pass
                    except OSError:
                        pass
                    ops["connect"] += 1
                    socks.append(("client", c))
                else:
                    c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    c.sendto(b"x", ("127.0.0.1", rng.choice(UDP_PORTS)))
                    ops["send"] += 1
                    c.close()
            else:
                for kind, s in socks:
                    try:
                        if kind == "tcp":
                            c, _ = s.accept()
                            c.close()
                            ops["accept"] += 1
                        elif kind == "udp":
                            s.recv(100)
                            ops["recv"] += 1
                    except OSError:
                        pass
        except OSError:
            ops["other_err"] += 1
    # the checkpoint: no connections left in flight, then report the
    # bound-only TCP sockets (the kernel's diag interface does not list them)
    for kind, s in socks:
        if kind == "client":
            s.close()
    for _ in range(2):
        for kind, s in socks:
            while kind == "tcp":
                try:
                    c, _ = s.accept()
                    c.close()
                except OSError:
                    break
        time.sleep(0.3)
    socks = [(k, s) for k, s in socks if k != "client"]
    bound_tcp = []
    for kind, s in socks:
        if kind != "tcp":
            continue
        try:
            s.getpeername()
            continue
        except OSError:
            pass
        if s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
            continue
        host, port = s.getsockname()[:2]
        if s.family == socket.AF_INET6 and host == "::" and not s.getsockopt(
                socket.IPPROTO_IPV6, socket.IPV6_V6ONLY):
            host = "*"
        bound_tcp.append(("tcp", host, port, uid))
    report.put((uid, dict(ops), bound_tcp))
    release.wait()
    for _, s in socks:
        s.close()


def netns_churn(seconds, out, stop=None):
    """Network namespaces created and destroyed while sockets live in them."""
    n = 0
    end = time.time() + seconds
    while time.time() < end and not (stop and stop.is_set()):
        name = "ddsn%d" % n
        subprocess.run(["ip", "netns", "add", name], check=True)
        # as in a container: lo up, 127.0.0.1 configured before binding
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"],
                       check=True)
        pid = os.fork()
        if pid == 0:
            dt.setns("/run/netns/" + name)
            os.setuid(dt.MALLORY)
            socks = []
            for port in UDP_PORTS:
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.bind(("0.0.0.0", port))
                socks.append(s)
            t = socket.socket()
            t.bind(("127.0.0.1", TCP_PORTS[0]))
            t.listen()
            time.sleep(0.05)
            os._exit(0)
        # half the time the namespace goes before its sockets, half after
        if n % 2:
            subprocess.run(["ip", "netns", "del", name], check=True)
            os.waitpid(pid, 0)
        else:
            os.waitpid(pid, 0)
            subprocess.run(["ip", "netns", "del", name], check=True)
        n += 1
    out.put(n)


def tunnel_churn(stop, out):
    """A VXLAN device going up and down: the kernel binds its UDP socket
    holding RTNL, which a namespace's teardown waits for."""
    n = 0
    made = subprocess.run(["ip", "link", "add", "ddvx0", "type", "vxlan", "id", "42",
                           "dstport", "4789", "local", "127.0.0.1"],
                          capture_output=True).returncode == 0
    while made and not stop.is_set():
        for state in ("up", "down"):
            subprocess.run(["ip", "link", "set", "ddvx0", state], capture_output=True)
        n += 1
    if made:
        subprocess.run(["ip", "link", "del", "ddvx0"], capture_output=True)
    out.put(n)


# ---- the checks -----------------------------------------------------------

def parse_ss():
    """(proto, local, lport, remote, rport, uid, state, inode) of the test
    ports' sockets, from the kernel's own tables."""
    out = []
    res = subprocess.run(["ss", "-H", "-uatn", "-e"], capture_output=True, text=True)
    for line in res.stdout.splitlines():
        w = line.split()
        if len(w) < 6 or w[1] == "TIME-WAIT" or w[0] not in ("udp", "tcp"):
            continue
        m = re.search(r"uid:(\d+)", line)
        if not m:
            continue
        lhost, _, lport = w[4].rpartition(":")
        rhost, _, rport = w[5].rpartition(":")
        if not lport.isdigit():
            # "*": a socket caught between get_port(), which hashes
            # it, and the bind or autobind setting its source port
            continue
        lport = int(lport)
        if lport not in UDP_PORTS + TCP_PORTS:
            continue
        ino = re.search(r"ino:(\d+)", line)
        out.append((w[0], lhost.strip("[]"), lport, rhost.strip("[]"),
                    0 if rport == "*" else int(rport), int(m.group(1)), w[1],
                    int(ino.group(1)) if ino else 0))
    return out


def fams(host):
    if host == "*":
        return {4, 6}
    return {6} if ":" in host else {4}


def any_host(h):
    return h in ("*", "0.0.0.0", "::")


def overlap(a, b):
    if a[0] != b[0] or a[2] != b[2]:
        return False
    if not fams(a[1]) & fams(b[1]):
        return False
    if not (any_host(a[1]) or any_host(b[1]) or a[1] == b[1]):
        return False
    ra, rb = a[3], b[3]
    if not (any_host(ra) or any_host(rb) or ra == rb):
        return False
    return not (a[4] and b[4] and a[4] != b[4])


def dump_family(host):
    """The family of the socket ss lists as @host: each is a dump of its own."""
    return 6 if host == "*" or ":" in host else 4


def cross_domain_overlaps(snap):
    """Pairs of sockets of two domains whose sets overlap in @snap.

    ss dumps IPv4 and IPv6 sockets one after the other, so an IPv4 and an
    IPv6 socket in one snapshot may never have existed at once (one
    closed, then the other bound).  Such a pair counts only if a second
    snapshot, taken after, still has both, the same sockets (inode) with
    the same sets: then each was there across the other's dump.  Sockets
    of one family on one port are in one slot of the kernel's table,
    which a dump reads under its lock."""
    bad = []
    for i, a in enumerate(snap):
        for b in snap[i + 1:]:
            if a[5] != b[5] and overlap(a, b):
                bad.append((a, b))
    again = None
    for a, b in list(bad):
        if dump_family(a[1]) == dump_family(b[1]):
            continue
        if again is None:
            again = set(parse_ss())
        if a not in again or b not in again:
            bad.remove((a, b))
    return bad


def start_workers(uids, seconds, seed):
    for cg in CGROUPS:
        os.makedirs("%s/%s" % (dt.CGROOT, cg), exist_ok=True)
    ctx = mp.get_context("fork")
    report, release, stop = ctx.Queue(), ctx.Event(), ctx.Event()
    procs = []
    for i, uid in enumerate(uids):
        p = ctx.Process(target=worker, args=(uid, CGROUPS[i % 2], seed + i, seconds,
                                             report, release, stop))
        p.start()
        procs.append(p)
    return ctx, procs, report, release, stop


def collect(procs, report):
    ops = collections.Counter()
    held = []
    for _ in procs:
        uid, o, h = report.get(timeout=300)
        ops.update(o)
        held += h
    return ops, held


def run_load(uids, seconds, churn_ns, check_overlaps):
    """The load; returns (ops, held sockets, overlap samples, violations,
    namespaces)."""
    ctx, procs, report, release, _ = start_workers(uids, seconds, 1000)
    nsq = ctx.Queue()
    churner = None
    if churn_ns:
        churner = ctx.Process(target=netns_churn, args=(seconds, nsq))
        churner.start()
    samples, violations = 0, []
    end = time.time() + seconds
    while time.time() < end:
        if check_overlaps:
            violations += cross_domain_overlaps(parse_ss())
            samples += 1
        time.sleep(0.2)
    ops, held = collect(procs, report)
    time.sleep(1)	# let closed connections finish their handshakes
    namespaces = 0
    if churner:
        churner.join()
        namespaces = nsq.get()
    return procs, release, ops, held, samples, violations, namespaces


def finish(procs, release):
    release.set()
    for p in procs:
        p.join()
    for cg in CGROUPS:
        try:
            os.rmdir("%s/%s" % (dt.CGROOT, cg))
        except OSError:
            pass


def exact(bound_tcp):
    """The registry holds exactly the live sockets: its unconnected UDP
    sockets, TCP listeners and bound TCP sockets are those of the kernel's
    tables (and of the workers' reports, for bound TCP sockets, which the
    kernel's diag interface does not list), with the same owners."""
    truth = collections.Counter(bound_tcp)
    res = subprocess.run(["ss", "-H", "-uatn", "-e"], capture_output=True, text=True)
    for line in res.stdout.splitlines():
        w = line.split()
        if len(w) < 6 or (w[0], w[1]) not in (("udp", "UNCONN"), ("tcp", "LISTEN")):
            continue
        m = re.search(r"uid:(\d+)", line)
        host, _, port = w[4].rpartition(":")
        truth[(w[0], host.strip("[]"), int(port), int(m.group(1)) if m else 0)] += 1
    reg = collections.Counter()
    for line in open("/proc/net/ddemux/sockets").read().splitlines()[1:]:
        w = line.split()
        if w[0] not in ("udp", "tcp") or w[4].startswith("connected"):
            continue
        host, _, port = w[1].rpartition(":")
        reg[(w[0], host.strip("[]"), int(port), int(w[5]))] += 1
    if reg != truth:
        return "registry differs from the kernel: missing %s, extra %s" % (
            dict(truth - reg), dict(reg - truth))
    return None


def main():
    args = sys.argv[1:]
    ko = args[args.index("--ko") + 1]
    seconds = int(args[args.index("--seconds") + 1]) if "--seconds" in args else 20
    reloads = int(args[args.index("--reloads") + 1]) if "--reloads" in args else 50
    with open("/proc/sys/net/ipv4/ping_group_range", "w") as f:
        f.write("0 2147483647")
    subprocess.run(["ip", "addr", "add", "127.0.0.2/8", "dev", "lo"], capture_output=True)
    failed = 0

    def result(name, err, figures):
        nonlocal failed
        failed += bool(err)
        print("test stress-%s: %s" % (name, "FAIL (%s)" % err if err else "PASS (%s)" % figures))
        sys.stdout.flush()

    base = len(open("/proc/net/ddemux/sockets").read().splitlines())

    # churn: three users, two cgroups, namespaces coming and going
    s0, log0 = stats(), klog_mark()
    procs, release, ops, held, samples, viol, nns = run_load(
        (dt.ALICE, dt.MALLORY, dt.CAROL) * 2, seconds, True, True)
    err = exact(held)
    finish(procs, release)
    s1 = stats()
    same = [l for l in klog_since(log0) if "deny bind" in l and
            re.search(r" uid=(\d+) ", l).group(1) == re.search(r"holder_uid=(\d+)", l).group(1)]
    bad = None
    if s1["overlaps_observed"]:
        bad = "overlaps_observed is %d" % s1["overlaps_observed"]
    elif viol:
        bad = "%d cross-domain overlaps in the kernel's tables, e.g. %s" % (len(viol), viol[0])
    elif same:
        bad = "a veto within one domain: " + same[0]
    elif s1["binds_vetoed"] == s0["binds_vetoed"]:
        bad = "no contention: nothing was vetoed"
    result("churn", bad, "%d s, %s, %d ss samples, %d namespaces churned, %d vetoes" % (
        seconds, ", ".join("%s %d" % kv for kv in sorted(ops.items())), samples, nns,
        s1["binds_vetoed"] - s0["binds_vetoed"]))
    result("exact", err, "registry = the kernel's tables")

    # one domain: the same load from one user -- nothing may be vetoed
    s0 = stats()
    procs, release, ops, held, _, _, _ = run_load((dt.ALICE,) * 6, max(5, seconds // 2),
                                                  False, False)
    err = exact(held)
    finish(procs, release)
    s1 = stats()
    v = s1["binds_vetoed"] - s0["binds_vetoed"]
    result("one-domain", "%d vetoes" % v if v else None,
           "%d binds, %d refused by the kernel itself, 0 vetoes" % (
               ops["bind"], ops["bind_eaddrinuse"]))
    if err:
        result("exact-one-domain", err, "")
    time.sleep(1)
    for _ in range(50):
        n = len(open("/proc/net/ddemux/sockets").read().splitlines())
        if n == base:
            break
        time.sleep(0.1)
    result("registry-drained", "%d entries left over" % (n - base) if n != base else None,
           "back to %d entries" % base)

    # reload: the load while the module goes and comes back, N times
    alice = dt.Actor(dt.ALICE)
    lsn = socket.socket()
    lsn.bind(("127.0.0.1", 0))
    lsn.listen()
    alice(dt.a_sock, "c", socket.AF_INET, socket.SOCK_STREAM)
    alice(dt.a_connect, "c", lsn.getsockname())
    conn, _ = lsn.accept()
    alice(dt.a_udp, "u", ("127.0.0.1", 0))
    uaddr = alice(dt.a_name, "u")
    ctx, procs, report, release, stop = start_workers(
        (dt.ALICE, dt.MALLORY, dt.CAROL), 10 ** 6, 2000)
    # namespaces go while ddemux loads: their teardown waits for the
    # hooks, which once waited for claims asleep at the load gate, which
    # waited for a walk that waited for the teardown
    nsq, tunq = ctx.Queue(), ctx.Queue()
    churner = ctx.Process(target=netns_churn, args=(10 ** 6, nsq, stop))
    churner.start()
    tunnel = ctx.Process(target=tunnel_churn, args=(stop, tunq))
    tunnel.start()
    # The first half of the cycles load ddemux with no L2TP/IP module (its
    # table of hooks then fails to install, as on a host that never used
    # it, which once made insmod wait forever for claims asleep at the
    # load gate); then the modules come, hooked while ddemux is loaded.
    l2tp = ["l2tp_ip6", "l2tp_ip"]
    subprocess.run(["modprobe", "-r"] + l2tp, capture_output=True)
    err, cycles, t0 = None, 0, time.time()
    while cycles < reloads and not err:
        if cycles == reloads // 2:
            subprocess.run(["modprobe", "-a"] + l2tp, capture_output=True)
        subprocess.run(["rmmod", "ddemux"], check=True)
        time.sleep(random.random() * 0.05)
        subprocess.run(["insmod", ko], check=True)
        cycles += 1
        conn.sendall(b"c%d" % cycles)
        got = alice(dt.a_tcp_recv, "c")
        if got != b"c%d" % cycles:
            err = "TCP after reload %d: %r" % (cycles, got)
        sendudp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sendudp.sendto(b"u", uaddr)
        sendudp.close()
        if not err and not alice(dt.a_recv, "u", 2.0):
            err = "UDP after reload %d" % cycles
    stop.set()
    ops, _ = collect(procs, report)
    finish(procs, release)
    churner.join()
    tunnel.join()
    nns, ntun = nsq.get(), tunq.get()
    alice.close()
    conn.close()
    lsn.close()
    if not err and ops["bind"] < cycles:
        err = "no load: %d binds during %d reloads" % (ops["bind"], cycles)
    if not err and stats()["overlaps_observed"]:
        err = "overlaps_observed is %d" % stats()["overlaps_observed"]
    result("reload", err, "%d rmmod/insmod cycles in %.0f s under a load of %d binds, "
           "%d connects, %d sends, %d namespaces churned, a VXLAN device up %d times; "
           "a TCP connection and a UDP socket kept working" % (
               cycles, time.time() - t0, ops["bind"], ops["connect"], ops["send"], nns,
               ntun))

    # every socket of the reload phase is closed: no entry may be left,
    # whatever the loads and the walks raced with
    for _ in range(100):
        n = len(open("/proc/net/ddemux/sockets").read().splitlines())
        if n == base:
            break
        time.sleep(0.1)
    left = open("/proc/net/ddemux/sockets").read().splitlines()[base:]
    result("reload-drained", "%d entries left after the reloads, e.g. %s" % (
        n - base, left[:2]) if n != base else None, "back to %d entries" % base)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
