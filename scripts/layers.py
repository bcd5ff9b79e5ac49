#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""Check that the module's files call each other in one direction only.

    scripts/layers.py BUILD_DIR

Reads the symbols each object file of ddemux.ko defines and uses (nm),
draws the graph "file A uses a symbol file B defines", and fails if an
edge is not one of the allowed ones below (which also rules out any
cycle).  The layers, from the top:

    main      module life: calls everything, called by nothing
    iface     sysctls and /proc: may switch the egress hooks, reads the core
    hooks     adapter: socket paths (ddemux_hooks.c, ddemux_sctp.c,
              ddemux_l2tp.c)
                                             } neither calls the other
    egress    adapter: netfilter             }
    core      the enforcement core (ddemux_core.c, ddemux_reply.c)
    table     the registry
    policy    pure decisions
"""
import os
import subprocess
import sys

ALLOWED = {
    "main": {"iface", "hooks", "egress", "core", "table", "policy"},
    "iface": {"egress", "core", "table", "policy"},
    "hooks": {"core", "table", "policy"},
    "egress": {"core", "table", "policy"},
    "core": {"table", "policy"},
    "table": {"policy"},
    "policy": set(),
}


def symbols(obj):
    out = subprocess.run(["nm", obj], capture_output=True, text=True,
                         check=True).stdout
    defined, used = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "U":
            used.add(parts[1])
        elif len(parts) == 3 and parts[1].isupper():
            defined.add(parts[2])
    return defined, used


# The object files of a layer, where it is more than ddemux_LAYER.o.
FILES = {
    "hooks": ["ddemux_hooks.o", "ddemux_sctp.o", "ddemux_l2tp.o"],
    "core": ["ddemux_core.o", "ddemux_reply.o"],
}


def main():
    build = sys.argv[1]
    files = {}
    for layer in ALLOWED:
        defined, used = set(), set()
        for name in FILES.get(layer, ["ddemux_%s.o" % layer]):
            obj = os.path.join(build, name)
            if not os.path.exists(obj):
                sys.exit("missing %s" % obj)
            d, u = symbols(obj)
            defined |= d
            used |= u
        files[layer] = (defined, used - defined)
    owner = {}
    for layer, (defined, _) in files.items():
        for sym in defined:
            owner[sym] = layer
    bad = 0
    for layer, (_, used) in sorted(files.items()):
        edges = {}
        for sym in sorted(used):
            if sym in owner and owner[sym] != layer:
                edges.setdefault(owner[sym], []).append(sym)
        for to, syms in sorted(edges.items()):
            ok = to in ALLOWED[layer]
            bad += not ok
            print("%s %-7s -> %-7s %s" % ("ok " if ok else "BAD", layer, to,
                                         " ".join(syms[:6]) +
                                         (" ..." if len(syms) > 6 else "")))
    print("layers: %s" % ("one-way" if not bad else "%d forbidden edges" % bad))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
