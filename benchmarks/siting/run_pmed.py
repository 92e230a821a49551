"""OR-Library uncapacitated p-median (pmed1–40) with the radius formulation.

Usage: ``python benchmarks/siting/run_pmed.py [pmed1 pmed6 …] [--all] [--time-limit 120]
[--spopt [--spopt-time-limit 300]]``. The default subset (pmed1–15) takes about a minute
on 2 cores; ``--spopt`` adds the spopt (PuLP + CBC) reference, which takes far longer.
"""

from __future__ import annotations

from common import Case, main, parse_args

from data import DATA, pmed_optima, read_pmed

DEFAULT = [f"pmed{k}" for k in range(1, 16)]


def _case(name: str, opt: dict[str, float]) -> Case:
    return Case(name, lambda: (read_pmed(DATA / "orlib_pmed" / f"{name}.txt")[0], opt[name]))


def run() -> None:
    args = parse_args(
        __doc__,
        "instance names (default: pmed1–15)",
        "every pmed file present",
        lambda ap: ap.add_argument(
            "--formulation", default="auto", choices=["auto", "radius", "assignment"]
        ),
    )
    opt = pmed_optima()
    names = args.instances or DEFAULT
    if args.all:
        present = {p.stem for p in (DATA / "orlib_pmed").glob("pmed*.txt")} - {"pmedopt"}
        names = sorted(present, key=lambda s: int(s[4:]))
    main(
        [_case(name, opt) for name in names],
        args,
        "OR-Library p-median (Beasley 1985)",
        formulation=args.formulation,
    )


if __name__ == "__main__":
    run()
