"""OR-Library capacitated warehouse location (cap41–cap104, capa), split demand.

Usage: ``python benchmarks/siting/run_cap.py [cap41 …] [--all] [--time-limit 120]``.
``--all`` adds capa (1000 customers × 100 sites) with capacities 8000–14000.
(``--spopt`` does not apply: spopt's PMedian has no fixed costs or split demand.)
"""

from __future__ import annotations

import sys

from common import Case, main, parse_args

from data import CAP_OPT, CAPA_OPT, DATA, read_cap


def _case(name: str) -> Case:
    def load():
        if name.startswith("capa"):
            q = int(name.split(":")[1]) if ":" in name else 8000
            return read_cap(DATA / "orlib_cap" / "capa.txt", capacity=q), CAPA_OPT[q]
        return read_cap(DATA / "orlib_cap" / f"{name}.txt"), CAP_OPT[name]

    return Case(name, load, p_label=lambda inst: f"{inst.m}")


def run() -> None:
    args = parse_args(
        __doc__,
        "e.g. cap41 capa:8000 (default: cap41–cap104)",
        "also capa with capacity 8000–14000",
    )
    if args.spopt:
        sys.exit("run_cap.py: --spopt is not supported (spopt has no CFLP with split demand)")
    names = args.instances or list(CAP_OPT)
    if args.all:
        names = list(CAP_OPT) + [f"capa:{q}" for q in CAPA_OPT]
    main(
        [_case(name) for name in names],
        args,
        "OR-Library capacitated warehouse location (Beasley 1988), p column = m",
    )


if __name__ == "__main__":
    run()
