"""City-scale siting through the product's entry: a phased synthetic city, solved by ``solve``.

Usage::

    python benchmarks/siting/run_city.py                   # seed 1, 20,000 × 2,000 × 3 × 5
    python benchmarks/siting/run_city.py --seeds 1 2 3 --time-limit 120 --markdown
    python benchmarks/siting/run_city.py --blocks 5000 --sites 500 --log

Each seed builds :func:`city.phased_city` (20,000 blocks × 2,000 sites × 3 sizes × 5
periods, demand growing over the periods, sites' earliest periods varying) and calls
``planner.siting.solve`` as ``planner run`` does: the default work limits
(:class:`planner.siting.SolveLimits`), only the wall-clock safety cap from
``--time-limit`` (default 120 s, the target of issue 12). It reports the proven gap
``(plan − bound) / plan``, when the gap first reached 1 % (from the engine's progress
reports), the time of every step, whether the clock cut the solve, and the plan check of
:func:`common.check_plan`.
"""

from __future__ import annotations

import argparse
import math
import sys
import time

import common
import numpy as np
from city import phased_city


def _gap_hits(reports: list, target: float) -> float | None:
    for p in reports:
        if math.isfinite(p.bound) and p.gap <= target:
            return p.seconds
    return None


def run_seed(seed: int, args: argparse.Namespace) -> tuple[dict, object]:
    """Build and solve one city; returns its table row and the solution."""
    t0 = time.perf_counter()
    inst = phased_city(args.blocks, args.sites, args.periods, rng=np.random.default_rng(seed))
    gen = time.perf_counter() - t0
    reports = []

    def progress(p) -> None:
        reports.append(p)
        if args.log:
            common.print_progress(p)

    t1 = time.perf_counter()
    sol = common.solve_as_product(inst, args.time_limit, progress)
    secs = time.perf_counter() - t1
    problems = common.check_plan(sol)
    hit = _gap_hits(reports, args.target)
    steps = "; ".join(f"{s.step} {s.seconds:.1f} s" for s in sol.steps.itertuples(index=False))
    unserved = float(sol.unserved.sum())
    row = {
        "seed": seed,
        "blocks × sites × sizes × periods": (
            f"{inst.n} × {inst.F} × {inst.O // max(inst.F, 1)} × {inst.P}"
        ),
        "pairs": inst.n_pairs,
        "flow columns": inst.n_pairs * inst.P,
        "gen s": f"{gen:.1f}",
        "heuristic": f"{sol.heuristic_objective:.0f}",
        "plan": f"{sol.objective:.0f}",
        "bound": f"{sol.bound:.0f}" if math.isfinite(sol.bound) else "-",
        "gap": common.fmt_gap(sol.gap),
        f"≤ {100 * args.target:g} % at": "-" if hit is None else f"{hit:.0f} s",
        "seconds": f"{secs:.1f}",
        "status": sol.status
        + (" (clock)" if sol.stopped_by_clock and "clock" not in sol.status else ""),
        "projects": int((sol.open_period >= 0).sum()),
        "unserved pupil-periods": f"{unserved:.0f}",
        "steps": steps,
        "check": "; ".join(problems) if problems else "ok",
    }
    return row, sol


def table(rows: list[dict], markdown: bool) -> None:
    """Print the rows aligned (and as Markdown)."""
    cols = list(rows[0])
    width = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in cols}
    print("  ".join(c.ljust(width[c]) for c in cols))
    for r in rows:
        print("  ".join(str(r[c]).ljust(width[c]) for c in cols))
    if markdown:
        print("\n| " + " | ".join(cols) + " |")
        print("|" + "---|" * len(cols))
        for r in rows:
            print("| " + " | ".join(str(r[c]) for c in cols) + " |")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    """Run the city benchmark; returns 1 when a plan check failed, else 0."""
    ap = argparse.ArgumentParser(prog="run_city.py", description=__doc__.split("\n", 1)[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1])
    ap.add_argument("--blocks", type=int, default=20_000)
    ap.add_argument("--sites", type=int, default=2_000)
    ap.add_argument("--periods", type=int, default=5)
    ap.add_argument(
        "--time-limit", type=float, default=120.0, help="safety cap of each solve, s (120)"
    )
    ap.add_argument("--target", type=float, default=0.01, help="gap to report reaching (1 %%)")
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--log", action="store_true", help="print the engine's progress lines")
    args = ap.parse_args(argv)
    rows = []
    for seed in args.seeds:
        row, _ = run_seed(seed, args)
        print(
            f"seed {seed}: plan {row['plan']}, bound {row['bound']}, gap {row['gap']}, "
            f"{row['status']} in {row['seconds']} s",
            flush=True,
        )
        rows.append(row)
    print(
        f"\nphased city through planner.siting.solve (default SolveLimits, safety cap "
        f"{args.time_limit:g} s)"
    )
    table(rows, args.markdown)
    return 1 if any(r["check"] != "ok" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
