#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""ddemux at work: the story "make demo" plays, as root, with real sockets.

    scripts/demo-story.py --ko PATH [--port N]

First on the stock kernel, then with ddemux loaded: alice runs a UDP
service, mallory (another user of the same machine) co-binds it and
forges a packet from it; the administrator shares one port on purpose.
Every step says what happened and why; the last line is the verdict.
The module is loaded and unloaded here: it must not be loaded before.
"""
import os
import re
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tests"))
import ddemux_tests as dt  # noqa: E402  (actors and socket helpers)

ALICE, MALLORY = dt.ALICE, dt.MALLORY
# colours when the viewer has a terminal (demo.sh says so: in the VM our
# stdout is always a console)
BOLD, DIM, RED, GREEN, OFF = (("\033[1m", "\033[2m", "\033[31m", "\033[32m",
                               "\033[0m") if os.environ.get("DEMO_COLOR") == "1"
                              else ("",) * 5)


def say(who, what):
    print("  %-8s %s" % (who + ":", what))
    sys.stdout.flush()


def why(text):
    print("  %-8s %s%s%s" % ("", DIM, text, OFF))


def section(title):
    print("\n%s-- %s --%s" % (BOLD, title, OFF))


def kernel_says(since, pattern):
    for line in subprocess.run(["dmesg"], capture_output=True,
                               text=True).stdout.splitlines()[since:]:
        if re.search(pattern, line):
            m = re.match(r"\[[^]]*\] (.*)", line)
            say("kernel", m.group(1) if m else line)
            return True
    return False


def klog_len():
    return len(subprocess.run(["dmesg"], capture_output=True,
                              text=True).stdout.splitlines())


def deliver(p, n=3):
    """A client sends n datagrams to 127.0.0.1:p."""
    c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(n):
        c.sendto(b"request %d" % i, ("127.0.0.1", p))
    c.close()


def attempt(svc, echo_port, loaded):
    """One round: the co-bind, the datagrams, the forgery.  Returns what
    mallory achieved: (co-bound, stole, forged)."""
    alice = dt.Actor(ALICE)
    mallory = dt.Actor(MALLORY, caps=("net_raw",))
    echo = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    echo.bind(("127.0.0.1", echo_port))
    try:
        e = alice(dt.a_udp, "svc", ("0.0.0.0", svc), ra=True)
        if e:
            sys.exit("alice cannot bind port %d: %s" % (svc, os.strerror(e)))
        say("alice", "runs a UDP service on 0.0.0.0:%d with SO_REUSEADDR, "
                     "as many daemons do" % svc)
        since = klog_len()
        e = mallory(dt.a_udp, "svc", ("0.0.0.0", svc), ra=True)
        say("mallory", "binds 0.0.0.0:%d with SO_REUSEADDR too: %s" % (
            svc, "succeeded" if not e else RED + "refused, " +
            os.strerror(e) + OFF))
        if not e:
            why("Linux compares uids for SO_REUSEPORT only, never for "
                "SO_REUSEADDR")
        elif loaded:
            kernel_says(since, r"ddemux: deny bind")
        cobound = not e

        deliver(svc)
        got_a = len(alice(dt.a_recv_all, "svc"))
        got_m = len(mallory(dt.a_recv_all, "svc")) if cobound else 0
        say("client", "sends 3 datagrams to 127.0.0.1:%d: alice gets %d, "
                      "mallory gets %d" % (svc, got_a, got_m))
        if got_m:
            why("among equal sockets the newest one gets every datagram")
        if cobound:
            mallory(dt.a_close, "svc")
            say("mallory", "closes her socket: alice has the port to herself")

        say("mallory", "forges, with a raw socket, a datagram from alice's "
                       "port %d to the echo service on 127.0.0.1:%d" % (
                           svc, echo_port))
        why("(mallory runs a program with CAP_NET_RAW, as ping used to be)")
        since = klog_len()
        e = mallory(dt.a_raw_send, socket.IPPROTO_UDP,
                    dt.udp_hdr(svc, echo_port, b"hello, it is alice"),
                    "127.0.0.1")
        echo.settimeout(0.5)
        try:
            data, src = echo.recvfrom(100)
            echo.sendto(b"reply for alice", src)
            say("echo", "got %r from %s:%d and replied" % (data, *src))
        except socket.timeout:
            say("echo", "got nothing")
        if e:
            say("mallory", "sendto() failed: " + RED + os.strerror(e) + OFF)
            if loaded:
                kernel_says(since, r"ddemux: deny egress")
        got = alice(dt.a_recv, "svc", 0.5)
        forged = bool(got)
        if forged:
            say("alice", "receives %r, a reply to a request she never sent"
                % got[0])
        else:
            say("alice", "receives nothing")
        return cobound, got_m > 0, forged
    finally:
        echo.close()
        alice.close()
        mallory.close()


def main():
    args = sys.argv[1:]
    ko = args[args.index("--ko") + 1]
    base = int(args[args.index("--port") + 1]) if "--port" in args else 5300
    svc, echo_port, shared = base, base + 7, 5353 if base == 5300 else base + 53
    if os.path.isdir(dt.PROC):
        sys.exit("ddemux is already loaded: unload it first (make unload)")
    with open("/proc/sys/net/ipv4/ping_group_range", "w") as f:
        f.write("0 2147483647")

    print("%sddemux demo%s on Linux %s" % (BOLD, OFF, os.uname().release))
    print("alice (uid %d) runs a service; mallory (uid %d) is another user of "
          "the same machine." % (ALICE, MALLORY))

    section("1. Stock Linux")
    stock = attempt(svc, echo_port, False)
    if any(stock):
        why("=> mallory took alice's traffic and spoke with her address")

    section("2. insmod ddemux.ko (enforce mode, domain = user)")
    since = klog_len()
    subprocess.run(["insmod", ko], check=True)
    kernel_says(since, r"ddemux: loaded")
    try:
        section("3. The same, with ddemux")
        guarded = attempt(svc + 1, echo_port + 1, True)

        section("4. Sharing a port on purpose")
        say("admin", "echo 'add udp %d' > /proc/net/ddemux/shares" % shared)
        why("(mDNS: every user's responder binds udp 5353 with SO_REUSEADDR)")
        with open(dt.PROC + "/shares", "w") as f:
            f.write("add udp %d\n" % shared)
        alice, mallory = dt.Actor(ALICE), dt.Actor(MALLORY)
        a = alice(dt.a_udp, "m", ("0.0.0.0", shared), ra=True)
        m = mallory(dt.a_udp, "m", ("0.0.0.0", shared), ra=True)
        say("both", "bind 0.0.0.0:%d with SO_REUSEADDR: alice %s, mallory %s" % (
            shared, "ok" if not a else os.strerror(a),
            "ok" if not m else os.strerror(m)))
        n = mallory(dt.a_udp, "n", ("127.0.0.1", shared))
        say("mallory", "binds 127.0.0.1:%d without SO_REUSEADDR: %s" % (
            shared, "ok" if not n else "refused, " + os.strerror(n)))
        why("a shared port still needs every socket involved to opt in")
        share_ok = not a and not m and n

        section("5. What ddemux knows")
        say("admin", "cat /proc/net/ddemux/sockets")
        for line in open(dt.PROC + "/sockets"):
            print("           " + line.rstrip())
        alice.close()
        mallory.close()
        say("admin", "cat /proc/net/ddemux/stats  (the non-zero lines)")
        for line in open(dt.PROC + "/stats"):
            if not line.rstrip().endswith(" 0"):
                print("           " + line.rstrip())
    finally:
        subprocess.run(["rmmod", "ddemux"])

    print()
    problems = []
    if not (stock[0] and stock[1]):
        problems.append("the stock kernel did not show the co-bind theft")
    if not stock[2]:
        problems.append("the stock kernel did not show the forgery")
    if any(guarded):
        problems.append("ddemux let mallory %s" % ", ".join(
            w for w, did in zip(("co-bind", "steal", "forge"), guarded) if did))
    if not share_ok:
        problems.append("the shared port did not behave")
    if problems:
        print("%sverdict: FAIL%s: %s" % (RED, OFF, "; ".join(problems)))
        sys.exit(1)
    print("%sverdict: PASS%s: stock Linux let mallory steal alice's datagrams "
          "and forge her replies; ddemux refused both, named both users, and "
          "let the shared port be shared." % (GREEN, OFF))


if __name__ == "__main__":
    main()
