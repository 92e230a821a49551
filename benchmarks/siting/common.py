"""Shared by the siting benchmark scripts: the product's solve call, checks, spopt, tables.

Every instance is solved by :func:`solve_as_product`: ``planner.siting.solve`` with the
default :class:`~planner.siting.SolveLimits` (the work limits ``planner run`` uses), only
the wall-clock safety cap set from ``--time-limit``. :func:`check_plan` re-checks the
returned plan against the instance (demand balance, capacities, one project per group,
``p``, single sourcing, earliest periods, the objective recomputed from the flows) and
against the known optimum (a bound above it or a plan below it is an engine or data
error). With ``--spopt`` the same cost matrix is solved by spopt (PuLP + its bundled
CBC, spopt's default solver path) as the reference; spopt is optional
(``pip install -e '.[bench]'``) and imported only then.
"""

from __future__ import annotations

import csv
import math
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

import data  # noqa: F401  (puts the repository root on sys.path)
from planner.siting import Progress, SitingInstance, SitingSolution, SolveLimits, solve

#: relative tolerance of every "equals the optimum" test
REL_TOL = 1e-6
#: relative tolerance of the plan checks (balances, capacities, the recomputed objective)
CHECK_TOL = 1e-7

BENCH_HINT = (
    "--spopt needs spopt and pulp, which are not dependencies of planner; install the "
    "benchmark extra:  pip install -e '.[bench]'"
)


def matches(value: float, opt: float | None) -> bool | None:
    """|value − opt| ≤ 1e-6 · max(1, |opt|); None without a known optimum."""
    if opt is None or value is None or not math.isfinite(value):
        return None
    return bool(abs(value - opt) <= REL_TOL * max(1.0, abs(opt)))


# --------------------------------------------------------------------------- the solve call
def limits_for(time_limit: float | None) -> SolveLimits:
    """The product's default work limits with the safety cap set (None: the default cap)."""
    lim = SolveLimits()
    return lim if time_limit is None else replace(lim, time_limit=float(time_limit))


def solve_as_product(
    inst: SitingInstance,
    time_limit: float | None = None,
    progress: Callable[[Progress], None] | None = None,
) -> SitingSolution:
    """``planner.siting.solve`` exactly as ``planner run`` calls it (default work limits).

    Only the safety cap differs (``time_limit``, seconds; None keeps the default).
    """
    return solve(inst, limits=limits_for(time_limit), progress=progress)


def print_progress(p: Progress) -> None:
    """``--log``: the engine's progress lines, as ``planner run`` prints them."""
    print("    " + p.line(), flush=True)


# --------------------------------------------------------------------------- plan checks
def recomputed_objective(sol: SitingSolution) -> float:
    """The plan's cost from its flows, openings and unserved demand (no engine code)."""
    inst = sol.instance
    travel = float((inst.cost.data[:, None] * sol.flow).sum())
    on = np.flatnonzero(sol.open_period >= 0)
    build = float(inst.option_objective[on, sol.open_period[on]].sum())
    short = float((inst.unserved_penalty[:, None] * sol.unserved).sum())
    return travel + build + short


def check_plan(sol: SitingSolution, optimum: float | None = None) -> list[str]:
    """Problems of a returned plan (empty when it is a valid plan with a valid bound).

    Checked without the engine's code: opening periods within the horizon and not before
    the earliest; at most one project per group; exactly ``p`` projects; the budget;
    served + unserved = demand for every client and period; no negative flow; flow per
    facility and period within the base capacity plus the seats of the projects open by
    then; single sourcing; no unserved demand where every client must be served; the
    objective recomputed from the plan; bound ≤ plan; and, with a known optimum,
    bound ≤ optimum ≤ plan.
    """
    inst = sol.instance
    out: list[str] = []
    n, F, P = inst.n, inst.F, inst.P
    op = np.asarray(sol.open_period)
    on = np.flatnonzero(op >= 0)
    scale = max(1.0, float(inst.demand.max(initial=0.0)))
    tol = CHECK_TOL * scale
    if np.any(op >= P) or np.any(op < -1):
        out.append("opening period outside the horizon")
    if np.any(op[on] < inst.option_earliest[on]):
        out.append("project opened before its earliest period")
    if len(on) and np.bincount(inst.option_group[on]).max() > 1:
        out.append("two projects in one group")
    if inst.p is not None and len(on) != inst.p:
        out.append(f"{len(on)} projects open, p = {inst.p}")
    if inst.budget is not None and inst.option_cost[on].sum() > inst.budget * (1 + CHECK_TOL):
        out.append("budget exceeded")
    flow = np.asarray(sol.flow)
    if flow.min(initial=0.0) < -tol or sol.unserved.min(initial=0.0) < -tol:
        out.append("negative flow or unserved demand")
    c = inst.cost
    rows = np.repeat(np.arange(n), np.diff(c.indptr))
    fac = c.indices
    served = np.zeros((n, P))
    np.add.at(served, rows, flow)
    if np.any(np.abs(served + sol.unserved - inst.demand) > tol):
        out.append("served + unserved ≠ demand")
    cap = inst.capacity.copy()
    if len(on):
        a = inst.option_adds[:, on].tocoo()
        later = np.arange(P)[None, :] >= op[on][a.col][:, None]
        np.add.at(cap, a.row, np.where(later, a.data[:, None], 0.0))
    load = np.zeros((F, P))
    np.add.at(load, fac, flow)
    over = load - np.where(np.isinf(cap), np.inf, cap)
    if np.any(over > tol):
        out.append(f"capacity exceeded (by up to {over.max():.6g})")
    if inst.single_source:
        used = np.zeros((n, P), np.int64)
        np.add.at(used, rows, (flow > tol).astype(np.int64))
        if used.max(initial=0) > 1:
            out.append("a client split under single sourcing")
    if inst.must_serve and sol.unserved.sum() > tol:
        out.append("unserved demand where every client must be served")
    obj = recomputed_objective(sol)
    if abs(obj - sol.objective) > CHECK_TOL * max(1.0, abs(obj)):
        out.append(f"objective {sol.objective:.10g} ≠ recomputed {obj:.10g}")
    if math.isfinite(sol.bound) and sol.bound > sol.objective * (1 + CHECK_TOL) + CHECK_TOL:
        out.append("bound above the plan")
    if optimum is not None:
        slack = REL_TOL * max(1.0, abs(optimum))
        if math.isfinite(sol.bound) and sol.bound > optimum + slack:
            out.append(f"INVALID BOUND: {sol.bound:.10g} > optimum {optimum:.10g}")
        if sol.objective < optimum - slack:
            out.append(f"PLAN BELOW OPTIMUM: {sol.objective:.10g} < {optimum:.10g}")
        if sol.status == "Optimal" and not matches(sol.objective, optimum):
            out.append("proven 'Optimal' but not the published optimum")
    return out


def same_plan(a: SitingSolution, b: SitingSolution) -> bool:
    """True when two solves opened the same projects in the same periods at the same cost."""
    return bool(np.array_equal(a.open_period, b.open_period) and a.objective == b.objective)


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


def spopt_applies(inst: SitingInstance) -> str:
    """Why spopt's PMedian cannot take the instance ('' when it can)."""
    if inst.p is None:
        return (
            "no p (spopt's PMedian needs p; CFLP with fixed costs and split demand is not in spopt)"
        )
    if not inst.uncapacitated and not inst.single_source:
        return "split demand under capacities (spopt's capacitated PMedian is single-sourcing)"
    return ""


def solve_spopt(inst: SitingInstance, time_limit: float) -> dict:
    """Solve the instance's p-median with ``spopt.locate.PMedian`` and PuLP's CBC.

    spopt's model: binary ``y_j``, binary ``z_ij``, Σ_j z_ij = 1, Σ y = p, z_ij ≤ y_j
    and, with capacities, Σ_i a_i z_ij ≤ Q_j y_j; objective Σ a_i c_ij z_ij where the
    same ``weights`` a_i serve as objective weights and as demands. The instance's cost
    is already per unit of demand (weight folded in), so the cost passed is
    ``cost`` for the uncapacitated case (weights 1) and ``cost`` with weights ``d_i``
    for the capacitated one: a_i c_ij = d_i · (w_i c_ij / d_i).

    The returned objective is recomputed from the assignment that CBC returned,
    never taken from the status label: PuLP reports "Optimal" also when CBC stopped at
    its time limit with a feasible solution (then ``sol_status`` is "Solution Found" and
    ``finished`` is False).
    """
    import pulp
    from spopt.locate import PMedian

    t0 = time.perf_counter()
    cost = _dense(inst)  # per unit of demand
    dem = np.asarray(inst.demand[:, 0], dtype=float)
    if inst.uncapacitated:
        unit = cost * dem[:, None]  # per client
        model = PMedian.from_cost_matrix(unit, np.ones(inst.n), p_facilities=inst.p)
    else:
        if np.any(dem <= 0) or not inst.single_source:
            raise ValueError("spopt reference: single sourcing and positive demands only")
        caps = np.asarray(inst.option_adds.sum(axis=1)).ravel() + inst.capacity[:, 0]
        model = PMedian.from_cost_matrix(cost, dem, p_facilities=inst.p, facility_capacities=caps)
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
    if not error:
        z = np.vectorize(lambda v: v.varValue or 0.0, otypes=[float])(model.cli_assgn_vars)
        y = np.array([v.varValue or 0.0 for v in model.fac_vars])
        assign = z.argmax(axis=1)
        ok = np.allclose(z.sum(axis=1), 1.0) and np.all(y[assign] > 0.5)
        if ok:
            objective = float((dem * cost[np.arange(inst.n), assign]).sum())
        pulp_obj = pulp.value(prob.objective)
        if ok and pulp_obj is not None and not matches(objective, float(pulp_obj)):
            error = f"PuLP objective {pulp_obj} differs from the recomputed {objective}"
    return {
        "objective": objective,
        "status": status,
        "sol_status": sol_status,
        "time_s": secs,
        "finished": finished,
        "error": error,
    }


# --------------------------------------------------------------------------- rows
def columns_of(inst: SitingInstance) -> int:
    """Facility columns of a one-period column instance (options + existing), else F."""
    if inst.option_column is None:
        return inst.F
    ex = 0 if inst.facility_column is None else int((inst.facility_column >= 0).sum())
    return int(inst.O + ex)


def result_row(
    name: str,
    fmt: str,
    inst: SitingInstance,
    optimum: float | None,
    source: str,
    sol: SitingSolution | None,
    secs: float,
    problems: list[str],
) -> dict:
    """One result line of the tables (``sol`` None when the engine raised)."""
    r = {
        "instance": name,
        "format": fmt,
        "n": inst.n,
        "m": columns_of(inst),
        "p": "-" if inst.p is None else str(inst.p),
        "optimum": optimum,
        "source": source,
        "ours": math.nan,
        "bound": math.nan,
        "gap": math.nan,
        "above_opt": math.nan,
        "heuristic": math.nan,
        "status": "ERROR",
        "strategy": "-",
        "seconds": secs,
        "clock": False,
        "match": None,
        "check": "; ".join(problems) if problems else "ok",
    }
    if sol is not None:
        r.update(
            ours=sol.objective,
            bound=sol.bound,
            gap=sol.gap,
            heuristic=sol.heuristic_objective,
            status=sol.status,
            strategy=sol.strategy,
            clock=sol.stopped_by_clock,
            match=matches(sol.objective, optimum),
        )
        if optimum is not None:
            r["above_opt"] = (sol.objective - optimum) / max(abs(optimum), 1e-12)
    return r


def add_spopt(r: dict, ref: dict, limit: float) -> None:
    """Attach the spopt columns to a row."""
    r["spopt"] = ref["objective"]
    r["spopt_status"] = ref["status"] + ("" if ref["finished"] else f" ({ref['sol_status']})")
    r["spopt_time_s"] = ref["time_s"]
    r["spopt_finished"] = ref["finished"]
    r["spopt_match"] = matches(ref["objective"], r["optimum"])
    r["spopt_error"] = ref["error"]
    r["spopt_limit"] = limit
    r["ratio"] = ref["time_s"] / max(r["seconds"], 1e-9)


# --------------------------------------------------------------------------- formatting
def fmt_obj(v: float | None) -> str:
    """An objective: integral values without decimals, others with up to three."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    return f"{v:.3f}".rstrip("0").rstrip(".") if abs(v - round(v)) > 1e-9 else f"{v:.0f}"


def fmt_gap(v: float) -> str:
    """A relative gap as a percentage (``0`` when closed)."""
    if v is None or not math.isfinite(v):
        return "-"
    if v <= 0:
        return "0"
    return f"{100 * v:.2g} %" if v < 1e-3 else f"{100 * v:.2f} %"


def _signed_gap(v: float) -> str:
    if v is None or not math.isfinite(v):
        return "-"
    return fmt_gap(v) if v >= 0 else "-" + fmt_gap(-v)


def _yes(v: bool | None) -> str:
    return "-" if v is None else ("yes" if v else "**no**")


def _spopt_time(r: dict) -> str:
    return (
        f"{r['spopt_time_s']:.2f}" if r["spopt_finished"] else f"> limit ({r['spopt_time_s']:.0f})"
    )


def _ratio(r: dict) -> str:
    return f"{r['ratio']:.1f}" if r["spopt_finished"] else f"> {r['ratio']:.1f}"


TABLE_COLS = [
    "instance", "n", "m", "p", "optimum", "ours", "bound", "gap", "vs opt", "heuristic",
    "status", "strategy", "seconds", "match", "check",
]  # fmt: skip
SPOPT_COLS = ["spopt", "spopt status", "spopt s", "ratio", "spopt = opt"]


def cells(r: dict) -> list[str]:
    """The table cells of a row (:data:`TABLE_COLS`, then the spopt ones if present)."""
    out = [
        r["instance"],
        str(r["n"]),
        str(r["m"]),
        r["p"],
        fmt_obj(r["optimum"]),
        fmt_obj(r["ours"]),
        fmt_obj(r["bound"]),
        fmt_gap(r["gap"]),
        _signed_gap(r["above_opt"]),
        fmt_obj(r["heuristic"]),
        r["status"] + (" (clock)" if r["clock"] and r["status"] != "Stopped by the clock" else ""),
        r["strategy"],
        f"{r['seconds']:.2f}",
        _yes(r["match"]),
        r["check"],
    ]
    if "spopt" in r:
        out += [
            fmt_obj(r["spopt"]),
            r["spopt_status"],
            _spopt_time(r),
            _ratio(r),
            _yes(r["spopt_match"]),
        ]
    return out


def summary(rows: list[dict]) -> list[str]:
    """Summary lines: proven, at the optimum, flagged, total time, ratios vs spopt."""
    proven = sum(r["status"] == "Optimal" for r in rows)
    known = [r for r in rows if r["match"] is not None]
    ok = sum(bool(r["match"]) for r in known)
    flagged = [r["instance"] for r in rows if r["check"] != "ok"]
    clock = [r["instance"] for r in rows if r["clock"]]
    tot = sum(r["seconds"] for r in rows)
    out = [
        f"ours: {proven}/{len(rows)} proven optimal, {ok}/{len(known)} equal to the known "
        f"optimum (rel. tol {REL_TOL:g}), {tot:.1f} s in all"
    ]
    if clock:
        out.append(
            f"stopped by the clock (another machine may give another plan): {', '.join(clock)}"
        )
    if flagged:
        out.append(f"CHECK FAILED: {', '.join(flagged)}")
    sp_rows = [r for r in rows if "spopt" in r]
    if sp_rows:
        both = [r["ratio"] for r in sp_rows if r["spopt_finished"] and r["status"] == "Optimal"]
        unf = [r for r in sp_rows if not r["spopt_finished"]]
        sp_ok = sum(bool(r["spopt_match"]) for r in sp_rows)
        line = (
            f"spopt: finished {len(sp_rows) - len(unf)}/{len(sp_rows)} within "
            f"{sp_rows[0]['spopt_limit']:g} s, objective = optimum on {sp_ok}/{len(sp_rows)}"
        )
        if both:
            line += (
                f"; time ratio spopt/ours where both finished ({len(both)}): median "
                f"{statistics.median(both):.1f}x, min {min(both):.1f}x, max {max(both):.1f}x"
            )
        out.append(line)
    return out


def print_table(rows: list[dict], title: str, markdown: bool = False) -> None:
    """Print the rows as an aligned text table (and as Markdown) with the summary."""
    if not rows:
        print("\nno instance was solved")
        return
    spo = any("spopt" in r for r in rows)
    cols = TABLE_COLS + (SPOPT_COLS if spo else [])
    body = [cells(r) + (["-"] * len(SPOPT_COLS) if spo and "spopt" not in r else []) for r in rows]
    width = [max(len(c), *(len(b[k]) for b in body)) for k, c in enumerate(cols)]
    print(f"\n{title}")
    print("  ".join(c.ljust(w) for c, w in zip(cols, width, strict=True)))
    print("  ".join("-" * w for w in width))
    for b in body:
        print("  ".join(x.ljust(w) for x, w in zip(b, width, strict=True)))
    for s in summary(rows):
        print(s)
    if markdown:
        print("\n| " + " | ".join(cols) + " |")
        print("|" + "---|" * len(cols))
        for b in body:
            print("| " + " | ".join(x.replace("|", "/") for x in b) + " |")
    sys.stdout.flush()


def write_csv(rows: list[dict], path: Path) -> None:
    """Every field of every row, one line per instance."""
    keys: list[str] = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)
