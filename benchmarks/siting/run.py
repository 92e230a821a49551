"""Solve published facility-location instances by path through the product's siting entry.

Usage::

    python benchmarks/siting/run.py FILE... [--format pmed|pmedcap|sjc|cap]
        [--optimum X | --optima FILE...] [--capacity Q...] [--time-limit S]
        [--markdown] [--csv OUT] [--log] [--repeat K] [--spopt [--spopt-time-limit S]]
    python benchmarks/siting/run.py --set pmed1-30 --set pmedcap --set sjc --set cap
    python benchmarks/siting/run.py --set city          # = run_city.py with its defaults

Every instance is solved by ``planner.siting.solve`` exactly as ``planner run`` calls it:
the default work limits (:class:`planner.siting.SolveLimits`), only the wall-clock safety
cap taken from ``--time-limit`` (default: the product's default cap). There is no other
engine and no formulation switch here.

- **Format**: told by the file's first lines (the name breaks ties); ``--format`` forces
  it for every FILE.
- **Optimum**: ``--optimum X`` for a single instance; otherwise looked up by the file's
  stem in the ``--optima`` files (CSV ``instance,capacity,optimum,source`` or an
  OR-Library ``*opt.txt`` table), then in the file itself (pmedcap: line 1), then in
  ``pmedopt.txt`` beside a pmed file, then in the shipped ``optima.csv`` and the benchdata's
  ``pmedopt.txt``. Without one the table shows ``-`` and only the proven gap speaks.
- **Capacity**: files whose capacities are the word ``capacity`` (capa, capb, capc) are
  solved at every ``--capacity`` given, by default at every published setting of that
  instance in the optima (capa 8000/10000/12000/14000, capb 5000–8000, capc 5000–7250).
- **Sets** (``--set``, repeatable) of the shipped data (``$PLANNER_BENCHDATA/siting``):
  ``pmed`` or ``pmedA-B`` (OR-Library p-median), ``pmedcap`` (Osman–Christofides),
  ``sjc`` (Lorena–Senne), ``cap`` (every OR-Library cap file present, capa/capb/capc at
  each published capacity), ``city`` (the synthetic phased city, ``run_city.py``).

Each row is checked (:func:`common.check_plan`): a plan that breaks a rule, an objective
that does not match the plan, a bound above the known optimum or a plan below it is
flagged in the ``check`` column, and the exit status is then 1 (also when the engine
raised). ``--repeat K`` solves each instance K times and flags different plans.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import common

import data
from data import DATA, BenchFileError, Known, Optima


@dataclass
class Job:
    """One solve: a file, its format, the capacity setting and the optimum to compare."""

    path: Path
    fmt: str
    capacity: float | None
    known: Known | None

    @property
    def name(self) -> str:
        """The row label: the file stem, with ``:capacity`` for capa/capb/capc."""
        stem = self.path.stem
        return stem if self.capacity is None else f"{stem}:{self.capacity:g}"


# ----------------------------------------------------------------------------- sets


def _number(path: Path) -> tuple[int, str]:
    m = re.search(r"(\d+)", path.stem)
    return (int(m.group(1)) if m else 10**9, path.stem)


def set_files(spec: str, root: Path = DATA) -> list[Path]:
    """The files of a shipped set (``pmed``, ``pmedA-B``, ``pmedcap``, ``sjc``, ``cap``)."""
    s = spec.lower()
    m = re.fullmatch(r"pmed(\d+)-(\d+)", s)
    if m:
        lo, hi = int(m.group(1)), int(m.group(2))
        files = [root / "orlib_pmed" / f"pmed{k}.txt" for k in range(lo, hi + 1)]
        missing = [f.name for f in files if not f.exists()]
        if missing:
            raise BenchFileError(
                f"--set {spec}: not in {root / 'orlib_pmed'}: {', '.join(missing)}"
            )
        return files
    folders = {
        "pmed": ("orlib_pmed", "pmed*.txt"),
        "pmedcap": ("orlib_pmedcap", "pmedcap*.txt"),
        "sjc": ("lorena_senne_sjc", "*.dat"),
        "cap": ("orlib_cap", "cap*.txt"),
    }
    if s not in folders:
        raise BenchFileError(
            f"--set {spec}: unknown set; choose pmed, pmedA-B (e.g. pmed1-30), pmedcap, sjc, "
            "cap or city"
        )
    sub, pattern = folders[s]
    files = [f for f in (root / sub).glob(pattern) if f.stem != "pmedopt"]
    if not files:
        raise BenchFileError(f"--set {spec}: no {pattern} files in {root / sub}")
    # numbered files first (cap41 … cap134), then capa, capb, capc
    return sorted(files, key=_number)


# ----------------------------------------------------------------------------- jobs


def jobs_for(
    files: list[Path],
    fmt: str | None,
    capacities: list[float] | None,
    optima: Optima,
    optimum: float | None = None,
    user_optima: Optima | None = None,
) -> list[Job]:
    """Expand the files into solves (one per capacity setting) with their optima.

    Precedence of the optimum: ``optimum`` (a single solve only), ``user_optima``
    (``--optima``), the file's own statement (pmedcap line 1), ``pmedopt.txt`` beside a
    pmed file, then ``optima``.
    """
    jobs: list[Job] = []
    for path in files:
        if not path.is_file():
            raise BenchFileError(f"{path}: no such file")
        f = fmt or data.detect_format(path)
        caps: list[float | None] = [None]
        if f == "cap" and data.cap_needs_capacity(path):
            published = user_optima.capacities(path.stem) if user_optima is not None else []
            caps = list(capacities or published or optima.capacities(path.stem))
            if not caps:
                raise BenchFileError(
                    f"{path}: the capacities are the word 'capacity' and no published setting "
                    f"of '{path.stem}' is known; pass --capacity Q"
                )
        for q in caps:
            jobs.append(Job(path, f, q, _known(path, f, q, optima, user_optima)))
    if optimum is not None:
        if len(jobs) != 1:
            raise BenchFileError(
                f"--optimum applies to one instance, got {len(jobs)} solves; use --optima FILE "
                "(instance,capacity,optimum,source) for several"
            )
        jobs[0].known = Known(optimum, "--optimum")
    return jobs


def _known(
    path: Path, fmt: str, q: float | None, optima: Optima, user: Optima | None
) -> Known | None:
    if user is not None and (k := user.get(path.stem, q)) is not None:
        return k
    if fmt == "pmedcap":
        try:
            return Known(data.read_pmedcap(path)[1], f"{path.name} line 1")
        except BenchFileError:
            return None
    if fmt == "pmed" and (path.parent / "pmedopt.txt").exists():
        try:
            k = Optima().read(path.parent / "pmedopt.txt").get(path.stem)
        except BenchFileError:
            k = None
        if k is not None:
            return k
    return optima.get(path.stem, q)


# ----------------------------------------------------------------------------- run


def run_jobs(jobs: list[Job], args: argparse.Namespace) -> list[dict]:
    """Read and solve every job as the product does; print one line each; return the rows."""
    rows = []
    progress = common.print_progress if args.log else None
    for job in jobs:
        try:
            inst, _ = data.read_instance(job.path, job.fmt, job.capacity)
        except BenchFileError as exc:
            print(f"{job.name}: not read: {exc}", file=sys.stderr, flush=True)
            continue
        opt = None if job.known is None else job.known.value
        src = "" if job.known is None else job.known.source
        t0 = time.perf_counter()
        try:
            sol = common.solve_as_product(inst, args.time_limit, progress)
        except Exception as exc:  # an engine failure is a benchmark result, not a crash
            secs = time.perf_counter() - t0
            msg = f"ENGINE RAISED {type(exc).__name__}: {exc}".replace("\n", " ")
            rows.append(common.result_row(job.name, job.fmt, inst, opt, src, None, secs, [msg]))
            print(f"{job.name}: {msg} after {secs:.2f} s", flush=True)
            continue
        secs = time.perf_counter() - t0
        problems = common.check_plan(sol, opt)
        for k in range(1, args.repeat):
            again = common.solve_as_product(inst, args.time_limit)
            if not common.same_plan(sol, again):
                problems.append(
                    f"NONDETERMINISTIC: solve {k + 1} gave {again.objective:.10g} "
                    f"({again.status}) vs {sol.objective:.10g}"
                )
        r = common.result_row(job.name, job.fmt, inst, opt, src, sol, secs, problems)
        msg = (
            f"{job.name}: {common.fmt_obj(sol.objective)} ({sol.status}, {sol.strategy}, "
            f"gap {common.fmt_gap(sol.gap)}) in {secs:.2f} s"
        )
        if args.spopt:
            why = common.spopt_applies(inst)
            if why:
                msg += f"; spopt: skipped ({why})"
            else:
                ref = common.solve_spopt(inst, args.spopt_time_limit)
                common.add_spopt(r, ref, args.spopt_time_limit)
                msg += (
                    f"; spopt {common.fmt_obj(ref['objective'])} ({r['spopt_status']}) in "
                    f"{ref['time_s']:.2f} s"
                )
        if problems:
            msg += f"  [{'; '.join(problems)}]"
        print(msg, flush=True)
        rows.append(r)
    return rows


def parser() -> argparse.ArgumentParser:
    """The command line (see the module docstring)."""
    ap = argparse.ArgumentParser(
        prog="run.py",
        description=__doc__.split("\n", 1)[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("files", nargs="*", type=Path, help="instance files")
    ap.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="NAME",
        help="shipped set: pmed, pmedA-B, pmedcap, sjc, cap, city (repeatable)",
    )
    ap.add_argument(
        "--format", choices=data.FORMATS, help="format of every FILE (default: detected)"
    )
    ap.add_argument("--optimum", help="known optimum of the single instance given")
    ap.add_argument(
        "--optima",
        action="append",
        metavar="FILE",
        help="optima CSV (instance,capacity,optimum,source) or OR-Library *opt.txt (repeatable)",
    )
    ap.add_argument(
        "--capacity",
        type=float,
        nargs="+",
        metavar="Q",
        help="capacity settings for capa/capb/capc (default: every published one)",
    )
    ap.add_argument(
        "--time-limit",
        type=float,
        default=None,
        metavar="S",
        help="wall-clock safety cap per solve, seconds (default: the product's, "
        f"{common.SolveLimits().time_limit:g} s)",
    )
    ap.add_argument("--markdown", action="store_true", help="also print the table in Markdown")
    ap.add_argument("--csv", type=Path, metavar="OUT", help="write every row to a CSV file")
    ap.add_argument("--log", action="store_true", help="print the engine's progress lines")
    ap.add_argument(
        "--repeat", type=int, default=1, metavar="K", help="solve K times, flag different plans"
    )
    ap.add_argument(
        "--spopt",
        action="store_true",
        help="also solve each p-median instance with spopt (PuLP + CBC) as the reference",
    )
    ap.add_argument(
        "--spopt-time-limit",
        type=float,
        default=300.0,
        metavar="S",
        help="CBC time limit per instance under --spopt (default 300 s)",
    )
    return ap


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 clean, 1 flagged, 2 usage)."""
    ap = parser()
    args = ap.parse_args(argv)
    if args.repeat < 1:
        ap.error("--repeat must be ≥ 1")
    if not args.files and not args.sets:
        ap.error("give instance files or --set NAME")
    if args.spopt:
        try:
            import pulp  # noqa: F401
            import spopt.locate  # noqa: F401
        except ImportError as exc:
            print(f"{common.BENCH_HINT}\n({exc})", file=sys.stderr)
            return 2
    city = [s for s in args.sets if s.lower() == "city"]
    sets = [s for s in args.sets if s.lower() != "city"]
    try:
        optimum = None if args.optimum is None else data.parse_optimum(args.optimum)
        optima = data.default_optima()
        user = None
        if args.optima:
            user = Optima()
            for f in args.optima:
                user.read(Path(f))
        jobs = jobs_for(list(args.files), args.format, args.capacity, optima, optimum, user)
        for s in sets:
            jobs += jobs_for(set_files(s), None, args.capacity, optima, None, user)
        if args.capacity and not any(j.capacity is not None for j in jobs):
            raise BenchFileError(
                "--capacity applies only to files whose capacities are the word 'capacity' "
                "(capa, capb, capc); none was given"
            )
    except BenchFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    status = 0
    if jobs:
        rows = run_jobs(jobs, args)
        cap = common.limits_for(args.time_limit).time_limit
        title = f"planner.siting.solve, default SolveLimits, safety cap {cap:g} s" + (
            f"; reference {common.spopt_versions()}" if args.spopt else ""
        )
        common.print_table(rows, title, args.markdown)
        if args.csv:
            common.write_csv(rows, args.csv)
        if len(rows) < len(jobs) or any(r["check"] != "ok" for r in rows):
            status = 1
    if city:
        import run_city

        status = max(status, run_city.main([]))
    return status


if __name__ == "__main__":
    sys.exit(main())
