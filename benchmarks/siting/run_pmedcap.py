"""Capacitated p-median with single sourcing: Osman–Christofides and Lorena–Senne SJC.

Usage: ``python benchmarks/siting/run_pmedcap.py [pmedcap01 SJC1 …] [--all]
[--time-limit 120] [--spopt [--spopt-time-limit 300]]``.
Default: pmedcap01–10 and SJC1; ``--all`` adds SJC2 and SJC3a (hard: minutes each).
"""

from __future__ import annotations

from common import Case, main, parse_args

from data import DATA, SJC_OPT, read_pmedcap, read_sjc

PMEDCAP = [f"pmedcap{k:02d}" for k in range(1, 11)]


def _case(name: str) -> Case:
    def load():
        if name.startswith("pmedcap"):
            return read_pmedcap(DATA / "orlib_pmedcap" / f"{name}.txt")
        return read_sjc(DATA / "lorena_senne_sjc" / f"{name}.dat"), SJC_OPT[name]

    return Case(name, load)


def run() -> None:
    args = parse_args(
        __doc__, "instance names (default: pmedcap01–10, SJC1)", "also SJC2 and SJC3a"
    )
    names = args.instances or [*PMEDCAP, "SJC1"]
    if args.all:
        names = [*PMEDCAP, *SJC_OPT]
    main(
        [_case(name) for name in names],
        args,
        "Capacitated p-median, single sourcing (Osman & Christofides 1994; Lorena & Senne "
        "2004); SJC optima are published to 0.01",
    )


if __name__ == "__main__":
    run()
