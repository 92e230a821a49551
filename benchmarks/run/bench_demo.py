"""End-to-end demo benchmark: `planner run` time, output sizes, map drawing time.

Targets (issue 6): the demo `planner run` end to end ≤ 30 s on a 2-core machine
(excluding install); the demo map ≤ 5 MB and fully drawn in headless Chromium within 3 s.

    .venv/bin/python benchmarks/run/bench_demo.py            # runs the demo into a temp folder
    .venv/bin/python benchmarks/run/bench_demo.py --out runs/demo --keep

"Fully drawn" = the page's load event has fired and every unit polygon and school circle
of the first layer is in the DOM; timed from navigation start with the browser's own
clock (``performance.now()``), median of ``--repeat`` fresh page loads.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"


def run_demo(out: Path) -> float:
    """Run the demo scenario end to end; return the wall seconds."""
    planner = Path(sys.executable).with_name("planner")
    t0 = time.perf_counter()
    subprocess.run(
        [
            str(planner),
            "run",
            str(ROOT / "data/demo/scenario.toml"),
            "--out",
            str(out),
            "--overwrite",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - t0


def draw_seconds(page_path: Path, repeat: int) -> list[float]:
    """Seconds from navigation start until the map's first layer is complete."""
    from playwright.sync_api import sync_playwright

    times = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox"])
        for _ in range(repeat):
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(page_path.resolve().as_uri(), wait_until="load")
            page.wait_for_selector("path.pl-unit", state="attached")
            page.wait_for_selector("path.pl-school", state="attached")
            page.wait_for_selector(".legend svg")
            times.append(page.evaluate("performance.now()") / 1000)
            page.close()
        browser.close()
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=None, help="output folder (default: temp)")
    ap.add_argument("--keep", action="store_true", help="keep the output folder")
    ap.add_argument("--repeat", type=int, default=5, help="page loads to time")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="planner-bench-"))
    out = args.out or tmp / "demo"
    try:
        wall = run_demo(out)
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        print(f"planner run (demo, end to end): {wall:.1f} s  (target ≤ 30 s)")
        for k, v in manifest.get("timings_s", {}).items():
            print(f"  {k:<24} {v:8.2f} s")
        siting = out / "siting_summary.csv"
        if siting.exists():
            import pandas as pd

            s = pd.read_csv(siting, encoding="utf-8-sig").iloc[0]
            print(f"  siting: {s['status']}, proven gap {s['gap']:.3%}, {s['projects']} projects")
        mp = out / "map.html"
        size = mp.stat().st_size / 1e6
        t = draw_seconds(mp, args.repeat)
        print(f"map.html: {size:.2f} MB (target ≤ 5 MB)")
        print(
            f"map drawn in headless Chromium: median {statistics.median(t):.2f} s, "
            f"max {max(t):.2f} s over {len(t)} loads (target ≤ 3 s)"
        )
        total = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
        print(
            f"output folder: {sum(1 for f in out.rglob('*') if f.is_file())} files, "
            f"{total / 1e6:.1f} MB"
        )
        for f in sorted(out.rglob("*")):
            if f.is_file():
                print(f"  {f.relative_to(out)!s:<40} {f.stat().st_size / 1e3:10.1f} kB")
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
