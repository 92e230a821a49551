"""Reading plans out of the engine: solutions, their proof, MILP columns (提取结果).

:class:`SitingSolution` is what every strategy of :func:`planner.siting.solve` returns;
:func:`finish` derives its status and gap from a plan and a bound in one place;
:func:`set_start` / :func:`open_from` translate a plan to and from the MILP's columns.
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np
import pandas as pd

from planner.errors import InfeasibleError
from planner.siting.build import Milp
from planner.siting.instance import SitingInstance
from planner.siting.transport import Plan

__all__ = ["SitingSolution", "finish", "open_from", "relative_gap", "set_start"]

STEP_COLUMNS = ["step", "seconds", "plan", "bound", "work"]


def relative_gap(objective: float, bound: float) -> float:
    """Proven relative gap ``(objective − bound) / |objective|`` (0 when equal)."""
    if not np.isfinite(bound):
        return np.inf
    if objective == bound:
        return 0.0
    return float(max(objective - bound, 0.0) / max(abs(objective), 1e-12))


@dataclass
class SitingSolution:
    """A plan, its proof and the work done.

    Attributes
    ----------
    instance : SitingInstance
    open_period : int ndarray (O,)
        Opening period of every option (−1: not built).
    flow : ndarray (E, P)
        Demand served along every pair and period.
    unserved : ndarray (n, P)
        Demand left without a seat.
    objective : float
        Cost of the plan (:func:`~planner.siting.transport.plan_cost`).
    bound : float
        Best proven lower bound.
    gap : float
        ``(objective − bound) / objective``.
    status : str
        ``Optimal``, ``Gap reached``, ``Work limit reached`` or ``Stopped by the clock``.
    stopped_by_clock : bool
        The safety cap cut a step: another machine may give another plan.
    strategy : str
        ``phased`` or ``pmedian``.
    steps : DataFrame
        One row per step: ``step, seconds, plan, bound, work``.
    heuristic_objective : float
        Cost of the construction heuristic's plan.
    seconds : float
        Wall time of the whole solve.
    """

    instance: SitingInstance
    open_period: np.ndarray
    flow: np.ndarray
    unserved: np.ndarray
    objective: float
    bound: float
    gap: float
    status: str
    stopped_by_clock: bool
    strategy: str
    steps: pd.DataFrame
    heuristic_objective: float = np.nan
    seconds: float = 0.0

    @property
    def proven_optimal(self) -> bool:
        """True when the gap is closed (within 1e-6)."""
        return self.status == "Optimal"

    @property
    def projects(self) -> pd.DataFrame:
        """Open options: ``option, group, period, year, cost``."""
        inst = self.instance
        o = np.flatnonzero(self.open_period >= 0)
        q = self.open_period[o]
        return pd.DataFrame(
            {
                "option": o,
                "group": inst.option_group[o],
                "period": q,
                "year": inst.periods[q],
                "cost": inst.option_cost[o],
            }
        )

    # ---------------------------------------------------------- one-period column view
    @property
    def open(self) -> np.ndarray:
        """Open columns (existing ones included) of an instance built from columns."""
        inst = self.instance
        cols = (
            list(inst.facility_column[inst.facility_column >= 0])
            if inst.facility_column is not None
            else []
        )
        on = self.open_period >= 0
        if inst.option_column is not None:
            cols += list(inst.option_column[on])
        else:
            cols += list(np.flatnonzero(on))
        return np.sort(np.asarray(cols, np.int64))

    @property
    def assignment(self) -> pd.DataFrame:
        """Column view, period 0: ``client, facility (column), share, demand, cost``."""
        inst = self.instance
        r, f, c = inst.pairs()
        x = self.flow[:, 0]
        e = np.flatnonzero(x > 1e-9)
        col = np.full(inst.F, -1, np.int64)
        if inst.facility_column is not None:
            col = inst.facility_column.copy()
        if inst.option_column is not None:
            a = inst.option_adds.tocoo()
            on = self.open_period[a.col] >= 0
            col[a.row[on]] = inst.option_column[a.col[on]]
        d = inst.demand[r[e], 0]
        share = np.where(d > 0, x[e] / np.where(d > 0, d, 1.0), 0.0)
        w = inst.column_weight if inst.column_weight is not None else d
        wi = w[r[e]] if inst.column_weight is not None else d
        unit_w = np.where(d > 0, wi / np.where(d > 0, d, 1.0), 0.0)
        raw = np.where(unit_w > 0, c[e] / np.where(unit_w > 0, unit_w, 1.0), c[e])
        return pd.DataFrame(
            {
                "client": r[e],
                "facility": col[f[e]],
                "share": share,
                "demand": x[e],
                "cost": c[e] * x[e],
                "unit_cost": raw,
            }
        )

    @property
    def unserved_share(self) -> np.ndarray:
        """(n,) unserved fraction of every client in period 0."""
        d = self.instance.demand[:, 0]
        return np.where(d > 0, self.unserved[:, 0] / np.where(d > 0, d, 1.0), 0.0)

    def summary(self) -> str:
        """One line: objective, bound, gap, status, time."""
        return (
            f"{self.strategy}: objective {self.objective:.10g}, bound {self.bound:.10g}, gap "
            f"{self.gap:.2e}, {self.status}, {self.seconds:.2f} s"
        )


def finish(
    inst: SitingInstance,
    best: Plan,
    bound: float,
    *,
    gap_target: float,
    stopped_by_clock: bool,
    strategy: str,
    steps: list[dict],
    heuristic_objective: float,
    seconds: float,
) -> SitingSolution:
    """The solution of a plan and a proven bound: status, capped bound, gap.

    Status: ``Optimal`` (gap ≤ 1e-6), ``Gap reached`` (≤ ``gap_target``), ``Stopped by the
    clock`` (the safety cap cut a step) or ``Work limit reached``. A must-serve instance
    whose best plan leaves demand unserved raises :class:`~planner.errors.InfeasibleError`
    naming the clients (proven infeasible when the gap is closed).
    """
    gap = relative_gap(best.cost, bound)
    if gap <= 1e-6:
        status = "Optimal"
    elif gap <= gap_target:
        status = "Gap reached"
    elif stopped_by_clock:
        status = "Stopped by the clock"
    else:
        status = "Work limit reached"
    if inst.must_serve and best.unserved.sum() > 1e-6:
        _raise_unserved(inst, best, proven=gap <= 1e-6)
    return SitingSolution(
        inst,
        best.open_period,
        best.flow,
        best.unserved,
        best.cost,
        min(bound, best.cost),
        min(gap, 1.0) if np.isfinite(gap) else 1.0,
        status,
        stopped_by_clock,
        strategy,
        pd.DataFrame(steps, columns=STEP_COLUMNS),
        heuristic_objective,
        seconds,
    )


def set_start(m: Milp, plan: Plan) -> None:
    """Hand a plan to HiGHS as its first incumbent."""
    inst = m.inst
    x = np.zeros(m.n_cols)
    P = inst.P
    fl = plan.flow[m.flow_pair, m.flow_period]
    x[m.cols["flow"]] = fl / m.flow_scale if inst.single_source else fl
    x[m.cols["unserved"]] = plan.unserved[m.unserved_client, m.unserved_period]
    op = plan.open_period
    y = (op[:, None] >= 0) & (np.arange(P)[None, :] >= op[:, None])
    x[m.cols["open"]] = y.ravel().astype(float)
    if "cover_short" in m.cols:
        from planner.siting.transport import cover_met

        x[m.cols["cover_short"]] = (~cover_met(inst, op)).astype(float)
    sol = highspy.HighsSolution()
    sol.col_value = x.tolist()
    sol.value_valid = True
    m.highs.setSolution(sol)


def open_from(m: Milp, x: np.ndarray) -> np.ndarray:
    """Opening periods from a MILP solution's ``open`` columns."""
    inst = m.inst
    y = x[m.cols["open"]].reshape(inst.O, inst.P) > 0.5
    return np.where(y.any(axis=1), np.argmax(y, axis=1), -1).astype(np.int64)


def _raise_unserved(inst: SitingInstance, plan: Plan, proven: bool) -> None:
    who = np.flatnonzero(plan.unserved.sum(axis=1) > 1e-6)
    names = inst.client_names
    lab = ", ".join(str(names[i]) if names is not None else str(int(i)) for i in who[:8])
    more = f" … ({len(who)} in all)" if len(who) > 8 else ""
    if proven:
        raise InfeasibleError(
            f"the siting model is infeasible: no plan serves client(s) {lab}{more} under the "
            "rules (capacities, p, budget, size options, single sourcing); allow unserved "
            "demand to see a plan that reports them"
        )
    raise InfeasibleError(
        f"no plan serving every client was found within the work limits (client(s) {lab}"
        f"{more} left unserved); raise the limits or allow unserved demand"
    )
