"""OR-Library uncapacitated p-median (pmed1–40) with the radius formulation.

Usage: ``python benchmarks/siting/run_pmed.py [pmed1 pmed6 …] [--all] [--time-limit 120]``.
The default subset (pmed1–15) takes about two minutes on 2 cores.
"""

from __future__ import annotations

import argparse

from data import DATA, pmed_optima, print_table, read_pmed, row, timed
from planner.siting import solve

DEFAULT = [f"pmed{k}" for k in range(1, 16)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("instances", nargs="*", help="instance names (default: a quick subset)")
    ap.add_argument("--all", action="store_true", help="every pmed file present")
    ap.add_argument("--time-limit", type=float, default=120.0, help="seconds per instance")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--formulation", default="auto", choices=["auto", "radius", "assignment"])
    ap.add_argument("--log", action="store_true", help="print the HiGHS log")
    args = ap.parse_args()
    opt = pmed_optima()
    names = args.instances or DEFAULT
    if args.all:
        present = {p.stem for p in (DATA / "orlib_pmed").glob("pmed*.txt")} - {"pmedopt"}
        names = sorted(present, key=lambda s: int(s[4:]))
    rows = []
    for name in names:
        inst, n = read_pmed(DATA / "orlib_pmed" / f"{name}.txt")
        sol, secs = timed(
            solve,
            inst,
            args.formulation,
            time_limit=args.time_limit,
            threads=args.threads,
            log=args.log,
        )
        rows.append(row(name, n, inst.p, opt[name], sol, secs))
        print_table(rows[-1:], "") if args.log else None
    print_table(rows, f"OR-Library p-median (Beasley 1985), time limit {args.time_limit:g} s")


if __name__ == "__main__":
    main()
