"""Shared driver of the siting benchmark scripts: arguments, the run loop, spopt, tables.

Every ``run_*.py`` script only says which instances exist and how to read them
(:class:`Case`); :func:`main` parses the common options, solves each instance with
``planner.siting.solve`` and, with ``--spopt``, solves the *same* cost matrix with
spopt (PuLP + its bundled CBC, spopt's default solver path) in the same process right
after ours, then prints a fixed-width table (and a Markdown one with ``--markdown``).

spopt is optional (``pip install -e '.[bench]'``); it is imported only under ``--spopt``.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

import data  # noqa: F401  (puts the repository root on sys.path)
from planner.siting import SitingInstance, SitingSolution, solve

#: relative tolerance of every "matches the optimum" test
REL_TOL = 1e-6

BENCH_HINT = (
    "--spopt needs spopt and pulp, which are not dependencies of planner; install the "
    "benchmark extra:  pip install -e '.[bench]'"
)


@dataclass
class Case:
    """One benchmark instance: its name, the p column text and a loader."""

    name: str
    load: Callable[[], tuple[SitingInstance, float]]  # → (instance, known optimum)
    p_label: Callable[[SitingInstance], str] = lambda inst: f"{inst.p}"


def timed(fn, *args, **kwargs):
    """(result, seconds) of a call."""
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def matches(value: float, opt: float) -> bool:
    """|value − opt| ≤ 1e-6 · max(1, |opt|) (False for NaN)."""
    return bool(abs(value - opt) <= REL_TOL * max(1.0, abs(opt)))


# --------------------------------------------------------------------------- arguments
def parse_args(
    doc: str, instances_help: str, all_help: str, extra: Callable | None = None
) -> argparse.Namespace:
    """The options shared by every run script (``extra(parser)`` adds the script's own)."""
    ap = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("instances", nargs="*", help=instances_help)
    ap.add_argument("--all", action="store_true", help=all_help)
    ap.add_argument("--time-limit", type=float, default=120.0, help="seconds per instance")
    ap.add_argument("--threads", type=int, default=None, help="HiGHS threads")
    ap.add_argument("--log", action="store_true", help="print the HiGHS log")
    ap.add_argument(
        "--spopt",
        action="store_true",
        help="also solve each instance with spopt (PuLP + CBC) as the reference",
    )
    ap.add_argument(
        "--spopt-time-limit",
        type=float,
        default=300.0,
        help="CBC time limit per instance under --spopt (default 300 s)",
    )
    ap.add_argument("--markdown", action="store_true", help="also print a Markdown table")
    if extra is not None:
        extra(ap)
    args = ap.parse_args()
    if args.spopt:
        try:
            import pulp  # noqa: F401
            import spopt.locate  # noqa: F401
        except ImportError as exc:
            sys.exit(f"{BENCH_HINT}\n({exc})")
    return args


# --------------------------------------------------------------------------- spopt
def _dense(inst: SitingInstance) -> np.ndarray:
    n, m = inst.cost.shape
    if inst.cost.nnz != n * m:
        raise ValueError("spopt needs a complete cost matrix (every pair reachable)")
    return inst.cost.toarray()


def spopt_versions() -> str:
    """'spopt X, pulp Y' of the installed reference (or why not)."""
    try:
        import importlib.metadata as md

        return f"spopt {md.version('spopt')}, pulp {md.version('pulp')}"
    except Exception as exc:  # pragma: no cover - informational only
        return f"spopt not installed ({exc})"


def solve_spopt(inst: SitingInstance, time_limit: float) -> dict:
    """Solve the instance's p-median with ``spopt.locate.PMedian`` and PuLP's CBC.

    spopt's model: binary ``y_j``, binary ``z_ij``, Σ_j z_ij = 1, Σ y = p, z_ij ≤ y_j
    and, with capacities, Σ_i a_i z_ij ≤ Q_j y_j; objective Σ a_i c_ij z_ij where the
    same ``weights`` a_i serve as objective weights and as demands. For the unweighted
    capacitated instances (objective weight 1, demand d_i) the cost matrix is passed
    as c_ij / d_i, so that a_i c_ij = d_i · c_ij / d_i = c_ij: the same problem.

    The returned objective is recomputed from the assignment that CBC returned
    (Σ weight_i c_ij over assigned pairs), never taken from the status label: PuLP
    reports "Optimal" also when CBC stopped at its time limit with a feasible solution
    (then ``sol_status`` is "Solution Found" and ``finished`` is False).
    """
    import pulp
    from spopt.locate import PMedian

    t0 = time.perf_counter()
    cost = _dense(inst)
    w = np.asarray(inst.obj_weight, dtype=float)
    if inst.uncapacitated:
        model = PMedian.from_cost_matrix(cost * w[:, None], np.ones(inst.n), p_facilities=inst.p)
    else:
        dem = np.asarray(inst.demand, dtype=float)
        if np.any(dem <= 0) or not inst.single_source:
            raise ValueError("spopt reference: single sourcing and positive demands only")
        model = PMedian.from_cost_matrix(
            cost * (w / dem)[:, None],
            dem,
            p_facilities=inst.p,
            facility_capacities=np.asarray(inst.capacity, dtype=float),
        )
    error = ""
    try:
        model.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit), results=False)
    except RuntimeError as exc:  # spopt raises when PuLP's status is not "Optimal"
        error = str(exc)
    secs = time.perf_counter() - t0
    prob = model.problem
    status = pulp.LpStatus[prob.status]
    sol_status = pulp.LpSolution[prob.sol_status]
    finished = prob.sol_status == pulp.LpSolutionOptimal
    objective = math.nan
    open_ = []
    if not error:
        z = np.vectorize(lambda v: v.varValue or 0.0, otypes=[float])(model.cli_assgn_vars)
        y = np.array([v.varValue or 0.0 for v in model.fac_vars])
        assign = z.argmax(axis=1)
        ok = np.allclose(z.sum(axis=1), 1.0) and np.all(y[assign] > 0.5)
        if ok:
            objective = float((w * cost[np.arange(inst.n), assign]).sum())
        open_ = np.flatnonzero(y > 0.5).tolist()
        pulp_obj = pulp.value(prob.objective)
        if ok and pulp_obj is not None and not matches(objective, float(pulp_obj)):
            error = f"PuLP objective {pulp_obj} differs from the recomputed {objective}"
    return {
        "objective": objective,
        "status": status,
        "sol_status": sol_status,
        "time_s": secs,
        "finished": finished,
        "open": open_,
        "error": error,
    }


# --------------------------------------------------------------------------- rows
def row(name: str, n: int, p: str, opt: float, sol: SitingSolution, secs: float) -> dict:
    """One result line for the tables."""
    return {
        "instance": name,
        "n": n,
        "p": p,
        "optimum": opt,
        "ours": sol.objective,
        "bound": sol.bound,
        "gap": sol.gap,
        "heuristic": sol.heuristic_objective,
        "time_s": secs,
        "status": sol.status,
        "match": matches(sol.objective, opt),
    }


def add_spopt(r: dict, ref: dict, limit: float) -> None:
    """Attach the spopt columns to a row."""
    r["spopt"] = ref["objective"]
    r["spopt_status"] = ref["status"] + ("" if ref["finished"] else f" ({ref['sol_status']})")
    r["spopt_time_s"] = ref["time_s"]
    r["spopt_finished"] = ref["finished"]
    r["spopt_match"] = matches(ref["objective"], r["optimum"])
    r["spopt_error"] = ref["error"]
    r["spopt_limit"] = limit
    r["ratio"] = ref["time_s"] / max(r["time_s"], 1e-9)


def _fmt_obj(v: float | None) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return f"{v:.3f}".rstrip("0").rstrip(".") if abs(v - round(v)) > 1e-9 else f"{v:.0f}"


def _spopt_time(r: dict) -> str:
    return (
        f"{r['spopt_time_s']:.2f}" if r["spopt_finished"] else f"> limit ({r['spopt_time_s']:.0f})"
    )


def _ratio(r: dict) -> str:
    return f"{r['ratio']:.1f}" if r["spopt_finished"] else f"> {r['ratio']:.1f}"


def _proven(r: dict) -> bool:
    return str(r["status"]).lower() == "optimal"


def summary(rows: list[dict]) -> list[str]:
    """Summary lines: optima proven/matched, total time, time ratios vs spopt."""
    proven = sum(_proven(r) for r in rows)
    ok = sum(r["match"] for r in rows)
    tot = sum(r["time_s"] for r in rows)
    out = [
        f"ours: {proven}/{len(rows)} proven optimal, {ok}/{len(rows)} equal to the known "
        f"optimum (rel. tol {REL_TOL:g}), {tot:.1f} s in all"
    ]
    sp_rows = [r for r in rows if "spopt" in r]
    if sp_rows:
        both = [r["ratio"] for r in sp_rows if r["spopt_finished"] and _proven(r)]
        unf = [r for r in sp_rows if not r["spopt_finished"]]
        sp_ok = sum(r["spopt_match"] for r in sp_rows)
        line = (
            f"spopt: finished {len(sp_rows) - len(unf)}/{len(sp_rows)} within "
            f"{sp_rows[0]['spopt_limit']:g} s, objective = optimum on {sp_ok}/{len(sp_rows)}"
        )
        if both:
            line += (
                f"; time ratio spopt/ours where both finished ({len(both)}): median "
                f"{statistics.median(both):.1f}x, min {min(both):.1f}x, max {max(both):.1f}x"
            )
        if unf:
            line += "; where spopt hit its limit the ratio is at least " + ", ".join(
                f"{r['instance']} {r['ratio']:.0f}x" for r in unf
            )
        out.append(line)
    return out


def print_table(rows: list[dict], title: str, markdown: bool = False) -> None:
    """Print a fixed-width result table (plus a Markdown one) and the summary lines."""
    spo = any("spopt" in r for r in rows)
    heur = any(r["heuristic"] is not None for r in rows)
    print(f"\n{title}")
    hdr = (
        f"{'instance':<10}{'n':>5}{'p':>5}{'optimum':>13}{'ours':>13}{'bound':>13}"
        f"{'gap':>9}" + (f"{'heur':>9}" if heur else "") + f"{'time s':>8}  match"
    )
    if spo:
        hdr += f"{'spopt':>13}  {'spopt status':<30}{'spopt s':>15}{'ratio':>8}  sp=opt"
    else:
        hdr += "  status"
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        line = (
            f"{r['instance']:<10}{r['n']:>5}{r['p']!s:>5}{_fmt_obj(r['optimum']):>13}"
            f"{_fmt_obj(r['ours']):>13}{r['bound']:>13.3f}{r['gap']:>9.1e}"
        )
        if heur:
            line += f"{_fmt_obj(r['heuristic']):>9}"
        line += f"{r['time_s']:>8.2f}  {'yes' if r['match'] else 'NO':<5}"
        if spo and "spopt" in r:
            line += (
                f"{_fmt_obj(r['spopt']):>13}  {r['spopt_status']:<30}{_spopt_time(r):>15}"
                f"{_ratio(r):>8}  {'yes' if r['spopt_match'] else 'NO'}"
            )
            if r["spopt_error"]:
                line += f"  [{r['spopt_error']}]"
        elif not spo:
            line += f"  {r['status']}"
        print(line)
    for s in summary(rows):
        print(s)
    if markdown:
        print_markdown(rows)
    sys.stdout.flush()


def print_markdown(rows: list[dict]) -> None:
    """The same rows as a Markdown table (for benchmarks/siting/README.md)."""
    spo = any("spopt" in r for r in rows)
    heur = any(r["heuristic"] is not None for r in rows)
    cols = ["instance", "n", "p", "optimum", "ours", "bound", "gap"]
    cols += ["heuristic"] if heur else []
    cols += ["time s", "match"]
    cols += ["spopt", "spopt status", "spopt s", "ratio", "spopt = opt"] if spo else ["status"]
    print("\n| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for r in rows:
        cells = [
            r["instance"],
            str(r["n"]),
            str(r["p"]),
            _fmt_obj(r["optimum"]),
            _fmt_obj(r["ours"]),
            _fmt_obj(r["bound"]),
            "0" if r["gap"] == 0 else f"{r['gap']:.1g}",
        ]
        cells += [_fmt_obj(r["heuristic"])] if heur else []
        cells += [f"{r['time_s']:.2f}", "yes" if r["match"] else "**no**"]
        if spo and "spopt" in r:
            cells += [
                _fmt_obj(r["spopt"]),
                r["spopt_status"],
                _spopt_time(r),
                _ratio(r),
                "yes" if r["spopt_match"] else "**no**",
            ]
        elif spo:
            cells += ["-"] * 5
        else:
            cells += [r["status"]]
        print("| " + " | ".join(cells) + " |")


# --------------------------------------------------------------------------- driver
def main(cases: Iterable[Case], args: argparse.Namespace, title: str, **solve_kw) -> list[dict]:
    """Solve every case (ours, then spopt under ``--spopt``) and print the tables."""
    rows = []
    for case in cases:
        inst, opt = case.load()
        sol, secs = timed(
            solve, inst, time_limit=args.time_limit, threads=args.threads, log=args.log, **solve_kw
        )
        r = row(case.name, inst.n, case.p_label(inst), opt, sol, secs)
        msg = f"{case.name}: ours {_fmt_obj(sol.objective)} ({sol.status}) in {secs:.2f} s"
        if args.spopt:
            ref = solve_spopt(inst, args.spopt_time_limit)
            add_spopt(r, ref, args.spopt_time_limit)
            msg += (
                f"; spopt {_fmt_obj(ref['objective'])} ({r['spopt_status']}) in "
                f"{ref['time_s']:.2f} s, ratio {r['ratio']:.1f}"
            )
        print(msg, flush=True)
        rows.append(r)
    versions = ""
    if args.spopt:
        versions = f"; reference {spopt_versions()} (CBC, limit {args.spopt_time_limit:g} s)"
    print_table(rows, f"{title}, time limit {args.time_limit:g} s{versions}", args.markdown)
    return rows
