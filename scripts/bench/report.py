#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""Turn the benchmarks' raw results into a markdown table and a PNG plot.

    scripts/bench/report.py --out DIR [--meta FILE] TSV...

Each TSV (written by scripts/bench/{egress,bind,registry}.sh) has the
columns bench, case, config, round, value, unit: one row per measurement.
Within a round every config of a case was measured back to back, so the
ratio of a config to stock is taken per round; the report gives the median
of the values and of those ratios, with the spread (min-max), and checks
the targets of Documentation/benchmarks.rst against them.

Writes DIR/results.md and DIR/results.png.  --meta names a file of
"key: value" lines (kernel, date, rounds, ...) printed at the top.
"""
import argparse
import collections
import csv
import os
import re
import statistics
import sys

HIGHER = {"ops/s", "pkt/s", "trans/s"}
LOWER = {"ns/op", "bytes"}

# The targets: (bench, case regexp, config, what, minimum ratio to stock).
RATIO_TARGETS = [
    # every egress case, the slow path (raw-lo, a registry lookup for
    # every packet) included
    ("egress", r"^", "ddemux",
     "egress at least 0.98 of stock", 0.98),
    ("bind", r"^(bind|connect)-close-", "ddemux",
     "bind/close and connect/close at least 0.95 of stock", 0.95),
    ("bind", r"^accept-tcp-100k$", "ddemux",
     "accept at least 0.95 of stock with 100k sockets on the port", 0.95),
]
# cases whose ddemux rate with 100k other-address sockets of another user
# on the port is held to this share of its rate on an empty port
HELD_PORT_CASES = ("accept-tcp", "bind-close-tcp-held")
HELD_PORT_MIN = 0.95
REGISTRY_FLAT = 1.2
REGISTRY_BYTES = 128


def load(paths):
    rows = []
    for path in paths:
        with open(path, newline="") as f:
            for r in csv.DictReader(f, delimiter="\t"):
                try:
                    r["value"] = float(r["value"])
                    r["round"] = int(r["round"])
                except (TypeError, ValueError):
                    sys.exit(f"{path}: bad row {r}")
                rows.append(r)
    return rows


def spread(vals):
    return statistics.median(vals), min(vals), max(vals)


def fmt(v):
    if v >= 100:
        return f"{v:,.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.3g}"


def fmt_spread(s):
    return f"{fmt(s[0])} ({fmt(s[1])}–{fmt(s[2])})"


def fmt_ratio(s):
    return f"**{s[0]:.3f}** ({s[1]:.3f}–{s[2]:.3f})"


def case_key(case):
    """Order cases by name, sizes (1000, 10k, 1m) compared as numbers."""
    key = []
    for tok in case.split("-"):
        m = re.fullmatch(r"(\d+)([kKmM]?)", tok)
        if m:
            n = int(m.group(1)) * {"k": 1000, "m": 1000000}.get(
                m.group(2).lower(), 1)
            key.append((1, "", n))
        else:
            key.append((0, tok, 0))
    return key


def case_family(case):
    """The case without its size: bind-close-tcp-10k -> bind-close-tcp."""
    return "-".join(t for t in case.split("-")
                    if not re.fullmatch(r"\d+[kKmM]?", t))


class Results:
    def __init__(self, rows):
        # (bench, case) -> config -> round -> value
        self.data = collections.OrderedDict()
        self.unit = {}
        for r in rows:
            k = (r["bench"], r["case"])
            self.data.setdefault(k, collections.OrderedDict()).setdefault(
                r["config"], {})[r["round"]] = r["value"]
            self.unit[k] = r["unit"]

    def cases(self, bench):
        """In the order the benchmark wrote them, each size series
        grouped and ascending."""
        ks = [c for (b, c) in self.data if b == bench]
        first = {}
        for c in ks:
            first.setdefault(case_family(c), len(first))
        return sorted(ks, key=lambda c: (first[case_family(c)], case_key(c)))

    def configs(self, bench):
        seen = []
        for (b, _), cfgs in self.data.items():
            if b == bench:
                for c in cfgs:
                    if c not in seen:
                        seen.append(c)
        order = {"stock": 0, "ddemux": 1}
        return sorted(seen, key=lambda c: (order.get(c, 2), c))

    def values(self, bench, case, config):
        return list(self.data[(bench, case)].get(config, {}).values())

    def ratio(self, bench, case, config, base="stock"):
        """Per-round rate of CONFIG relative to BASE: median, min, max."""
        cfgs = self.data[(bench, case)]
        if config not in cfgs or base not in cfgs:
            return None
        unit = self.unit[(bench, case)]
        rs = []
        for rnd, v in cfgs[config].items():
            b = cfgs[base].get(rnd)
            if b is None or v <= 0 or b <= 0:
                continue
            rs.append(v / b if unit in HIGHER else b / v)
        return spread(rs) if rs else None


def ratio_table(res, bench, title, out):
    cases = res.cases(bench)
    if not cases:
        return
    cfgs = res.configs(bench)
    alts = [c for c in cfgs if c != "stock"]
    out.append(f"### {title}\n")
    head = ["case", "unit"] + cfgs + [f"{c}/stock" for c in alts]
    if "ddemux" in alts and len(alts) > 1:
        head += [f"ddemux/{c}" for c in alts if c != "ddemux"]
    out.append("| " + " | ".join(head) + " |")
    out.append("|" + "---|" * len(head))
    for case in cases:
        unit = res.unit[(bench, case)]
        row = [case, unit]
        for c in cfgs:
            v = res.values(bench, case, c)
            row.append(fmt_spread(spread(v)) if v else "–")
        for c in alts:
            r = res.ratio(bench, case, c)
            row.append(fmt_ratio(r) if r else "–")
        if "ddemux" in alts and len(alts) > 1:
            for c in alts:
                if c != "ddemux":
                    r = res.ratio(bench, case, "ddemux", base=c)
                    row.append(fmt_ratio(r) if r else "–")
        out.append("| " + " | ".join(row) + " |")
    out.append("")


def registry_sizes(res):
    """{op: {size: (median, min, max)}} from cases like lookup-hit-1000."""
    ops = collections.OrderedDict()
    for case in res.cases("registry"):
        m = re.match(r"^(.*)-(\d+)$", case)
        if not m or res.unit[("registry", case)] != "ns/op":
            continue
        v = res.values("registry", case, "ddemux")
        if v:
            ops.setdefault(m.group(1), {})[int(m.group(2))] = spread(v)
    return ops


def registry_table(res, out):
    ops = registry_sizes(res)
    if not ops:
        return
    sizes = sorted({s for d in ops.values() for s in d})
    out.append("### Registry (in-kernel microbenchmark)\n")
    head = ["operation"] + [f"{s:,} entries" for s in sizes] + \
        ["slowest/fastest"]
    out.append("| " + " | ".join(head) + " |")
    out.append("|" + "---|" * len(head))
    for op, d in ops.items():
        row = [f"{op} (ns/op)"]
        for s in sizes:
            row.append(fmt_spread(d[s]) if s in d else "–")
        meds = [v[0] for v in d.values()]
        row.append(f"{max(meds) / min(meds):.2f}x" if len(meds) > 1 else "–")
        out.append("| " + " | ".join(row) + " |")
    out.append("")
    extra = [c for c in res.cases("registry")
             if res.unit[("registry", c)] != "ns/op"]
    if extra:
        out.append("| measure | value (min–max) |")
        out.append("|---|---|")
        for c in extra:
            v = res.values("registry", c, "ddemux")
            out.append(f"| {c} ({res.unit[('registry', c)]}) | "
                       f"{fmt_spread(spread(v))} |")
        out.append("")


def targets(res):
    """[(met, text)] for every target there are figures for."""
    got = []
    for bench, pat, cfg, what, lim in RATIO_TARGETS:
        rs = [(c, res.ratio(bench, c, cfg)) for c in res.cases(bench)
              if re.match(pat, c)]
        rs = [(c, r) for c, r in rs if r]
        if not rs:
            continue
        worst = min(rs, key=lambda x: x[1][0])
        got.append((all(r[0] >= lim for _, r in rs),
                    f"{what}: lowest median ratio {worst[1][0]:.3f} "
                    f"({worst[0]})"))
    for bench, alt in (("egress", "nft"), ("bind", "bpf")):
        rs = [(c, res.ratio(bench, c, "ddemux", base=alt))
              for c in res.cases(bench)]
        rs = [(c, r) for c, r in rs if r]
        if rs:
            worst = min(rs, key=lambda x: x[1][0])
            got.append((all(r[0] >= 1.0 for _, r in rs),
                        f"faster than {alt} on the same work: lowest median "
                        f"ddemux/{alt} {worst[1][0]:.3f} ({worst[0]})"))
    for fam in HELD_PORT_CASES:
        full = res.values("bind", f"{fam}-100k", "ddemux")
        empty = res.values("bind", f"{fam}-0", "ddemux")
        if full and empty:
            f = statistics.median(full) / statistics.median(empty)
            got.append((f >= HELD_PORT_MIN,
                        f"{fam} with 100k other-address sockets of another "
                        f"user on the port at least {HELD_PORT_MIN} of its "
                        f"rate on an empty port (ddemux): {f:.3f}"))
    ops = registry_sizes(res)
    for op, d in ops.items():
        if not op.startswith("lookup") or len(d) < 2:
            continue
        meds = [d[s][0] for s in sorted(d)]
        f = max(meds) / min(meds)
        got.append((f <= REGISTRY_FLAT,
                    f"registry {op} flat within {REGISTRY_FLAT}x from "
                    f"{min(d):,} to {max(d):,} entries: {f:.2f}x"))
    # memory: the allocator's figure at the largest size (smaller
    # registries pay for half-empty tables; the table shows them too)
    sized = [(int(m.group(1)), c) for c in res.cases("registry")
             for m in [re.fullmatch(r"bytes-per-entry-(\d+)", c)] if m]
    if sized:
        n, c = max(sized)
        m = statistics.median(res.values("registry", c, "ddemux"))
        # the kernel's own count, address nodes and slab pages included:
        # the target is met only when that is within it too
        mc = f"bytes-per-entry-meminfo-{n}"
        mi = (statistics.median(res.values("registry", mc, "ddemux"))
              if mc in res.cases("registry") else None)
        text = (f"at most {REGISTRY_BYTES} bytes per entry at {n:,} "
                f"entries: {m:.0f} by the allocator's count of entries, "
                f"port nodes and tables")
        if mi is not None:
            text += f"; {mi:.0f} by /proc/meminfo, address nodes included"
        got.append((m <= REGISTRY_BYTES and
                    (mi is None or mi <= REGISTRY_BYTES), text))
    return got


def plot(res, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [b for b in ("egress", "bind") if res.cases(b)]
    ops = registry_sizes(res)
    n = len(panels) + (1 if ops else 0)
    if not n:
        return False
    fig, axes = plt.subplots(n, 1, figsize=(10, 3.6 * n), squeeze=False)
    axes = [a[0] for a in axes]
    for ax, bench in zip(axes, panels):
        cases = res.cases(bench)
        alts = [c for c in res.configs(bench) if c != "stock"]
        width = 0.8 / max(1, len(alts))
        for i, cfg in enumerate(alts):
            xs, ys, lo, hi = [], [], [], []
            for j, case in enumerate(cases):
                r = res.ratio(bench, case, cfg)
                if r:
                    xs.append(j + (i - (len(alts) - 1) / 2) * width)
                    ys.append(r[0])
                    lo.append(r[0] - r[1])
                    hi.append(r[2] - r[0])
            ax.bar(xs, ys, width, yerr=[lo, hi], capsize=3, label=cfg)
        lows = [1.0] + [res.ratio(bench, c, a)[1] for c in cases for a in alts
                        if res.ratio(bench, c, a)]
        ax.set_ylim(max(0.0, min(lows) - 0.1), None)
        ax.axhline(1.0, color="black", linewidth=0.8)
        for lim in sorted({t[4] for t in RATIO_TARGETS if t[0] == bench}):
            ax.axhline(lim, color="red", linestyle="--", linewidth=0.8,
                       label=f"target {lim}")
        ax.set_xticks(range(len(cases)))
        ax.set_xticklabels(cases, rotation=20, ha="right", fontsize=8)
        ax.set_ylabel("rate relative to stock")
        ax.set_title(f"{bench}: median per-round ratio to the stock kernel "
                     "(bars: min-max)")
        ax.legend(fontsize=8, loc="best")
    if ops:
        ax = axes[-1]
        for op, d in ops.items():
            ss = sorted(d)
            ax.errorbar(ss, [d[s][0] for s in ss],
                        yerr=[[d[s][0] - d[s][1] for s in ss],
                              [d[s][2] - d[s][0] for s in ss]],
                        marker="o", capsize=3, label=op)
        ax.set_xscale("log")
        ax.set_xlabel("entries in the registry")
        ax.set_ylabel("ns per operation")
        ax.set_ylim(bottom=0)
        ax.set_title("registry: median ns per operation (bars: min-max)")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--meta")
    ap.add_argument("tsv", nargs="+")
    args = ap.parse_args()
    res = Results(load(args.tsv))
    os.makedirs(args.out, exist_ok=True)

    out = ["# ddemux benchmark results", "",
           "Written by `make bench` (`scripts/bench/run.sh`); how they are "
           "taken and what the targets mean: `Documentation/benchmarks.rst`. "
           "Each cell: median (min–max) over the rounds; a ratio is taken "
           "per round between configurations measured back to back, as "
           "rate relative to the stock kernel (above 1 is faster).", ""]
    if args.meta:
        with open(args.meta) as f:
            for line in f:
                if ":" in line:
                    k, v = line.split(":", 1)
                    out.append(f"- {k.strip()}: {v.strip()}")
        out.append("")
    out.append("## Targets\n")
    for met, text in targets(res):
        out.append(f"- {'met' if met else '**missed**'}: {text}")
    out.append("")
    out.append("## Figures\n")
    ratio_table(res, "egress", "Egress: packet and transaction rates", out)
    ratio_table(res, "bind", "Binds: bind()/connect() + close() rates", out)
    registry_table(res, out)
    if plot(res, os.path.join(args.out, "results.png")):
        out.append("![results](results.png)\n")
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write("\n".join(out))
    print("\n".join(out))


if __name__ == "__main__":
    main()
