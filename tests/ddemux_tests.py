#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""ddemux integration tests, run as root inside the test VM.

    tests/ddemux_tests.py [--stock] [--ko PATH] [-k SUBSTRING]

Every test drives real sockets from processes of several users, cgroups
and network namespaces ("actors") and checks what the kernel does, and
where traffic really lands -- not only return codes.

Each test has a kind:
  differs  ddemux must change stock Linux here: with the module the test
           passes, on the stock kernel it must fail (--stock checks that)
  same     single-domain behaviour that must be exactly stock Linux: passes
           with and without the module
  module   checks the module's own interface (sysctls, /proc, logs, load
           and unload); run only with the module loaded

Output: one line per test, "test NAME: PASS" or "test NAME: FAIL (why)";
with --stock, "stock NAME: PASS (fails on stock, as it must)" and so on;
then "tests: N passed, N failed".  Exit status 0 only if nothing failed.
"""
import ctypes
import errno
import mmap
import os
import pickle
import re
import socket
import struct
import subprocess
import sys
import time
import traceback

ALICE, MALLORY, CAROL = 1000, 1001, 1002
PROC = "/proc/net/ddemux"
SYS = "/proc/sys/net/ddemux"
CGROOT = "/sys/fs/cgroup"
CLONE_NEWNET, CLONE_NEWUSER = 0x40000000, 0x10000000
SO_BINDTODEVICE = 25
libc = ctypes.CDLL(None, use_errno=True)


def setns(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET):
            raise OSError(ctypes.get_errno(), "setns " + path)
    finally:
        os.close(fd)


# ---- actors: processes of a given uid/cgroup/netns that keep sockets ----

def _serve(r, w):
    state = {}
    while True:
        try:
            fn, args, kw = pickle.load(r)
        except EOFError:
            return
        try:
            res = (True, fn(state, *args, **kw))
        except Exception as e:  # report, keep serving
            res = (False, "%s: %s" % (type(e).__name__, e))
        pickle.dump(res, w)
        w.flush()


class Actor:
    """A forked process that runs functions for the test and keeps state."""

    def __init__(self, uid, cgroup=None, netns=None, userns=False, caps=()):
        req_r, req_w = os.pipe()
        rep_r, rep_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                # keep only our two pipe ends: no other actor's pipes (or
                # EOF never reaches it) and none of the runner's sockets
                for fd in os.listdir("/proc/self/fd"):
                    if int(fd) > 2 and int(fd) not in (req_r, rep_w):
                        try:
                            os.close(int(fd))
                        except OSError:
                            pass
                if netns:
                    setns("/run/netns/" + netns)
                if cgroup:
                    with open("%s/%s/cgroup.procs" % (CGROOT, cgroup), "w") as f:
                        f.write(str(os.getpid()))
                if uid is not None:
                    if caps:
                        libc.prctl(8, 1, 0, 0, 0)  # PR_SET_KEEPCAPS
                    os.setgroups([])
                    os.setgid(uid)
                    os.setuid(uid)
                    if caps:
                        set_caps(caps)
                    # a uid change makes the process non-dumpable, and its
                    # /proc/self files root's; a container runtime's child
                    # would be dumpable
                    libc.prctl(4, 1, 0, 0, 0)  # PR_SET_DUMPABLE
                if userns:
                    become_container_root(uid)
                _serve(os.fdopen(req_r, "rb"), os.fdopen(rep_w, "wb"))
            except BaseException:
                traceback.print_exc()
                code = 1
            finally:
                os._exit(code)
        os.close(req_r)
        os.close(rep_w)
        self.pid, self.uid = pid, uid
        self.w = os.fdopen(req_w, "wb")
        self.r = os.fdopen(rep_r, "rb")

    def __call__(self, fn, *args, **kw):
        self.start(fn, *args, **kw)
        return self.wait()

    def start(self, fn, *args, **kw):
        """Send a call without waiting for it; collect it with wait()
        before calling the actor again."""
        pickle.dump((fn, args, kw), self.w)
        self.w.flush()

    def wait(self):
        ok, val = pickle.load(self.r)
        if not ok:
            raise RuntimeError("actor uid %s: %s" % (self.uid, val))
        return val

    def close(self):
        """End the actor: EOF on its pipe, SIGKILL if it lingers."""
        for f in (self.w, self.r):
            try:
                f.close()
            except OSError:
                pass
        for _ in range(100):
            try:
                if os.waitpid(self.pid, os.WNOHANG)[0]:
                    return
            except ChildProcessError:
                return
            time.sleep(0.02)
        os.kill(self.pid, 9)
        os.waitpid(self.pid, 0)


CAPS = {"net_admin": 12, "net_raw": 13}


def set_caps(names):
    """Keep only the named capabilities, effective and permitted."""
    mask = 0
    for n in names:
        mask |= 1 << CAPS[n]
    hdr = struct.pack("=Ii", 0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3
    data = struct.pack("=IIIIII", mask, mask, 0, 0, 0, 0)
    if libc.capset(ctypes.c_char_p(hdr), ctypes.c_char_p(data)):
        raise OSError(ctypes.get_errno(), "capset")


def become_container_root(uid):
    """unshare a user and network namespace, root inside = uid outside."""
    if libc.unshare(CLONE_NEWUSER | CLONE_NEWNET):
        raise OSError(ctypes.get_errno(), "unshare")
    with open("/proc/self/setgroups", "w") as f:
        f.write("deny")
    with open("/proc/self/uid_map", "w") as f:
        f.write("0 %d 1" % uid)
    with open("/proc/self/gid_map", "w") as f:
        f.write("0 %d 1" % uid)
    os.setresgid(0, 0, 0)
    os.setresuid(0, 0, 0)


# Functions actors run; the first argument is the actor's state.

def a_sock(st, name, family, kind, proto=0, ra=False, rp=False, v6only=None,
           dev=None):
    s = socket.socket(family, kind, proto)
    if ra:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if rp:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    if v6only is not None:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, int(v6only))
    if dev:
        s.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, dev.encode())
    st[name] = s
    return True


def _err(fn, *args):
    try:
        fn(*args)
        return 0
    except OSError as e:
        return e.errno


def a_bind(st, name, addr):
    return _err(st[name].bind, addr)


def a_udp(st, name, addr, family=socket.AF_INET, **opts):
    """Create and bind a UDP socket; 0 or the errno of bind()."""
    a_sock(st, name, family, socket.SOCK_DGRAM, **opts)
    return a_bind(st, name, addr)


def a_tcp(st, name, addr, family=socket.AF_INET, listen=False, **opts):
    a_sock(st, name, family, socket.SOCK_STREAM, **opts)
    e = a_bind(st, name, addr)
    if not e and listen:
        e = _err(st[name].listen, 16)
    return e


def a_setsockopt(st, name, level, opt, val):
    return _err(st[name].setsockopt, level, opt, val)


def a_listen(st, name):
    return _err(st[name].listen, 16)


def a_connect(st, name, addr):
    return _err(st[name].connect, addr)


def a_connect_nb(st, name, addr):
    """A non-blocking connect: EINPROGRESS, or what it returns at once."""
    st[name].setblocking(False)
    e = st[name].connect_ex(addr)
    st[name].setblocking(True)
    return e


def a_sendto(st, name, data, addr):
    return _err(st[name].sendto, data, addr)


def a_send(st, name, data):
    return _err(st[name].send, data)


def a_recv(st, name, timeout=1.0):
    s = st[name]
    s.settimeout(timeout)
    try:
        data, addr = s.recvfrom(65536)
        return data, addr
    except (socket.timeout, BlockingIOError):
        return None
    except OSError as e:
        return e.errno


def a_recv_all(st, name, timeout=0.3):
    got = []
    while True:
        r = a_recv(st, name, timeout)
        if not isinstance(r, tuple):
            return got
        got.append(r[0])


def a_accept(st, name, timeout=3.0):
    s = st[name]
    s.settimeout(timeout)
    try:
        c, peer = s.accept()
    except socket.timeout:
        return None
    st[name + ".child"] = c
    return peer


def a_name(st, name):
    return st[name].getsockname()


def a_close(st, name):
    st.pop(name).close()
    return True


def a_disconnect(st, name):
    """connect(AF_UNSPEC), which Python's socket module cannot express."""
    sa = struct.pack("H14x", socket.AF_UNSPEC)
    if libc.connect(st[name].fileno(), ctypes.c_char_p(sa), len(sa)):
        return ctypes.get_errno()
    return 0


def a_write_file(st, path, data):
    try:
        with open(path, "w") as f:
            f.write(data)
        return 0
    except OSError as e:
        return e.errno


def a_read_file(st, path):
    with open(path) as f:
        return f.read()


ICMP_ECHO, ICMPV6_ECHO = 8, 128


def a_ping(st, name, family, ident, ra=False, host=None, v6only=None):
    proto = socket.IPPROTO_ICMP if family == socket.AF_INET else socket.IPPROTO_ICMPV6
    a_sock(st, name, family, socket.SOCK_DGRAM, proto, ra=ra, v6only=v6only)
    if host is None:
        host = "0.0.0.0" if family == socket.AF_INET else "::"
    return a_bind(st, name, (host, ident))


def a_ping_send(st, name, dst, seq, payload):
    kind = ICMP_ECHO if st[name].family == socket.AF_INET else ICMPV6_ECHO
    pkt = struct.pack("!BBHHH", kind, 0, 0, 0, seq) + payload
    return _err(st[name].sendto, pkt, (dst, 0))


IP_PKTINFO, IP_FREEBIND, IP_TRANSPARENT = 8, 15, 19
IP_LOCAL_PORT_RANGE = 51


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def udp_hdr(sport, dport, payload):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def tcp_hdr(src, dst, sport, dport, seq, ack, flags):
    """A TCP header with a valid IPv4 checksum; flags: 0x02 SYN, 0x04 RST."""
    h = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags,
                    65535, 0, 0)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack(
        "!BBH", 0, socket.IPPROTO_TCP, len(h))
    return h[:16] + struct.pack("!H", csum(pseudo + h)) + h[18:]


def _crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ (0x82f63b78 if c & 1 else 0)
        table.append(c)
    return table


CRC32C = _crc32c_table()


def crc32c(data):
    """CRC32c (Castagnoli), as SCTP's checksum: crc32c(b"123456789") is
    0xe3069283."""
    c = 0xffffffff
    for b in data:
        c = CRC32C[(c ^ b) & 0xff] ^ (c >> 8)
    return c ^ 0xffffffff


SCTP_INIT, SCTP_INIT_ACK = 1, 2


def sctp_init(sport, dport, tag):
    """An SCTP packet carrying one INIT chunk (verification tag 0, initiate
    tag @tag, 10 streams each way), with its CRC32c: the kernel stores it
    little-endian (sctp_compute_cksum())."""
    chunk = struct.pack("!BBHIIHHI", SCTP_INIT, 0, 20, tag, 65536, 10, 10, 1)
    pkt = struct.pack("!HHII", sport, dport, 0, 0) + chunk
    return pkt[:8] + struct.pack("<I", crc32c(pkt)) + pkt[12:]


def icmp_msg(kind, code, word, payload):
    """An ICMP message with its checksum; @word: its second 32-bit word."""
    h = struct.pack("!BBHI", kind, code, 0, word) + payload
    return h[:2] + struct.pack("!H", csum(h)) + h[4:]


def icmp_echo(ident, seq, payload, code=0):
    return icmp_msg(ICMP_ECHO, code, ident << 16 | seq, payload)


def ipv4_hdr(src, dst, proto, payload_len):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + payload_len, 0x1234, 0, 64,
                    proto, 0, socket.inet_aton(src), socket.inet_aton(dst))
    return h[:10] + struct.pack("!H", csum(h)) + h[12:]


def udp4_packet(src, dst, sport, dport, payload):
    """A whole IPv4 UDP datagram (UDP checksum 0: none)."""
    u = udp_hdr(sport, dport, payload)
    return ipv4_hdr(src, dst, socket.IPPROTO_UDP, len(u)) + u


def ipv6_hdr(src, dst, nexthdr, payload_len):
    return struct.pack("!IHBB16s16s", 6 << 28, payload_len, nexthdr, 64,
                       socket.inet_pton(socket.AF_INET6, src),
                       socket.inet_pton(socket.AF_INET6, dst))


def a_raw_send(st, proto, data, dst, family=socket.AF_INET):
    """Send @data from a raw socket of @proto: the kernel builds the IP
    header, but for IPPROTO_RAW (IP_HDRINCL: @data has it)."""
    s = socket.socket(family, socket.SOCK_RAW, proto)
    try:
        s.sendto(data, (dst, 0))
        return 0
    except OSError as e:
        return e.errno
    finally:
        s.close()


SOL_PACKET, PACKET_QDISC_BYPASS = 263, 20


def a_packet_send(st, ifname, frame, qdisc_bypass=False):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    try:
        if qdisc_bypass:
            s.setsockopt(SOL_PACKET, PACKET_QDISC_BYPASS, 1)
        s.bind((ifname, 0))
        s.send(frame)
        return 0
    except OSError as e:
        return e.errno
    finally:
        s.close()


def a_sendmsg_pktinfo(st, name, data, dst, src):
    """sendmsg() with IP_PKTINFO / IPV6_PKTINFO choosing the source."""
    s = st[name]
    if s.family == socket.AF_INET:
        cm = (socket.IPPROTO_IP, IP_PKTINFO,
              struct.pack("=i4s4s", 0, socket.inet_aton(src), bytes(4)))
    else:
        cm = (socket.IPPROTO_IPV6, socket.IPV6_PKTINFO,
              socket.inet_pton(socket.AF_INET6, src) + struct.pack("=i", 0))
    try:
        s.sendmsg([data], [cm], 0, dst)
        return 0
    except OSError as e:
        return e.errno


def a_udp_echo(st, name, timeout=2.0):
    """Answer one datagram; return where it came from (or None)."""
    s = st[name]
    s.settimeout(timeout)
    try:
        data, addr = s.recvfrom(65536)
    except socket.timeout:
        return None
    s.sendto(b"echo:" + data, addr)
    return addr


def a_sniff_tcp(st, name, sport, flags, timeout=2.0):
    """From a raw IPPROTO_TCP socket: a segment from @sport with @flags."""
    s = st[name]
    end = time.time() + timeout
    while time.time() < end:
        s.settimeout(max(0.05, end - time.time()))
        try:
            pkt = s.recv(65536)
        except socket.timeout:
            return None
        ihl = (pkt[0] & 0xf) * 4
        sp, dp, seq, ack, off, fl = struct.unpack("!HHIIBB", pkt[ihl:ihl + 14])
        if sp == sport and fl & flags == flags:
            return seq, ack, len(pkt) - ihl - (off >> 4) * 4
    return None


def a_sniff_sctp(st, name, sport, dport, chunk, timeout=2.0):
    """From a raw IPPROTO_SCTP socket: a packet @sport -> @dport whose
    first chunk is of type @chunk; its verification tag, or None."""
    s = st[name]
    end = time.time() + timeout
    while time.time() < end:
        s.settimeout(max(0.05, end - time.time()))
        try:
            pkt = s.recv(65536)
        except socket.timeout:
            return None
        ihl = (pkt[0] & 0xf) * 4
        if len(pkt) < ihl + 13:
            continue
        sp, dp, vtag, _, ctype = struct.unpack("!HHIIB", pkt[ihl:ihl + 13])
        if (sp, dp, ctype) == (sport, dport, chunk):
            return vtag
    return None


def a_sniff_ports(st, name, sport, timeout=2.0):
    """From a raw socket: the first packet from @sport (its destination
    port), or None."""
    s = st[name]
    end = time.time() + timeout
    while time.time() < end:
        s.settimeout(max(0.05, end - time.time()))
        try:
            pkt = s.recv(65536)
        except socket.timeout:
            return None
        ihl = (pkt[0] & 0xf) * 4
        sp, dp = struct.unpack("!HH", pkt[ihl:ihl + 4])
        if sp == sport:
            return dp
    return None


def a_peer_setsock(st, name, kind, proto):
    st[name] = socket.socket(socket.AF_INET, kind, proto)
    return True


def a_tcp_recv(st, name, timeout=2.0):
    """Data or an errno name from a connected TCP socket."""
    s = st[name]
    s.settimeout(timeout)
    try:
        return s.recv(100)
    except socket.timeout:
        return "timeout"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))


# SCTP: one-to-one (SOCK_STREAM) and one-to-many (SOCK_SEQPACKET) sockets
IPPROTO_SCTP = SOL_SCTP = 132
SCTP_SOCKOPT_BINDX_ADD, SCTP_SOCKOPT_BINDX_REM = 100, 101


def a_sctp(st, name, addr=None, family=socket.AF_INET, kind=socket.SOCK_STREAM,
           listen=False, **opts):
    """Create an SCTP socket, bind it to @addr if given, listen if asked;
    0 or the errno of bind() or listen()."""
    a_sock(st, name, family, kind, IPPROTO_SCTP, **opts)
    e = a_bind(st, name, addr) if addr else 0
    if not e and listen:
        e = a_listen(st, name)
    return e


def sctp_sockaddrs(addrs):
    """A packed array of sockaddr_in / sockaddr_in6, as sctp_bindx() takes."""
    out = b""
    for host, port in addrs:
        if ":" in host:
            out += (struct.pack("=H", socket.AF_INET6) + struct.pack("!HI", port, 0)
                    + socket.inet_pton(socket.AF_INET6, host) + struct.pack("=I", 0))
        else:
            out += (struct.pack("=H", socket.AF_INET) + struct.pack("!H", port)
                    + socket.inet_aton(host) + bytes(8))
    return out


def a_bindx(st, name, addrs, add=True):
    """sctp_bindx(): add (or remove) @addrs to (from) the socket's set;
    0 or the errno."""
    opt = SCTP_SOCKOPT_BINDX_ADD if add else SCTP_SOCKOPT_BINDX_REM
    return _err(st[name].setsockopt, SOL_SCTP, opt, sctp_sockaddrs(addrs))


def a_sctp_connect(st, name, addr, timeout=5.0):
    """connect() of a one-to-one socket: 0 once the association is up, or
    the errno (ETIMEDOUT if it is neither up nor refused by @timeout)."""
    s = st[name]
    s.settimeout(timeout)
    try:
        s.connect(addr)
        return 0
    except socket.timeout:
        return errno.ETIMEDOUT
    except OSError as e:
        return e.errno
    finally:
        s.settimeout(None)


def a_sctp_accept(st, name, timeout=1.0):
    """The peer of an association accepted on @name, or None: none came,
    or @name does not listen."""
    try:
        return a_accept(st, name, timeout)
    except OSError:
        return None


def sctp_who_gets(client, dst, family, kind, holders, timeout=1.0):
    """The client opens an association to @dst: connect() on a one-to-one
    socket, a message sent with sendto() on a one-to-many one.  The names
    of the @holders (name: actor, each with a socket "l") whose socket got
    it: accepted it, or received the message."""
    client(a_sctp, "c", None, family, kind)
    if kind == socket.SOCK_STREAM:
        e = client(a_sctp_connect, "c", dst)
        check(e in (0, errno.ECONNREFUSED), "client connect: %s" % ename(e))
    else:
        expect_eq(client(a_sendto, "c", b"from carol", dst), 0, "client sendto")
    got = []
    for name, who in holders.items():
        if kind == socket.SOCK_STREAM:
            if who(a_sctp_accept, "l", timeout) is not None:
                got.append(name)
        else:
            r = who(a_recv, "l", timeout)
            if isinstance(r, tuple) and r[0] == b"from carol":
                got.append(name)
    client(a_close, "c")
    return got


def sctp_roundtrip(client, server, family, kind, dst):
    """A message each way between the client's socket "c" (connected
    first if one-to-one) and the server's listening socket "l"."""
    if kind == socket.SOCK_STREAM:
        expect_eq(client(a_sctp_connect, "c", dst), 0, "connect to %s" % (dst,))
        check(server(a_sctp_accept, "l", 3.0), "accept from %s" % (dst,))
        expect_eq(client(a_send, "c", b"ping"), 0, "send")
        expect_eq(server(a_tcp_recv, "l.child"), b"ping", "data to %s" % (dst,))
        expect_eq(server(a_send, "l.child", b"pong"), 0, "reply")
        expect_eq(client(a_tcp_recv, "c"), b"pong", "reply from %s" % (dst,))
        return
    expect_eq(client(a_sendto, "c", b"ping", dst), 0, "sendto %s" % (dst,))
    got = server(a_recv, "l", 3.0)
    check(isinstance(got, tuple) and got[0] == b"ping",
          "message to %s: %r" % (dst, got))
    expect_eq(server(a_sendto, "l", b"pong", got[1]), 0, "reply")
    got = client(a_recv, "c", 3.0)
    check(isinstance(got, tuple) and got[0] == b"pong",
          "reply from %s: %r" % (dst, got))


# ---- the test context -------------------------------------------------

class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)


def expect_eq(got, want, what):
    if got != want:
        raise Fail("%s: got %r, want %r" % (what, got, want))


def ename(e):
    return errno.errorcode.get(e, str(e)) if e else "success"


class T:
    """What a test gets: actors, ports, knobs, counters, the log."""

    port_base = 20000

    def __init__(self, module, ko):
        self.module, self.ko = module, ko
        self.actors, self.cleanups = [], []

    def actor(self, uid, **kw):
        a = Actor(uid, **kw)
        self.actors.append(a)
        return a

    def port(self):
        T.port_base += 1
        return T.port_base

    def sysctl(self, name, value):
        """Set net.ddemux.NAME (module only; restored after the test)."""
        if not self.module:
            return
        path = "%s/%s" % (SYS, name)
        old = open(path).read().strip()
        with open(path, "w") as f:
            f.write(str(value))
        self.cleanups.append(lambda: open(path, "w").write(old))

    def stats(self):
        out = {}
        for line in open(PROC + "/stats"):
            k, v = line.split()
            out[k] = int(v)
        return out

    def shares(self, cmd):
        with open(PROC + "/shares", "w") as f:
            f.write(cmd)
        self.cleanups.append(lambda: open(PROC + "/shares", "w").write("flush"))

    def klog(self):
        return subprocess.run(["dmesg"], capture_output=True,
                              text=True).stdout.splitlines()

    def klog_mark(self):
        """Mark the kernel log; klog_since() returns what follows."""
        return klog_mark()

    def klog_since(self, mark):
        return klog_since(self.klog(), mark)

    def finish(self):
        for a in self.actors:
            a.close()
        for c in reversed(self.cleanups):
            c()


def sendudp(dst, data, family=socket.AF_INET, src=None):
    s = socket.socket(family, socket.SOCK_DGRAM)
    if src:
        s.bind(src)
    s.sendto(data, dst)
    return s


TESTS = []


def test(kind):
    def deco(fn):
        TESTS.append((fn.__name__, kind, fn))
        return fn
    return deco


_marks = [0]


def klog_mark():
    """Write a unique line into the kernel log and return it.

    Counting lines does not work: once the ring buffer is full, every new
    line pushes an old one out and the count stays put."""
    _marks[0] += 1
    mark = "ddemux-test-mark %d.%d" % (os.getpid(), _marks[0])
    with open("/dev/kmsg", "w") as f:
        f.write(mark + "\n")
    return mark


def klog_since(lines, mark):
    """The lines after @mark (all of them if @mark scrolled out)."""
    if mark is None:
        return lines
    start = 0
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].endswith(mark):
            start = i + 1
            break
    return [l for l in lines[start:] if "ddemux-test-mark" not in l]


def log_has(t, before, *needles):
    """A new log line since @before containing all @needles."""
    for line in t.klog_since(before):
        if all(n in line for n in needles):
            return line
    return None


# ---- rule 2 across users: the holes of stock Linux ----------------------

def cobind_steal(t, family, victim_addr, thief_addr, dst, **opts):
    """Victim binds with SO_REUSEADDR, thief tries the same: refused, and a
    datagram to @dst reaches the victim."""
    alice, mallory = t.actor(ALICE), t.actor(MALLORY)
    expect_eq(alice(a_udp, "s", victim_addr, family, ra=True, **opts), 0,
              "victim bind")
    before = t.klog_mark() if t.module else None
    e = mallory(a_udp, "s", thief_addr, family, ra=True)
    expect_eq(ename(e), "EADDRINUSE", "thief's co-bind")
    sendudp(dst, b"for alice", family)
    got = alice(a_recv, "s")
    check(got and got[0] == b"for alice", "the victim did not get its datagram")
    if t.module:
        line = log_has(t, before, "deny bind", "uid=%d" % MALLORY,
                       "holder_uid=%d" % ALICE)
        check(line, "no log line naming both sides")
    return alice, mallory


@test("differs")
def udp4_reuseaddr_cobind(t):
    p = t.port()
    cobind_steal(t, socket.AF_INET, ("0.0.0.0", p), ("0.0.0.0", p),
                 ("127.0.0.1", p))


@test("differs")
def udp6_reuseaddr_cobind(t):
    p = t.port()
    cobind_steal(t, socket.AF_INET6, ("::", p), ("::", p), ("::1", p),
                 v6only=True)


@test("differs")
def udp_dualstack_cobind_v4_under_dual(t):
    p = t.port()
    alice, mallory = t.actor(ALICE), t.actor(MALLORY)
    expect_eq(alice(a_udp, "s", ("::", p), socket.AF_INET6, ra=True,
                    v6only=False), 0, "victim dual-stack bind")
    expect_eq(ename(mallory(a_udp, "s", ("0.0.0.0", p), ra=True)),
              "EADDRINUSE", "thief's IPv4 co-bind under a dual-stack socket")
    sendudp(("127.0.0.1", p), b"v4")
    got = alice(a_recv, "s")
    check(got and got[0] == b"v4", "IPv4 datagram did not reach the dual socket")


@test("differs")
def udp_dualstack_cobind_dual_over_v4(t):
    p = t.port()
    alice, mallory = t.actor(ALICE), t.actor(MALLORY)
    expect_eq(alice(a_udp, "s", ("0.0.0.0", p), ra=True), 0, "victim bind")
    expect_eq(ename(mallory(a_udp, "s", ("::", p), socket.AF_INET6, ra=True,
                            v6only=False)),
              "EADDRINUSE", "thief's dual-stack co-bind over IPv4")


@test("differs")
def udp_specific_shadows_wildcard(t):
    p = t.port()
    cobind_steal(t, socket.AF_INET, ("0.0.0.0", p), ("127.0.0.1", p),
                 ("127.0.0.1", p))


@test("differs")
def udp6_specific_shadows_wildcard(t):
    p = t.port()
    cobind_steal(t, socket.AF_INET6, ("::", p), ("::1", p), ("::1", p),
                 v6only=True)


@test("differs")
def udp_connected_shadows(t):
    """A socket bound to the victim's port and connected to one peer takes
    that peer's datagrams on stock Linux."""
    p, q = t.port(), t.port()
    alice, mallory = t.actor(ALICE), t.actor(MALLORY)
    expect_eq(alice(a_udp, "s", ("0.0.0.0", p), ra=True), 0, "victim bind")
    mallory(a_sock, "s", socket.AF_INET, socket.SOCK_DGRAM, ra=True)
    e = mallory(a_bind, "s", ("127.0.0.1", p))
    if not e:
        mallory(a_connect, "s", ("127.0.0.1", q))
    expect_eq(ename(e), "EADDRINUSE", "thief's bind before connect")
    peer = sendudp(("127.0.0.1", p), b"from peer", src=("127.0.0.1", q))
    peer.close()
    got = alice(a_recv, "s")
    check(got and got[0] == b"from peer", "the peer's datagram did not reach the victim")


@test("differs")
def tcp_squat_before_listen(t):
    """A daemon binds with SO_REUSEADDR and listens a moment later."""
    p = t.port()
    alice, mallory = t.actor(ALICE), t.actor(MALLORY)
    expect_eq(alice(a_tcp, "l", ("0.0.0.0", p), ra=True), 0, "daemon bind")
    e = mallory(a_tcp, "l", ("0.0.0.0", p), ra=True)
    if not e:
        mallory(a_listen, "l")  # the squatter listens first
    expect_eq(ename(e), "EADDRINUSE", "squatter's bind")
    expect_eq(alice(a_listen, "l"), 0, "daemon listen")
    c = socket.create_connection(("127.0.0.1", p), timeout=3)
    check(alice(a_accept, "l") is not None, "the daemon did not get the connection")
    c.close()


@test("differs")
def tcp6_squat_before_listen(t):
    p = t.port()
    alice, mallory = t.actor(ALICE), t.actor(MALLORY)
    expect_eq(alice(a_tcp, "l", ("::", p), socket.AF_INET6, ra=True), 0,
              "daemon bind")
    expect_eq(ename(mallory(a_tcp, "l", ("::1", p), socket.AF_INET6, ra=True)),
              "EADDRINUSE", "squatter's specific bind")
    expect_eq(ename(mallory(a_tcp, "l2", ("127.0.0.1", p), ra=True)),
              "EADDRINUSE", "squatter's IPv4 bind under the dual socket")


def ping_steal(t, family, dst):
    ident = t.port()
    alice, mallory = t.actor(ALICE), t.actor(MALLORY)
    expect_eq(alice(a_ping, "p", family, ident, ra=True), 0, "victim ping bind")
    expect_eq(ename(mallory(a_ping, "p", family, ident, ra=True)), "EADDRINUSE",
              "thief's ping socket with the same ident")
    expect_eq(alice(a_ping_send, "p", dst, 1, b"alice"), 0, "echo request")
    got = alice(a_recv, "p")
    check(got and got[0].endswith(b"alice"), "the echo reply did not reach the victim")


@test("differs")
def ping_ident_sharing(t):
    ping_steal(t, socket.AF_INET, "127.0.0.1")


@test("differs")
def ping6_ident_sharing(t):
    ping_steal(t, socket.AF_INET6, "::1")


@test("differs")
def implicit_bind_sendto(t):
    """A port picked by sendto() is protected like a bound one."""
    alice, mallory = t.actor(ALICE), t.actor(MALLORY)
    echo = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    echo.bind(("127.0.0.1", 0))
    alice(a_sock, "s", socket.AF_INET, socket.SOCK_DGRAM, ra=True)
    expect_eq(alice(a_sendto, "s", b"hi", echo.getsockname()), 0, "sendto")
    q = alice(a_name, "s")[1]
    expect_eq(ename(mallory(a_udp, "s", ("0.0.0.0", q), ra=True)), "EADDRINUSE",
              "thief's bind on the autobound port")
    data, addr = echo.recvfrom(100)
    echo.sendto(b"reply", addr)
    got = alice(a_recv, "s")
    check(got and got[0] == b"reply", "the reply did not reach the sender")
    echo.close()


@test("differs")
def implicit_bind_connect(t):
    alice, mallory = t.actor(ALICE), t.actor(MALLORY)
    alice(a_sock, "s", socket.AF_INET6, socket.SOCK_DGRAM, ra=True, v6only=False)
    expect_eq(alice(a_connect, "s", ("::1", 9)), 0, "connect")
    q = alice(a_name, "s")[1]
    expect_eq(ename(mallory(a_udp, "s", ("::", q), socket.AF_INET6, ra=True,
                            v6only=True)),
              "EADDRINUSE", "thief's bind on a port picked by connect()")


def autobind_onto(t, per_socket):
    """The holder has SO_REUSEADDR on the only ephemeral port the other
    user may pick (the range sysctl, or the per-socket IP_LOCAL_PORT_RANGE
    option); the other user's autobinding sendto(), with SO_REUSEADDR
    too, must not land on it -- the kernel would share it -- and every
    datagram sent to the holder meanwhile reaches the holder."""
    p = t.port()
    if per_socket:
        p += 25000	# the option only narrows the namespace's range
    q = t.port()	# the sender's
    alice, mallory = t.actor(ALICE), t.actor(MALLORY)
    expect_eq(alice(a_udp, "s", ("0.0.0.0", p), ra=True), 0, "holder bind")
    if per_socket:
        opt = p << 16 | p
    else:
        rng = "/proc/sys/net/ipv4/ip_local_port_range"
        old = open(rng).read().split()
        with open(rng, "w") as f:
            f.write("%d %d" % (p, p))
        t.cleanups.append(lambda: open(rng, "w").write(" ".join(old)))
    for i in range(10):
        mallory(a_sock, "s%d" % i, socket.AF_INET, socket.SOCK_DGRAM, ra=True)
        if per_socket:
            expect_eq(mallory(a_setsockopt, "s%d" % i, socket.IPPROTO_IP,
                              IP_LOCAL_PORT_RANGE, struct.pack("=I", opt)), 0,
                      "IP_LOCAL_PORT_RANGE")
        mallory.start(a_sendto, "s%d" % i, b"x", ("127.0.0.1", 9))
        sendudp(("127.0.0.1", p), b"%d" % i, src=("127.0.0.1", q)).close()
        e = mallory.wait()
        check(e in (errno.EAGAIN, errno.EADDRINUSE),
              "autobind onto the other user's port: %s" % ename(e))
    got = alice(a_recv_all, "s")
    expect_eq(sorted(got), sorted(b"%d" % i for i in range(10)),
              "datagrams that reached the holder")


@test("differs")
def autobind_avoids_other_domain(t):
    autobind_onto(t, False)


@test("differs")
def autobind_local_port_range_option(t):
    autobind_onto(t, True)


@test("differs")
def device_bound_vs_unbound(t):
    subprocess.run(["ip", "link", "add", "ddt0", "type", "dummy"], check=True)
    t.cleanups.append(lambda: subprocess.run(["ip", "link", "del", "ddt0"]))
    subprocess.run(["ip", "link", "set", "ddt0", "up"], check=True)
    p = t.port()
    alice, mallory = t.actor(ALICE), t.actor(MALLORY)
    expect_eq(alice(a_udp, "s", ("0.0.0.0", p), ra=True, dev="lo"), 0,
              "victim bind on lo")
    expect_eq(mallory(a_udp, "d", ("0.0.0.0", p), ra=True, dev="ddt0"), 0,
              "another device does not overlap")
    expect_eq(ename(mallory(a_udp, "s", ("0.0.0.0", p), ra=True)), "EADDRINUSE",
              "an unbound socket overlaps the device-bound one")


@test("differs")
def cgroup_domains(t):
    """domain=2: one user, two cgroups, SO_REUSEPORT: two domains."""
    for cg in ("ddtA", "ddtB"):
        os.makedirs("%s/%s" % (CGROOT, cg), exist_ok=True)
        t.cleanups.append(lambda cg=cg: os.rmdir("%s/%s" % (CGROOT, cg)))
    t.sysctl("domain", 2)
    p = t.port()
    a = t.actor(ALICE, cgroup="ddtA")
    b = t.actor(ALICE, cgroup="ddtB")
    expect_eq(a(a_udp, "s", ("0.0.0.0", p), rp=True), 0, "cgroup A bind")
    expect_eq(ename(b(a_udp, "s", ("0.0.0.0", p), rp=True)), "EADDRINUSE",
              "cgroup B joins A's reuseport group")
    for i in range(8):
        sendudp(("127.0.0.1", p), b"%d" % i).close()
    expect_eq(len(a(a_recv_all, "s")), 8, "datagrams received by cgroup A")
    if t.module:
        q = t.port()
        c = t.actor(MALLORY, cgroup="ddtA")
        expect_eq(a(a_udp, "q", ("0.0.0.0", q), ra=True), 0, "alice in A")
        expect_eq(c(a_udp, "q", ("0.0.0.0", q), ra=True), 0,
                  "another user in the same cgroup (domain=2)")
        t.sysctl("domain", 3)
        expect_eq(ename(t.actor(CAROL, cgroup="ddtA")(a_udp, "q", ("0.0.0.0", q),
                                                      ra=True)),
                  "EADDRINUSE", "domain=3: another user in the same cgroup")
        r = t.port()
        expect_eq(a(a_udp, "r", ("0.0.0.0", r), ra=True), 0, "alice in A")
        expect_eq(t.actor(ALICE, cgroup="ddtA")(a_udp, "r", ("0.0.0.0", r), ra=True),
                  0, "domain=3: same user, same cgroup")
        expect_eq(ename(b(a_udp, "r", ("0.0.0.0", r), ra=True)), "EADDRINUSE",
                  "domain=3: same user, other cgroup")


# ---- rule 2 at every instant: changes after bind --------------------------

def dummy_dev(t, name):
    sh("ip", "link", "add", name, "type", "dummy")
    t.cleanups.append(lambda: subprocess.run(["ip", "link", "del", name],
                                             capture_output=True))
    sh("ip", "link", "set", name, "up")


def from_peer(peer, dst, data, sport=0):
    """A datagram from the peer namespace, arriving on ddtv0."""
    peer(a_udp, "tx", (V4_PEER, sport))
    peer(a_sendto, "tx", data, dst)
    peer(a_close, "tx")


@test("differs")
def udp_disconnect_keeps_device(t):
    """The thief, on another device, disconnects (which clears the device
    and so needs no privilege to set a new one) and binds the victim's
    device: ddemux refuses the disconnect, and what arrives on the
    victim's device reaches the victim."""
    peer = veth_peer(t)
    dummy_dev(t, "ddtd0")
    p = t.port()
    alice, mallory = t.actor(ALICE), t.actor(MALLORY)
    expect_eq(alice(a_udp, "s", ("0.0.0.0", p), ra=True, dev="ddtv0"), 0,
              "victim on ddtv0")
    expect_eq(mallory(a_udp, "s", ("0.0.0.0", p), ra=True, dev="ddtd0"), 0,
              "thief on another device")
    e = mallory(a_disconnect, "s")
    if not e:
        mallory(a_setsockopt, "s", socket.SOL_SOCKET, SO_BINDTODEVICE, b"ddtv0")
    if t.module:
        expect_eq(ename(e), "EADDRINUSE", "the thief's disconnect")
    from_peer(peer, (V4_HOST, p), b"for alice")
    got = alice(a_recv, "s")
    check(got and got[0] == b"for alice",
          "the datagram on the victim's device did not reach the victim")
    check(mallory(a_recv, "s", 0.3) is None, "the thief received it")


@test("differs")
def udp_device_change_refused(t):
    """With CAP_NET_RAW a bound socket may move to another device: not
    onto another domain's set."""
    peer = veth_peer(t)
    dummy_dev(t, "ddtd0")
    p = t.port()
    alice, mallory = t.actor(ALICE), t.actor(MALLORY, caps=("net_raw",))
    expect_eq(alice(a_udp, "s", ("0.0.0.0", p), ra=True, dev="ddtv0"), 0,
              "victim on ddtv0")
    expect_eq(mallory(a_udp, "s", ("0.0.0.0", p), ra=True, dev="ddtd0"), 0,
              "thief on another device")
    e = mallory(a_setsockopt, "s", socket.SOL_SOCKET, SO_BINDTODEVICE, b"ddtv0")
    if t.module:
        expect_eq(ename(e), "EADDRINUSE", "the thief's SO_BINDTODEVICE")
        expect_eq(mallory(a_setsockopt, "s", socket.SOL_SOCKET,
                          SO_BINDTODEVICE, b"ddtd0"), 0,
                  "its own device again")
    from_peer(peer, (V4_HOST, p), b"for alice")
    got = alice(a_recv, "s")
    check(got and got[0] == b"for alice", "the victim did not get its datagram")


@test("differs")
def udp_reconnect_after_disconnect(t):
    """A wildcard socket connected elsewhere narrows to 127.0.0.1, the
    victim binds 10.99.0.1 on the same port, the thief disconnects and
    connects to the victim's peer through 10.99.0.1: a connected socket
    outscores the victim's, and takes what its peer sends."""
    peer = veth_peer(t)
    p = t.port()
    alice, mallory = t.actor(ALICE), t.actor(MALLORY)
    expect_eq(mallory(a_udp, "s", ("0.0.0.0", p), ra=True), 0, "thief wildcard")
    expect_eq(mallory(a_connect, "s", ("127.0.0.1", 9)), 0, "thief connects")
    expect_eq(alice(a_udp, "s", (V4_HOST, p), ra=True), 0,
              "victim next to the connected socket")
    e = mallory(a_disconnect, "s")
    if t.module:
        expect_eq(ename(e), "EADDRINUSE", "the thief's disconnect")
    mallory(a_connect, "s", (V4_PEER, 7))
    from_peer(peer, (V4_HOST, p), b"for alice", sport=7)
    got = alice(a_recv, "s")
    check(got and got[0] == b"for alice",
          "the peer's datagram did not reach the victim")
    if t.module:
        expect_eq(t.stats()["overlaps_observed"], 0, "overlaps_observed")


def tcp_widening(t, how):
    """The thief's wildcard socket narrows by connecting, the victim binds
    another address on the port, the thief's socket widens back to the
    wildcard (keeping the port, as bind() locked it): on stock Linux it
    then listens there and the victim cannot; with ddemux it loses the
    port instead."""
    local_addrs(t, "127.0.0.2")
    p = t.port()
    alice, mallory = t.actor(ALICE), t.actor(MALLORY)
    lsn = socket.socket()
    lsn.bind(("127.0.0.1", 0))
    lsn.listen()
    t.cleanups.append(lsn.close)
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    t.cleanups.append(closed.close)
    mallory(a_sock, "c", socket.AF_INET, socket.SOCK_STREAM, ra=True)
    expect_eq(mallory(a_bind, "c", ("0.0.0.0", p)), 0, "thief wildcard")
    s0 = t.stats() if t.module else None
    if how == "disconnect":
        expect_eq(mallory(a_connect, "c", lsn.getsockname()), 0, "thief connects")
        expect_eq(alice(a_tcp, "l", ("127.0.0.2", p), ra=True), 0,
                  "victim binds next to the connection")
        mallory(a_disconnect, "c")
    else:
        e = mallory(a_connect_nb, "c", closed.getsockname())
        check(e in (errno.EINPROGRESS, errno.ECONNREFUSED), "connect: %s" % ename(e))
        expect_eq(alice(a_tcp, "l", ("127.0.0.2", p), ra=True), 0,
                  "victim binds next to the connection")
        time.sleep(0.2)
        e = mallory(a_connect, "c", closed.getsockname())
        check(e == errno.ECONNREFUSED, "second connect: %s" % ename(e))
    mallory(a_listen, "c")
    expect_eq(alice(a_listen, "l"), 0, "victim listens")
    c = socket.create_connection(("127.0.0.2", p), timeout=3)
    check(alice(a_accept, "l") is not None, "the victim did not get the connection")
    c.close()
    if t.module:
        st = t.stats()
        expect_eq(st["ports_revoked"] - s0["ports_revoked"], 1, "ports_revoked")
        expect_eq(st["overlaps_observed"], 0, "overlaps_observed")
        check(mallory(a_name, "c")[1] != p, "the thief kept the port")


@test("differs")
def tcp_disconnect_widening(t):
    tcp_widening(t, "disconnect")


@test("differs")
def tcp_failed_connect_widening(t):
    tcp_widening(t, "failed connect")


def make_vrf(t):
    """ddtv0 (the veth to the peer) enslaved to VRF ddtvrf."""
    sh("ip", "link", "add", "ddtvrf", "type", "vrf", "table", "99")
    t.cleanups.append(lambda: subprocess.run(["ip", "link", "del", "ddtvrf"],
                                             capture_output=True))
    sh("ip", "link", "set", "ddtvrf", "up")
    sh("ip", "link", "set", "ddtv0", "master", "ddtvrf")


@test("differs")
def vrf_master_and_slave_overlap(t):
    """A socket bound to a VRF receives what arrives on its slaves, as one
    bound to the slave does: two domains there overlap."""
    peer = veth_peer(t)
    make_vrf(t)
    p = t.port()
    alice, mallory = t.actor(ALICE), t.actor(MALLORY)
    expect_eq(alice(a_udp, "s", ("0.0.0.0", p), ra=True, dev="ddtv0"), 0,
              "victim on the slave")
    e = mallory(a_udp, "s", ("0.0.0.0", p), ra=True, dev="ddtvrf")
    if t.module:
        expect_eq(ename(e), "EADDRINUSE", "thief on the VRF")
    from_peer(peer, (V4_HOST, p), b"for alice")
    got = alice(a_recv, "s")
    check(got and got[0] == b"for alice", "the victim did not get its datagram")


@test("same")
def vrf_unbound_socket_apart(t):
    """With udp_l3mdev_accept 0 (the default) an unbound socket receives
    nothing that arrives through a VRF: it does not overlap a socket bound
    to the VRF, whoever holds them."""
    peer = veth_peer(t)
    make_vrf(t)
    expect_eq(open("/proc/sys/net/ipv4/udp_l3mdev_accept").read().strip(), "0",
              "udp_l3mdev_accept")
    p = t.port()
    alice, mallory = t.actor(ALICE), t.actor(MALLORY)
    expect_eq(alice(a_udp, "s", ("0.0.0.0", p), ra=True, dev="ddtvrf"), 0,
              "alice on the VRF")
    expect_eq(mallory(a_udp, "s", ("0.0.0.0", p), ra=True), 0, "mallory unbound")
    from_peer(peer, (V4_HOST, p), b"vrf")
    got = alice(a_recv, "s")
    check(got and got[0] == b"vrf", "the VRF's datagram did not reach alice")
    sendudp(("127.0.0.1", p), b"lo").close()
    got = mallory(a_recv, "s")
    check(got and got[0] == b"lo", "the loopback datagram did not reach mallory")


@test("same")
def ping_ident_per_address(t):
    """One ident, two addresses, two users: the kernel delivers by ident
    and address, so each gets its own replies."""
    local_addrs(t, "127.0.0.2")
    ident = t.port()
    alice, mallory = t.actor(ALICE), t.actor(MALLORY)
    expect_eq(alice(a_ping, "p", socket.AF_INET, ident, ra=True,
                    host="127.0.0.1"), 0, "alice on 127.0.0.1")
    expect_eq(mallory(a_ping, "p", socket.AF_INET, ident, ra=True,
                      host="127.0.0.2"), 0, "mallory on 127.0.0.2")
    for who, dst, tag in ((alice, "127.0.0.1", b"alice"),
                          (mallory, "127.0.0.2", b"mallory")):
        expect_eq(who(a_ping_send, "p", dst, 1, tag), 0, "echo request")
        got = who(a_recv, "p")
        check(got and got[0].endswith(tag), "echo reply to " + dst)


@test("same")
def ping6_socket_is_not_dual_stack(t):
    """An ICMPv6 echo socket receives no ICMP, IPV6_V6ONLY or not: it does
    not overlap an ICMP echo socket with the same ident."""
    ident = t.port()
    alice, mallory = t.actor(ALICE), t.actor(MALLORY)
    expect_eq(alice(a_ping, "p", socket.AF_INET6, ident, ra=True, v6only=False),
              0, "alice's ICMPv6 socket")
    expect_eq(mallory(a_ping, "p", socket.AF_INET, ident, ra=True), 0,
              "mallory's ICMP socket")
    for who, dst, tag in ((alice, "::1", b"alice"), (mallory, "127.0.0.1", b"mallory")):
        expect_eq(who(a_ping_send, "p", dst, 1, tag), 0, "echo request")
        got = who(a_recv, "p")
        check(got and got[0].endswith(tag), "echo reply to " + dst)


def mcast_join(st, name, group, ifaddr):
    mreq = socket.inet_aton(group) + socket.inet_aton(ifaddr)
    return _err(st[name].setsockopt, socket.IPPROTO_IP,
                socket.IP_ADD_MEMBERSHIP, mreq)


@test("same")
def multicast_group_shared(t):
    """Every member of a group gets every datagram sent to it: two users
    on one group address take nothing from each other, nor from a
    wildcard socket on the port, which alone gets the unicast."""
    peer = veth_peer(t)
    p = t.port()
    group = "239.1.2.3"
    alice, mallory, carol = t.actor(ALICE), t.actor(MALLORY), t.actor(CAROL)
    expect_eq(alice(a_udp, "g", (group, p), ra=True), 0, "alice on the group")
    expect_eq(mallory(a_udp, "g", (group, p), ra=True), 0, "mallory on the group")
    expect_eq(carol(a_udp, "w", ("0.0.0.0", p), ra=True), 0, "carol's wildcard")
    for who in (alice, mallory):
        expect_eq(who(mcast_join, "g", group, V4_HOST), 0, "join")
    peer(a_udp, "tx", (V4_PEER, 0))
    peer(a_setsockopt, "tx", socket.IPPROTO_IP, socket.IP_MULTICAST_IF,
         socket.inet_aton(V4_PEER))
    expect_eq(peer(a_sendto, "tx", b"group", (group, p)), 0, "multicast send")
    expect_eq(peer(a_sendto, "tx", b"unicast", (V4_HOST, p)), 0, "unicast send")
    for who in (alice, mallory):
        got = who(a_recv_all, "g", 1.0)
        expect_eq(got, [b"group"], "what a group member received")
    got = carol(a_recv_all, "w", 1.0)
    check(b"unicast" in got, "the wildcard socket did not get the unicast: %r" % got)


@test("module")
def ping_preexisting_enumerated(t):
    """A ping socket that exists at insmod is in the registry: its ident
    is protected at once."""
    ident = t.port()
    alice, mallory = t.actor(ALICE), t.actor(MALLORY)
    subprocess.run(["rmmod", "ddemux"], check=True)
    try:
        expect_eq(alice(a_ping, "p", socket.AF_INET, ident, ra=True), 0,
                  "ping socket while unloaded")
    finally:
        subprocess.run(["insmod", t.ko], check=True)
    rows = [l.split() for l in open(PROC + "/sockets").read().splitlines()[1:]]
    check(any(r[0] == "ping" and r[1] == "0.0.0.0:%d" % ident and
              r[5] == str(ALICE) for r in rows), "no registry row: %s" % rows)
    expect_eq(ename(mallory(a_ping, "p", socket.AF_INET, ident, ra=True)),
              "EADDRINUSE", "the same ident, another user")


# ---- rule 3: forged replies, observed at the victim ----------------------

PEER = "ddtpeer"
V4_HOST, V4_PEER = "10.99.0.1", "10.99.0.2"
V6_HOST, V6_PEER = "fd99::1", "fd99::2"


def sh(*argv):
    subprocess.run(list(argv), check=True, capture_output=True)


def veth_peer(t):
    """A network namespace PEER behind a veth pair, IPv4 and IPv6."""
    sh("ip", "netns", "add", PEER)
    t.cleanups.append(lambda: subprocess.run(["ip", "netns", "del", PEER]))
    sh("ip", "link", "add", "ddtv0", "type", "veth", "peer", "name", "ddtv1",
       "netns", PEER)
    t.cleanups.append(lambda: subprocess.run(["ip", "link", "del", "ddtv0"],
                                             capture_output=True))
    ns = ("ip", "netns", "exec", PEER)
    for pre, dev, v4, v6 in (((), "ddtv0", V4_HOST, V6_HOST),
                             (ns, "ddtv1", V4_PEER, V6_PEER)):
        sh(*pre, "ip", "addr", "add", v4 + "/24", "dev", dev)
        sh(*pre, "ip", "-6", "addr", "add", v6 + "/64", "dev", dev, "nodad")
        sh(*pre, "ip", "link", "set", dev, "up")
    sh(*ns, "ip", "link", "set", "lo", "up")
    return t.actor(None, netns=PEER)


def local_addrs(t, *addrs):
    for a in addrs:
        v6 = ":" in a
        sh("ip", "-6" if v6 else "-4", "addr", "add", a + ("/128" if v6 else "/32"),
           "dev", "lo", *(("nodad",) if v6 else ()))
        t.cleanups.append(lambda a=a, v6=v6: subprocess.run(
            ["ip", "-6" if v6 else "-4", "addr", "del",
             a + ("/128" if v6 else "/32"), "dev", "lo"], capture_output=True))


def forged_reply(t, family, victim, thief, echo_host, spoof, opt=None, caps=()):
    """The thief, next to the victim on the same port, sends with a source
    address (IP_PKTINFO / IPV6_PKTINFO) that is the victim's: the echo's
    reply must not reach the victim."""
    p = t.port()
    alice, mallory = t.actor(ALICE), t.actor(MALLORY, caps=caps)
    echo = t.actor(None)
    expect_eq(alice(a_udp, "s", (victim, p), family), 0, "victim bind")
    mallory(a_sock, "s", family, socket.SOCK_DGRAM)
    if opt:
        expect_eq(mallory(a_setsockopt, "s", socket.IPPROTO_IP, opt, 1), 0,
                  "socket option %d" % opt)
    expect_eq(mallory(a_bind, "s", (thief, p)), 0, "thief bind elsewhere")
    expect_eq(echo(a_udp, "e", (echo_host, 0), family), 0, "echo")
    dst = echo(a_name, "e")[:2]
    echo.start(a_udp_echo, "e", 1.0)
    e = mallory(a_sendmsg_pktinfo, "s", b"x", dst, spoof)
    src = echo.wait()
    got = alice(a_recv, "s", 0.5)
    check(got is None, "the reply reached the victim: %r" % (got,))
    check(src is None, "the forged datagram left, from %r" % (src,))
    if t.module:
        expect_eq(ename(e), "EPERM", "sender's error")


@test("differs")
def egress_pktinfo_v4(t):
    local_addrs(t, "127.0.0.2", "127.0.0.3")
    forged_reply(t, socket.AF_INET, "127.0.0.2", "127.0.0.3", "127.0.0.1",
                 "127.0.0.2")


@test("differs")
def egress_pktinfo_v6(t):
    local_addrs(t, "fd98::2", "fd98::3")
    forged_reply(t, socket.AF_INET6, "fd98::2", "fd98::3", "::1", "fd98::2")


@test("differs")
def egress_freebind(t):
    """IP_FREEBIND: bound to an address not (yet) local."""
    local_addrs(t, "127.0.0.2")
    forged_reply(t, socket.AF_INET, "127.0.0.2", "10.98.0.8", "127.0.0.1",
                 "127.0.0.2", opt=IP_FREEBIND)


@test("differs")
def egress_transparent(t):
    """IP_TRANSPARENT (CAP_NET_ADMIN): any source address."""
    local_addrs(t, "127.0.0.2")
    forged_reply(t, socket.AF_INET, "127.0.0.2", "10.98.0.9", "127.0.0.1",
                 "127.0.0.2", opt=IP_TRANSPARENT, caps=("net_admin",))


@test("differs")
def egress_raw_udp(t):
    """A raw socket forges a datagram from the victim's port over a veth."""
    peer = veth_peer(t)
    p = t.port()
    alice, mallory = t.actor(ALICE), t.actor(MALLORY, caps=("net_raw",))
    expect_eq(alice(a_udp, "s", ("0.0.0.0", p)), 0, "victim")
    peer(a_udp, "e", (V4_PEER, 7))
    peer.start(a_udp_echo, "e", 1.0)
    e = mallory(a_raw_send, socket.IPPROTO_UDP, udp_hdr(p, 7, b"forged"), V4_PEER)
    src = peer.wait()
    got = alice(a_recv, "s", 0.5)
    check(src is None, "the forged datagram reached the peer from %r" % (src,))
    check(got is None, "the reply reached the victim: %r" % (got,))
    if t.module:
        expect_eq(ename(e), "EPERM", "raw sendto")


@test("differs")
def egress_raw_tcp_syn(t):
    """A SYN from the victim's listening port: its SYN-ACK would land there."""
    peer = veth_peer(t)
    p = t.port()
    alice, mallory = t.actor(ALICE), t.actor(MALLORY, caps=("net_raw",))
    expect_eq(alice(a_tcp, "l", ("0.0.0.0", p), listen=True), 0, "victim listener")
    peer(a_tcp, "l", (V4_PEER, 80), listen=True)
    peer(a_peer_setsock, "sniff", socket.SOCK_RAW, socket.IPPROTO_TCP)
    peer.start(a_sniff_tcp, "sniff", p, 0x02, 1.5)
    mallory(a_raw_send, socket.IPPROTO_TCP,
            tcp_hdr(V4_HOST, V4_PEER, p, 80, 1000, 0, 0x02), V4_PEER)
    check(peer.wait() is None, "the forged SYN reached the peer")


@test("differs")
def egress_raw_tcp_rst(t):
    """A RST with the victim's 4-tuple and the right sequence number."""
    peer = veth_peer(t)
    p = t.port()
    alice, mallory = t.actor(ALICE), t.actor(MALLORY, caps=("net_raw",))
    peer(a_tcp, "l", (V4_PEER, 80), listen=True)
    peer(a_peer_setsock, "sniff", socket.SOCK_RAW, socket.IPPROTO_TCP)
    alice(a_sock, "c", socket.AF_INET, socket.SOCK_STREAM)
    expect_eq(alice(a_bind, "c", ("0.0.0.0", p)), 0, "victim bind")
    expect_eq(alice(a_connect, "c", (V4_PEER, 80)), 0, "victim connect")
    check(peer(a_accept, "l"), "accept")
    peer.start(a_sniff_tcp, "sniff", p, 0x18)
    alice(a_send, "c", b"hello")
    seg = peer.wait()
    check(seg, "no segment seen")
    expect_eq(peer(a_tcp_recv, "l.child"), b"hello", "first data")
    seq, _, ln = seg
    mallory(a_raw_send, socket.IPPROTO_TCP,
            tcp_hdr(V4_HOST, V4_PEER, p, 80, seq + ln, 0, 0x04), V4_PEER)
    time.sleep(0.2)
    alice(a_send, "c", b"still")
    expect_eq(peer(a_tcp_recv, "l.child"), b"still", "the connection after the RST")


def raw_sctp_init(t, victim_port):
    """Mallory sends an SCTP INIT from @victim_port (None: a port nobody
    holds) over the veth to an SCTP listener in the peer, which answers
    INIT-ACK.  Alice's SCTP listener is on 0.0.0.0:@victim_port.  Sniffed
    in the peer (the INIT) and in the host (the INIT-ACK); the errno of
    mallory's sendto() and what the two sniffers saw."""
    peer = veth_peer(t)
    p = victim_port or t.port()
    alice, mallory = t.actor(ALICE), t.actor(MALLORY, caps=("net_raw",))
    host = t.actor(None)
    if victim_port:
        expect_eq(alice(a_sctp, "l", ("0.0.0.0", p), listen=True), 0,
                  "victim's SCTP listener")
    expect_eq(peer(a_sctp, "l", (V4_PEER, 80), listen=True), 0,
              "the peer's SCTP listener")
    for who in (peer, host):
        who(a_peer_setsock, "sniff", socket.SOCK_RAW, IPPROTO_SCTP)
    peer.start(a_sniff_sctp, "sniff", p, 80, SCTP_INIT, 1.5)
    host.start(a_sniff_sctp, "sniff", 80, p, SCTP_INIT_ACK, 1.5)
    e = mallory(a_raw_send, IPPROTO_SCTP, sctp_init(p, 80, 0x5eed1e55), V4_PEER)
    return e, peer.wait(), host.wait()


@test("differs")
def egress_raw_sctp_init(t):
    """An INIT from the victim's SCTP port: the INIT-ACK comes back to it."""
    p = t.port()
    e, init, ack = raw_sctp_init(t, p)
    check(init is None, "the forged INIT reached the peer (sendto: %s), %s" % (
        ename(e), "whose INIT-ACK came back to the victim's port"
        if ack == 0x5eed1e55 else "which did not answer it"))
    check(ack is None, "an INIT-ACK came back to the victim's port")
    if t.module:
        expect_eq(ename(e), "EPERM", "raw sendto")


@test("same")
def egress_raw_sctp_unowned(t):
    """The same INIT from a port nobody holds goes, and is answered."""
    e, init, ack = raw_sctp_init(t, None)
    expect_eq(ename(e), "success", "raw sendto")
    check(init is not None, "the INIT did not reach the peer")
    expect_eq(ack, 0x5eed1e55, "the INIT-ACK's verification tag")


@test("differs")
def egress_raw_icmp_echo(t):
    """An echo request with the victim ping socket's ident."""
    ident = t.port()
    alice, mallory = t.actor(ALICE), t.actor(MALLORY, caps=("net_raw",))
    expect_eq(alice(a_ping, "p", socket.AF_INET, ident), 0, "victim ping socket")
    e = mallory(a_raw_send, socket.IPPROTO_ICMP, icmp_echo(ident, 1, b"forged"),
                "127.0.0.1")
    got = alice(a_recv, "p", 0.5)
    check(got is None, "the echo reply reached the victim: %r" % (got,))
    if t.module:
        expect_eq(ename(e), "EPERM", "raw sendto")


def veth_frame(packet, tags=0):
    """An Ethernet frame from ddtv0 to ddtv1 (veth_peer) carrying the IPv4
    @packet, behind @tags 802.1Q priority tags (VLAN id 0)."""
    smac = open("/sys/class/net/ddtv0/address").read().strip()
    dmac = subprocess.run(["ip", "netns", "exec", PEER, "cat",
                           "/sys/class/net/ddtv1/address"], capture_output=True,
                          text=True).stdout.strip()
    return (bytes.fromhex(dmac.replace(":", "")) +
            bytes.fromhex(smac.replace(":", "")) +
            b"\x81\x00\x00\x00" * tags + b"\x08\x00" + packet)


def packet_forgery(t, tags=0, qdisc_bypass=False):
    """AF_PACKET on a veth: a whole frame from the victim's address and
    port, behind @tags priority tags."""
    peer = veth_peer(t)
    p = t.port()
    alice, mallory = t.actor(ALICE), t.actor(MALLORY, caps=("net_raw",))
    expect_eq(alice(a_udp, "s", ("0.0.0.0", p)), 0, "victim")
    peer(a_udp, "e", (V4_PEER, 7))
    frame = veth_frame(udp4_packet(V4_HOST, V4_PEER, p, 7, b"forged"), tags)
    peer.start(a_udp_echo, "e", 1.5)
    e = mallory(a_packet_send, "ddtv0", frame, qdisc_bypass)
    src = peer.wait()
    got = alice(a_recv, "s", 0.5)
    check(src is None, "the forged frame reached the peer from %r" % (src,))
    check(got is None, "the reply reached the victim: %r" % (got,))
    if t.module:
        expect_eq(ename(e), "ENOBUFS", "packet socket send")


@test("differs")
def egress_packet_socket(t):
    """AF_PACKET on a veth: a whole frame from the victim's address and port."""
    packet_forgery(t)


@test("differs")
def egress_raw_icmp_echo_code(t):
    """An echo request with a non-zero code: the reply copies it, and
    ping_rcv() delivers it by ident alone."""
    ident = t.port()
    alice, mallory = t.actor(ALICE), t.actor(MALLORY, caps=("net_raw",))
    expect_eq(alice(a_ping, "p", socket.AF_INET, ident), 0, "victim ping socket")
    e = mallory(a_raw_send, socket.IPPROTO_ICMP,
                icmp_echo(ident, 1, b"forged", code=7), "127.0.0.1")
    got = alice(a_recv, "p", 0.5)
    check(got is None, "the echo reply reached the victim: %r" % (got,))
    if t.module:
        expect_eq(ename(e), "EPERM", "raw sendto")


ICMP_EXT_ECHO = 42
PROBE_SYSCTL = "/proc/sys/net/ipv4/icmp_echo_enable_probe"


def set_proc(t, path, value):
    """Write a /proc/sys file, restored after the test."""
    old = open(path).read().strip()
    with open(path, "w") as f:
        f.write(str(value))
    t.cleanups.append(lambda: open(path, "w").write(old))


def icmp_probe(ident, seq, ifindex):
    """An RFC 8335 extended echo request (PROBE), L bit set, asking about
    the receiver's own interface @ifindex (interface identification
    object, C-Type 2); the extension header: version 2 and checksum."""
    ext = struct.pack("!BBHHBBI", 2 << 4, 0, 0, 8, 3, 2, ifindex)
    ext = ext[:2] + struct.pack("!H", csum(ext)) + ext[4:]
    return icmp_msg(ICMP_EXT_ECHO, 0, ident << 16 | seq << 8 | 1, ext)


@test("differs")
def egress_raw_icmp_ext_echo(t):
    """A PROBE with the victim ping socket's ident: its extended echo
    reply goes to the ping socket with that ident."""
    set_proc(t, PROBE_SYSCTL, 1)
    ident = t.port()
    alice, mallory = t.actor(ALICE), t.actor(MALLORY, caps=("net_raw",))
    expect_eq(alice(a_ping, "p", socket.AF_INET, ident), 0, "victim ping socket")
    e = mallory(a_raw_send, socket.IPPROTO_ICMP,
                icmp_probe(ident, 1, socket.if_nametoindex("lo")), "127.0.0.1")
    got = alice(a_recv, "p", 0.5)
    check(got is None, "the extended echo reply (type %s) reached the victim: "
          "%r" % (got[0][0] if isinstance(got, tuple) else "?", got))
    if t.module:
        expect_eq(ename(e), "EPERM", "raw sendto")


@test("differs")
def egress_raw_icmp6_echo_code(t):
    """An ICMPv6 echo request with a non-zero code (the kernel fills in
    the checksum of a raw ICMPv6 socket)."""
    ident = t.port()
    alice, mallory = t.actor(ALICE), t.actor(MALLORY, caps=("net_raw",))
    expect_eq(alice(a_ping, "p", socket.AF_INET6, ident), 0,
              "victim ICMPv6 ping socket")
    req = struct.pack("!BBHHH", ICMPV6_ECHO, 7, 0, ident, 1) + b"forged"
    e = mallory(a_raw_send, socket.IPPROTO_ICMPV6, req, "::1", socket.AF_INET6)
    got = alice(a_recv, "p", 0.5)
    check(got is None, "the echo reply reached the victim: %r" % (got,))
    if t.module:
        expect_eq(ename(e), "EPERM", "raw sendto")


# Fresh namespaces, for tests that change routing state.
SPLIT_HOST, SPLIT_ROUTER = "ddtsplit", "ddtrouter"
SPLIT_A = ("ddta0", "10.97.1.1", "ddta1", "10.97.1.2")
SPLIT_B = ("ddtb0", "10.97.2.1", "ddtb1", "10.97.2.2")


def netns(t, name):
    """A fresh network namespace, lo up, rp_filter 0 (deleted after the
    test, with its devices)."""
    sh("ip", "netns", "add", name)
    t.cleanups.append(lambda: subprocess.run(["ip", "netns", "del", name]))
    sh("ip", "-n", name, "link", "set", "lo", "up")
    sh("ip", "netns", "exec", name, "sysctl", "-qw",
       "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0")
    return name


def veth_link(ns1, dev1, addr1, ns2, dev2, addr2):
    """A veth pair between two namespaces, a /24 on each end."""
    sh("ip", "-n", ns1, "link", "add", dev1, "type", "veth", "peer", "name",
       dev2, "netns", ns2)
    for ns, dev, addr in ((ns1, dev1, addr1), (ns2, dev2, addr2)):
        sh("ip", "-n", ns, "addr", "add", addr + "/24", "dev", dev)
        sh("ip", "netns", "exec", ns, "sysctl", "-qw",
           "net.ipv4.conf.%s.rp_filter=0" % dev)
        sh("ip", "-n", ns, "link", "set", dev, "up")


def device_split(t):
    """A host namespace and a router namespace joined by two veth pairs,
    A and B; alice on 0.0.0.0:P bound to A, mallory on 0.0.0.0:P bound
    to B; an echo in the router on each link."""
    netns(t, SPLIT_HOST)
    netns(t, SPLIT_ROUTER)
    for d in (SPLIT_A, SPLIT_B):
        veth_link(SPLIT_HOST, d[0], d[1], SPLIT_ROUTER, d[2], d[3])
    p = t.port()
    alice = t.actor(ALICE, netns=SPLIT_HOST)
    mallory = t.actor(MALLORY, netns=SPLIT_HOST)
    router = t.actor(None, netns=SPLIT_ROUTER)
    expect_eq(alice(a_udp, "s", ("0.0.0.0", p), dev=SPLIT_A[0]), 0,
              "alice on device A")
    expect_eq(mallory(a_udp, "s", ("0.0.0.0", p), dev=SPLIT_B[0]), 0,
              "mallory on the same port, device B")
    for d in (SPLIT_A, SPLIT_B):
        expect_eq(router(a_udp, d[2], (d[3], 7)), 0, "echo on " + d[3])
    return alice, mallory, router, p


@test("differs")
def egress_device_split(t):
    """Mallory, bound to device B, sends with A's address as source
    (IP_PKTINFO): the router's reply comes back over A, to alice."""
    alice, mallory, router, p = device_split(t)
    router.start(a_udp_echo, SPLIT_B[2], 1.0)
    e = mallory(a_sendmsg_pktinfo, "s", b"forged", (SPLIT_B[3], 7), SPLIT_A[1])
    src = router.wait()
    got = alice(a_recv, "s", 0.5)
    check(got is None, "the reply reached alice over device A: %r" % (got,))
    check(src is None, "the forged datagram reached the router from %r" % (src,))
    if t.module:
        expect_eq(ename(e), "EPERM", "sendmsg")


AF_XDP, SOL_XDP = 44, 283
XDP_MMAP_OFFSETS, XDP_TX_RING, XDP_UMEM_REG = 1, 3, 4
XDP_UMEM_FILL_RING, XDP_UMEM_COMPLETION_RING = 5, 6
XDP_COPY = 1 << 1
XDP_PGOFF_TX_RING = 0x80000000
XSK_CHUNK, XSK_CHUNKS, XSK_RING = 2048, 8, 4
MSG_DONTWAIT = 0x40


def a_xsk_open(st, name):
    """socket(AF_XDP, SOCK_RAW, 0): 0 or the errno."""
    try:
        st[name] = socket.socket(AF_XDP, socket.SOCK_RAW, 0)
        return 0
    except OSError as e:
        return e.errno


def a_xsk_send(st, ifname, frame):
    """AF_XDP in copy mode: a UMEM, fill, completion and TX rings, bound to
    queue 0 of @ifname, @frame in one TX descriptor, then the sendto()
    that transmits it.  (step, errno) of the first step that fails, or
    (None, 0)."""
    e = a_xsk_open(st, "xsk")
    if e:
        return "socket", e
    s = st["xsk"]
    step = "umem"
    try:
        # struct xdp_umem_reg as of 4.18 (addr, len, chunk_size,
        # headroom): both 6.1 and 6.12 take that short form
        umem = mmap.mmap(-1, XSK_CHUNK * XSK_CHUNKS)
        st["umem"] = umem
        umem[:len(frame)] = frame
        addr = ctypes.addressof(ctypes.c_char.from_buffer(umem))
        s.setsockopt(SOL_XDP, XDP_UMEM_REG, struct.pack(
            "=QQII", addr, XSK_CHUNK * XSK_CHUNKS, XSK_CHUNK, 0))
        for step, opt in (("fill ring", XDP_UMEM_FILL_RING),
                          ("completion ring", XDP_UMEM_COMPLETION_RING),
                          ("tx ring", XDP_TX_RING)):
            s.setsockopt(SOL_XDP, opt, struct.pack("=I", XSK_RING))
        step = "mmap"
        off = struct.unpack("=16Q", s.getsockopt(SOL_XDP, XDP_MMAP_OFFSETS, 128))
        tx_prod, tx_desc = off[4], off[6]
        ring = mmap.mmap(s.fileno(), tx_desc + 16 * XSK_RING, mmap.MAP_SHARED,
                         mmap.PROT_READ | mmap.PROT_WRITE,
                         offset=XDP_PGOFF_TX_RING)
        st["ring"] = ring
    except OSError as e:
        return step, e.errno
    sxdp = struct.pack("=HHIII", AF_XDP, XDP_COPY, socket.if_nametoindex(ifname),
                       0, 0)
    if libc.bind(s.fileno(), ctypes.c_char_p(sxdp), len(sxdp)):
        return "bind", ctypes.get_errno()
    struct.pack_into("=QII", ring, tx_desc, 0, len(frame), 0)
    struct.pack_into("=I", ring, tx_prod, 1)
    if libc.sendto(s.fileno(), None, 0, MSG_DONTWAIT, None, 0) < 0:
        return "sendto", ctypes.get_errno()
    return None, 0


@test("differs")
def egress_af_xdp(t):
    """AF_XDP (CAP_NET_RAW only) on a veth: a whole frame from the victim's
    address and port, past every hook of the stack."""
    peer = veth_peer(t)
    p = t.port()
    alice, mallory = t.actor(ALICE), t.actor(MALLORY, caps=("net_raw",))
    expect_eq(alice(a_udp, "s", ("0.0.0.0", p)), 0, "victim")
    peer(a_udp, "e", (V4_PEER, 7))
    frame = veth_frame(udp4_packet(V4_HOST, V4_PEER, p, 7, b"forged"))
    peer.start(a_udp_echo, "e", 1.5)
    step, e = mallory(a_xsk_send, "ddtv0", frame)
    src = peer.wait()
    got = alice(a_recv, "s", 0.5)
    check(step in (None, "socket"), "AF_XDP %s: %s" % (step, ename(e)))
    check(src is None, "the forged frame reached the peer from %r" % (src,))
    check(got is None, "the reply reached the victim: %r" % (got,))
    if t.module:
        expect_eq((step, ename(e)), ("socket", "EPERM"), "AF_XDP socket()")


@test("differs")
def egress_packet_vlan_tags(t):
    """Three 802.1Q priority tags (VLAN id 0) before the IPv4 header: the
    receiver strips them all."""
    packet_forgery(t, tags=3)


@test("differs")
def egress_packet_qdisc_bypass(t):
    """PACKET_QDISC_BYPASS: straight to the driver, past the qdisc layer."""
    packet_forgery(t, qdisc_bypass=True)


ICMP_DEST_UNREACH, ICMP_PORT_UNREACH = 3, 3
ICMPV6_DEST_UNREACH, ICMPV6_PORT_UNREACH = 1, 4


def forged_port_unreach(family, sport, dport):
    """A port unreachable error quoting the UDP datagram host:@sport ->
    peer:@dport, sent to the host, and where to send it."""
    u = udp_hdr(sport, dport, b"")
    if family == socket.AF_INET:
        quote = ipv4_hdr(V4_HOST, V4_PEER, socket.IPPROTO_UDP, len(u)) + u
        return (socket.IPPROTO_ICMP,
                icmp_msg(ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0, quote), V4_HOST)
    quote = ipv6_hdr(V6_HOST, V6_PEER, socket.IPPROTO_UDP, len(u)) + u
    msg = struct.pack("!BBHI", ICMPV6_DEST_UNREACH, ICMPV6_PORT_UNREACH, 0, 0)
    return socket.IPPROTO_ICMPV6, msg + quote, V6_HOST


def forged_icmp_error(t, peer, family, own):
    """Mallory forges a port unreachable quoting a connected UDP flow to
    the peer's echo, alice's (or, if @own, her own); the error sets the
    socket's sk_err, and its owner's next recv() fails."""
    p = t.port()
    any_, far = (("0.0.0.0", V4_PEER) if family == socket.AF_INET else
                 ("::", V6_PEER))
    alice, mallory = t.actor(ALICE), t.actor(MALLORY, caps=("net_raw",))
    victim = mallory if own else alice
    expect_eq(victim(a_udp, "s", (any_, p), family), 0, "bind")
    expect_eq(victim(a_connect, "s", (far, 7)), 0, "connect to the echo")
    peer(a_udp, "e", (far, 7), family)
    proto, msg, dst = forged_port_unreach(family, p, 7)
    e = mallory(a_raw_send, proto, msg, dst, family)
    got = victim(a_recv, "s", 0.5)
    if own:
        expect_eq(ename(e), "success", "raw sendto")
        expect_eq(ename(got), "ECONNREFUSED", "her socket's error")
        return
    check(got is None, "the forged error reached the victim: %s" %
          (ename(got) if isinstance(got, int) else repr(got)))
    peer.start(a_udp_echo, "e")
    expect_eq(alice(a_send, "s", b"hi"), 0, "send to the echo")
    check(peer.wait(), "the echo got nothing")
    got = alice(a_recv, "s")
    check(isinstance(got, tuple) and got[0] == b"echo:hi",
          "the echo's reply: %r" % (got,))
    if t.module:
        expect_eq(ename(e), "EPERM", "raw sendto")


@test("differs")
def egress_forged_icmp_error(t):
    """A port unreachable to the host quoting alice's connected flow."""
    forged_icmp_error(t, veth_peer(t), socket.AF_INET, False)


@test("differs")
def egress_forged_icmp6_error(t):
    """The same in ICMPv6, quoting a UDPv6 flow."""
    forged_icmp_error(t, veth_peer(t), socket.AF_INET6, False)


FOREIGN_NS, FOREIGN_PEER = "ddtforeign", "ddtfpeer"
V4_FOREIGN_HOST, V4_FOREIGN_PEER = "10.95.0.1", "10.95.0.2"
FOREIGN_NET, FOREIGN_SRC = "192.0.2.0/24", "192.0.2.5"


def foreign_pair(t, route_back):
    """A fresh namespace FOREIGN_NS and a peer namespace behind a veth; the
    peer routes FOREIGN_NET back to FOREIGN_NS if @route_back, else onto
    its link, where no one answers for it.  The peer's actor, with an
    echo on V4_FOREIGN_PEER:7."""
    netns(t, FOREIGN_NS)
    netns(t, FOREIGN_PEER)
    veth_link(FOREIGN_NS, "ddtf0", V4_FOREIGN_HOST,
              FOREIGN_PEER, "ddtf1", V4_FOREIGN_PEER)
    sh("ip", "-n", FOREIGN_PEER, "route", "add", FOREIGN_NET,
       *(("via", V4_FOREIGN_HOST) if route_back else ("dev", "ddtf1")))
    peer = t.actor(None, netns=FOREIGN_PEER)
    expect_eq(peer(a_udp, "e", (V4_FOREIGN_PEER, 7)), 0, "echo")
    return peer


@test("differs")
def egress_foreign_source_policy_route(t):
    """AnyIP through a policy route: FOREIGN_NET is local in table 100 only;
    a datagram forged from it comes back to alice's wildcard socket."""
    peer = foreign_pair(t, True)
    sh("ip", "-n", FOREIGN_NS, "rule", "add", "to", FOREIGN_NET, "lookup", "100")
    sh("ip", "-n", FOREIGN_NS, "route", "add", "local", FOREIGN_NET, "dev", "lo",
       "table", "100")
    p = t.port()
    alice = t.actor(ALICE, netns=FOREIGN_NS)
    mallory = t.actor(MALLORY, netns=FOREIGN_NS, caps=("net_raw",))
    expect_eq(alice(a_udp, "s", ("0.0.0.0", p)), 0, "victim")
    peer.start(a_udp_echo, "e", 1.0)
    e = mallory(a_raw_send, socket.IPPROTO_RAW,
                udp4_packet(FOREIGN_SRC, V4_FOREIGN_PEER, p, 7, b"forged"),
                V4_FOREIGN_PEER)
    src = peer.wait()
    got = alice(a_recv, "s", 0.5)
    check(got is None, "the reply reached the victim: %r" % (got,))
    check(src is None, "the forged datagram reached the peer from %r" % (src,))
    if t.module:
        expect_eq(ename(e), "EPERM", "raw sendto")


CROSS_HOST, CROSS_CONT = "ddtcrossh", "ddtcrossc"
V4_CROSS_HOST, V4_CROSS_CONT = "10.96.0.1", "10.96.0.2"


def cross_netns(t):
    """A host namespace and a container namespace joined by a veth; alice
    in the container, mallory and an echo in the host."""
    netns(t, CROSS_HOST)
    netns(t, CROSS_CONT)
    veth_link(CROSS_HOST, "ddtc0", V4_CROSS_HOST, CROSS_CONT, "ddtc1",
              V4_CROSS_CONT)
    alice = t.actor(ALICE, netns=CROSS_CONT)
    mallory = t.actor(MALLORY, netns=CROSS_HOST, caps=("net_raw",))
    echo = t.actor(None, netns=CROSS_HOST)
    expect_eq(echo(a_udp, "e", (V4_CROSS_HOST, 7)), 0, "echo")
    return alice, mallory, echo


@test("differs")
def egress_cross_netns(t):
    """From the host namespace, a datagram forged from the container's
    address and alice's port to an echo of the host: the reply is routed
    into the container, to alice."""
    alice, mallory, echo = cross_netns(t)
    p = t.port()
    expect_eq(alice(a_udp, "s", ("0.0.0.0", p)), 0, "alice in the container")
    before = t.klog_mark() if t.module else None
    echo.start(a_udp_echo, "e", 1.0)
    e = mallory(a_raw_send, socket.IPPROTO_RAW,
                udp4_packet(V4_CROSS_CONT, V4_CROSS_HOST, p, 7, b"forged"),
                V4_CROSS_HOST)
    src = echo.wait()
    got = alice(a_recv, "s", 0.5)
    check(got is None, "the reply reached alice in the container: %r" % (got,))
    check(src is None, "the forged datagram reached the echo from %r" % (src,))
    if t.module:
        expect_eq(ename(e), "EPERM", "raw sendto")
        check(log_has(t, before, "deny egress", "uid=%d" % MALLORY,
                      "holder_uid=%d" % ALICE, "holder_netns="),
              "no deny egress line naming the holder's namespace")


# ---- rule 3: what must keep flowing ---------------------------------------

def udp_roundtrip(client, server, family, server_host):
    server(a_udp, "e", (server_host, 0), family)
    client(a_udp, "c", ("::" if family == socket.AF_INET6 else "0.0.0.0", 0), family)
    dst = server(a_name, "e")[:2]
    server.start(a_udp_echo, "e")
    expect_eq(client(a_sendto, "c", b"hi", dst), 0, "sendto")
    check(server.wait(), "udp to %s not received" % server_host)
    got = client(a_recv, "c")
    check(got and got[0] == b"echo:hi", "udp reply from %s: %r" % (server_host, got))
    client(a_close, "c")
    server(a_close, "e")


def tcp_roundtrip(client, server, family, server_host, dev=None):
    server(a_tcp, "l", (server_host, 0), family, listen=True)
    client(a_sock, "c", family, socket.SOCK_STREAM, dev=dev)
    expect_eq(client(a_connect, "c", server(a_name, "l")[:2]), 0,
              "tcp connect to " + server_host)
    check(server(a_accept, "l"), "accept")
    client(a_send, "c", b"ping")
    expect_eq(server(a_tcp_recv, "l.child"), b"ping", "tcp data")
    server(a_send, "l.child", b"pong")
    expect_eq(client(a_tcp_recv, "c"), b"pong", "tcp reply")
    for n in ("l.child", "l"):
        server(a_close, n)
    client(a_close, "c")


@test("same")
def egress_traffic_flows(t):
    """UDP, TCP and ping, IPv4 and IPv6, over loopback and a veth."""
    peer = veth_peer(t)
    alice, local = t.actor(ALICE), t.actor(CAROL)
    for family, lo, far in ((socket.AF_INET, "127.0.0.1", V4_PEER),
                            (socket.AF_INET6, "::1", V6_PEER)):
        for server, host in ((local, lo), (peer, far)):
            udp_roundtrip(alice, server, family, host)
            tcp_roundtrip(alice, server, family, host)
        for host in (lo, far):
            ident = t.port()
            expect_eq(alice(a_ping, "p", family, ident), 0, "ping socket")
            expect_eq(alice(a_ping_send, "p", host, 1, b"x"), 0, "echo request")
            got = alice(a_recv, "p")
            check(got and got[0].endswith(b"x"), "echo reply from " + host)
            alice(a_close, "p")


@test("same")
def egress_pktinfo_own_address(t):
    """IP_PKTINFO choosing an address the socket's own set contains."""
    local_addrs(t, "127.0.0.2")
    alice, echo = t.actor(ALICE), t.actor(CAROL)
    echo(a_udp, "e", ("127.0.0.1", 0))
    dst = echo(a_name, "e")
    for bound in ("0.0.0.0", "127.0.0.2"):
        p = t.port()
        expect_eq(alice(a_udp, "s", (bound, p)), 0, "bind " + bound)
        echo.start(a_udp_echo, "e")
        expect_eq(alice(a_sendmsg_pktinfo, "s", b"x", dst, "127.0.0.2"), 0,
                  "sendmsg")
        expect_eq(echo.wait(), ("127.0.0.2", p), "source seen by the echo")
        got = alice(a_recv, "s")
        check(got and got[0] == b"echo:x", "reply")
        alice(a_close, "s")


@test("same")
def egress_raw_to_unowned(t):
    """Raw packets whose replies nobody else would get: traceroute, ping."""
    peer = veth_peer(t)
    mallory = t.actor(MALLORY, caps=("net_raw",))
    peer(a_udp, "e", (V4_PEER, 7))
    peer.start(a_udp_echo, "e")
    expect_eq(mallory(a_raw_send, socket.IPPROTO_UDP,
                      udp_hdr(t.port(), 7, b"raw"), V4_PEER), 0, "raw udp")
    check(peer.wait(), "raw datagram from a port nobody holds")
    expect_eq(mallory(a_raw_send, socket.IPPROTO_ICMP,
                      icmp_echo(t.port(), 1, b"raw"), V4_PEER), 0, "raw echo")
    # traceroute-style probes: a UDP datagram to a closed high port comes
    # back as an ICMP error; a TCP SYN to a closed port as the kernel's RST
    alice = t.actor(ALICE)
    alice(a_sock, "u", socket.AF_INET, socket.SOCK_DGRAM)
    alice(a_connect, "u", (V4_PEER, 33434))
    alice(a_send, "u", b"probe")
    expect_eq(alice(a_recv, "u"), errno.ECONNREFUSED, "port unreachable")
    alice(a_sock, "t", socket.AF_INET6, socket.SOCK_STREAM)
    expect_eq(ename(alice(a_connect, "t", (V6_PEER, 9))), "ECONNREFUSED",
              "the kernel's RST")


@test("same")
def egress_device_split_flows(t):
    """Alice and mallory share a port on two devices: each one's UDP and
    TCP with the router over its own device."""
    alice, mallory, router, p = device_split(t)
    for who, d in ((alice, SPLIT_A), (mallory, SPLIT_B)):
        router.start(a_udp_echo, d[2])
        expect_eq(who(a_sendto, "s", b"hi", (d[3], 7)), 0, "sendto " + d[3])
        expect_eq(router.wait(), (d[1], p), "source seen by the echo")
        got = who(a_recv, "s")
        check(got and got[0] == b"echo:hi", "udp reply from %s: %r" % (d[3], got))
        tcp_roundtrip(who, router, socket.AF_INET, d[3], dev=d[0])


@test("same")
def egress_icmp_error_own_flow(t):
    """A port unreachable quoting the sender's own flow: hers to forge."""
    peer = veth_peer(t)
    for family in (socket.AF_INET, socket.AF_INET6):
        forged_icmp_error(t, peer, family, True)


@test("same")
def egress_raw_foreign_source(t):
    """A datagram forged from alice's port and an address local nowhere:
    its reply goes to another host, so it goes (in a namespace without
    ip rules)."""
    peer = foreign_pair(t, False)
    p = t.port()
    alice = t.actor(ALICE, netns=FOREIGN_NS)
    mallory = t.actor(MALLORY, netns=FOREIGN_NS, caps=("net_raw",))
    expect_eq(alice(a_udp, "s", ("0.0.0.0", p)), 0, "alice")
    peer.start(a_udp_echo, "e")
    e = mallory(a_raw_send, socket.IPPROTO_RAW,
                udp4_packet(FOREIGN_SRC, V4_FOREIGN_PEER, p, 7, b"raw"),
                V4_FOREIGN_PEER)
    expect_eq(ename(e), "success", "raw sendto")
    expect_eq(peer.wait(), (FOREIGN_SRC, p), "source seen by the peer")
    check(alice(a_recv, "s", 0.3) is None, "alice received a reply")


@test("same")
def egress_transparent_proxy_flows(t):
    """TPROXY-style: an IP_TRANSPARENT socket bound to a foreign address
    sends from it."""
    peer = foreign_pair(t, False)
    q = t.port()
    mallory = t.actor(MALLORY, netns=FOREIGN_NS, caps=("net_admin", "net_raw"))
    mallory(a_sock, "s", socket.AF_INET, socket.SOCK_DGRAM)
    expect_eq(mallory(a_setsockopt, "s", socket.IPPROTO_IP, IP_TRANSPARENT, 1),
              0, "IP_TRANSPARENT")
    expect_eq(mallory(a_bind, "s", ("192.0.2.7", q)), 0,
              "bind to a foreign address")
    peer.start(a_udp_echo, "e")
    expect_eq(mallory(a_sendto, "s", b"tproxy", (V4_FOREIGN_PEER, 7)), 0,
              "sendto")
    expect_eq(peer.wait(), ("192.0.2.7", q), "source seen by the peer")


@test("same")
def egress_cross_netns_unowned(t):
    """From the host namespace, the container's address as source but a
    port nobody in the container holds: the datagram goes."""
    alice, mallory, echo = cross_netns(t)
    p, q = t.port(), t.port()
    expect_eq(alice(a_udp, "s", ("0.0.0.0", p)), 0, "alice in the container")
    echo.start(a_udp_echo, "e")
    e = mallory(a_raw_send, socket.IPPROTO_RAW,
                udp4_packet(V4_CROSS_CONT, V4_CROSS_HOST, q, 7, b"raw"),
                V4_CROSS_HOST)
    expect_eq(ename(e), "success", "raw sendto")
    expect_eq(echo.wait(), (V4_CROSS_CONT, q), "source seen by the echo")
    check(alice(a_recv, "s", 0.3) is None, "alice received a reply")


@test("module")
def egress_modes_and_reports(t):
    ident = t.port()
    alice, mallory = t.actor(ALICE), t.actor(MALLORY, caps=("net_raw",))
    alice(a_ping, "p", socket.AF_INET, ident)

    def forge():
        return mallory(a_raw_send, socket.IPPROTO_ICMP,
                       icmp_echo(ident, 1, b"forged"), "127.0.0.1")

    t.sysctl("egress", 0)
    s0 = t.stats()
    expect_eq(forge(), 0, "rule 3 off")
    check(alice(a_recv, "p", 1.0), "rule 3 off: the reply arrives")
    expect_eq(t.stats()["egress_checked"], s0["egress_checked"], "no check when off")
    t.sysctl("egress", 1)
    t.sysctl("mode", 1)
    before = t.klog_mark()
    expect_eq(forge(), 0, "audit mode")
    check(alice(a_recv, "p", 1.0), "audit mode: the reply arrives")
    expect_eq(t.stats()["egress_audited"] - s0["egress_audited"], 1, "egress_audited")
    check(log_has(t, before, "audit egress", "via=raw", "uid=%d" % MALLORY,
                  "holder_uid=%d" % ALICE, "pkt=\"ping "), "audit egress line")
    t.sysctl("mode", 2)
    before = t.klog_mark()
    expect_eq(ename(forge()), "EPERM", "enforce mode")
    check(alice(a_recv, "p", 0.5) is None, "enforce mode: no reply")
    expect_eq(t.stats()["egress_dropped"] - s0["egress_dropped"], 1, "egress_dropped")
    check(log_has(t, before, "deny egress", "via=raw", "holder_uid=%d" % ALICE),
          "deny egress line")


@test("module")
def egress_af_xdp_admin(t):
    """AF_XDP sockets need CAP_NET_ADMIN over the namespace's owner: in
    each mode, who may open one, what is counted and logged."""
    s0 = t.stats()
    for k in ("xsk_refused", "xsk_audited", "xsk_at_load"):
        check(k in s0, "no %s in the stats" % k)
    t.sysctl("mode", 2)
    expect_eq(t.actor(None)(a_xsk_open, "x"), 0, "root")
    expect_eq(t.actor(MALLORY, caps=("net_admin", "net_raw"))(a_xsk_open, "x"),
              0, "CAP_NET_ADMIN")
    expect_eq(t.actor(ALICE, userns=True)(a_xsk_open, "x"), 0,
              "container root in its own namespace")
    mallory = t.actor(MALLORY, caps=("net_raw",))
    expect_eq(t.stats()["xsk_refused"], s0["xsk_refused"], "xsk_refused")
    before = t.klog_mark()
    expect_eq(ename(mallory(a_xsk_open, "a")), "EPERM", "enforce mode")
    expect_eq(t.stats()["xsk_refused"] - s0["xsk_refused"], 1, "xsk_refused")
    check(log_has(t, before, "deny af_xdp", "uid=%d" % MALLORY),
          "deny af_xdp line")
    t.sysctl("mode", 1)
    before = t.klog_mark()
    expect_eq(mallory(a_xsk_open, "b"), 0, "audit mode")
    expect_eq(t.stats()["xsk_audited"] - s0["xsk_audited"], 1, "xsk_audited")
    check(log_has(t, before, "audit af_xdp"), "audit af_xdp line")
    t.sysctl("mode", 2)
    t.sysctl("egress", 0)
    before = t.klog_mark()
    expect_eq(mallory(a_xsk_open, "c"), 0, "rule 3 off")
    st = t.stats()
    expect_eq((st["xsk_refused"] - s0["xsk_refused"],
               st["xsk_audited"] - s0["xsk_audited"]), (1, 1),
              "xsk_refused and xsk_audited with rule 3 off")
    check(not log_has(t, before, "af_xdp"), "a log line with rule 3 off")


# ---- single-domain behaviour: exactly stock ------------------------------

@test("same")
def same_user_udp_reuseaddr(t):
    p = t.port()
    alice = t.actor(ALICE)
    expect_eq(alice(a_udp, "a", ("0.0.0.0", p), ra=True), 0, "first")
    expect_eq(alice(a_udp, "b", ("0.0.0.0", p), ra=True), 0, "same user co-bind")
    expect_eq(alice(a_udp, "c", ("127.0.0.1", p), ra=True), 0, "same user specific")
    expect_eq(ename(alice(a_udp, "d", ("0.0.0.0", p))), "EADDRINUSE",
              "without SO_REUSEADDR the kernel still refuses")


@test("same")
def same_user_reuseport_group(t):
    p = t.port()
    alice, other = t.actor(ALICE), t.actor(ALICE)
    expect_eq(alice(a_udp, "a", ("0.0.0.0", p), rp=True), 0, "first")
    expect_eq(other(a_udp, "a", ("0.0.0.0", p), rp=True), 0,
              "second process of the same user")
    for i in range(16):
        sendudp(("127.0.0.1", p), b"%d" % i, src=("127.0.0.1", 0)).close()
    n1, n2 = len(alice(a_recv_all, "a")), len(other(a_recv_all, "a"))
    expect_eq(n1 + n2, 16, "datagrams received by the group")


@test("same")
def same_user_tcp(t):
    p = t.port()
    alice = t.actor(ALICE)
    expect_eq(alice(a_tcp, "l", ("::", p), socket.AF_INET6, listen=True, rp=True),
              0, "listener")
    expect_eq(alice(a_tcp, "l2", ("::", p), socket.AF_INET6, listen=True, rp=True),
              0, "second reuseport listener")
    for host in ("127.0.0.1", "::1"):
        c = socket.create_connection((host, p), timeout=3)
        check(alice(a_accept, "l", 0.5) or alice(a_accept, "l2", 0.5),
              "connection over " + host + " not accepted")
        c.close()
    alice(a_sock, "c", socket.AF_INET, socket.SOCK_STREAM)
    expect_eq(alice(a_connect, "c", ("127.0.0.1", p)), 0, "connect to itself")


@test("same")
def cross_user_stock_refusals_unchanged(t):
    """What stock Linux refuses across users it still refuses, same errno."""
    p, q = t.port(), t.port()
    alice, mallory = t.actor(ALICE), t.actor(MALLORY)
    expect_eq(alice(a_tcp, "l", ("0.0.0.0", p), listen=True), 0, "listener")
    expect_eq(ename(mallory(a_tcp, "l", ("0.0.0.0", p))), "EADDRINUSE",
              "bind over a listener")
    expect_eq(alice(a_udp, "u", ("0.0.0.0", q)), 0, "exclusive UDP")
    expect_eq(ename(mallory(a_udp, "u", ("127.0.0.1", q), ra=True)), "EADDRINUSE",
              "bind over an exclusive UDP socket")


@test("same")
def cross_user_disjoint_addresses(t):
    """Sets that do not overlap never conflict, whoever holds them."""
    p = t.port()
    alice, mallory = t.actor(ALICE), t.actor(MALLORY)
    expect_eq(alice(a_udp, "s", ("127.0.0.1", p), ra=True), 0, "alice")
    expect_eq(mallory(a_udp, "s", ("127.0.0.2", p), ra=True), 0, "mallory elsewhere")
    expect_eq(mallory(a_udp, "s6", ("::", p), socket.AF_INET6, v6only=True), 0,
              "mallory on IPv6 only")
    sendudp(("127.0.0.2", p), b"m")
    got = mallory(a_recv, "s")
    check(got and got[0] == b"m", "mallory's own traffic")


# ---- SCTP: sets of several addresses --------------------------------------

SCTP_KINDS = {socket.SOCK_STREAM: "one-to-one", socket.SOCK_SEQPACKET: "one-to-many"}


def sctp_squat(t, family, kind, any_, dst):
    """Alice binds with SO_REUSEADDR and listens a moment later; mallory
    binds the same with SO_REUSEADDR (the SCTP stack shares a port among
    such sockets while none of them listens) and listens first: the
    client's association goes to whoever listens."""
    p = t.port()
    alice, mallory, carol = t.actor(ALICE), t.actor(MALLORY), t.actor(CAROL)
    expect_eq(alice(a_sctp, "l", (any_, p), family, kind, ra=True), 0,
              "daemon bind")
    before = t.klog_mark() if t.module else None
    e = mallory(a_sctp, "l", (any_, p), family, kind, ra=True)
    if not e:
        mallory(a_listen, "l")  # the squatter listens first
    el = alice(a_listen, "l")
    got = sctp_who_gets(carol, (dst, p), family, kind,
                        {"alice": alice, "mallory": mallory})
    check("mallory" not in got,
          "the squatter (uid %d) got the client's %s association; the "
          "daemon's listen: %s" % (MALLORY, SCTP_KINDS[kind], ename(el)))
    expect_eq(got, ["alice"], "who got the client's association")
    expect_eq(ename(e), "EADDRINUSE", "squatter's bind")
    expect_eq(el, 0, "daemon listen")
    if t.module:
        check(log_has(t, before, "deny bind", "uid=%d" % MALLORY,
                      "holder_uid=%d" % ALICE, 'set="sctp'),
              "no deny bind line naming both sides and the sctp set")


@test("differs")
def sctp_reuseaddr_cobind(t):
    sctp_squat(t, socket.AF_INET, socket.SOCK_STREAM, "0.0.0.0", "127.0.0.1")


@test("differs")
def sctp6_reuseaddr_cobind(t):
    """IPv6, one-to-many: the client's first message goes to the squatter."""
    sctp_squat(t, socket.AF_INET6, socket.SOCK_SEQPACKET, "::", "::1")


@test("differs")
def sctp_bindx_add_overlap(t):
    """Mallory binds another address of the port, then adds alice's with
    sctp_bindx(): on stock Linux her set then covers alice's address, and
    listening first she gets its associations."""
    local_addrs(t, "127.0.0.2", "127.0.0.3")
    p = t.port()
    alice, mallory, carol = t.actor(ALICE), t.actor(MALLORY), t.actor(CAROL)
    expect_eq(alice(a_sctp, "l", ("127.0.0.2", p), ra=True), 0, "alice's bind")
    expect_eq(mallory(a_sctp, "l", ("127.0.0.3", p), ra=True), 0,
              "mallory on another address of the port")
    before = t.klog_mark() if t.module else None
    e = mallory(a_bindx, "l", [("127.0.0.2", p)])
    expect_eq(mallory(a_listen, "l"), 0, "mallory listens")
    el = alice(a_listen, "l")
    holders = {"alice": alice, "mallory": mallory}
    got = sctp_who_gets(carol, ("127.0.0.2", p), socket.AF_INET,
                        socket.SOCK_STREAM, holders)
    check("mallory" not in got,
          "mallory (uid %d) got the association to alice's 127.0.0.2:%d; "
          "alice's listen: %s" % (MALLORY, p, ename(el)))
    expect_eq(got, ["alice"], "who got the association to 127.0.0.2")
    expect_eq(ename(e), "EADDRINUSE", "mallory's bindx add of alice's address")
    expect_eq(el, 0, "alice's listen")
    got = sctp_who_gets(carol, ("127.0.0.3", p), socket.AF_INET,
                        socket.SOCK_STREAM, holders)
    expect_eq(got, ["mallory"], "who got the association to 127.0.0.3")
    if t.module:
        check(log_has(t, before, "deny bindx", "uid=%d" % MALLORY,
                      "holder_uid=%d" % ALICE, 'set="sctp'),
              "no deny bindx line naming both sides and the sctp set")


@test("same")
def sctp_multihome_flows(t):
    """A multi-homed one-to-one server (bind, then sctp_bindx add and
    remove), a one-to-many server, IPv6, and autobind on connect(),
    sendto() and listen(): associations and data both ways."""
    local_addrs(t, "127.0.0.2", "127.0.0.3")
    p = t.port()
    alice, carol = t.actor(ALICE), t.actor(CAROL)
    expect_eq(alice(a_sctp, "l", ("127.0.0.2", p)), 0, "bind")
    expect_eq(alice(a_bindx, "l", [("127.0.0.3", p)]), 0, "bindx add")
    expect_eq(alice(a_listen, "l"), 0, "listen")
    for dst in ("127.0.0.3", "127.0.0.2"):
        carol(a_sctp, "c")
        sctp_roundtrip(carol, alice, socket.AF_INET, socket.SOCK_STREAM, (dst, p))
        check(carol(a_name, "c")[1], "the client's autobound port")
    expect_eq(alice(a_bindx, "l", [("127.0.0.2", p)], False), 0, "bindx remove")
    # the association made to 127.0.0.2 before the remove goes on
    expect_eq(carol(a_send, "c", b"again"), 0, "send")
    expect_eq(alice(a_tcp_recv, "l.child"), b"again", "the existing association")
    carol(a_sctp, "r")
    expect_eq(ename(carol(a_sctp_connect, "r", ("127.0.0.2", p))), "ECONNREFUSED",
              "connect to the removed address")
    carol(a_sctp, "c")
    sctp_roundtrip(carol, alice, socket.AF_INET, socket.SOCK_STREAM,
                   ("127.0.0.3", p))
    alice(a_close, "l")
    # one-to-many, IPv4 and IPv6: the client's sendto() autobinds
    for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        q = t.port()
        expect_eq(alice(a_sctp, "l", (host, q), family, socket.SOCK_SEQPACKET,
                        listen=True), 0, "one-to-many listener on " + host)
        carol(a_sctp, "c", None, family, socket.SOCK_SEQPACKET)
        sctp_roundtrip(carol, alice, family, socket.SOCK_SEQPACKET, (host, q))
        check(carol(a_name, "c")[1], "the client's autobound port")
        alice(a_close, "l")
    # IPv6 one-to-one on an autobound listener
    expect_eq(alice(a_sctp, "l", None, socket.AF_INET6, listen=True), 0,
              "listen() on an unbound socket")
    r = alice(a_name, "l")[1]
    check(r, "the listener's autobound port")
    carol(a_sctp, "c", None, socket.AF_INET6)
    sctp_roundtrip(carol, alice, socket.AF_INET6, socket.SOCK_STREAM, ("::1", r))


@test("same")
def sctp_same_user_reuse(t):
    """Two processes of one user share a port with SO_REUSEADDR, as the
    SCTP stack allows: one listens, the other connects out from it."""
    p, q = t.port(), t.port()
    alice, other, carol = t.actor(ALICE), t.actor(ALICE), t.actor(CAROL)
    expect_eq(alice(a_sctp, "l", ("0.0.0.0", p), ra=True), 0, "first")
    expect_eq(other(a_sctp, "c", ("0.0.0.0", p), ra=True), 0,
              "second process of the same user")
    expect_eq(alice(a_listen, "l"), 0, "the first listens")
    expect_eq(ename(other(a_sctp, "l2", ("0.0.0.0", p), ra=True, listen=True)),
              "EADDRINUSE", "a second listener (the SCTP stack refuses it)")
    carol(a_sctp, "c")
    sctp_roundtrip(carol, alice, socket.AF_INET, socket.SOCK_STREAM,
                   ("127.0.0.1", p))
    expect_eq(carol(a_sctp, "l", ("127.0.0.1", q), listen=True), 0,
              "carol's server")
    sctp_roundtrip(other, carol, socket.AF_INET, socket.SOCK_STREAM,
                   ("127.0.0.1", q))
    expect_eq(other(a_name, "c")[1], p, "the outgoing association's port")


SCTP_SOCKOPT_PEELOFF, SCTP_GET_ASSOC_ID_LIST = 102, 29


def a_sctp_peeloff(st, name, newname):
    """Peel the first association of one-to-many socket @name off into a
    socket of its own, kept as @newname; 0 or the errno."""
    s = st[name]
    try:
        ids = s.getsockopt(SOL_SCTP, SCTP_GET_ASSOC_ID_LIST, 4 + 4 * 8)
    except OSError as e:
        return e.errno
    if not struct.unpack_from("=I", ids)[0]:
        return errno.ENOENT
    # in and out through one buffer, which socket.getsockopt() cannot do
    arg = ctypes.create_string_buffer(
        struct.pack("=Ii", struct.unpack_from("=I", ids, 4)[0], 0))
    n = ctypes.c_uint(8)
    # the kernel returns the new descriptor, and writes it to the buffer
    if libc.getsockopt(s.fileno(), SOL_SCTP, SCTP_SOCKOPT_PEELOFF, arg,
                       ctypes.byref(n)) < 0:
        return ctypes.get_errno()
    st[newname] = socket.socket(fileno=struct.unpack("=Ii", arg.raw[:8])[1])
    return 0


@test("differs")
def sctp_peeloff_keeps_port(t):
    """An association peeled off a one-to-many socket keeps its port when
    the socket it came from closes: another user cannot then take the
    port from under it (on stock, with SO_REUSEADDR on both, and the
    peeled-off socket not listening, the SCTP stack lets her, and her
    listener gets the port's new associations)."""
    p = t.port()
    alice, mallory, carol = t.actor(ALICE), t.actor(MALLORY), t.actor(CAROL)
    expect_eq(alice(a_sctp, "l", ("0.0.0.0", p), kind=socket.SOCK_SEQPACKET,
                    ra=True, listen=True), 0, "alice's one-to-many server")
    carol(a_sctp, "c", None, socket.AF_INET, socket.SOCK_SEQPACKET)
    expect_eq(carol(a_sendto, "c", b"hello", ("127.0.0.1", p)), 0, "carol's message")
    got = alice(a_recv, "l")
    check(isinstance(got, tuple) and got[0] == b"hello", "alice's message: %r" % (got,))
    expect_eq(alice(a_sctp_peeloff, "l", "peeled"), 0, "peeloff")
    if t.module:
        rows = sctp_rows(p)
        check(len([r for r in rows if r[5] == str(ALICE)]) >= 2,
              "the peeled-off socket has no row of its own: %s" % rows)
    alice(a_close, "l")
    e = mallory(a_sctp, "l", ("0.0.0.0", p), kind=socket.SOCK_SEQPACKET, ra=True,
                listen=True)
    holders = {"mallory": mallory}
    got = sctp_who_gets(t.actor(CAROL), ("127.0.0.1", p), socket.AF_INET,
                        socket.SOCK_SEQPACKET, holders) if not e else []
    check("mallory" not in got,
          "mallory (uid %d) took the port of alice's peeled-off association "
          "and got a new one" % MALLORY)
    expect_eq(ename(e), "EADDRINUSE", "mallory's bind of the peeled-off port")
    alice(a_send, "peeled", b"still")
    got = carol(a_recv, "c")
    check(isinstance(got, tuple) and got[0] == b"still",
          "the peeled-off association after: %r" % (got,))


def sctp_rows(port):
    """The registry's sctp rows on @port."""
    rows = [l.split() for l in open(PROC + "/sockets").read().splitlines()[1:]]
    return [r for r in rows if r[0] == "sctp" and r[1].endswith(":%d" % port)]


@test("module")
def sctp_registry_rows(t):
    """One row per address of an SCTP socket's set, numbered N/M."""
    local_addrs(t, "127.0.0.2", "127.0.0.3")
    p, q = t.port(), t.port()
    alice = t.actor(ALICE)
    lines = open(PROC + "/sockets").read().splitlines()
    expect_eq(lines[0].split(), ["proto", "local", "remote", "dev", "state", "uid",
                                 "cgroup", "opt", "pid", "addrs"], "header")
    expect_eq(alice(a_sctp, "s", ("127.0.0.2", p)), 0, "bind")
    expect_eq(alice(a_bindx, "s", [("127.0.0.3", p)]), 0, "bindx add")
    expect_eq(alice(a_sctp, "u", ("127.0.0.1", q)), 0, "a single address")

    def want(state):
        rows = sctp_rows(p)
        expect_eq(sorted((r[1], r[4], r[5]) for r in rows),
                  [("127.0.0.2:%d" % p, state, str(ALICE)),
                   ("127.0.0.3:%d" % p, state, str(ALICE))],
                  "rows of the two-address socket (%s)" % rows)
        expect_eq(sorted(r[9] for r in rows), ["1/2", "2/2"], "addrs column")

    want("bound")
    expect_eq([(r[1], r[9]) for r in sctp_rows(q)], [("127.0.0.1:%d" % q, "-")],
              "the single-address socket's row")
    expect_eq(alice(a_listen, "s"), 0, "listen")
    want("listen")
    expect_eq(alice(a_bindx, "s", [("127.0.0.2", p)], False), 0, "bindx remove")
    rows = sctp_rows(p)
    expect_eq([(r[1], r[4], r[9]) for r in rows],
              [("127.0.0.3:%d" % p, "listen", "-")], "rows after the remove")
    alice(a_close, "s")
    alice(a_close, "u")
    for _ in range(20):
        if not sctp_rows(p) and not sctp_rows(q):
            break
        time.sleep(0.1)
    expect_eq(sctp_rows(p) + sctp_rows(q), [], "rows after close")


@test("module")
def sctp_preexisting_enumerated(t):
    """SCTP sockets that exist at insmod, a listener and both ends of an
    association, are in the registry: their ports are protected at once."""
    p, q = t.port(), t.port()
    alice, mallory = t.actor(ALICE), t.actor(MALLORY)
    subprocess.run(["rmmod", "ddemux"], check=True)
    try:
        expect_eq(alice(a_sctp, "l", ("0.0.0.0", p), ra=True, listen=True), 0,
                  "listener while unloaded")
        expect_eq(alice(a_sctp, "s", ("127.0.0.1", q), listen=True), 0,
                  "server while unloaded")
        alice(a_sctp, "c", ra=True)
        expect_eq(alice(a_sctp_connect, "c", ("127.0.0.1", q)), 0,
                  "association while unloaded")
        check(alice(a_sctp_accept, "s"), "accept")
    finally:
        subprocess.run(["insmod", t.ko], check=True)
    r = alice(a_name, "c")[1]
    for port, what in ((p, "listener"), (q, "server"), (r, "client")):
        check(any(row[5] == str(ALICE) for row in sctp_rows(port)),
              "no registry row of the %s on port %d: %s" % (what, port,
                                                            sctp_rows(port)))
    expect_eq(ename(mallory(a_sctp, "l", ("0.0.0.0", p), ra=True)), "EADDRINUSE",
              "co-bind on the listener's port")
    # stock SCTP lets this one through: the client does not listen
    expect_eq(ename(mallory(a_sctp, "c", ("0.0.0.0", r), ra=True)), "EADDRINUSE",
              "co-bind on the associated client's port")
    expect_eq(alice(a_send, "c", b"still"), 0, "send")
    expect_eq(alice(a_tcp_recv, "s.child"), b"still", "the association after insmod")


# ---- DCCP: TCP's holes, in a port space of its own ------------------------

SOCK_DCCP, IPPROTO_DCCP, SOL_DCCP, DCCP_SOCKOPT_SERVICE = 6, 33, 269, 2
DCCP_SERVICE = 42


def dccp_loaded():
    """DCCP needs its modules, which socket() does not load by itself
    (they carry no net-pf alias): an administrator loads them."""
    for m in ("dccp_ipv4", "dccp_ipv6"):
        sh("modprobe", m)


def a_dccp(st, name, addr, family=socket.AF_INET, listen=False, **opts):
    """A DCCP socket with a service code, bound (if @addr), listening if
    asked; 0 or the errno of bind() or listen()."""
    a_sock(st, name, family, SOCK_DCCP, IPPROTO_DCCP, **opts)
    st[name].setsockopt(SOL_DCCP, DCCP_SOCKOPT_SERVICE,
                        struct.pack("!I", DCCP_SERVICE))
    e = a_bind(st, name, addr) if addr else 0
    if not e and listen:
        e = _err(st[name].listen, 16)
    return e


def a_try_bind(st, name, addr):
    """A new TCP socket bound to @addr: 0 or the errno."""
    return a_tcp(st, name, addr)


def a_try_accept(st, name, timeout=1.0):
    """The peer a listener accepts, None if none comes or it is no
    listener."""
    try:
        return a_accept(st, name, timeout)
    except OSError:
        return None


def dccp_accepted(actors, timeout=1.0):
    """Which of the named actors' sockets "l" accepts a connection."""
    for who, a in actors:
        if a(a_try_accept, "l", timeout) is not None:
            return who
    return "nobody"


@test("differs")
def dccp_squat_before_listen(t):
    """A DCCP daemon binds with SO_REUSEADDR and listens a moment later;
    another user co-binds its port and listens first: on stock Linux her
    listener takes the daemon's connections."""
    dccp_loaded()
    p = t.port()
    alice, mallory, client = t.actor(ALICE), t.actor(MALLORY), t.actor(CAROL)
    expect_eq(alice(a_dccp, "l", ("0.0.0.0", p), ra=True), 0, "daemon bind")
    e = mallory(a_dccp, "l", ("0.0.0.0", p), ra=True, listen=True)
    el = alice(a_listen, "l")
    client(a_dccp, "c", None)
    ec = client(a_connect, "c", ("127.0.0.1", p))
    who = dccp_accepted((("alice", alice), ("mallory", mallory)))
    expect_eq(ename(e), "EADDRINUSE",
              "squatter's bind (daemon's listen: %s; connect: %s; accepted by %s)"
              % (ename(el), ename(ec), who))
    expect_eq(el, 0, "daemon listen")
    expect_eq(ec, 0, "client connect")
    expect_eq(who, "alice", "who accepted the connection")


@test("differs")
def dccp6_squat_specific(t):
    """IPv6: a more specific co-bind under a dual-stack daemon, and an
    IPv4 one."""
    dccp_loaded()
    p = t.port()
    alice, mallory = t.actor(ALICE), t.actor(MALLORY)
    expect_eq(alice(a_dccp, "l", ("::", p), socket.AF_INET6, ra=True,
                    v6only=False), 0, "daemon bind")
    expect_eq(ename(mallory(a_dccp, "l", ("::1", p), socket.AF_INET6, ra=True)),
              "EADDRINUSE", "squatter's specific bind")
    expect_eq(ename(mallory(a_dccp, "l4", ("127.0.0.1", p), ra=True)),
              "EADDRINUSE", "squatter's IPv4 bind under the dual socket")


@test("differs")
def egress_raw_dccp(t):
    """A raw DCCP packet from the victim's listening port: the peer's
    answer would land there."""
    dccp_loaded()
    peer = veth_peer(t)
    p = t.port()
    alice, mallory = t.actor(ALICE), t.actor(MALLORY, caps=("net_raw",))
    expect_eq(alice(a_dccp, "l", ("0.0.0.0", p), listen=True), 0,
              "victim listener")
    peer(a_peer_setsock, "sniff", socket.SOCK_RAW, IPPROTO_DCCP)
    peer.start(a_sniff_ports, "sniff", p, 1.5)
    # a DCCP-Request: ports, data offset 5 words, type 0, X=1, seq, service
    hdr = struct.pack("!HHBBHBB6sI", p, 5001, 5, 0, 0, 0x01, 0,
                      b"\0\0\0\0\0\1", DCCP_SERVICE)
    e = mallory(a_raw_send, IPPROTO_DCCP, hdr, V4_PEER)
    got = peer.wait()
    check(got is None, "the forged packet reached the peer (to port %r)" % (got,))
    if t.module:
        expect_eq(ename(e), "EPERM", "raw sendto")


def dccp_roundtrip(t, alice, family, host, bound_client):
    p = t.port()
    expect_eq(alice(a_dccp, "l", (host, p), family, listen=True), 0, "listener")
    alice(a_dccp, "c", None, family)
    if bound_client:
        expect_eq(alice(a_bind, "c", (host, t.port())), 0, "client bind")
    expect_eq(alice(a_connect, "c", (host, p)), 0, "connect to " + host)
    check(alice(a_accept, "l") is not None, "accept over " + host)
    expect_eq(alice(a_send, "c", b"ping"), 0, "send")
    got = alice(a_recv, "l.child", 2.0)
    check(got and got[0] == b"ping", "data over %s: %r" % (host, got))
    expect_eq(alice(a_send, "l.child", b"pong"), 0, "reply")
    got = alice(a_recv, "c", 2.0)
    check(got and got[0] == b"pong", "reply over %s: %r" % (host, got))
    for n in ("c", "l.child", "l"):
        alice(a_close, n)


@test("same")
def dccp_same_user_listener_client(t):
    """One user's DCCP listener and client, IPv4 and IPv6, autobound and
    bound, with rule 3 on: everything works as on stock."""
    dccp_loaded()
    alice = t.actor(ALICE)
    for family, host in ((socket.AF_INET, "127.0.0.1"),
                         (socket.AF_INET6, "::1")):
        for bound in (False, True):
            dccp_roundtrip(t, alice, family, host, bound)
    p = t.port()
    other = t.actor(ALICE)
    expect_eq(alice(a_dccp, "a", ("0.0.0.0", p), ra=True), 0, "first")
    expect_eq(other(a_dccp, "a", ("0.0.0.0", p), ra=True), 0,
              "the same user co-binds with SO_REUSEADDR")
    expect_eq(ename(other(a_dccp, "b", ("0.0.0.0", p))), "EADDRINUSE",
              "without SO_REUSEADDR the kernel still refuses")


# ---- MPTCP: an MPTCP socket's set is the union of its subflows' -----------

IPPROTO_MPTCP, SOL_MPTCP, MPTCP_INFO = 262, 284, 1
MPTCP_SERVER, MPTCP_CLIENT = "ddtmps", "ddtmpc"
# two paths between the server's and the client's namespaces
MPTCP_PATHS = (("ddtm0s", "10.94.1.1", "ddtm0c", "10.94.1.2"),
               ("ddtm1s", "10.94.2.1", "ddtm1c", "10.94.2.2"))


def a_mptcp(st, name, addr, family=socket.AF_INET, listen=False, **opts):
    """An MPTCP socket, bound (if @addr) and listening if asked; 0 or the
    errno of bind() or listen()."""
    a_sock(st, name, family, socket.SOCK_STREAM, IPPROTO_MPTCP, **opts)
    e = a_bind(st, name, addr) if addr else 0
    if not e and listen:
        e = _err(st[name].listen, 16)
    return e


def a_stream(st, name, addr, kind, **opts):
    """A TCP or MPTCP socket bound to @addr."""
    if kind == "mptcp":
        return a_mptcp(st, name, addr, **opts)
    return a_tcp(st, name, addr, **opts)


def a_mptcp_subflows(st, name):
    """MPTCP_INFO's mptcpi_subflows: the subflows besides the first."""
    return st[name].getsockopt(SOL_MPTCP, MPTCP_INFO, 64)[0]


def mptcp_paths(t, announce=False):
    """The server's and the client's namespaces, joined by two veth pairs.
    With @announce, the server announces its second address (a "signal"
    endpoint), and a client, which accepts announced addresses, opens a
    second subflow to it, over the second path."""
    netns(t, MPTCP_SERVER)
    netns(t, MPTCP_CLIENT)
    for sdev, saddr, cdev, caddr in MPTCP_PATHS:
        veth_link(MPTCP_SERVER, sdev, saddr, MPTCP_CLIENT, cdev, caddr)
    for ns in (MPTCP_SERVER, MPTCP_CLIENT):
        sh("ip", "-n", ns, "mptcp", "limits", "set", "subflow", "2",
           "add_addr_accepted", "2")
    if announce:
        sdev, saddr, _, _ = MPTCP_PATHS[1]
        sh("ip", "-n", MPTCP_SERVER, "mptcp", "endpoint", "add", saddr,
           "dev", sdev, "signal")


def established(ns, port):
    """The established TCP sockets (subflows) on local port @port in @ns."""
    out = subprocess.run(["ip", "netns", "exec", ns, "ss", "-tnH", "state",
                          "established", "( sport = :%d )" % port],
                         capture_output=True, text=True, check=True).stdout
    return len(out.splitlines())


def ns_rows(reader, uid):
    """The sockets file of @reader's namespace: the rows of @uid."""
    rows = [l.split() for l in
            reader(a_read_file, PROC + "/sockets").splitlines()[1:]]
    return [r for r in rows if r[5] == str(uid)]


def ns_stats(reader):
    return {k: int(v) for k, v in (l.split() for l in reader(
        a_read_file, PROC + "/stats").splitlines())}


@test("same")
def mptcp_two_subflows(t):
    """An MPTCP listener and a client whose second subflow takes the
    second path (the server announces it): both subflows are established
    and carry data.  With the module, the server's subflows are its
    user's (a flag "mptcp" in the sockets file) and rule 3 judges what
    they send."""
    mptcp_paths(t, announce=True)
    p = t.port()
    alice = t.actor(ALICE, netns=MPTCP_SERVER)
    carol = t.actor(CAROL, netns=MPTCP_CLIENT)
    admin = t.actor(None, netns=MPTCP_SERVER)
    expect_eq(alice(a_mptcp, "l", ("0.0.0.0", p), listen=True), 0, "listener")
    s0 = ns_stats(admin) if t.module else None
    carol(a_sock, "c", socket.AF_INET, socket.SOCK_STREAM, IPPROTO_MPTCP)
    expect_eq(carol(a_connect, "c", (MPTCP_PATHS[0][1], p)), 0, "connect")
    check(alice(a_accept, "l") is not None, "accept")
    for _ in range(50):
        if carol(a_mptcp_subflows, "c") >= 1 and established(MPTCP_SERVER, p) >= 2:
            break
        time.sleep(0.1)
    expect_eq(carol(a_mptcp_subflows, "c"), 1, "the client's extra subflows")
    expect_eq(established(MPTCP_SERVER, p), 2, "the server's established subflows")
    for i in range(20):
        expect_eq(carol(a_send, "c", b"x" * 1000), 0, "send")
    got = 0
    while got < 20000:
        d = alice(a_tcp_recv, "l.child")
        check(isinstance(d, bytes) and d, "data: %r" % (d,))
        got += len(d)
    expect_eq(alice(a_send, "l.child", b"pong"), 0, "reply")
    expect_eq(carol(a_tcp_recv, "c"), b"pong", "reply received")
    if t.module:
        rows = ns_rows(admin, ALICE)
        subflows = [r for r in rows if r[0] == "tcp" and
                    r[4] == "connected" and "mptcp" in r[7]]
        expect_eq(len(subflows), 2, "alice's subflows in the sockets file: %s"
                  % rows)
        check(any(r[1] == "0.0.0.0:%d" % p and r[4] == "listen" and
                  "mptcp" in r[7] for r in rows),
              "alice's listening subflow: %s" % rows)
        check(ns_stats(admin)["egress_checked"] > s0["egress_checked"],
              "rule 3 judged none of the subflows' packets")


@test("differs")
def mptcp_squat_before_listen(t):
    """Another user's MPTCP socket co-binds, with SO_REUSEADDR, the port
    a daemon's TCP (or MPTCP) socket holds before it listens, and listens
    first: on stock Linux it takes the daemon's connections."""
    for victim, thief in (("tcp", "mptcp"), ("mptcp", "mptcp"),
                          ("mptcp", "tcp")):
        p = t.port()
        alice, mallory = t.actor(ALICE), t.actor(MALLORY)
        expect_eq(alice(a_stream, "l", ("0.0.0.0", p), victim, ra=True), 0,
                  "daemon bind")
        e = mallory(a_stream, "l", ("0.0.0.0", p), thief, ra=True, listen=True)
        el = alice(a_listen, "l")
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM, IPPROTO_MPTCP)
        c.settimeout(3)
        ec = _err(c.connect, ("127.0.0.1", p))
        who = dccp_accepted((("alice", alice), ("mallory", mallory)))
        c.close()
        what = "%s over %s" % (thief, victim)
        expect_eq(ename(e), "EADDRINUSE",
                  "%s: squatter's bind (daemon's listen: %s; connect: %s; "
                  "accepted by %s)" % (what, ename(el), ename(ec), who))
        expect_eq(el, 0, what + ": daemon listen")
        expect_eq(ec, 0, what + ": connect")
        expect_eq(who, "alice", what + ": who accepted the connection")


@test("differs")
def mptcp_device_change_refused(t):
    """SO_BINDTODEVICE on an MPTCP socket moves its first subflow (6.12
    sets it there with sk_setsockopt()): with CAP_NET_RAW, a listener on
    another device may not move onto another user's device and port."""
    peer = veth_peer(t)
    dummy_dev(t, "ddtd0")
    p = t.port()
    alice, mallory = t.actor(ALICE), t.actor(MALLORY, caps=("net_raw",))
    expect_eq(alice(a_tcp, "l", ("0.0.0.0", p), ra=True, dev="ddtv0",
                    listen=True), 0, "victim listening on ddtv0")
    expect_eq(mallory(a_mptcp, "l", ("0.0.0.0", p), ra=True, dev="ddtd0",
                      listen=True), 0, "thief listening on another device")
    e = mallory(a_setsockopt, "l", socket.SOL_SOCKET, SO_BINDTODEVICE, b"ddtv0")
    peer(a_sock, "c", socket.AF_INET, socket.SOCK_STREAM)
    ec = peer(a_connect, "c", (V4_HOST, p))
    who = dccp_accepted((("mallory", mallory), ("alice", alice)))
    expect_eq(ename(e), "EADDRINUSE",
              "the thief's SO_BINDTODEVICE (then the peer's connection "
              "(%s) was accepted by %s)" % (ename(ec), who))
    expect_eq(who, "alice", "who accepted the peer's connection")


@test("same")
def mptcp_signal_endpoint_port_held(t):
    """An announced ("signal") endpoint with a port has a listener of its
    own, made by the administrator's request: on a port another user
    holds, its creation fails (the kernel's own rules refuse it too;
    ddemux refuses it first, and says whose port it is)."""
    mptcp_paths(t)
    p = t.port()
    alice = t.actor(ALICE, netns=MPTCP_SERVER)
    expect_eq(alice(a_tcp, "s", (MPTCP_PATHS[1][1], p)), 0, "alice's socket")
    before = t.klog_mark() if t.module else None
    r = subprocess.run(["ip", "-n", MPTCP_SERVER, "mptcp", "endpoint", "add",
                        MPTCP_PATHS[1][1], "port", str(p), "signal"],
                       capture_output=True, text=True)
    check(r.returncode != 0, "the endpoint was created on alice's port")
    if t.module:
        check(log_has(t, before, "deny bind", "uid=0", "holder_uid=%d" % ALICE),
              "no deny line naming alice")
    q = t.port()
    sh("ip", "-n", MPTCP_SERVER, "mptcp", "endpoint", "add",
       MPTCP_PATHS[1][1], "port", str(q), "signal")
    check(alice(a_try_bind, "t", (MPTCP_PATHS[1][1], q)) == errno.EADDRINUSE,
          "the endpoint's listener does not hold its port")


# ---- L2TP/IP: a disconnect must not widen a bound socket ------------------

IPPROTO_L2TP = 115


def l2tp_sa(family, addr, conn_id):
    """struct sockaddr_l2tpip, or sockaddr_l2tpip6 (the connection id in
    host order), which Python's socket module cannot express."""
    if family == socket.AF_INET:
        return struct.pack("=HH4sI4x", family, 0, socket.inet_aton(addr),
                           conn_id)
    return struct.pack("=HHI16sII", family, 0, 0,
                       socket.inet_pton(family, addr), 0, conn_id)


def a_l2tp(st, name, family, addr, conn_id, dev=None):
    """An L2TP/IP socket bound to @addr and @conn_id; 0 or bind's errno."""
    s = socket.socket(family, socket.SOCK_DGRAM, IPPROTO_L2TP)
    if dev:
        s.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, dev.encode())
    st[name] = s
    sa = l2tp_sa(family, addr, conn_id)
    if libc.bind(s.fileno(), ctypes.c_char_p(sa), len(sa)):
        return ctypes.get_errno()
    return 0


def a_l2tp_connect(st, name, family, addr, conn_id):
    sa = l2tp_sa(family, addr, conn_id)
    if libc.connect(st[name].fileno(), ctypes.c_char_p(sa), len(sa)):
        return ctypes.get_errno()
    return 0


def a_l2tp_state(st, name):
    """The socket's local address and device, as getsockname() and
    SO_BINDTODEVICE read them."""
    s = st[name]
    dev = s.getsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, 16)
    return s.getsockname()[0], dev.split(b"\0", 1)[0].decode()


def l2tp_control(family, dst, conn_id, src=None):
    """An L2TPv3 control frame over IP to @dst for connection @conn_id
    (session id 0, then the control header: T and L bits, version 3),
    sent from a raw socket, from @src if given."""
    frame = struct.pack("!IBBHII", 0, 0xc8, 0x03, 12, conn_id, 0)
    s = socket.socket(family, socket.SOCK_RAW, IPPROTO_L2TP)
    try:
        if src:
            s.bind((src, 0))
        s.sendto(frame, (dst, 0))
    finally:
        s.close()


def l2tp_widen(t, family, victim, thief):
    """Alice's L2TP/IP socket on @victim, mallory's on @thief with the
    same connection id and on device lo; mallory disconnects without
    having connected, then a control frame for that id arrives at
    @victim: it must reach alice."""
    cid = t.port()
    alice, mallory = t.actor(ALICE), t.actor(MALLORY)
    expect_eq(ename(alice(a_l2tp, "s", family, victim, cid)), "success",
              "alice's bind")
    expect_eq(ename(mallory(a_l2tp, "s", family, thief, cid, dev="lo")),
              "success", "mallory's bind, another address")
    expect_eq(ename(mallory(a_disconnect, "s")), "success",
              "mallory's disconnect")
    l2tp_control(family, victim, cid)
    got_a, got_m = alice(a_recv, "s", 2.0), mallory(a_recv, "s", 0.5)
    check(got_m is None, "mallory received alice's control frame")
    check(isinstance(got_a, tuple), "alice's control frame: %r" % (got_a,))
    expect_eq(mallory(a_l2tp_state, "s"), (thief, "lo"),
              "mallory's address and device after the disconnect")


@test("differs")
def l2tp_disconnect_keeps_bind(t):
    """Stock: the disconnect resets mallory's bound address to the
    wildcard and clears its device; it receives alice's frames."""
    l2tp_widen(t, socket.AF_INET, "127.0.0.1", "127.0.0.2")


@test("differs")
def l2tp6_disconnect_keeps_bind(t):
    local_addrs(t, "fd00:ddee::1", "fd00:ddee::2")
    l2tp_widen(t, socket.AF_INET6, "fd00:ddee::1", "fd00:ddee::2")


@test("same")
def l2tp_ordinary_use(t):
    """A socket bound to the wildcard connects (the kernel picks its
    source) and disconnects: back on the wildcard, where a frame to any
    local address reaches it; one bound to an address connects,
    disconnects and connects again, and frames reach it."""
    cid, other = t.port(), t.port()
    alice = t.actor(ALICE)
    expect_eq(ename(alice(a_l2tp, "w", socket.AF_INET, "0.0.0.0", cid)),
              "success", "wildcard bind")
    expect_eq(ename(alice(a_l2tp_connect, "w", socket.AF_INET, "127.0.0.3",
                          other)), "success", "connect")
    expect_eq(alice(a_l2tp_state, "w"), ("127.0.0.1", ""),
              "the source the kernel picked")
    expect_eq(ename(alice(a_disconnect, "w")), "success", "disconnect")
    expect_eq(alice(a_l2tp_state, "w"), ("0.0.0.0", ""),
              "back on the wildcard")
    l2tp_control(socket.AF_INET, "127.0.0.5", cid)
    got = alice(a_recv, "w", 2.0)
    check(isinstance(got, tuple), "a frame to 127.0.0.5: %r" % (got,))
    expect_eq(ename(alice(a_l2tp, "b", socket.AF_INET, "127.0.0.4", other)),
              "success", "specific bind")
    for i in range(2):
        expect_eq(ename(alice(a_l2tp_connect, "b", socket.AF_INET,
                              "127.0.0.3", cid)), "success", "connect %d" % i)
        # stock Linux loses the bound address at the disconnect: the
        # second connect takes the route's source
        local = alice(a_l2tp_state, "b")[0]
        l2tp_control(socket.AF_INET, local, other, src="127.0.0.3")
        got = alice(a_recv, "b", 2.0)
        check(isinstance(got, tuple), "a frame to %s, connected %d: %r" %
              (local, i, got))
        expect_eq(ename(alice(a_disconnect, "b")), "success",
                  "disconnect %d" % i)


# ---- the module's interface ----------------------------------------------

@test("module")
def registry_lists_sockets(t):
    p = t.port()
    alice = t.actor(ALICE)
    alice(a_udp, "s", ("0.0.0.0", p), ra=True)
    alice(a_tcp, "l", ("::", p), socket.AF_INET6, listen=True)
    lines = open(PROC + "/sockets").read().splitlines()
    expect_eq(lines[0].split(), ["proto", "local", "remote", "dev", "state", "uid",
                                 "cgroup", "opt", "pid", "addrs"], "header")
    rows = [l.split() for l in lines[1:]]
    check(["udp", "0.0.0.0:%d" % p, "*:*", "0", "bound", str(ALICE)] ==
          next((r[:6] for r in rows if r[1] == "0.0.0.0:%d" % p), None),
          "udp row: %s" % rows)
    check(any(r[0] == "tcp" and r[1] == "*:%d" % p and r[4] == "listen"
              and r[5] == str(ALICE) for r in rows), "tcp listener row: %s" % rows)
    c = socket.create_connection(("127.0.0.1", p), timeout=3)
    alice(a_accept, "l")
    rows = [l.split() for l in open(PROC + "/sockets").read().splitlines()[1:]]
    check(any(r[0] == "tcp" and r[1] == "127.0.0.1:%d" % p and r[4] == "connected"
              and r[5] == str(ALICE) for r in rows),
          "accepted child with the listener's uid: %s" % rows)
    c.close()


@test("module")
def learns_connect_and_device(t):
    """The registry follows connect() and SO_BINDTODEVICE after bind."""
    p = t.port()
    alice, mallory = t.actor(ALICE), t.actor(MALLORY)
    lsn = socket.socket()
    lsn.bind(("127.0.0.1", 0))
    lsn.listen()
    alice(a_sock, "c", socket.AF_INET, socket.SOCK_STREAM)
    expect_eq(alice(a_connect, "c", lsn.getsockname()), 0, "tcp connect")
    e = alice(a_name, "c")[1]
    alice(a_sock, "u", socket.AF_INET6, socket.SOCK_DGRAM)
    expect_eq(alice(a_connect, "u", ("::1", 7)), 0, "udp connect")
    u = alice(a_name, "u")[1]
    rows = [l.split() for l in open(PROC + "/sockets").read().splitlines()[1:]]
    check(["tcp", "127.0.0.1:%d" % e, "127.0.0.1:%d" % lsn.getsockname()[1], "0",
           "connected", str(ALICE)] in [r[:6] for r in rows], "tcp client row")
    check(["udp", "[::1]:%d" % u, "[::1]:7", "0", "connected", str(ALICE)]
          in [r[:6] for r in rows], "udp connected row")
    # a device bound after bind() narrows the set...
    expect_eq(alice(a_udp, "s", ("0.0.0.0", p), ra=True), 0, "bind")
    alice_s = ("0.0.0.0:%d" % p)
    expect_eq(alice(a_setsockopt, "s", socket.SOL_SOCKET, SO_BINDTODEVICE, b"lo"),
              0, "SO_BINDTODEVICE")
    rows = [l.split() for l in open(PROC + "/sockets").read().splitlines()[1:]]
    check(any(r[1] == alice_s and r[3] == "1" for r in rows),
          "device in the registry: %s" % [r for r in rows if r[1] == alice_s])
    lsn.close()


@test("module")
def audit_record(t):
    """With auditing on, a veto is also an AUDIT_KERNEL_OTHER record."""
    nl = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 9)  # NETLINK_AUDIT

    def audit_enable(on):
        # struct audit_status: mask, enabled, failure, pid, rate_limit, ...
        status = struct.pack("=IIIIIIII", 1, on, 0, 0, 0, 0, 0, 0)
        hdr = struct.pack("=IHHII", 16 + len(status), 1001, 5, 1, 0)  # AUDIT_SET
        nl.send(hdr + status)
        nl.settimeout(2)
        nl.recv(4096)

    audit_enable(1)
    t.cleanups.append(lambda: (audit_enable(0), nl.close()))
    p = t.port()
    alice, mallory = t.actor(ALICE), t.actor(MALLORY)
    before = t.klog_mark()
    alice(a_udp, "s", ("0.0.0.0", p), ra=True)
    expect_eq(ename(mallory(a_udp, "s", ("0.0.0.0", p), ra=True)), "EADDRINUSE",
              "co-bind")
    for _ in range(30):
        line = log_has(t, before, "type=1316", "op=ddemux_bind", "verdict=deny",
                       "sock_uid=%d" % MALLORY, "holder_uid=%d" % ALICE)
        if line:
            break
        time.sleep(0.1)
    check(line, "no audit record")
    check('comm="python3"' in line, "task fields in the record: " + line)


@test("module")
def registry_bound(t):
    """At max_entries a new set is refused with ENOBUFS, never admitted
    unrecorded; what is recorded stays protected, and the refusal is
    counted and logged."""
    subprocess.run(["rmmod", "ddemux"], check=True)
    try:
        subprocess.run(["insmod", t.ko, "max_entries=64"], check=True)
        alice, mallory = t.actor(ALICE), t.actor(MALLORY)
        p = t.port()
        expect_eq(alice(a_udp, "s", ("0.0.0.0", p), ra=True), 0, "alice")
        room = 64 - registry_baseline()
        for i in range(room):
            expect_eq(alice(a_udp, "f%d" % i, ("127.0.0.1", 0)), 0, "filler %d" % i)
        expect_eq(registry_baseline(), 64, "entries at the bound")
        before = t.klog_mark()
        for i in range(3):
            expect_eq(ename(alice(a_udp, "x%d" % i, ("127.0.0.1", 0))),
                      "ENOBUFS", "autobind past the bound")
        expect_eq(ename(mallory(a_udp, "y", ("127.0.0.1", t.port()))),
                  "ENOBUFS", "bind past the bound")
        expect_eq(registry_baseline(), 64, "entries past the bound")
        check(t.stats()["registry_full"] >= 4, "registry_full")
        check(log_has(t, before, "deny bind", "reason=registry-full",
                      "uid=%d" % MALLORY), "no registry-full line")
        # recorded sockets stay protected
        expect_eq(ename(mallory(a_udp, "s", ("0.0.0.0", p), ra=True)), "EADDRINUSE",
                  "co-bind over a recorded socket")
        # (a new sender could not bind now: a filler sends)
        expect_eq(alice(a_sendto, "f0", b"still", ("127.0.0.1", p)), 0, "send")
        got = alice(a_recv, "s")
        check(got and got[0] == b"still", "alice's datagram")
    finally:
        t.finish()
        t.actors, t.cleanups = [], []
        subprocess.run(["rmmod", "ddemux"], check=True)
        subprocess.run(["insmod", t.ko], check=True)


@test("module")
def audit_and_off_modes(t):
    p, q = t.port(), t.port()
    alice, mallory = t.actor(ALICE), t.actor(MALLORY)
    t.sysctl("mode", 1)
    s0 = t.stats()
    before = t.klog_mark()
    alice(a_udp, "s", ("0.0.0.0", p), ra=True)
    expect_eq(mallory(a_udp, "s", ("0.0.0.0", p), ra=True), 0, "audit mode allows")
    expect_eq(t.stats()["binds_audited"] - s0["binds_audited"], 1, "binds_audited")
    expect_eq(t.stats()["binds_vetoed"], s0["binds_vetoed"], "binds_vetoed")
    check(log_has(t, before, "audit bind", "uid=%d" % MALLORY,
                  "holder_uid=%d" % ALICE), "audit line")
    t.sysctl("mode", 0)
    before = t.klog_mark()
    alice(a_udp, "q", ("0.0.0.0", q), ra=True)
    expect_eq(mallory(a_udp, "q", ("0.0.0.0", q), ra=True), 0, "off mode allows")
    check(not log_has(t, before, "ddemux"), "off mode logs nothing")
    expect_eq(t.stats()["binds_audited"] - s0["binds_audited"], 1, "no audit in off mode")


@test("module")
def share_rules(t):
    p = t.port()
    alice, mallory, carol = t.actor(ALICE), t.actor(MALLORY), t.actor(CAROL)
    t.shares("add udp %d\n" % p)
    expect_eq(open(PROC + "/shares").read(), "add udp %d\n" % p, "rules as read")
    s0 = t.stats()
    expect_eq(alice(a_udp, "s", ("0.0.0.0", p), ra=True), 0, "alice")
    expect_eq(mallory(a_udp, "s", ("0.0.0.0", p), ra=True), 0, "mallory, shared")
    expect_eq(t.stats()["binds_shared"] - s0["binds_shared"], 1, "binds_shared")
    before = t.klog_mark()
    expect_eq(ename(carol(a_udp, "s", ("0.0.0.0", p))), "EADDRINUSE",
              "a socket that did not opt in")
    check(log_has(t, before, "reason=share-rule-without-opt-in", "uid=%d" % CAROL),
          "log names the missing opt-in")
    with open(PROC + "/shares", "w") as f:
        f.write("del udp %d" % p)
    expect_eq(ename(carol(a_udp, "t", ("0.0.0.0", p), ra=True)), "EADDRINUSE",
              "after del")


@test("module")
def malformed_writes(t):
    t.shares("add udp 5353\nadd tcp 1000-2000\n")
    rules = open(PROC + "/shares").read()
    bad = ["add udp 0", "add udp 65536", "add udp", "add icmp 5", "del udp 1-2-3",
           "flush now", "hello", "add udp 5\x00", "add udp 5\r\n",
           "add udp 7\nadd udp x\n", "add UDP 5", "add udp -5", "add udp 6-5",
           " " * 5000]
    for b in bad:
        try:
            with open(PROC + "/shares", "w") as f:
                f.write(b)
            raise Fail("accepted %r" % b)
        except OSError as err:
            expect_eq(ename(err.errno), "EINVAL", "write %r" % b)
        expect_eq(open(PROC + "/shares").read(), rules, "rules after %r" % b)
    try:
        with open(PROC + "/shares", "w") as f:
            f.write("del udp 7")
        raise Fail("del of an absent rule accepted")
    except OSError as err:
        expect_eq(ename(err.errno), "ENOENT", "del of an absent rule")
    common = ("-1", "abc", "1 2", "0x1", " 1", "1 ", "22", "1\n\n", "+1",
              "4294967297", "1\x00", "1.0")
    for name, out_of_range in (("mode", ("3",)), ("domain", ("0", "4"))):
        old = open("%s/%s" % (SYS, name)).read()
        for b in out_of_range + common:
            try:
                with open("%s/%s" % (SYS, name), "w") as f:
                    f.write(b)
                raise Fail("%s accepted %r" % (name, b))
            except OSError as err:
                expect_eq(ename(err.errno), "EINVAL", "%s write %r" % (name, b))
            expect_eq(open("%s/%s" % (SYS, name)).read(), old, "%s after %r" % (name, b))
    alice = t.actor(ALICE)
    for path in (SYS + "/mode", PROC + "/shares"):
        check(alice(a_write_file, path, "0") in (errno.EACCES, errno.EPERM),
              "an ordinary user may not write " + path)


@test("module")
def container_root_cannot_weaken(t):
    """Root of a user namespace that owns its network namespace."""
    c = t.actor(ALICE, userns=True)
    expect_eq(c(a_read_file, SYS + "/mode").strip(), "2", "inherited mode")
    expect_eq(ename(c(a_write_file, SYS + "/mode", "0")), "EPERM", "write mode")
    expect_eq(ename(c(a_write_file, SYS + "/domain", "2")), "EPERM", "write domain")
    # the sysctls belong to the container's root (kernel convention), so
    # only ddemux's own check stops the write; /proc/net/ddemux/shares
    # stays the host root's, so the VFS already refuses to open it
    check(c(a_write_file, PROC + "/shares", "add udp 53") in (errno.EACCES,
                                                               errno.EPERM),
          "write shares")
    expect_eq(c(a_read_file, PROC + "/shares"), "", "shares unchanged")


def a_open_send_fd(st, path, sockpath):
    """Open @path for writing and hand the descriptor over a unix socket."""
    fd = os.open(path, os.O_WRONLY)
    u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        u.connect(sockpath)
        socket.send_fds(u, [b"fd"], [fd])
    finally:
        u.close()
        os.close(fd)
    return True


@test("module")
def sysctl_write_by_opener(t):
    """A descriptor a container's root opened for writing is no good to a
    privileged writer (the confused deputy); and a write goes to the
    namespace the file belongs to, not the writer's."""
    c = t.actor(ALICE, userns=True)
    sockpath = "/tmp/ddt-fd.sock"
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if os.path.exists(sockpath):
        os.unlink(sockpath)
    srv.bind(sockpath)
    os.chmod(sockpath, 0o777)
    srv.listen(1)
    t.cleanups.append(lambda: (srv.close(), os.unlink(sockpath)))
    c.start(a_open_send_fd, SYS + "/mode", sockpath)
    conn, _ = srv.accept()
    _, fds, _, _ = socket.recv_fds(conn, 16, 1)
    conn.close()
    check(c.wait(), "the container opened its mode file for writing")
    try:
        os.write(fds[0], b"0")
        raise Fail("a write through the container's descriptor was accepted")
    except OSError as e:
        expect_eq(ename(e.errno), "EPERM", "write through the container's descriptor")
    finally:
        os.close(fds[0])
    expect_eq(c(a_read_file, SYS + "/mode").strip(), "2", "the container's mode")

    # root opens another namespace's file there, writes it from here
    subprocess.run(["ip", "netns", "add", "ddtW"], check=True)
    t.cleanups.append(lambda: subprocess.run(["ip", "netns", "del", "ddtW"]))
    t.sysctl("mode", 2)
    here = os.open("/proc/self/ns/net", os.O_RDONLY)
    try:
        setns("/run/netns/ddtW")
        fd = os.open(SYS + "/mode", os.O_WRONLY)
    finally:
        libc.setns(here, CLONE_NEWNET)
        os.close(here)
    try:
        os.write(fd, b"1")
    finally:
        os.close(fd)
    expect_eq(open(SYS + "/mode").read().strip(), "2", "the writer's namespace")
    out = subprocess.run(["ip", "netns", "exec", "ddtW", "cat", SYS + "/mode"],
                         capture_output=True, text=True).stdout.strip()
    expect_eq(out, "1", "the file's namespace")


@test("module")
def sockets_file_shows_own_rows(t):
    """Another user's rows are not shown to an ordinary user: the file
    would otherwise show every domain's sockets and processes."""
    p, q = t.port(), t.port()
    alice, mallory = t.actor(ALICE), t.actor(MALLORY)
    expect_eq(alice(a_udp, "s", ("0.0.0.0", p)), 0, "alice")
    expect_eq(mallory(a_udp, "s", ("0.0.0.0", q)), 0, "mallory")
    rows = [l.split() for l in mallory(a_read_file, PROC + "/sockets").splitlines()[1:]]
    check(any(r[1] == "0.0.0.0:%d" % q for r in rows), "mallory's own row: %s" % rows)
    check(all(r[5] == str(MALLORY) for r in rows), "rows of others: %s" % rows)
    rows = [l.split() for l in open(PROC + "/sockets").read().splitlines()[1:]]
    check(any(r[1] == "0.0.0.0:%d" % p and r[5] == str(ALICE) for r in rows),
          "root sees alice's row")
    check(any(r[1] == "0.0.0.0:%d" % q and r[5] == str(MALLORY) for r in rows),
          "root sees mallory's row")


@test("module")
def domain_quota_protects_others(t):
    """One user at its quota gets ENOBUFS; every other user's sockets
    stay protected, and connections accepted beyond the quota still
    work."""
    subprocess.run(["rmmod", "ddemux"], check=True)
    try:
        subprocess.run(["insmod", t.ko, "max_entries=512", "domain_max=32"],
                       check=True)
        alice, mallory = t.actor(ALICE), t.actor(MALLORY)
        before = t.klog_mark()
        n, e = 0, 0
        while n < 40:
            e = mallory(a_udp, "f%d" % n, ("127.0.0.1", 0))
            if e:
                break
            n += 1
        expect_eq(ename(e), "ENOBUFS", "mallory past its quota")
        expect_eq(n, 32, "mallory's sockets")
        check(t.stats()["domain_quota"] >= 1, "domain_quota")
        check(log_has(t, before, "deny autobind", "reason=domain-quota",
                      "uid=%d" % MALLORY), "no domain-quota line")
        p, q = t.port(), t.port()
        expect_eq(alice(a_udp, "s", ("0.0.0.0", p), ra=True), 0, "alice's service")
        expect_eq(alice(a_tcp, "l", ("0.0.0.0", q), listen=True), 0,
                  "alice's listener")
        mallory(a_close, "f0")
        expect_eq(ename(mallory(a_udp, "s", ("0.0.0.0", p), ra=True)),
                  "EADDRINUSE", "mallory co-binding alice's port")
        sendudp(("127.0.0.1", p), b"for alice").close()
        got = alice(a_recv, "s")
        check(got and got[0] == b"for alice", "alice's datagram")
        c = socket.create_connection(("127.0.0.1", q), timeout=3)
        check(alice(a_accept, "l") is not None, "alice's connection")
        c.close()
        # a listener's accepted connections beyond its owner's quota
        # (carol, another user under hers, connects)
        r = t.port()
        expect_eq(mallory(a_tcp, "l", ("127.0.0.1", r), listen=True), 0,
                  "mallory's listener, at her quota")
        carol = t.actor(CAROL)
        for i in range(20):
            carol(a_sock, "c%d" % i, socket.AF_INET, socket.SOCK_STREAM)
            expect_eq(carol(a_connect, "c%d" % i, ("127.0.0.1", r)), 0,
                      "connection %d" % i)
            check(mallory(a_accept, "l") is not None, "accept %d" % i)
        carol(a_send, "c19", b"late")
        expect_eq(mallory(a_tcp_recv, "l.child"), b"late", "the last connection")
        expect_eq(alice(a_udp, "s2", ("0.0.0.0", t.port())), 0,
                  "alice binds while mallory is over its quota")
    finally:
        t.finish()
        t.actors, t.cleanups = [], []
        subprocess.run(["rmmod", "ddemux"], check=True)
        subprocess.run(["insmod", t.ko], check=True)


@test("module")
def namespaces_independent(t):
    for ns in ("ddtA", "ddtB"):
        subprocess.run(["ip", "netns", "add", ns], check=True)
        t.cleanups.append(lambda ns=ns: subprocess.run(["ip", "netns", "del", ns]))
    p = t.port()
    a = t.actor(ALICE, netns="ddtA")
    b = t.actor(MALLORY, netns="ddtB")
    ma = t.actor(MALLORY, netns="ddtA")
    expect_eq(a(a_udp, "s", ("0.0.0.0", p), ra=True), 0, "alice in A")
    expect_eq(b(a_udp, "s", ("0.0.0.0", p), ra=True), 0, "mallory in B")
    expect_eq(ename(ma(a_udp, "s", ("0.0.0.0", p), ra=True)), "EADDRINUSE",
              "mallory in A")
    subprocess.run(["ip", "netns", "exec", "ddtB", "sysctl", "-qw",
                    "net.ddemux.mode=0"], check=True)
    expect_eq(open(SYS + "/mode").read().strip(), "2", "init_net mode")
    expect_eq(ename(ma(a_udp, "t", ("0.0.0.0", p), ra=True)), "EADDRINUSE",
              "namespace A unaffected by B's mode")
    # a new namespace inherits the initial namespace's values
    t.sysctl("mode", 1)
    subprocess.run(["ip", "netns", "add", "ddtC"], check=True)
    t.cleanups.append(lambda: subprocess.run(["ip", "netns", "del", "ddtC"]))
    out = subprocess.run(["ip", "netns", "exec", "ddtC", "cat", SYS + "/mode"],
                         capture_output=True, text=True).stdout.strip()
    expect_eq(out, "1", "new namespace's mode")


@test("module")
def disconnect_refused_and_reported(t):
    """A disconnect that would widen the set over another domain's fails
    with EADDRINUSE, is reported, and leaves the socket as it was."""
    p = t.port()
    alice, mallory = t.actor(ALICE), t.actor(MALLORY)
    expect_eq(mallory(a_udp, "s", ("0.0.0.0", p), ra=True), 0, "mallory wildcard")
    expect_eq(mallory(a_connect, "s", ("127.0.0.1", 9)), 0, "mallory connects")
    expect_eq(alice(a_udp, "s", ("127.0.0.2", p), ra=True), 0,
              "alice next to the connected socket")
    s0 = t.stats()
    before = t.klog_mark()
    expect_eq(ename(mallory(a_disconnect, "s")), "EADDRINUSE", "disconnect")
    expect_eq(t.stats()["binds_vetoed"] - s0["binds_vetoed"], 1, "binds_vetoed")
    expect_eq(t.stats()["overlaps_observed"], 0, "overlaps_observed")
    check(log_has(t, before, "deny disconnect", "uid=%d" % MALLORY,
                  "holder_uid=%d" % ALICE), "deny line")
    rows = [l.split() for l in open(PROC + "/sockets").read().splitlines()[1:]]
    check(["udp", "127.0.0.1:%d" % p, "127.0.0.1:9", "0", "connected", str(MALLORY)]
          in [r[:6] for r in rows], "mallory's connected row: %s" % rows)


@test("module")
def preexisting_sockets_and_reload(t):
    """Sockets that exist at insmod are protected; rmmod leaves them working."""
    p, q = t.port(), t.port()
    alice, mallory = t.actor(ALICE), t.actor(MALLORY)
    alice(a_tcp, "l", ("0.0.0.0", q), listen=True, ra=True)
    c = socket.create_connection(("127.0.0.1", q), timeout=3)
    alice(a_accept, "l")
    subprocess.run(["rmmod", "ddemux"], check=True)
    # sockets keep working without the module
    c.sendall(b"still there")
    check(alice(a_recv, "l.child")[0] == b"still there", "TCP after rmmod")
    expect_eq(alice(a_udp, "s", ("0.0.0.0", p), ra=True), 0, "bind while unloaded")
    subprocess.run(["insmod", t.ko], check=True)
    expect_eq(ename(mallory(a_udp, "s", ("0.0.0.0", p), ra=True)), "EADDRINUSE",
              "co-bind over a socket that predates the module")
    expect_eq(ename(mallory(a_tcp, "l", ("127.0.0.1", q), ra=True)), "EADDRINUSE",
              "bind over a listener that predates the module")
    check(t.stats()["enumerated"] >= 3, "enumerated: %d" % t.stats()["enumerated"])
    c.sendall(b"again")
    check(alice(a_recv, "l.child")[0] == b"again", "TCP after insmod")
    c.close()


def proto_rows(proto, uid):
    """The registry's rows of @proto and @uid: local, remote, dev, state."""
    rows = [l.split() for l in open(PROC + "/sockets").read().splitlines()[1:]]
    return [r[1:5] for r in rows if r[0] == proto and r[5] == str(uid)]


def dccp_rows(uid):
    return proto_rows("dccp", uid)


def wait_row(proto, uid, want):
    """@proto's rows of @uid once @want is among them, or after 3 s."""
    for _ in range(30):
        rows = proto_rows(proto, uid)
        if want in rows:
            break
        time.sleep(0.1)
    return rows


@test("module")
def dccp_registry_and_load(t):
    """DCCP sets in the sockets file: a listener, its accepted child, a
    bound client, which keeps its bound set when the connection closes
    (dccp_set_state()); a bound DCCP socket that exists at insmod is
    protected."""
    dccp_loaded()
    p, c, q = t.port(), t.port(), t.port()
    alice, mallory = t.actor(ALICE), t.actor(MALLORY)
    expect_eq(alice(a_dccp, "l", ("0.0.0.0", p), listen=True), 0, "listener")
    expect_eq(alice(a_dccp, "c", ("127.0.0.1", c)), 0, "client bind")
    expect_eq(alice(a_connect, "c", ("127.0.0.1", p)), 0, "connect")
    check(alice(a_accept, "l"), "accept")
    rows = dccp_rows(ALICE)
    for want in (["0.0.0.0:%d" % p, "*:*", "0", "listen"],
                 ["127.0.0.1:%d" % c, "127.0.0.1:%d" % p, "0", "connected"],
                 ["127.0.0.1:%d" % p, "127.0.0.1:%d" % c, "0", "connected"]):
        check(want in rows, "row %s in %s" % (want, rows))
    # data the child never read: its close() resets the connection, and
    # the client, its port locked by bind(), closes and keeps it
    expect_eq(alice(a_send, "c", b"unread"), 0, "send")
    time.sleep(0.2)
    alice(a_close, "l.child")
    bound = ["127.0.0.1:%d" % c, "*:*", "0", "bound"]
    rows = wait_row("dccp", ALICE, bound)
    check(bound in rows, "the closed client's bound set: %s" % rows)
    for n in ("c", "l"):
        alice(a_close, n)
    expect_eq(alice(a_dccp, "b", ("0.0.0.0", q), ra=True), 0, "bound socket")
    subprocess.run(["rmmod", "ddemux"], check=True)
    try:
        expect_eq(alice(a_dccp, "u", ("127.0.0.1", q), ra=True), 0,
                  "a socket bound while unloaded")
    finally:
        subprocess.run(["insmod", t.ko], check=True)
    check(["127.0.0.1:%d" % q, "*:*", "0", "bound"] in dccp_rows(ALICE),
          "enumerated: %s" % dccp_rows(ALICE))
    expect_eq(ename(mallory(a_dccp, "b", ("0.0.0.0", q), ra=True)), "EADDRINUSE",
              "co-bind over a DCCP socket that predates the module")


def tcp_rows(uid):
    return proto_rows("tcp", uid)


@test("module")
def tcp_closed_client_keeps_bound_set(t):
    """A TCP client whose port bind() locked keeps it, bound, when its
    connection is reset: tcp_set_state(TCP_CLOSE), the one state change
    that ddemux's hook filter redirects, records its bound set again in
    place of the connection's, and another user's bind there is still
    refused."""
    p, c = t.port(), t.port()
    alice, mallory = t.actor(ALICE), t.actor(MALLORY)
    expect_eq(alice(a_tcp, "l", ("127.0.0.1", p), listen=True), 0, "listener")
    expect_eq(alice(a_tcp, "c", ("127.0.0.1", c), ra=True), 0, "client bind")
    expect_eq(alice(a_connect, "c", ("127.0.0.1", p)), 0, "connect")
    check(alice(a_accept, "l"), "accept")
    connected = ["127.0.0.1:%d" % c, "127.0.0.1:%d" % p, "0", "connected"]
    check(connected in tcp_rows(ALICE),
          "the client's connection: %s" % tcp_rows(ALICE))
    # data the child never read: its close() resets the connection, and
    # the client, its port locked by bind(), closes and keeps it
    expect_eq(alice(a_send, "c", b"unread"), 0, "send")
    time.sleep(0.2)
    alice(a_close, "l.child")
    bound = ["127.0.0.1:%d" % c, "*:*", "0", "bound"]
    rows = wait_row("tcp", ALICE, bound)
    check(bound in rows and connected not in rows,
          "the closed client's bound set alone: %s" % rows)
    expect_eq(ename(mallory(a_tcp, "m", ("127.0.0.1", c), ra=True)),
              "EADDRINUSE", "another user's bind on the kept port")
    for n in ("c", "l"):
        alice(a_close, n)
    check(bound not in tcp_rows(ALICE), "a row left after close")


@test("module")
def tcp_closed_client_gives_picked_port_back(t):
    """A TCP client whose port the kernel picked (no bind()) gives it back
    when its connection is reset: its tcp_set_state(TCP_CLOSE) passes
    ddemux's hook filter without the wrapper (the port is not locked),
    and inet_put_port()'s hook forgets its set.  No row is left while the
    socket still exists, and another user may bind the port."""
    p = t.port()
    alice, mallory = t.actor(ALICE), t.actor(MALLORY)
    expect_eq(alice(a_tcp, "l", ("127.0.0.1", p), listen=True), 0, "listener")
    alice(a_sock, "c", socket.AF_INET, socket.SOCK_STREAM)
    expect_eq(alice(a_connect, "c", ("127.0.0.1", p)), 0, "connect")
    c = alice(a_name, "c")[1]
    check(alice(a_accept, "l"), "accept")
    mine = "127.0.0.1:%d" % c
    connected = [mine, "127.0.0.1:%d" % p, "0", "connected"]
    check(connected in tcp_rows(ALICE),
          "the client's connection: %s" % tcp_rows(ALICE))
    expect_eq(alice(a_send, "c", b"unread"), 0, "send")
    time.sleep(0.2)
    alice(a_close, "l.child")  # resets the connection
    for _ in range(30):
        rows = [r for r in tcp_rows(ALICE) if r[0] == mine]
        if not rows:
            break
        time.sleep(0.1)
    check(not rows, "the reset client's port is still held: %s" % rows)
    expect_eq(mallory(a_tcp, "m", ("127.0.0.1", c), ra=True), 0,
              "another user's bind on the port given back")
    for n in ("c", "l"):
        alice(a_close, n)


def registry_baseline():
    return sum(1 for _ in open(PROC + "/sockets")) - 1


# What a test needs of the kernel beyond TCP, UDP and ping, by a word of
# its name: (words, modules to load, a socket that must be possible).
FEATURES = (
    (("sctp",), (), (socket.AF_INET, socket.SOCK_STREAM, 132)),
    (("dccp",), ("dccp_ipv4", "dccp_ipv6"), (socket.AF_INET, 6, 33)),
    (("mptcp",), (), (socket.AF_INET, socket.SOCK_STREAM, 262)),
    (("l2tp",), (), (socket.AF_INET, socket.SOCK_DGRAM, 115)),
    (("af_xdp",), (), (44, socket.SOCK_RAW, 0)),
)


def missing_feature(name):
    """What the running kernel lacks of what test @name needs, or None.
    Debian's kernels have it all; the debug kernel (a small config of
    its own) has none of these."""
    for words, modules, (fam, kind, proto) in FEATURES:
        if not any(w in name for w in words):
            continue
        for m in modules:
            subprocess.run(["modprobe", m], capture_output=True)
        try:
            socket.socket(fam, kind, proto).close()
        except OSError as e:
            if e.errno in (errno.EPROTONOSUPPORT, errno.ESOCKTNOSUPPORT,
                           errno.EAFNOSUPPORT, errno.EPROTOTYPE):
                return "the kernel has no %s (%s)" % (words[0], e.strerror)
    return None


def run(only=None, stock=False, ko=None):
    t0 = time.time()
    passed = failed = 0
    # only where asked (the debug kernel's run); elsewhere a test whose
    # feature is missing runs, and fails
    may_skip = os.environ.get("DDEMUX_ALLOW_SKIP") == "1"
    for name, kind, fn in TESTS:
        if only and only not in name:
            continue
        if stock and kind == "module":
            continue
        why = missing_feature(name) if may_skip else None
        if why:
            print("%s %s: SKIP (%s)" % ("stock" if stock else "test", name, why))
            sys.stdout.flush()
            continue
        base = None if stock else registry_baseline()
        t = T(not stock, ko)
        err = None
        broken = False	# failed for another reason than a check
        try:
            fn(t)
        except Fail as e:
            err = str(e)
        except Exception as e:
            err = "%s: %s" % (type(e).__name__, e)
            broken = True
        finally:
            try:
                t.finish()
            except Exception as e:
                err = err or "cleanup: %s" % e
        if not stock and not err:
            # no test may leave an overlap recorded that was not refused
            st = T(True, ko).stats()
            for k in ("overlaps_observed", "rollback_failed"):
                if st[k]:
                    err = "%s is %d" % (k, st[k])
        if base is not None and not err:
            # every socket the test made is gone: so is its entry
            for _ in range(50):
                if registry_baseline() == base:
                    break
                time.sleep(0.1)
            else:
                err = "registry kept %d entries" % (registry_baseline() - base)
        if stock and kind == "differs":
            # it must fail on the hole it checks: a check, not an error
            ok = bool(err) and not broken
            why = ("fails on stock, as it must: " + err if ok else
                   "fails on stock, but not on a check: " + err if err else
                   "passes on stock, so it does not test ddemux")
            print("stock %s: %s (%s)" % (name, "PASS" if ok else "FAIL", why))
        elif stock:
            ok = not err
            print("stock %s: %s" % (name, "PASS" if ok else "FAIL (%s)" % err))
        else:
            ok = not err
            print("test %s: %s" % (name, "PASS" if ok else "FAIL (%s)" % err))
        sys.stdout.flush()
        passed += ok
        failed += not ok
    print("tests: %d passed, %d failed (%.1f s)" % (passed, failed, time.time() - t0))
    return failed == 0


def main():
    args = sys.argv[1:]
    stock = "--stock" in args
    ko = args[args.index("--ko") + 1] if "--ko" in args else None
    only = args[args.index("-k") + 1] if "-k" in args else None
    with open("/proc/sys/net/ipv4/ping_group_range", "w") as f:
        f.write("0 2147483647")
    loaded = os.path.isdir(PROC)
    if stock and loaded:
        sys.exit("--stock but ddemux is loaded")
    if not stock and not loaded:
        sys.exit("ddemux is not loaded")
    sys.exit(0 if run(only, stock, ko) else 1)


if __name__ == "__main__":
    main()
