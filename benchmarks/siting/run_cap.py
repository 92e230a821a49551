"""OR-Library capacitated warehouse location (cap41–cap104, capa), split demand.

Usage: ``python benchmarks/siting/run_cap.py [cap41 …] [--all] [--time-limit 120]``.
``--all`` adds capa (1000 customers × 100 sites) with capacities 8000–14000.
"""

from __future__ import annotations

import argparse

from data import CAP_OPT, CAPA_OPT, DATA, print_table, read_cap, row, timed
from planner.siting import solve


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("instances", nargs="*", help="e.g. cap41 capa:8000 (default: cap41–cap104)")
    ap.add_argument("--all", action="store_true", help="also capa with capacity 8000–14000")
    ap.add_argument("--time-limit", type=float, default=120.0, help="seconds per instance")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--log", action="store_true", help="print the HiGHS log")
    args = ap.parse_args()
    names = args.instances or list(CAP_OPT)
    if args.all:
        names = list(CAP_OPT) + [f"capa:{q}" for q in CAPA_OPT]
    rows = []
    for name in names:
        if name.startswith("capa"):
            q = int(name.split(":")[1]) if ":" in name else 8000
            inst = read_cap(DATA / "orlib_cap" / "capa.txt", capacity=q)
            opt = CAPA_OPT[q]
        else:
            inst = read_cap(DATA / "orlib_cap" / f"{name}.txt")
            opt = CAP_OPT[name]
        sol, secs = timed(
            solve, inst, time_limit=args.time_limit, threads=args.threads, log=args.log
        )
        rows.append(row(name, inst.n, f"{inst.m}", opt, sol, secs))
    print_table(
        rows,
        f"OR-Library capacitated warehouse location (Beasley 1988), p column = m, "
        f"time limit {args.time_limit:g} s",
    )


if __name__ == "__main__":
    main()
