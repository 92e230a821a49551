"""Write the seat-gap map of a scenario as one offline HTML file.

Usage::

    python -m planner.maps data/demo/scenario.toml runs/demo/map.html [--lang en]
        [--siting] [--approval-no 粤S(2025)001号]

Computes the run (without siting unless ``--siting``; siting solves the MILP and takes
minutes) and saves :func:`planner.maps.gap_map` with :func:`planner.maps.save_offline`.
"""

from __future__ import annotations

import argparse
import sys

from planner.errors import PlannerError


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit code."""
    ap = argparse.ArgumentParser(prog="python -m planner.maps", description=__doc__.split("\n")[0])
    ap.add_argument("scenario", help="scenario TOML file")
    ap.add_argument("out", help="HTML file to write")
    ap.add_argument("--lang", choices=("zh", "en"), default="zh")
    ap.add_argument("--siting", action="store_true", help="also plan and draw new schools")
    ap.add_argument("--approval-no", default="", help="审图号 printed in the footer")
    args = ap.parse_args(argv)
    from planner.io.load import load_inputs
    from planner.io.norms import load_norms
    from planner.io.scenario import read_scenario
    from planner.maps import gap_map, save_offline, siting_layers
    from planner.run import compute

    try:
        sc = read_scenario(args.scenario)
        result = compute(load_inputs(sc), load_norms(sc.norms), siting=args.siting)
        layers = siting_layers(result) if args.siting else {}
        m = gap_map(result, lang=args.lang, approval_no=args.approval_no, **layers)
        path = save_offline(m, args.out)
    except PlannerError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"map written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
