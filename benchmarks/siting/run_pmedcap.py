"""Capacitated p-median with single sourcing: Osman–Christofides and Lorena–Senne SJC.

Usage: ``python benchmarks/siting/run_pmedcap.py [pmedcap01 SJC1 …] [--all] [--time-limit 120]``.
Default: pmedcap01–10 and SJC1; ``--all`` adds SJC2 and SJC3a (hard: minutes each).
"""

from __future__ import annotations

import argparse

from data import DATA, SJC_OPT, print_table, read_pmedcap, read_sjc, row, timed
from planner.siting import solve

PMEDCAP = [f"pmedcap{k:02d}" for k in range(1, 11)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("instances", nargs="*", help="instance names (default: pmedcap01–10, SJC1)")
    ap.add_argument("--all", action="store_true", help="also SJC2 and SJC3a")
    ap.add_argument("--time-limit", type=float, default=120.0, help="seconds per instance")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--log", action="store_true", help="print the HiGHS log")
    args = ap.parse_args()
    names = args.instances or [*PMEDCAP, "SJC1"]
    if args.all:
        names = [*PMEDCAP, *SJC_OPT]
    rows = []
    for name in names:
        if name.startswith("pmedcap"):
            inst, opt = read_pmedcap(DATA / "orlib_pmedcap" / f"{name}.txt")
        else:
            inst, opt = read_sjc(DATA / "lorena_senne_sjc" / f"{name}.dat"), SJC_OPT[name]
        sol, secs = timed(
            solve, inst, time_limit=args.time_limit, threads=args.threads, log=args.log
        )
        rows.append(row(name, inst.n, inst.p, opt, sol, secs))
    print_table(
        rows,
        "Capacitated p-median, single sourcing (Osman & Christofides 1994; Lorena & Senne "
        f"2004), time limit {args.time_limit:g} s; SJC optima are published to 0.01",
    )


if __name__ == "__main__":
    main()
