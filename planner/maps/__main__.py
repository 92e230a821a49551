"""Write the seat-gap map of a scenario as one offline HTML file (``planner map`` is the same).

Usage::

    python -m planner.maps data/demo/scenario.toml runs/demo/map.html [--lang en]
        [--siting] [--png map.png] [--pdf map.pdf]

Computes the run (without siting unless ``--siting``; siting solves the MILP and takes
minutes) and saves :func:`planner.maps.gap_map` with :func:`planner.maps.save_offline`;
the basemap, 审图号 and layers come from the scenario's ``[map]``.
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
    ap.add_argument("--lang", choices=("zh", "en"), default=None)
    ap.add_argument("--siting", action="store_true", help="also plan and draw new schools")
    ap.add_argument("--png", default=None, help="also export a PNG figure")
    ap.add_argument("--pdf", default=None, help="also export a PDF figure")
    args = ap.parse_args(argv)
    from planner.api import map_command  # the one orchestration (as `planner map`)

    try:
        files = map_command(
            args.scenario,
            out=args.out,
            png=args.png,
            pdf=args.pdf,
            lang=args.lang,
            siting=args.siting,
        )
    except PlannerError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    for f in files:
        print(f"written: {f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
