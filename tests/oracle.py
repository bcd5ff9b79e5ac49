#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""A differential oracle for rule 2, as root in the test VM with ddemux loaded.

    tests/oracle.py --ko PATH [--seed N | --seeds N [--first-seed N]]
                    [--steps N] [--reload-every N] [--domain 1|3|1,3]
                    [--probes N] [--no-probe] [--checks abc]
                    [--shrink-seconds S] [--max-shrinks N]
                    [--kernel-bugs avoid|allow] [--no-vrf] [-v]
    tests/oracle.py --ko PATH --replay FILE
    tests/oracle.py --stock [...]     (no module: the model against the
                                       kernel's deliveries only)

Seeded, reproducible random sequences of socket operations (socket, bind,
connect, disconnect, setsockopt SO_REUSEADDR/SO_REUSEPORT/SO_BINDTODEVICE/
IPV6_V6ONLY, listen, accept, close, sendto, and module reloads) by four
actors -- uids 1000, 1001 and 1002 in two cgroups -- in a network namespace
of their own ("ddo") with loopback addresses, two veth devices and a VRF
whose slave is a third veth; the veths' peers are in a probe namespace
("ddp").  TCP, UDP, UDP-Lite and ping; IPv4, IPv6 and dual-stack.

After every step, three checks:

  a  registry: /proc/net/ddemux/sockets of ddo holds exactly one row for
     every socket of the kernel's tables that holds a port or ident (TCP,
     UDP and UDP-Lite from sock_diag, ping from /proc/net/icmp{,6}), with
     the same protocol, local and remote address, device, state and uid,
     and nothing else;
  b  rule 2, from the kernel's tables alone: no two sockets of different
     domains have overlapping address sets (aset() and overlap() below:
     the one place the model lives);
  c  ground truth: datagrams, echo replies and connection attempts are
     sent to packet addresses inside sockets' sets, through the device the
     set names; a socket of another domain must not receive them.  A
     delivery to a socket whose set (by the model) does not contain the
     packet is reported too ("model"): then the model and the kernel
     disagree.

A failure prints the seed, the step and what differed, then shrinks the
sequence (delta debugging, each candidate replayed in a fresh topology)
to the shortest one that still shows the same kind of failure, prints it
and writes it as JSON under $DDEMUX_OUT (or /tmp); --replay FILE runs
such a file again.

A WARN, BUG, KASAN... line in the kernel log after a step fails too
("kernel-log").  Documentation/testing.rst describes it all.

Output: "test oracle-registry|oracle-rule2|oracle-delivery|oracle-model|
oracle-kernel-log: PASS|FAIL (...)", or with --stock "test
oracle-model-stock: ..."; exit status 1 on any failure.
"""
import collections
import ctypes
import errno
import ipaddress
import json
import os
import random
import re
import select
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ddemux_tests as dt  # noqa: E402

TEST_NS, PROBE_NS = "ddo", "ddp"
CGROUPS = ("ddoA", "ddoB")
# (uid, cgroup): three uids, two cgroups; uid 1000 is in both
ACTORS = ((1000, "ddoA"), (1001, "ddoA"), (1002, "ddoB"), (1000, "ddoB"))
PORTS = (7001, 7002, 7003, 7004)          # binds, connects, idents
EPHEMERAL = (7003, 7008)                  # ddo's ip_local_port_range
PROBE_PORTS = (20000, 29999)              # the probes' own source ports
SO_BINDTODEVICE, IPPROTO_UDPLITE = 25, 136
TCP_STATES = {1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1",
              5: "FIN_WAIT2", 6: "TIME_WAIT", 7: "CLOSE", 8: "CLOSE_WAIT",
              9: "LAST_ACK", 10: "LISTEN", 11: "CLOSING", 12: "NEW_SYN_RECV",
              13: "BOUND_INACTIVE"}

# ddo's devices: address, peer device in ddp, peer's address, MACs
DEVS = {
    "d0": ("10.77.0.1", "fd77:0::1", "p0", "10.77.0.2", "fd77:0::2",
           "02:dd:00:00:00:10", "02:dd:00:00:01:10"),
    "d1": ("10.77.1.1", "fd77:1::1", "p1", "10.77.1.2", "fd77:1::2",
           "02:dd:00:00:00:11", "02:dd:00:00:01:11"),
    "d2": ("10.77.2.1", "fd77:2::1", "p2", "10.77.2.2", "fd77:2::2",
           "02:dd:00:00:00:12", "02:dd:00:00:01:12"),
}
VRF, VRF_TABLE, VRF_SLAVES = "vrf0", 10, ("d2",)
LO6_EXTRA = "fd77:ff::1"
NO_VRF = False      # --no-vrf: as on a kernel without VRFs

# Address pools: (address, weight).  The common ones are where overlaps
# happen; the exotic ones (multicast, broadcast, the VRF's, v4-mapped)
# keep their edge cases in play.
BIND4 = (("0.0.0.0", 30), ("127.0.0.1", 20), ("127.0.0.2", 10), ("10.77.0.1", 10),
         ("10.77.1.1", 5), ("10.77.2.1", 5), ("239.1.2.3", 3),
         ("255.255.255.255", 3), ("10.77.0.255", 2))
BIND6 = (("::", 30), ("::1", 20), (LO6_EXTRA, 8), ("fd77:0::1", 10), ("fd77:1::1", 5),
         ("fd77:2::1", 5), ("::ffff:127.0.0.1", 8), ("::ffff:0.0.0.0", 4),
         ("::ffff:10.77.0.1", 4), ("ff15::1", 3))
PEER4 = (("127.0.0.1", 30), ("127.0.0.2", 15), ("10.77.0.1", 10), ("10.77.0.2", 15),
         ("10.77.2.2", 5))
PEER6 = (("::1", 30), ("fd77:0::1", 10), ("fd77:0::2", 15), ("fd77:2::2", 5),
         ("::ffff:127.0.0.1", 15))
OPT_DEVS = ("d0", "d1", "d2", VRF, "")

# Where a probe can come from, per destination: "lo" is sent from ddo
# itself (a raw socket: loopback), "vrf" from ddo inside the VRF (a raw
# socket bound to vrf0), "dN" from ddp through the veth dN.
ADDR_PATHS = (("127.0.0.1", "lo"), ("127.0.0.2", "lo"), ("10.77.0.1", "lo"),
              ("10.77.0.1", "d0"), ("10.77.1.1", "d1"), ("10.77.1.1", "lo"),
              ("10.77.2.1", "d2"), ("10.77.2.1", "vrf"),
              ("::1", "lo"), (LO6_EXTRA, "lo"), ("fd77:0::1", "d0"),
              ("fd77:0::1", "lo"), ("fd77:1::1", "d1"), ("fd77:2::1", "d2"),
              ("fd77:2::1", "vrf"))

libc = ctypes.CDLL(None, use_errno=True)


def ename(e):
    return errno.errorcode.get(e, str(e)) if e else "0"


# ======================================================================
# The model: ONE place.  A set is a dict:
#   proto   tcp, udp, udplite, ping
#   fams    frozenset of 4 and/or 6
#   laddr   an ipaddress (IPv4 for v4 and v4-mapped) or None (wildcard)
#   lport   port or echo ident
#   raddr   an ipaddress or None (any);  rport: port or 0 (any)
#   dev     bound ifindex or 0
#   dom     the owner domain (a tuple)
#   special True when the local address is multicast or broadcast: every
#           member receives every datagram, nothing can be stolen
# ======================================================================

# The open question of "an unbound socket vs one bound to the VRF master":
# what reaches a socket bound to the master arrives either through a slave
# (dif = master, sdif = slave) or from inside the VRF.  Traffic sent inside
# the VRF to a slave's address arrives like traffic through that slave
# (World.ingress_of(); checked on 6.1 and 6.12 by --stock); traffic to an
# address of the master itself is taken as "l3" (dif = sdif = master: an
# unbound socket takes it only with l3mdev_accept) or, with any other
# value, as plain (sdif = 0: every unbound socket takes it).  With "l3",
# an unbound socket and one bound to the master overlap exactly when the
# unbound one accepts VRF traffic (l3mdev_accept; ping always).
VRF_LOCAL_INGRESS = "l3"


def v4norm(a):
    """IPv4 for IPv4 and v4-mapped addresses; None for the wildcards."""
    if a is None:
        return None
    if isinstance(a, str):
        a = ipaddress.ip_address(a)
    if a.version == 6 and a.ipv4_mapped is not None:
        a = a.ipv4_mapped
    return None if a.is_unspecified else a


def is_special(a, bcasts):
    return a is not None and (a.is_multicast or a in bcasts)


def aset(k, env):
    """The address set of kernel socket @k (a dict from the kernel's tables):
    see the docstring of this file and Documentation/testing.rst."""
    proto, fam = k["proto"], k["fam"]
    raw = k["laddr"]
    laddr = v4norm(raw)
    if proto == "ping":
        fams = {4} if fam == 4 else {6}
    elif fam == 4:
        fams = {4}
    elif raw.ipv4_mapped is not None:
        fams = {4}
    elif raw.is_unspecified:
        fams = {6} if k["v6only"] else {4, 6}
    else:
        fams = {6}
    raddr, rport = None, 0
    if proto == "tcp":
        connected = k["state"] not in (7, 10, 13)
    else:
        connected = k["state"] == 1
    if connected:
        raddr = v4norm(k["raddr"])
        rport = 0 if proto == "ping" else k["rport"]
        if proto == "ping":
            raddr = None       # a connected ping socket hears anyone
        elif raddr is not None:
            fams &= {raddr.version}
    if laddr is not None:
        fams &= {laddr.version}
    return dict(proto=proto, fams=frozenset(fams), laddr=laddr,
                lport=k["lport"], raddr=raddr, rport=rport, dev=k["dev"],
                dom=k["dom"], special=is_special(laddr, env["bcasts"]))


def dev_accepts(dev, proto, ingress, env):
    """Does a socket bound to @dev (0: none) take a packet that came in as
    @ingress = (dif, sdif)?  inet_bound_dev_eq() and ping_lookup()."""
    dif, sdif = ingress
    if not dev:
        return proto == "ping" or not sdif or env["l3mdev"][proto]
    return dev in (dif, sdif)


def ingresses(env):
    """Every kind of ingress the topology has: (dif, sdif)."""
    out = [(i, 0) for i in env["plain_ifs"]] + [(-1, 0)]
    for slave, master in env["master"].items():
        out.append((master, slave))
    for master in set(env["master"].values()):
        out.append((master, master) if VRF_LOCAL_INGRESS == "l3" else (master, 0))
    return out


def overlap(a, b, env):
    if a["special"] or b["special"]:
        return False
    if a["proto"] != b["proto"] or a["lport"] != b["lport"]:
        return False
    if not a["fams"] & b["fams"]:
        return False
    if a["laddr"] is not None and b["laddr"] is not None and a["laddr"] != b["laddr"]:
        return False
    if a["raddr"] is not None and b["raddr"] is not None and a["raddr"] != b["raddr"]:
        return False
    if a["rport"] and b["rport"] and a["rport"] != b["rport"]:
        return False
    return any(dev_accepts(a["dev"], a["proto"], i, env) and
               dev_accepts(b["dev"], b["proto"], i, env) for i in ingresses(env))


def contains(s, pkt, env):
    """Is packet address @pkt (proto, fam, dst, dport, src, sport,
    ingress) in set @s?"""
    if s["proto"] != pkt["proto"] or s["lport"] != pkt["dport"]:
        return False
    if pkt["fam"] not in s["fams"]:
        return False
    if s["laddr"] is not None and s["laddr"] != v4norm(pkt["dst"]):
        return False
    if s["raddr"] is not None and s["raddr"] != v4norm(pkt["src"]):
        return False
    if s["rport"] and s["rport"] != pkt["sport"]:
        return False
    return dev_accepts(s["dev"], s["proto"], pkt["ingress"], env)


def fmt_set(s):
    fam = "dual" if len(s["fams"]) == 2 else "v%d" % min(s["fams"] or {0})
    return "%s %s:%d %s:%s dev=%d %s dom=%s" % (
        s["proto"], s["laddr"] or "*", s["lport"], s["raddr"] or "*",
        s["rport"] or "*", s["dev"], fam, ",".join(map(str, s["dom"])))


# ======================================================================
# The registry row the module should show for a kernel socket
# ======================================================================

def reg_fmt_addr(a, fams):
    if a is None:
        if fams == {4}:
            return "0.0.0.0"
        if fams == {6}:
            return "[::]"
        return "*"
    return str(a) if a.version == 4 else "[%s]" % a.compressed


def reg_expected(k, s, domain):
    """(proto, local, remote, dev, state, uid[, cgroup]) of kernel socket
    @k whose set is @s."""
    fams = set(s["fams"])
    if not fams:       # a connected socket whose peer is of no family of its own
        fams = {4} if k["fam"] == 4 else {6}
    local = "%s:%d" % (reg_fmt_addr(s["laddr"], fams), s["lport"])
    proto = k["proto"]
    if proto == "tcp":
        state = {10: "listen", 7: "bound", 13: "bound"}.get(k["state"], "connected")
    else:
        state = "connected" if k["state"] == 1 else "bound"
    if state == "connected" and proto != "ping":
        ra = v4norm(k["raddr"])
        remote = "%s:%s" % (reg_fmt_addr(ra, fams) if ra is not None else "*",
                            k["rport"] or "*")
    else:
        # a connected ping socket hears anyone: its set has no remote
        remote = "*:*"
    row = (proto, local, remote, str(k["dev"]), state, str(k["dom"][0]))
    if domain & 2:
        row += (str(k["cgid"]),)
    return row


# ======================================================================
# Actors' side: these run in the actor processes (uid, cgroup, ddo)
# ======================================================================

def _conv(s, addr):
    """An address for socket @s: IPv4 literals v4-mapped for AF_INET6."""
    if s.family == socket.AF_INET6:
        return addr if ":" in addr else "::ffff:" + addr
    return None if ":" in addr else addr


def _echo(fam, ident, payload, reply=False):
    if fam == socket.AF_INET:
        kind = 0 if reply else dt.ICMP_ECHO
    else:
        kind = 129 if reply else dt.ICMPV6_ECHO
    return struct.pack("!BBHHH", kind, 0, 0, ident, 1) + payload


def _kind_of(s):
    if s.type == socket.SOCK_STREAM:
        return "tcp"
    return {0: "udp", socket.IPPROTO_UDP: "udp", IPPROTO_UDPLITE: "udplite",
            socket.IPPROTO_ICMP: "ping", socket.IPPROTO_ICMPV6: "ping"}[s.proto]


def o_op(st, op):
    """Run one operation: (outcome as a short string -- errors are
    outcomes --, the socket's local port afterwards)."""
    res = _op(st, op)
    s = st.get("socks", {}).get(op[2]) if len(op) > 2 else None
    port = 0
    if s is not None:
        try:
            port = s.getsockname()[1]
        except OSError:
            pass
    return res, port


def _op(st, op):
    socks = st.setdefault("socks", {})
    kind = op[0]
    if kind == "sock":
        _, _, sid, proto, fam, v6only = op[:6]
        reuse = op[6] if len(op) > 6 else ""
        family = socket.AF_INET if fam == 4 else socket.AF_INET6
        if proto == "tcp":
            s = socket.socket(family, socket.SOCK_STREAM)
        elif proto == "udp":
            s = socket.socket(family, socket.SOCK_DGRAM)
        elif proto == "udplite":
            s = socket.socket(family, socket.SOCK_DGRAM, IPPROTO_UDPLITE)
        else:
            s = socket.socket(family, socket.SOCK_DGRAM, socket.IPPROTO_ICMP
                              if fam == 4 else socket.IPPROTO_ICMPV6)
        s.setblocking(False)
        socks[sid] = s
        if "a" in reuse:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if "p" in reuse:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if v6only is not None and fam == 6:
            try:
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, v6only)
            except OSError as e:
                return ename(e.errno)
        return "0"
    sid = op[2]
    s = socks.get(sid)
    if s is None:
        return "nosock"
    tb = st.setdefault("tcpbind", {}).setdefault(sid, {})
    if kind in ("connect", "listen", "disconnect"):
        tb["disturbed"] = True
    try:
        if kind == "opt":
            name, val = op[3], op[4]
            if name == "reuseaddr":
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, val)
            elif name == "reuseport":
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, val)
            elif name == "v6only":
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, val)
            elif name == "dev":
                s.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, val.encode())
        elif kind == "bind":
            a = _conv(s, op[3])
            if a is None:
                return "EAFNOSUPPORT"
            s.bind((a, op[4]))
            tb.update(bound=True, locked=bool(op[4]), disturbed=False)
        elif kind == "connect":
            a = _conv(s, op[3])
            if a is None:
                return "EAFNOSUPPORT"
            if s.type == socket.SOCK_STREAM:
                e = s.connect_ex((a, op[4]))
                if e == errno.EINPROGRESS:
                    select.select([], [s], [], 0.3)
                    e = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    try:
                        s.getpeername()
                    except OSError:
                        if not e:
                            return "EINPROGRESS"
                return ename(e)
            s.connect((a, 0 if _kind_of(s) == "ping" else op[4]))
        elif kind == "disconnect":
            sa = struct.pack("H14x", socket.AF_UNSPEC)
            if libc.connect(s.fileno(), ctypes.c_char_p(sa), len(sa)):
                return ename(ctypes.get_errno())
        elif kind == "listen":
            s.listen(8)
        elif kind == "accept":
            pend = st.setdefault("pending", {}).get(sid)
            if pend:
                c = pend.pop(0)
            else:
                c, _ = s.accept()
            c.setblocking(False)
            socks[op[3]] = c
        elif kind == "close":
            socks.pop(sid).close()
            for c in st.setdefault("pending", {}).pop(sid, []):
                c.close()
        elif kind == "sendto":
            a = _conv(s, op[3])
            if a is None:
                return "EAFNOSUPPORT"
            if _kind_of(s) == "ping":
                s.sendto(_echo(s.family, 0, b"x"), (a, 0))
            else:
                s.sendto(b"x", (a, op[4]))
        return "0"
    except OSError as e:
        return ename(e.errno) if e.errno else type(e).__name__


def o_census(st):
    """What the actor holds: inode, kind, family, device, names."""
    out = []
    every = list(st.get("socks", {}).items())
    for lsid, pend in st.get("pending", {}).items():
        every += [("%s~%d" % (lsid, i), c) for i, c in enumerate(pend)]
    for sid, s in every:
        try:
            dev = s.getsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, 16)
            dev = dev.split(b"\0")[0].decode()
            try:
                peer = s.getpeername()[:2]
            except OSError:
                peer = None
            tstate = None
            if s.type == socket.SOCK_STREAM:
                tstate = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)[0]
            bound = None
            if s.type == socket.SOCK_STREAM and tstate == 7:
                tb = st.get("tcpbind", {}).get(sid, {})
                if tb.get("locked") or (tb.get("bound") and not tb.get("disturbed")):
                    bound = True        # bind() took a port and kept it
                elif not s.getsockname()[1]:
                    bound = False
            v6only = None
            if s.family == socket.AF_INET6:
                v6only = s.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY)
            out.append(dict(sid=sid, ino=os.fstat(s.fileno()).st_ino,
                            kind=_kind_of(s), fam=4 if s.family == socket.AF_INET else 6,
                            dev=dev, name=s.getsockname()[:2], peer=peer,
                            tstate=tstate, v6only=v6only, bound=bound))
        except OSError:
            pass
    return out


TOKEN = re.compile(rb"DDO:(\d+):")


def o_drain(st):
    """Read every datagram and accept every connection waiting, without
    blocking: [(sid, probe id)], probe ids from datagram payloads or, for
    TCP, from the connecting port (PROBE_PORTS); other connections are
    kept for a later accept operation."""
    got = []
    pending = st.setdefault("pending", {})
    for sid, s in list(st.get("socks", {}).items()):
        kind = _kind_of(s)
        if kind == "tcp":
            try:
                if not s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
                    continue
            except OSError:
                continue
            for _ in range(64):
                try:
                    c, peer = s.accept()
                except OSError:
                    break
                if PROBE_PORTS[0] <= peer[1] <= PROBE_PORTS[1]:
                    got.append((sid, peer[1]))
                    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                 struct.pack("ii", 1, 0))
                    c.close()
                else:
                    pending.setdefault(sid, []).append(c)
            continue
        for _ in range(256):
            try:
                data = s.recv(65536)
            except BlockingIOError:
                break
            except OSError:
                continue            # a queued ICMP error: read on
            m = TOKEN.search(data)
            if m:
                got.append((sid, int(m.group(1))))
    return got


# ======================================================================
# Packets
# ======================================================================

def csum(data):
    return dt.csum(data)


def l4_packet(proto, fam, src, dst, sport, dport, payload):
    """The IP packet (header included) of a UDP, UDP-Lite or echo reply
    probe."""
    s = ipaddress.ip_address(src).packed
    d = ipaddress.ip_address(dst).packed
    if proto == "ping":
        nh = socket.IPPROTO_ICMP if fam == 4 else socket.IPPROTO_ICMPV6
        body = struct.pack("!BBHHH", 0 if fam == 4 else 129, 0, 0, dport, 7) + payload
    else:
        nh = socket.IPPROTO_UDP if proto == "udp" else IPPROTO_UDPLITE
        length = 8 + len(payload)
        body = struct.pack("!HHHH", sport, dport,
                           length if proto == "udp" else 0, 0) + payload
    if fam == 4:
        pseudo = s + d + struct.pack("!BBH", 0, nh, len(body))
    else:
        pseudo = s + d + struct.pack("!I3xB", len(body), nh)
    c = csum(body if (fam == 4 and proto == "ping") else pseudo + body) or 0xffff
    body = body[:2] + struct.pack("!H", c) + body[4:] if proto == "ping" else \
        body[:6] + struct.pack("!H", c) + body[8:]
    if fam == 4:
        h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(body), 0, 0, 64, nh,
                        0, s, d)
        return h[:10] + struct.pack("!H", csum(h)) + h[12:] + body
    return struct.pack("!IHBB", 0x60000000, len(body), nh, 64) + s + d + body


# ======================================================================
# The world: namespaces, devices, actors, the main process's sockets
# ======================================================================

_orig_ns = os.open("/proc/self/ns/net", os.O_RDONLY)


class InNs:
    """with InNs("ddo"): the main process is in that namespace meanwhile
    (sockets created there stay there; /proc/sys/net is that one's)."""

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        dt.setns("/run/netns/" + self.name)

    def __exit__(self, *a):
        if libc.setns(_orig_ns, dt.CLONE_NEWNET):
            raise OSError(ctypes.get_errno(), "setns back")


def run(*argv, stdin=None, check=True):
    r = subprocess.run(list(argv), input=stdin, capture_output=True, text=True)
    if check and r.returncode:
        raise RuntimeError("%s: %s" % (" ".join(argv), r.stderr.strip()))
    return r


def write_sysctl(path, value):
    with open("/proc/sys/" + path.replace(".", "/"), "w") as f:
        f.write(str(value))


class World:
    def __init__(self, domain, l3mdev):
        self.domain, self.l3mdev = domain, l3mdev
        for ns in (TEST_NS, PROBE_NS):
            run("ip", "netns", "del", ns, check=False)
            run("ip", "netns", "add", ns)
        # a kernel without VRFs (the debug kernel): d2 is a plain device
        self.has_vrf = not NO_VRF and run(
            "ip", "-n", TEST_NS, "link", "add", VRF, "type", "vrf", "table",
            str(VRF_TABLE), check=False).returncode == 0
        self.slaves = VRF_SLAVES if self.has_vrf else ()
        cmds = ["link set lo up",
                "addr add 127.0.0.2/8 dev lo",
                "addr add %s/128 dev lo nodad" % LO6_EXTRA]
        for dev, (v4, v6, peer, pv4, pv6, mac, pmac) in DEVS.items():
            cmds.append("link add %s address %s type veth peer name %s address %s "
                        "netns %s" % (dev, mac, peer, pmac, PROBE_NS))
            if dev in self.slaves:
                cmds.append("link set %s master %s" % (dev, VRF))
            cmds += ["addr add %s/24 brd + dev %s" % (v4, dev),
                     "addr add %s/64 dev %s nodad" % (v6, dev),
                     "neigh add %s lladdr %s dev %s nud permanent" % (pv4, pmac, dev),
                     "neigh add %s lladdr %s dev %s nud permanent" % (pv6, pmac, dev),
                     "link set %s up" % dev]
        if self.has_vrf:
            cmds.append("link set %s up" % VRF)
        run("ip", "-n", TEST_NS, "-b", "-", stdin="\n".join(cmds) + "\n")
        cmds = ["link set lo up"]
        for dev, (v4, v6, peer, pv4, pv6, mac, pmac) in DEVS.items():
            cmds += ["addr add %s/24 brd + dev %s" % (pv4, peer),
                     "addr add %s/64 dev %s nodad" % (pv6, peer),
                     "neigh add %s lladdr %s dev %s nud permanent" % (v4, mac, peer),
                     "neigh add %s lladdr %s dev %s nud permanent" % (v6, mac, peer),
                     "link set %s up" % peer]
        run("ip", "-n", PROBE_NS, "-b", "-", stdin="\n".join(cmds) + "\n")
        with InNs(TEST_NS):
            self.ifindex = {n: socket.if_nametoindex(n) for n in
                            ["lo"] + list(DEVS) + ([VRF] if self.has_vrf else [])}
            write_sysctl("net.ipv4.ping_group_range", "0 2147483647")
            write_sysctl("net.ipv4.ip_local_port_range", "%d %d" % EPHEMERAL)
            write_sysctl("net.ipv4.udp_l3mdev_accept", l3mdev["udp"])
            write_sysctl("net.ipv4.tcp_l3mdev_accept", l3mdev["tcp"])
            for d in ["all", "default", "lo"] + list(DEVS):
                write_sysctl("net/ipv4/conf/%s/rp_filter" % d, 0)
            write_sysctl("net/ipv4/conf/all/accept_local", 1)
            self.nl = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 4)
            self.nl.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            self.raw = {}
            for path, dev in (("lo", None),) + ((("vrf", VRF),) if self.has_vrf else ()):
                r4 = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
                r6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW)
                for r in (r4, r6):
                    if dev:
                        r.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, dev.encode())
                self.raw[path] = (r4, r6)
        self.pkt = {}
        with InNs(PROBE_NS):
            for dev, (v4, v6, peer, pv4, pv6, mac, pmac) in DEVS.items():
                p = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
                p.bind((peer, 0))
                self.pkt[dev] = p
        self.set_module_sysctls()
        for cg in CGROUPS:
            os.makedirs("%s/%s" % (dt.CGROOT, cg), exist_ok=True)
        self.cgid = {cg: os.stat("%s/%s" % (dt.CGROOT, cg)).st_ino for cg in CGROUPS}
        self.actors = [dt.Actor(uid, cgroup=cg, netns=TEST_NS) for uid, cg in ACTORS]
        self.env = dict(
            l3mdev={"udp": l3mdev["udp"], "udplite": l3mdev["udp"],
                    "tcp": l3mdev["tcp"], "ping": 1},
            master={self.ifindex[s]: self.ifindex[VRF] for s in self.slaves},
            plain_ifs=[self.ifindex[n] for n in ["lo"] + list(DEVS)
                       if n not in self.slaves],
            bcasts={ipaddress.ip_address("255.255.255.255")} |
            {ipaddress.ip_address(v[0].rsplit(".", 1)[0] + ".255")
             for v in DEVS.values()})
        self.ingress = {"lo": (self.ifindex["lo"], 0),
                        "d0": (self.ifindex["d0"], 0), "d1": (self.ifindex["d1"], 0),
                        "d2": (self.ifindex["d2"], 0)}
        if self.has_vrf:
            self.ingress.update(d2=(self.ifindex[VRF], self.ifindex["d2"]),
                                vrf=(self.ifindex[VRF], self.ifindex[VRF] if
                                     VRF_LOCAL_INGRESS == "l3" else 0))
        self.cookie_dom = {}
        self.probe_port = PROBE_PORTS[0]

    def ingress_of(self, path, dst):
        """(dif, sdif) of a probe to @dst sent by @path.  Traffic looped
        from ddo to one of its own addresses counts as arriving on the
        device that holds the address, not on lo: IPv4's output route
        keeps it as rt_iif (ip_route_output_key_hash_rcu(): "make sure
        orig_oif points to fib result device"), IPv6's ip6_rcv_core()
        takes IP6CB(skb)->iif from the route's device.  (The oracle first
        took it as lo; tests/oracle-cases/stock-local-traffic-ingress.json
        showed otherwise.)"""
        for dev, d in DEVS.items():
            if ipaddress.ip_address(dst) not in (ipaddress.ip_address(d[0]),
                                                 ipaddress.ip_address(d[1])):
                continue
            if path == "lo" and dev not in self.slaves:
                return (self.ifindex[dev], 0)
            if path == "vrf" and dev in self.slaves:
                # the same inside a VRF: as if through the slave that
                # holds the address (seed 25 of --stock showed it)
                return (self.ifindex[VRF], self.ifindex[dev])
        return self.ingress[path]

    def dom_of(self, uid, cg):
        return (uid, self.cgid[cg]) if self.domain & 2 else (uid,)

    def set_module_sysctls(self):
        """Per namespace, and reset by every insmod: enforce mode, the
        domain, no egress checks (rule 3 is not under test here, and the
        probes forge sources)."""
        if not os.path.isdir("/proc/net/ddemux"):
            return                  # --stock
        for ns in (TEST_NS, PROBE_NS):
            with InNs(ns):
                write_sysctl("net/ddemux/mode", 2)
                write_sysctl("net/ddemux/domain", self.domain)
                write_sysctl("net/ddemux/egress", 0)

    def close(self):
        for a in self.actors:
            a.close()
        for s in [self.nl] + [r for p in self.raw.values() for r in p] + \
                list(self.pkt.values()):
            s.close()
        for ns in (TEST_NS, PROBE_NS):
            run("ip", "netns", "del", ns, check=False)

    # ---- the kernel's tables ----------------------------------------

    def diag(self, family, proto, states):
        req = struct.pack("=BBBBI", family, proto, 0, 0, states) + bytes(48)
        hdr = struct.pack("=IHHII", 16 + len(req), 20, 0x301, 1, 0)
        self.nl.send(hdr + req)
        out = []
        while True:
            data = self.nl.recv(1 << 20)
            off = 0
            while off + 16 <= len(data):
                ln, typ, _, _, _ = struct.unpack_from("=IHHII", data, off)
                if typ == 3:
                    return out
                if typ == 2:
                    err = -struct.unpack_from("=i", data, off + 16)[0]
                    raise OSError(err, "sock_diag %d/%d" % (family, proto))
                m = data[off + 16:off + ln]
                fam, state, timer = struct.unpack_from("=BBB", m, 0)
                sport, dport = struct.unpack_from("!HH", m, 4)
                ifi, c0, c1 = struct.unpack_from("=III", m, 40)
                uid, ino = struct.unpack_from("=II", m, 64)
                n = 16 if fam == socket.AF_INET6 else 4
                attrs, a = {}, 72
                while a + 4 <= len(m):
                    alen, atyp = struct.unpack_from("=HH", m, a)
                    if alen < 4:
                        break
                    attrs[atyp] = m[a + 4:a + alen]
                    a += (alen + 3) & ~3
                out.append(dict(fam=4 if fam == socket.AF_INET else 6, state=state,
                                timer=timer, lport=sport, rport=dport,
                                laddr=ipaddress.ip_address(m[8:8 + n]),
                                raddr=ipaddress.ip_address(m[24:24 + n]),
                                dev=ifi, cookie=(c1 << 32) | c0, uid=uid, ino=ino,
                                v6only=bool(attrs.get(11, b"\0")[0]),
                                cgid=struct.unpack("=Q", attrs[21])[0] if 21 in attrs
                                else None))
                off += (ln + 3) & ~3

    def kernel_sockets(self, census):
        """Every socket of ddo holding a port: a list of dicts."""
        by_ino = {c["ino"]: (i, c) for i, cs in enumerate(census) for c in cs}
        out = []
        tcp_states = 0xffffffff & ~((1 << 6) | (1 << 3) | (1 << 12))
        release = re.match(r"(\d+)\.(\d+)", os.uname().release)
        bound_inactive = (int(release.group(1)), int(release.group(2))) >= (6, 6)
        for proto, pnum in (("tcp", 6), ("udp", 17), ("udplite", 136)):
            for fam in (socket.AF_INET, socket.AF_INET6):
                for k in self.diag(fam, pnum, tcp_states if proto == "tcp" else 0xffffffff):
                    if proto == "tcp" and (k["timer"] == 3 or k["state"] in (3, 6, 12)):
                        continue        # time-wait and request socks: no set
                    k["proto"] = proto
                    k["src"] = "diag"
                    out.append(k)
        if not bound_inactive:
            # sock_diag lists bound-only TCP sockets from 6.6 on: before,
            # take them from what the actors hold.  getsockname() keeps
            # showing a port the kernel has released (after a failed
            # connect or a disconnect, unless bind() named the port), so
            # those whose port may have gone are "optional": the registry
            # may or may not list them, and rule 2 does not count them.
            seen = {k["ino"] for k in out if k["proto"] == "tcp"}
            for i, cs in enumerate(census):
                for c in cs:
                    if c["kind"] == "tcp" and c["tstate"] == 7 and c["name"][1] and \
                            c["bound"] is not False and c["ino"] not in seen:
                        host = c["name"][0]
                        out.append(dict(proto="tcp", fam=c["fam"], state=7, timer=0,
                                        lport=c["name"][1], rport=0,
                                        laddr=ipaddress.ip_address(host.split("%")[0]),
                                        raddr=ipaddress.ip_address(
                                            "0.0.0.0" if c["fam"] == 4 else "::"),
                                        dev=self.ifindex.get(c["dev"], 0) if c["dev"] else 0,
                                        cookie=None, uid=ACTORS[i][0], ino=c["ino"],
                                        v6only=bool(c["v6only"]), cgid=None,
                                        src="census", optional=c["bound"] is None))
        pid = self.actors[0].pid
        for fam, f in ((4, "icmp"), (6, "icmp6")):
            for line in open("/proc/%d/net/%s" % (pid, f)).read().splitlines()[1:]:
                w = line.split()
                la, lp = w[1].split(":")
                ra, rp = w[2].split(":")
                c = by_ino.get(int(w[9]))
                if c and c[1]["fam"] != fam:
                    # ping_get_next() does not filter by family: the
                    # other family's file lists a socket that shares a
                    # hash bucket (ident) with one of its own
                    continue
                dev = self.ifindex.get(c[1]["dev"], 0) if c and c[1]["dev"] else 0
                out.append(dict(proto="ping", fam=fam, state=int(w[3], 16), timer=0,
                                lport=int(lp, 16), rport=int(rp, 16),
                                laddr=hexaddr(la), raddr=hexaddr(ra), dev=dev,
                                cookie=None, uid=int(w[7]), ino=int(w[9]),
                                v6only=False, cgid=None, src="icmp"))
        # owners: the actor holding the inode; a child not yet accepted is
        # its listener's; an orphan keeps the owner it had when last seen
        for k in out:
            k["owner"] = None
            if k["ino"] in by_ino:
                i, c = by_ino[k["ino"]]
                k["owner"] = (i, c["sid"])
                k["dom"] = self.dom_of(*ACTORS[i])
            elif k["cookie"] in self.cookie_dom:
                k["dom"] = self.cookie_dom[k["cookie"]]
            else:
                k["dom"] = None
            if k.get("cgid") is None and k["owner"]:
                k["cgid"] = self.cgid[ACTORS[k["owner"][0]][1]]
        for k in out:
            if k["dom"] is None and k["proto"] == "tcp" and k["state"] not in (7, 10):
                for l in out:
                    if listener_of(l, k):
                        k["dom"], k["cgid"] = l["dom"], l["cgid"]
                        break
        for k in out:
            if k["cookie"] is not None and k["dom"] is not None:
                self.cookie_dom[k["cookie"]] = k["dom"]
        return [k for k in out if k["lport"] and not probe_related(k)]

    def registry(self):
        lines = open("/proc/%d/net/ddemux/sockets" % self.actors[0].pid).read().splitlines()
        cols = lines[0].split()
        idx = [cols.index(c) for c in ("proto", "local", "remote", "dev", "state", "uid")]
        if self.domain & 2:
            idx.append(cols.index("cgroup"))
        rows = []
        for line in lines[1:]:
            w = line.split()
            row = tuple(w[i] for i in idx)
            if not row_probe_related(row):
                rows.append(row)
        return rows

    def census(self):
        for a in self.actors:
            a.start(o_census)
        return [a.wait() for a in self.actors]

    def snapshot(self):
        census = self.census()
        ks = self.kernel_sockets(census)
        return census, ks, self.registry() if os.path.isdir("/proc/net/ddemux") else []

    def drain(self):
        for a in self.actors:
            a.start(o_drain)
        return [[(i, sid, pid) for sid, pid in a.wait()] for i, a in enumerate(self.actors)]


def listener_of(l, k):
    """Is @l a listener that may have made the child @k?"""
    if l["proto"] != "tcp" or l["state"] != 10 or l["dom"] is None:
        return False
    if l["lport"] != k["lport"] or l["dev"] != k["dev"]:
        return False
    la, ka = v4norm(l["laddr"]), v4norm(k["laddr"])
    return la is None or la == ka


def hexaddr(h):
    if len(h) == 8:
        return ipaddress.ip_address(struct.pack("<I", int(h, 16)))
    return ipaddress.ip_address(b"".join(struct.pack("<I", int(h[i:i + 8], 16))
                                         for i in range(0, 32, 8)))


def in_probe(p):
    return PROBE_PORTS[0] <= p <= PROBE_PORTS[1]


def probe_related(k):
    return in_probe(k["lport"]) or (k["proto"] != "ping" and in_probe(k["rport"]))


def row_probe_related(row):
    for field in row[1:3]:
        port = field.rpartition(":")[2]
        if port.isdigit() and in_probe(int(port)):
            return True
    return False


def reload_module(ko):
    run("rmmod", "ddemux")
    run("insmod", ko)


# ======================================================================
# The checks
# ======================================================================

class Failure:
    def __init__(self, check, proto, what, detail, key):
        self.check, self.proto, self.what, self.detail, self.key = \
            check, proto, what, detail, key
        self.op = None

    def kind(self):
        if self.check == "k":
            where = re.search(r"at (\S+)", self.detail)
            return "k %s at %s after %s" % (self.what, where.group(1) if where else "?",
                                            self.op)
        return "%s %s %s after %s" % (self.check, self.proto, self.what, self.op)

    def __str__(self):
        return "%s: %s" % (self.kind(), self.detail)


CHECK_NAMES = {"a": "registry", "b": "rule2", "c": "delivery", "m": "model",
               "k": "kernel-log"}

KLOG_BAD = re.compile(r"WARNING:|BUG:|Oops|general protection|KASAN|UBSAN|"
                      r"refcount_t:|list_(add|del) corruption")


class Kmsg:
    """New kernel log records, read from /dev/kmsg without blocking."""

    def __init__(self):
        self.fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
        os.lseek(self.fd, 0, os.SEEK_END)

    def new(self):
        out = []
        while True:
            try:
                rec = os.read(self.fd, 8192)
            except BlockingIOError:
                return out
            except OSError as e:
                if e.errno == errno.EPIPE:      # overwritten meanwhile
                    continue
                raise
            if not rec:
                return out
            out.append(rec.decode(errors="replace").split(";", 1)[-1].splitlines()[0])

    def close(self):
        os.close(self.fd)


def check_klog(kmsg):
    fails = []
    for line in kmsg.new():
        if KLOG_BAD.search(line):
            where = re.sub(r"\+0x[0-9a-f]+/0x[0-9a-f]+", "", line)
            fails.append(Failure("k", "kernel", "warning",
                                 line.strip(), ("k", where)))
    return fails


def check_registry(world, ks, reg):
    want, maybe = collections.Counter(), collections.Counter()
    for k in ks:
        if k["dom"] is None:
            continue
        row = reg_expected(k, aset(k, world.env), world.domain)
        if k.get("optional"):
            maybe[row] += 1
        else:
            want[row] += 1
    unknown = [k for k in ks if k["dom"] is None]
    have = collections.Counter(reg)
    missing, extra = want - have, have - want - maybe
    # rows of sockets whose owner is unknown (orphans never seen alive):
    # match them ignoring the owner
    for k in unknown:
        r = reg_expected(k, aset(k, world.env), world.domain)
        for e in list(extra):
            if e[:5] == r[:5]:
                extra[e] -= 1
                extra = +extra
                break
        else:
            missing[r] += 1
    fails = []
    miss = list(missing.elements())
    ext = list(extra.elements())
    for m in list(miss):
        for e in ext:
            if e[0] == m[0] and e[1].rpartition(":")[2] == m[1].rpartition(":")[2] and \
                    (e[1] == m[1] or e[2] == m[2]):
                fields = [n for n, x, y in zip(("local", "remote", "dev", "state", "uid",
                                                "cgroup"), m[1:], e[1:]) if x != y]
                fails.append(Failure("a", m[0], "differs in " + "+".join(fields),
                                     "the kernel has %s, the registry %s" % (
                                         " ".join(m), " ".join(e)), ("a", m, e)))
                miss.remove(m)
                ext.remove(e)
                break
    for m in miss:
        fails.append(Failure("a", m[0], "missing" + (" " + m[4] if m[0] == "tcp" else ""),
                             "the kernel has %s, the registry no such row" % " ".join(m),
                             ("a", m)))
    for e in ext:
        fails.append(Failure("a", e[0], "extra" + (" " + e[4] if e[0] == "tcp" else ""),
                             "the registry has %s, the kernel no such socket" % " ".join(e),
                             ("a", e)))
    return fails


def sock_name(k):
    if k["owner"]:
        return "actor%d:%s" % k["owner"]
    return "%s-orphan" % k["proto"]


def check_rule2(world, ks, stats=None):
    fails = []
    sets = [(k, aset(k, world.env)) for k in ks
            if k["dom"] is not None and not k.get("optional")]
    for i, (ka, a) in enumerate(sets):
        for kb, b in sets[i + 1:]:
            if stats is not None and a["dom"] != b["dom"] and \
                    a["proto"] == b["proto"] and a["lport"] == b["lport"]:
                stats["pairs: other domain, same port"] += 1
            if a["dom"] != b["dom"] and overlap(a, b, world.env):
                key = ("b", ka["ino"] or ka["cookie"], kb["ino"] or kb["cookie"])
                fails.append(Failure("b", a["proto"], "overlap",
                                     "%s {%s} overlaps %s {%s}" % (
                                         sock_name(ka), fmt_set(a), sock_name(kb),
                                         fmt_set(b)), key))
    return fails


def choose_probe(world, k, s, rng, others=(), every=False):
    """Packet addresses in set @s, and how to send them: one, or with
    @every one per way in; or a reason why none.  Addresses that a set of
    @others (other domains' sets) contains too are preferred: that is
    where a steal would happen."""
    if s["special"]:
        return None, "multicast/broadcast set"
    if k["proto"] == "tcp" and k["state"] != 10:
        return None, "TCP, not listening"
    if not s["fams"]:
        return None, "empty set"
    cands = []
    for dst, path in ADDR_PATHS:
        if path not in world.ingress:
            continue
        a = ipaddress.ip_address(dst)
        if a.version not in s["fams"]:
            continue
        if s["laddr"] is not None and s["laddr"] != a:
            continue
        if not dev_accepts(s["dev"], s["proto"], world.ingress_of(path, dst), world.env):
            continue
        if s["raddr"] is not None:
            src = s["raddr"]
            if path != "lo" and src.is_loopback:
                continue
            if path == "vrf":
                continue
        elif path in ("lo", "vrf"):
            src = a
        else:
            d = DEVS[path]
            src = ipaddress.ip_address(d[3] if a.version == 4 else d[4])
        cands.append((dst, path, str(src)))
    if not cands:
        return None, "no path into the set"
    probes = []
    for dst, path, src in cands:
        world.probe_port += 1
        if world.probe_port > PROBE_PORTS[1]:
            world.probe_port = PROBE_PORTS[0]
        sport = world.probe_port if k["proto"] == "tcp" else s["rport"] or world.probe_port
        probes.append(dict(proto=s["proto"], fam=ipaddress.ip_address(dst).version,
                           dst=dst, dport=s["lport"], src=src, sport=sport, path=path,
                           ingress=world.ingress_of(path, dst)))
    if every:
        return probes, None
    contested = [p for p in probes if any(contains(o, p, world.env) for o in others)]
    if contested and rng.random() < 0.8:
        return [rng.choice(contested)], None
    return [rng.choice(probes)], None


def send_probe(world, p, pid):
    """Send probe @p (id @pid); a TCP client socket to close later, or None."""
    fam = p["fam"]
    if p["proto"] == "tcp":
        af = socket.AF_INET if fam == 4 else socket.AF_INET6
        ns = TEST_NS if p["path"] in ("lo", "vrf") else PROBE_NS
        with InNs(ns):
            c = socket.socket(af, socket.SOCK_STREAM)
        c.setblocking(False)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        if p["path"] == "vrf":
            c.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, VRF.encode())
        elif p["path"] != "lo":
            c.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, DEVS[p["path"]][2].encode())
        c.bind((p["src"], p["sport"]))
        c.connect_ex((p["dst"], p["dport"]))
        return c
    pkt = l4_packet(p["proto"], fam, p["src"], p["dst"], p["sport"], p["dport"],
                    b"DDO:%d:" % pid)
    if p["path"] in ("lo", "vrf"):
        r = world.raw[p["path"]][0 if fam == 4 else 1]
        r.sendto(pkt, (p["dst"], 0))
    else:
        d = DEVS[p["path"]]
        mac = lambda m: bytes(int(x, 16) for x in m.split(":"))  # noqa: E731
        frame = mac(d[5]) + mac(d[6]) + struct.pack("!H", 0x800 if fam == 4 else 0x86dd)
        world.pkt[p["path"]].send(frame + pkt)
    return None


def check_delivery(world, ks, rng, limit, focus, stats):
    """Probe up to @limit sockets (those of @focus first); failures."""
    sets = [(k, aset(k, world.env)) for k in ks
            if k["dom"] is not None and k["owner"] and not k.get("optional")]
    if limit is not None and len(sets) > limit:
        first = [x for x in sets if x[0]["owner"] in focus]
        rest = [x for x in sets if x[0]["owner"] not in focus]
        rng.shuffle(first)
        rng.shuffle(rest)
        sets = (first + rest)[:limit]
    probes, clients = [], []
    every = [aset(k, world.env) for k in ks if k["dom"] is not None]
    for k, s in sets:
        others = [o for o in every if o["dom"] != s["dom"] and not o["special"]]
        chosen, why = choose_probe(world, k, s, rng, others, every=limit is None)
        if not chosen:
            stats["unprobed: " + why] += 1
            continue
        for p in chosen:
            pid = p["sport"] if p["proto"] == "tcp" else len(probes) + 1
            try:
                c = send_probe(world, p, pid)
            except OSError as e:
                stats["probe not sent: " + ename(e.errno)] += 1
                continue
            if c:
                clients.append(c)
            stats["probe path %s" % p["path"]] += 1
            probes.append((pid, k, s, p))
    if clients:
        end = time.time() + 1.0
        waiting = list(clients)
        while waiting and time.time() < end:
            _, w, _ = select.select([], waiting, [], end - time.time())
            waiting = [c for c in waiting if c not in w]
    if probes:
        time.sleep(0.03)
    got = world.drain()
    for c in clients:
        c.close()
    by_owner = {k["owner"]: (k, s) for k, s in
                ((k, aset(k, world.env)) for k in ks if k["owner"] and k["dom"])}
    recv = collections.defaultdict(list)
    for per_actor in got:
        for i, sid, pid in per_actor:
            recv[pid].append((i, sid))
    fails = []
    for pid, k, s, p in probes:
        stats["probes"] += 1
        # a datagram's id is its position; a TCP probe's its port
        who = [w for w in recv.get(pid, []) if
               (w in by_owner and by_owner[w][1]["proto"] == p["proto"])]
        if not who:
            stats["not delivered"] += 1
            continue
        stats["delivered"] += 1
        pdesc = "%s %s [%s]:%d <- [%s]:%d via %s" % (p["proto"], "v%d" % p["fam"], p["dst"],
                                                     p["dport"], p["src"], p["sport"],
                                                     p["path"])
        for w in who:
            rk, rs = by_owner[w]
            if not contains(rs, p, world.env):
                fails.append(Failure("m", p["proto"], "delivered outside the set",
                                     "probe %s for actor%d:%s {%s} was received by "
                                     "actor%d:%s {%s}, whose set does not contain it" % (
                                         pdesc, k["owner"][0], k["owner"][1], fmt_set(s),
                                         w[0], w[1], fmt_set(rs)),
                                     ("m", pid, w)))
            if rs["dom"] != s["dom"]:
                stats["stolen"] += 1
                fails.append(Failure("c", p["proto"], "steal",
                                     "probe %s for actor%d:%s {%s} was received by "
                                     "actor%d:%s {%s} of another domain" % (
                                         pdesc, k["owner"][0], k["owner"][1], fmt_set(s),
                                         w[0], w[1], fmt_set(rs)),
                                     ("c", k["ino"], rk["ino"])))
            elif w != k["owner"]:
                stats["delivered to a sibling of the same domain"] += 1
    return fails


# ======================================================================
# Random operations
# ======================================================================

class Gen:
    """Random operations from a seeded PRNG; it tracks what exists from
    the operations' outcomes, so each op is a plain tuple."""

    def __init__(self, rng, avoid_kernel_bugs=True):
        self.rng = rng
        self.avoid = avoid_kernel_bugs
        self.socks = {}          # (actor, sid) -> dict(kind, fam, listen)
        self.n = 0

    def new_sid(self, p="s"):
        self.n += 1
        return "%s%d" % (p, self.n)

    def addr(self, fam, pool4, pool6):
        r = self.rng
        pool = pool4 if fam == 4 or r.random() < 0.15 else pool6   # v4-mapped
        return r.choices([a for a, _ in pool], [w for _, w in pool])[0]

    # per socket state: the weights of the next operation on it
    WEIGHTS = {
        "fresh": (("opt", 40), ("bind", 45), ("connect", 5), ("sendto", 3),
                  ("listen", 2), ("close", 3), ("disconnect", 2)),
        "bound": (("connect", 20), ("opt", 12), ("listen", 15), ("sendto", 5),
                  ("disconnect", 8), ("bind", 3), ("close", 20)),
        "connected": (("disconnect", 30), ("connect", 15), ("opt", 10),
                      ("sendto", 5), ("close", 25)),
        "listen": (("accept", 30), ("disconnect", 15), ("opt", 10), ("close", 30),
                   ("connect", 5)),
    }
    MAX_SOCKETS = 16    # few at a time, churned: they meet on the same ports

    def next(self):
        r = self.rng
        if not self.socks or (len(self.socks) < self.MAX_SOCKETS and r.random() < 0.25):
            a = r.randrange(len(ACTORS))
            kind = r.choice(("tcp", "tcp", "udp", "udp", "udplite", "ping", "ping"))
            fam = r.choice((4, 6))
            v6only = r.choice((None, 0, 1)) if fam == 6 else None
            # opt-ins at birth, mostly: without them the kernel itself
            # refuses most co-binds and ddemux is never asked
            reuse = r.choices(("", "a", "p", "ap"), (30, 50, 10, 10))[0]
            return ["sock", a, self.new_sid(), kind, fam, v6only, reuse]
        (a, sid), info = r.choice(sorted(self.socks.items()))
        kind, fam, state = info["kind"], info["fam"], info["state"]
        ops, weights = zip(*self.WEIGHTS[state])
        what = r.choices(ops, weights)[0]
        if what in ("listen", "accept") and kind != "tcp":
            what = "connect"
        if what == "listen" and self.avoid and info.get("l3_after_bind"):
            # Linux 6.1 and 6.12: listen() after SO_BINDTODEVICE moved a
            # bound TCP socket into a VRF WARNs in inet_csk_get_port()
            # (tests/oracle-cases/kernel-listen-after-vrf-device.json)
            what = "close"
        if what == "opt":
            # mostly opt-ins: without them the kernel itself refuses most
            # co-binds, and ddemux is never asked
            name = r.choices(("reuseaddr", "reuseport", "dev", "v6only"),
                             (50, 15, 25, 10) if state == "fresh" else (20, 10, 60, 10))[0]
            if name == "dev":
                return ["opt", a, sid, "dev", r.choice(OPT_DEVS)]
            return ["opt", a, sid, name, r.choice((1, 1, 1, 0))]
        rivals = sorted((k, i) for k, i in self.socks.items()
                        if k[0] != a and i["kind"] == kind and i.get("port"))
        if what == "bind":
            # a few contested ports: overlaps need the same port; half the
            # time another actor's port of the same protocol, next to its
            # address
            port = r.choices(PORTS + (0,), (55, 20, 5, 5, 15))[0]
            addr = self.addr(fam, BIND4, BIND6)
            if rivals and r.random() < 0.5:
                _, rival = r.choice(rivals)
                port = rival["port"]
                if rival.get("addr") and r.random() < 0.3:
                    addr = rival["addr"]
            return ["bind", a, sid, addr, port]
        if what == "connect":
            peers = sorted((k, i) for k, i in self.socks.items()
                           if i["kind"] == kind and i.get("port") and k != (a, sid))
            if peers and r.random() < 0.4:
                _, peer = r.choice(peers)
                host = peer.get("addr") or ("127.0.0.1" if fam == 4 else "::1")
                if host in ("0.0.0.0", "::", "::ffff:0.0.0.0"):
                    host = "127.0.0.1" if host != "::" else "::1"
                return ["connect", a, sid, host, peer["port"]]
            return ["connect", a, sid, self.addr(fam, PEER4, PEER6), r.choice(PORTS)]
        if what == "sendto":
            return ["sendto", a, sid, self.addr(fam, PEER4, PEER6), r.choice(PORTS)]
        if what == "accept":
            return ["accept", a, sid, self.new_sid("c")]
        return [what, a, sid]

    def update(self, op, res=None, port=0):
        """Follow @op.  The outcome is NOT used: it can depend on timing
        (how fast a RST comes back) and on the kernel's random port
        choices, and a seed must make the same sequence everywhere; so
        the state is a guess from the operations alone."""
        key = (op[1], op[2]) if len(op) > 2 else None
        info = self.socks.get(key)
        if op[0] == "sock":
            self.socks[key] = dict(kind=op[3], fam=op[4], state="fresh")
            return
        if info is None:
            return
        state = info["state"]
        if op[0] == "bind" and state == "fresh":
            info["state"] = "bound"
            if op[4]:
                info["port"], info["addr"] = op[4], op[3]
        elif op[0] == "opt" and op[3] == "dev" and state != "fresh" and \
                op[4] in (VRF,) + VRF_SLAVES:
            info["l3_after_bind"] = True
        elif op[0] == "close":
            del self.socks[key]
        elif op[0] == "connect":
            info["state"] = "connected"
        elif op[0] in ("sendto", "disconnect") and state != "listen":
            info["state"] = "bound"
        elif op[0] == "disconnect":
            info["state"] = "bound"
        elif op[0] == "listen" and info["kind"] == "tcp" and state in ("fresh", "bound"):
            info["state"] = "listen"


def exec_op(world, op, ko):
    """Run @op: (outcome, local port)."""
    if op[0] == "reload" and ko is None:
        return "skipped", 0         # --stock
    if op[0] == "reload":
        reload_module(ko)
        world.set_module_sysctls()
        return "0", 0
    return world.actors[op[1]](o_op, op)


def op_text(op, res=None):
    s = " ".join(str(x) for x in op)
    return s if res is None else "%s -> %s" % (s, res)


# ======================================================================
# Running a sequence
# ======================================================================

class Config:
    def __init__(self, **kw):
        self.__dict__.update(dict(ko=None, domain=1, checks="abc", probes=3,
                                  probe=True, verbose=False, avoid=True))
        self.__dict__.update(kw)


def l3mdev_of(seed):
    return {"udp": seed % 2, "tcp": (seed // 2) % 2}


def settle_check(world, fn, seen, tries=3):
    """Run @fn(ks, reg) on a snapshot; if it shows a new failure, look
    again a little later (a TCP handshake or teardown may be in flight):
    only failures that persist count."""
    for i in range(tries):
        census, ks, reg = world.snapshot()
        fails = fn(ks, reg)
        if all(f.key in seen for f in fails) or i == tries - 1:
            return ks, fails
        time.sleep(0.15)


def run_sequence(cfg, seed, ops=None, steps=0, reload_every=0, mode="full",
                 stats=None, log=None):
    """Run a sequence in a fresh world.  @ops given: replay it; else
    generate @steps operations from @seed.  mode "full": check after every
    step and collect every new failure; mode "end": check once, after the
    last op (shrinking).  Returns (ops, [(step, Failure)])."""
    stats = stats if stats is not None else collections.Counter()
    world = World(cfg.domain, l3mdev_of(seed))
    kmsg = Kmsg()
    gen = Gen(random.Random(seed), cfg.avoid) if ops is None else None
    ops = list(ops) if ops is not None else []
    total = len(ops) if gen is None else steps
    seen, found = set(), []
    try:
        for step in range(total):
            if gen is not None:
                if reload_every and step and step % reload_every == 0:
                    op = ["reload"]
                else:
                    op = gen.next()
                ops.append(op)
            else:
                op = ops[step]
            res, port = exec_op(world, op, cfg.ko)
            stats["ops"] += 1
            stats["op %s -> %s" % (op[0], res)] += 1
            if gen is not None:
                gen.update(op, res, port)
            if log:
                log(step, op, res)
            if mode == "end" and step != total - 1:
                continue
            fails = check_klog(kmsg)
            checks = cfg.checks

            def ab(ks, reg):
                f = []
                if "a" in checks:
                    f += check_registry(world, ks, reg)
                if "b" in checks:
                    f += check_rule2(world, ks, stats)
                return f

            ks, fab = settle_check(world, ab, seen)
            fails += fab
            stats["sockets seen"] += len(ks)
            if "c" in checks and cfg.probe:
                prng = random.Random(seed * 1000003 + step)
                focus = {(op[1], op[2])} if len(op) > 2 else set()
                if len(op) > 3 and op[0] == "accept":
                    focus.add((op[1], op[3]))
                fails += check_delivery(world, ks, prng,
                                        None if mode == "end" else cfg.probes, focus,
                                        stats)
            elif mode == "full":
                world.drain()
            for f in fails:
                if f.key in seen:
                    continue
                seen.add(f.key)
                f.op = op[0]
                found.append((step, f))
    finally:
        world.close()
        kmsg.close()
    return ops, found


def ddmin(ops, test, deadline):
    """Delta debugging: the shortest subsequence of @ops (keeping order)
    for which @test holds, within the time left.  Returns (ops, complete,
    replays)."""
    n, replays = 2, 0
    while len(ops) >= 2:
        if time.time() > deadline:
            return ops, False, replays
        chunk = max(1, len(ops) // n)
        reduced = False
        for start in range(0, len(ops), chunk):
            if time.time() > deadline:
                return ops, False, replays
            cand = ops[:start] + ops[start + chunk:]
            if not cand:
                continue
            replays += 1
            if test(cand):
                ops = cand
                n = max(n - 1, 2)
                reduced = True
                break
        if not reduced:
            if chunk == 1:
                break
            n = min(len(ops), n * 2)
    return ops, True, replays


def shrink(cfg, seed, ops, fail, step, deadline):
    """The shortest sequence that still shows @fail's kind, and whether the
    search finished."""
    want = fail.kind()
    prefix = ops[:step + 1]

    def test(cand):
        try:
            _, found = run_sequence(cfg, seed, ops=cand, mode="end")
        except Exception as e:  # a broken replay does not reproduce
            print("    (replay error: %s)" % e)
            return False
        return any(f.kind() == want for _, f in found)

    # the failing step must stay the last: the kind names its op
    last = prefix[-1]
    body, replays = prefix[:-1], 0
    # first whole sockets (every op that names one), and the reloads: the
    # few that matter are found in as many replays as there are sockets
    groups = []
    for op in body:
        g = ("reload",) if op[0] == "reload" else (op[1], op[2])
        if g not in groups:
            groups.append(g)
    keep = (last[1], last[2]) if len(last) > 2 else None
    for g in groups:
        if g == keep or time.time() > deadline:
            continue
        cand = [op for op in body if not (
            (op[0] == "reload" and g == ("reload",)) or
            (len(op) > 2 and (op[1], op[2]) == g) or
            (op[0] == "accept" and (op[1], op[3]) == g))]
        if len(cand) == len(body):
            continue
        replays += 1
        if test(cand + [last]):
            body = cand
    body, complete, more = ddmin(body, lambda c: test(c + [last]), deadline)
    replays += more
    if len(body) == 1 and time.time() < deadline:
        replays += 1
        if test([last]):
            body = []
    return body + [last], complete, replays


def out_dir():
    return os.environ.get("DDEMUX_OUT") or "/tmp"


def write_repro(seed, cfg, ops, kind, tag):
    path = os.path.join(out_dir(), "oracle-seed%d-%s.json" % (seed, tag))
    with open(path, "w") as f:
        json.dump(dict(seed=seed, domain=cfg.domain, l3mdev=l3mdev_of(seed),
                       kernel=os.uname().release, kind=kind, ops=ops), f, indent=1)
    return path


def main():
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ko")
    ap.add_argument("--stock", action="store_true",
                    help="no module: check the model against the kernel's "
                    "deliveries only (every overlap is allowed there)")
    ap.add_argument("--seed", type=int)
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--reload-every", type=int, default=60)
    ap.add_argument("--domain", default="1",
                    help="net.ddemux.domain: 1 (uid), 3 (uid and cgroup), or a "
                    "list such as 1,3 used in turn, seed by seed")
    ap.add_argument("--probes", type=int, default=3, help="probes per step")
    ap.add_argument("--no-probe", action="store_true")
    ap.add_argument("--checks", default="abc")
    ap.add_argument("--shrink-seconds", type=float, default=600)
    ap.add_argument("--max-shrinks", type=int, default=6,
                    help="kinds of failure shrunk per run")
    ap.add_argument("--replay")
    ap.add_argument("--no-vrf", action="store_true",
                    help="no VRF: d2 is a plain device (automatic when the "
                    "kernel has no VRFs)")
    ap.add_argument("--kernel-bugs", choices=("avoid", "allow"), default="avoid",
                    help="avoid (default) or allow sequences known to make the "
                    "kernel itself WARN (a WARN fails the VM run)")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()

    global NO_VRF
    NO_VRF = args.no_vrf
    for m in ("inet_diag", "tcp_diag", "udp_diag", "vrf", "veth"):
        run("modprobe", m, check=False)
    if args.stock:
        if os.path.isdir("/proc/net/ddemux"):
            sys.exit("--stock but ddemux is loaded")
        args.ko, args.checks = None, "bc"
    elif not args.ko:
        sys.exit("--ko PATH or --stock")
    elif not os.path.isdir("/proc/net/ddemux"):
        run("insmod", args.ko)
    domains = [int(d) for d in args.domain.split(",")]
    if any(d not in (1, 3) for d in domains):
        sys.exit("--domain: 1 or 3")
    cfg = Config(ko=args.ko, domain=domains[0], checks=args.checks,
                 probes=args.probes, probe=not args.no_probe,
                 avoid=args.kernel_bugs == "avoid")
    t0 = time.time()
    stats = collections.Counter()
    results = {c: [] for c in "abcmk"}

    def log(step, op, res):
        if args.verbose:
            print("  %4d  %s" % (step, op_text(op, res)))

    if args.replay:
        rep = json.load(open(args.replay))
        cfg.domain = rep.get("domain", cfg.domain)
        cfg.probes = None           # probe every socket after every step
        seeds = [rep["seed"]]
        print("oracle: replaying %s: %d ops, seed %d, domain %d (recorded: %s)" % (
            args.replay, len(rep["ops"]), rep["seed"], cfg.domain, rep.get("kind")))
    else:
        seeds = [args.seed] if args.seed is not None else \
            list(range(args.first_seed, args.first_seed + args.seeds))
    to_shrink = collections.OrderedDict()
    harness = []
    for n, seed in enumerate(seeds):
        ts = time.time()
        if not args.replay:
            cfg.domain = domains[n % len(domains)]
        try:
            if args.replay:
                ops, found = run_sequence(
                    cfg, seed, ops=rep["ops"], stats=stats,
                    log=lambda s, o, r: print("  %4d  %s" % (s, op_text(o, r))))
            else:
                ops, found = run_sequence(cfg, seed, steps=args.steps,
                                          reload_every=args.reload_every, stats=stats,
                                          log=log)
        except Exception as e:      # the harness itself: say so, go on
            import traceback
            traceback.print_exc()
            harness.append("seed %d: %s: %s" % (seed, type(e).__name__, e))
            continue
        print("oracle: seed %d: %d steps in %.0f s, %d failures (%s, l3mdev %s, domain %d)" % (
            seed, len(ops), time.time() - ts, len(found), os.uname().release,
            l3mdev_of(seed), cfg.domain))
        if not args.replay:
            print("    the whole sequence: --replay %s" % write_repro(
                seed, cfg, ops, "whole run", "all"))
        sys.stdout.flush()
        if args.stock:
            for step, f in found:
                if f.check != "m":
                    stats["stock: " + CHECK_NAMES[f.check] + " failures (expected)"] += 1
            found = [(step, f) for step, f in found if f.check in "mk"]
        firsts = collections.OrderedDict()
        for step, f in found:
            print("oracle: seed %d step %d FAIL %s" % (seed, step, f))
            print("    op: %s" % op_text(ops[step]))
            firsts.setdefault(f.kind(), (step, f))
        sys.stdout.flush()
        for kind, (step, f) in firsts.items():
            results[f.check].append("seed %d step %d: %s" % (seed, step, kind))
            if kind not in to_shrink:
                to_shrink[kind] = (seed, cfg.domain, ops, step, f)
    # then the shortest reproducer of each kind, steals and overlaps first,
    # within the time bound
    deadline = time.time() + args.shrink_seconds
    order = sorted(to_shrink.items(), key=lambda kv: ("cbmka".index(kv[1][4].check),
                                                      kv[1][3]))
    for n, (kind, (seed, domain, ops, step, f)) in enumerate(order):
        if args.replay:
            break
        if n >= args.max_shrinks or time.time() > deadline:
            print("oracle: not shrinking %s (seed %d step %d: time or count bound "
                  "reached)" % (kind, seed, step))
            continue
        cfg.domain = domain
        print("oracle: shrinking %s: seed %d, from %d ops" % (kind, seed, step + 1))
        sys.stdout.flush()
        t1 = time.time()
        small, complete, replays = shrink(cfg, seed, ops, f, step, deadline)
        path = write_repro(seed, cfg, small, kind, "%d-%s" % (
            step, re.sub(r"[^a-z0-9]+", "-", kind.lower()).strip("-")))
        print("oracle: shrunk %s: seed %d, %d ops (%s, %d replays, %.0f s), "
              "replay with --replay %s:" % (
                  kind, seed, len(small), "minimal" if complete else
                  "CUT SHORT by the time bound", replays, time.time() - t1, path))
        for op in small:
            print("      %s" % json.dumps(op))
        sys.stdout.flush()
    probes = stats["probes"]
    print("oracle: %d seeds, %d ops in %.0f s; %d sockets checked; %d probes, %d delivered, "
          "%d not delivered; %s" % (
              len(seeds), stats["ops"], time.time() - t0, stats["sockets seen"], probes,
              stats["delivered"], stats["not delivered"],
              ", ".join("%s %d" % kv for kv in sorted(stats.items())
                        if kv[0].startswith(("unprobed", "probe ", "op ", "pairs")))))
    for cg in CGROUPS:
        try:
            os.rmdir("%s/%s" % (dt.CGROOT, cg))
        except OSError:
            pass
    failed = 0
    if harness:
        print("test oracle-harness: FAIL (%s)" % "; ".join(harness))
        failed += 1
    if args.stock:
        bad = results["m"] + results["k"]
        print("test oracle-model-stock: %s (%s%d seeds, %d ops, %d probes, %d delivered; "
              "on stock: %d rule-2 and %d delivery failures, as expected)" % (
                  "FAIL" if bad else "PASS", "; ".join(bad) + "; " if bad else "", len(seeds),
                  stats["ops"], probes, stats["delivered"],
                  stats["stock: rule2 failures (expected)"],
                  stats["stock: delivery failures (expected)"]))
        sys.exit(1 if bad or failed else 0)
    for c in "abcmk":
        if c not in cfg.checks + "k" and not (c == "m" and "c" in cfg.checks):
            continue
        if c in "cm" and not cfg.probe:
            continue
        bad = results[c]
        failed += bool(bad)
        if bad:
            print("test oracle-%s: FAIL (%d kinds: %s)" % (CHECK_NAMES[c], len(bad),
                                                          "; ".join(bad)))
        else:
            extra = ""
            if c == "c":
                extra = ", %d probes, %d delivered" % (probes, stats["delivered"])
            print("test oracle-%s: PASS (%d seeds, %d ops%s)" % (
                CHECK_NAMES[c], len(seeds), stats["ops"], extra))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
