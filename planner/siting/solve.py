"""The one siting engine: heuristic → bound → exact → polish, under work limits (求解).

:func:`solve` is the entry point of every siting computation — ``planner run`` (through
:func:`planner.siting.schools.site_schools`), the notebooks and the benchmarks call it
with a :class:`~planner.siting.instance.SitingInstance`. The strategy follows the
instance's structure:

- ``"phased"`` (every capacitated instance: the school plan, CFLP, capacitated
  p-median):

  1. **heuristic** — :func:`planner.siting.heuristic.construct`: a feasible plan before
     any LP, scored with its exact assignment;
  2. **bound** — subgradient steps on the Lagrangian relaxation
     (:mod:`planner.siting.lagrange`): a proven lower bound, and a second start for the
     heuristic from the projects the relaxation keeps choosing;
  3. **exact** — the MILP of :mod:`planner.siting.build` on HiGHS, started from the best
     plan, within a node limit (when the model is small enough);
  4. **polish** — windows of neighbouring schools and sites re-planned by small MILPs
     started from the current plan (when a gap is left).

  Every step may only improve the plan; the reported gap is proven: (plan − best
  bound) / plan.
- ``"pmedian"`` (uncapacitated one-period instances whose options each open one
  facility: the OR-Library p-median, uncapacitated facility location): greedy +
  interchange, Lagrangian reduction (Beasley 1993) and the radius formulation with level
  refinement (:mod:`planner.siting.radius`).

**Work limits, not seconds.** Every step stops on counted work
(:class:`SolveLimits`: heuristic rounds and moves, subgradient steps, branch-and-bound
nodes, polishing windows), so the same instance gives the same plan on any machine. The
wall clock is only a safety cap (``time_limit``): when it cuts a step, the solution says
``stopped_by_clock`` — another machine may then give another plan.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import highspy
import numpy as np
import scipy.sparse as sp

from planner.errors import InfeasibleError, SolverError
from planner.siting.build import build_milp
from planner.siting.extract import (
    SitingSolution,
    finish,
    open_from,
    relative_gap,
    set_start,
)
from planner.siting.heuristic import HeuristicLimits, construct, lp_fit, marginal_costs
from planner.siting.instance import SitingInstance
from planner.siting.lagrange import Items, lagrangian_bound
from planner.siting.polish import grow, window_instance
from planner.siting.relax import lp_relaxation, round_groups
from planner.siting.transport import Assigner, Plan, plan_cost

__all__ = [
    "InfeasibleError",
    "Progress",
    "SitingSolution",
    "SolveLimits",
    "STRATEGIES",
    "solve",
    "strategy_for",
]

STRATEGIES = ("auto", "phased", "pmedian")


@dataclass(frozen=True)
class SolveLimits:
    """Work limits of :func:`solve`; ``time_limit`` is only a safety cap (seconds).

    Attributes
    ----------
    heuristic : HeuristicLimits
        Rounds and moves of the construction heuristic.
    fit_rounds : int
        Rounds of :func:`~planner.siting.heuristic.lp_fit` (one exact assignment each).
    lp_max_columns : int
        The LP relaxation (column generation) is used up to this many flow columns of
        the full model; above it the Lagrangian relaxation gives the bound.
    lp_nearest : int
        Nearest facilities per client in the LP's first restricted pair set.
    lp_rounds : int
        Pricing rounds of the LP relaxation.
    lp_iterations : int
        Simplex iterations per LP (HiGHS ``simplex_iteration_limit``); an LP that needs
        more hands the bound to the Lagrangian relaxation.
    round_thresholds : tuple of float
        Opening weights at which a group's project is rounded open from the LP.
    lagrangian_steps : int
        Subgradient steps of the Lagrangian bound (large instances).
    mip_nodes : int
        Branch-and-bound nodes of the exact MILP (HiGHS ``mip_max_nodes``).
    mip_max_columns : int
        The exact MILP runs when it has at most this many flow columns (pairs × periods).
    mip_max_lp_iterations : int
        ... and when the LP relaxation, if it ran, took at most this many
        simplex iterations (the MILP's root solves it again with cuts: OR-Library capa's
        dense LP takes 24,152 and its root does not end in 10 minutes; SJC3a's takes
        5,920).
    second_start_gap : float
        After the LP relaxation, the Lagrangian relaxation (started from the LP's duals)
        gives a second start only when the plans rounded from the LP leave a larger gap.
    polish_sweeps : int
        Sweeps of polishing windows over the schools and sites.
    window_columns : int
        Flow columns per polishing window.
    window_nodes : int
        Branch-and-bound nodes per window MILP.
    pmedian_rounds : int
        Level-refinement rounds of the p-median strategy.
    gap : float
        Stop as soon as the proven relative gap is at most this.
    time_limit : float or None
        Safety cap in seconds for the whole solve (None: none).
    """

    heuristic: HeuristicLimits = field(default_factory=HeuristicLimits)
    fit_rounds: int = 1
    lp_max_columns: int = 400_000
    lp_nearest: int = 10
    lp_rounds: int = 3
    lp_iterations: int = 50_000
    round_thresholds: tuple[float, ...] = (0.1, 0.2)
    lagrangian_steps: int = 150
    mip_nodes: int = 2_000
    mip_max_columns: int = 120_000
    mip_max_lp_iterations: int = 15_000
    second_start_gap: float = 0.01
    polish_sweeps: int = 0
    window_columns: int = 6_000
    window_nodes: int = 50
    pmedian_rounds: int = 50
    gap: float = 1e-4
    time_limit: float | None = 600.0


@dataclass
class Progress:
    """One progress report: the step, the best plan and bound so far, the time."""

    step: str
    plan: float
    bound: float
    seconds: float
    detail: str = ""

    @property
    def gap(self) -> float:
        """Proven relative gap of the best plan."""
        return relative_gap(self.plan, self.bound)

    def line(self) -> str:
        """The report as one plain line."""
        b = f"{self.bound:.6g}" if np.isfinite(self.bound) else "–"
        g = f"{100 * self.gap:.2f} %" if np.isfinite(self.bound) else "–"
        tail = f"  {self.detail}" if self.detail else ""
        return (
            f"siting {self.step:<10} plan {self.plan:.6g}  bound {b}  gap {g}  "
            f"{self.seconds:5.1f} s{tail}"
        )


# ----------------------------------------------------------------------------- clock


class _Clock:
    """The safety cap: seconds left, and whether it cut anything."""

    def __init__(self, limit: float | None) -> None:
        self.t0 = time.perf_counter()
        self.limit = np.inf if limit is None else float(limit)
        self.cut = False

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def left(self) -> float:
        return self.limit - self.elapsed()

    def expired(self) -> bool:
        if self.left() <= 0:
            self.cut = True
            return True
        return False


# ----------------------------------------------------------------------------- entry


def strategy_for(inst: SitingInstance) -> str:
    """``pmedian`` for uncapacitated one-period column instances, else ``phased``."""
    if (
        inst.P == 1
        and inst.uncapacitated
        and not inst.closest
        and not inst.single_source
        and not inst.cover.shape[0]
        and inst.option_column is not None
        and np.all(np.diff(inst.option_adds.tocsc().indptr) == 1)
    ):
        return "pmedian"
    return "phased"


def solve(
    inst: SitingInstance,
    *,
    limits: SolveLimits | None = None,
    strategy: str = "auto",
    progress: Callable[[Progress], None] | None = None,
    time_limit: float | None = ...,  # type: ignore[assignment]
) -> SitingSolution:
    """Solve a siting instance (see the module docstring).

    Parameters
    ----------
    inst : SitingInstance
        The instance.
    limits : SolveLimits, optional
        Work limits and the safety cap (default :class:`SolveLimits`).
    strategy : {"auto", "phased", "pmedian"}
        ``auto`` chooses by structure (:func:`strategy_for`).
    progress : callable, optional
        Called with a :class:`Progress` after every step and during the MILP.
    time_limit : float or None, optional
        Overrides ``limits.time_limit`` (the safety cap).

    Returns
    -------
    SitingSolution

    Raises
    ------
    InfeasibleError
        When a must-serve rule cannot be met (found before solving, or proven by the
        solve), naming the clients, facilities and rule.
    """
    limits = limits or SolveLimits()
    if time_limit is not ...:
        limits = replace(limits, time_limit=time_limit)
    if strategy not in STRATEGIES:
        from difflib import get_close_matches

        near = get_close_matches(strategy, STRATEGIES, n=1)
        hint = f" (did you mean '{near[0]}'?)" if near else ""
        raise SolverError(
            f"unknown siting strategy '{strategy}'{hint}; choose one of {', '.join(STRATEGIES)}"
        )
    problems = inst.check()
    if problems:
        lines = "\n".join(f"  - {p}" for p in problems)
        raise InfeasibleError(
            f"the siting instance cannot have a plan that meets every must-rule "
            f"({len(problems)} problem(s) found before solving):\n{lines}"
        )
    if strategy == "auto":
        strategy = strategy_for(inst)
    clock = _Clock(limits.time_limit)
    if strategy == "pmedian":
        from planner.siting.radius import solve_pmedian

        return solve_pmedian(inst, limits=limits, clock=clock, progress=progress)
    return _Phased(inst, limits, clock, progress).run()


# ----------------------------------------------------------------------------- phased


class _Phased:
    """The phased strategy's state: best plan, best bound, step log."""

    def __init__(self, inst, limits: SolveLimits, clock: _Clock, progress) -> None:
        self.inst = inst
        self.limits = limits
        self.clock = clock
        self.progress = progress
        self.best: Plan | None = None
        # every cost is ≥ 0 (pairs, penalties, projects): 0 is a bound before any step
        nonneg = (
            (inst.cost.data >= 0).all()
            and (inst.option_objective >= 0).all()
            and (inst.penalty >= 0).all()
        )
        self.bound = 0.0 if nonneg else -np.inf
        self.log: list[dict] = []
        self.assigner = Assigner(inst)
        self.items = Items.of(inst)
        self.heur_cost = np.nan

    def report(self, step: str, detail: str = "") -> None:
        if self.progress is not None:
            self.progress(Progress(step, self.best.cost, self.bound, self.clock.elapsed(), detail))

    def offer(self, plan: Plan) -> bool:
        """Keep ``plan`` when it is cheaper than the best one."""
        if self.best is None or plan.cost < self.best.cost - 1e-9 * max(1.0, abs(self.best.cost)):
            self.best = plan
            return True
        return False

    def _feasible(self, op: np.ndarray, weight: np.ndarray) -> np.ndarray:
        """A start made to respect the budget and p (keeping the heaviest projects)."""
        inst = self.inst
        op = op.copy()
        if inst.budget is not None:
            op = _within_budget(inst, op, weight)
        if inst.p is not None:
            on = np.flatnonzero(op >= 0)
            if len(on) > inst.p:
                drop = on[np.lexsort((on, -weight[on]))][inst.p :]
                op[drop] = -1
            elif len(on) < inst.p:  # too few: the heuristic adds the best ones
                more, _ = construct(
                    inst,
                    limits=self.limits.heuristic,
                    start=op,
                    items=self.items,
                    interchange=False,
                )
                op = more.open_period
        return op

    def _left(self) -> float | None:
        left = self.clock.left()
        return left if np.isfinite(left) else None

    def exact(self, open_period: np.ndarray) -> Plan:
        from planner.siting.transport import score

        left = self.clock.left()
        plan = score(
            self.inst, open_period, self.assigner, time_limit=left if np.isfinite(left) else None
        )
        if self.assigner.timed_out:
            self.clock.cut = True
        return plan

    def done(self) -> bool:
        return relative_gap(self.best.cost, self.bound) <= self.limits.gap

    def note(self, step: str, t: float, **work) -> None:
        self.log.append(
            {
                "step": step,
                "seconds": round(time.perf_counter() - t, 3),
                "plan": self.best.cost,
                "bound": self.bound,
                "work": ", ".join(f"{k} {v}" for k, v in work.items()),
            }
        )
        self.report(step, self.log[-1]["work"])

    def run(self) -> SitingSolution:
        inst, L = self.inst, self.limits
        # 1. heuristic
        t = time.perf_counter()
        plan, work = construct(
            inst, limits=L.heuristic, items=self.items, should_stop=self.clock.expired
        )
        self.offer(self.exact(plan.open_period))
        self.heur_cost = self.best.cost
        self.note("heuristic", t, **work)
        # 1b. fit: each project sized and timed by what the exact assignment needs of it
        t = time.perf_counter()
        fitted = 0
        for _ in range(L.fit_rounds):
            op = lp_fit(inst, self.best.open_period, self.assigner, self._left())
            if np.array_equal(op, self.best.open_period) or not self.offer(self.exact(op)):
                break
            fitted += 1
        self.note("fit", t, rounds=fitted)
        # 2. bound: the LP relaxation by column generation, and plans rounded from it;
        #    the Lagrangian relaxation when the LP is too large
        n_cols = len(self.items.e)
        lp_done = False
        lam_lp = None
        lp_iterations: int | None = None  # simplex iterations of the LP relaxation, if run
        if not self.done() and n_cols <= L.lp_max_columns and not self.clock.expired():
            t = time.perf_counter()
            rel = lp_relaxation(
                inst,
                self.best.flow,
                nearest=L.lp_nearest,
                max_rounds=L.lp_rounds,
                iteration_limit=L.lp_iterations,
                should_stop=self.clock.expired,
                time_left=self.clock.left,
            )
            if rel.timed_out:
                self.clock.cut = True
            self.bound = max(self.bound, rel.bound)
            lp_done = not rel.limited
            lam_lp = rel.lam
            lp_iterations = rel.iterations if not rel.limited else L.mip_max_lp_iterations + 1
            self.note(
                "bound",
                t,
                rounds=rel.rounds,
                columns=rel.columns,
                exact=rel.exact,
                iterations=rel.iterations,
                **({"limited": True} if rel.limited else {}),
            )
            t = time.perf_counter()
            tried = 0
            for theta in L.round_thresholds if lp_done else ():
                if self.done() or self.clock.expired():
                    break
                op = self._feasible(round_groups(inst, rel.y, theta), rel.y.sum(axis=1))
                for _ in range(max(L.fit_rounds, 1)):
                    op2 = lp_fit(inst, op, self.assigner, self._left())
                    if np.array_equal(op2, op):
                        break
                    op = op2
                self.offer(self.exact(op))
                tried += 1
            self.note("round", t, thresholds=tried)
        # the Lagrangian relaxation: the bound when there is no LP, and (started from the
        # LP's duals when there is one) a second start from the projects it keeps choosing
        after_lp = (
            lam_lp is not None and relative_gap(self.best.cost, self.bound) <= L.second_start_gap
        )
        if not self.done() and not after_lp and L.lagrangian_steps > 0 and not self.clock.expired():
            t = time.perf_counter()
            lam0 = (
                lam_lp
                if lam_lp is not None
                else marginal_costs(inst, self.best.flow, self.best.unserved)
            )
            lb = lagrangian_bound(
                inst,
                upper=self.best.cost,
                lam0=lam0,
                max_steps=L.lagrangian_steps,
                items=self.items,
                target_gap=L.gap,
                should_stop=self.clock.expired,
            )
            self.bound = max(self.bound, lb.bound)
            # a second start: the projects the relaxation keeps choosing
            keep = lb.frequency >= 0.5
            if keep.any() and not self.done():
                start = np.where(keep, np.maximum(lb.period, inst.option_earliest), -1)
                start = self._feasible(_one_per_group(inst, start, lb.frequency), lb.frequency)
                plan2, _ = construct(inst, limits=L.heuristic, start=start, items=self.items)
                self.offer(self.exact(plan2.open_period))
            self.note("lagrangian", t, steps=lb.steps)
        # 3. exact: when the model is small and its LP was cheap (the MILP's root solves
        #    that LP again and again, with cuts)
        n_cols = len(self.items.e)
        lp_cheap = lp_iterations is None or lp_iterations <= L.mip_max_lp_iterations
        if (
            not self.done()
            and n_cols <= L.mip_max_columns
            and lp_cheap
            and not self.clock.expired()
        ):
            t = time.perf_counter()
            nodes, bound = self.mip(inst, self.best, L.mip_nodes, report=True)
            self.bound = max(self.bound, bound)
            self.note("exact", t, nodes=nodes)
        # 4. polish
        if (
            not self.done()
            and L.polish_sweeps > 0
            and not inst.closest
            and not self.clock.expired()
        ):
            t = time.perf_counter()
            windows, better = self.polish()
            self.note("polish", t, windows=windows, improved=better)
        return self.solution()

    # ------------------------------------------------------------------ MILP
    def mip(self, inst: SitingInstance, start: Plan, nodes: int, report: bool = False):
        """Solve ``inst``'s MILP from ``start`` within ``nodes``; offer the result.

        Returns the nodes used and the MILP's dual bound.
        """
        m = build_milp(inst)
        h = m.highs
        set_start(m, start)
        h.setOptionValue("mip_max_nodes", int(nodes))
        h.setOptionValue("mip_rel_gap", float(self.limits.gap))
        h.setOptionValue("threads", 1)
        h.setOptionValue("random_seed", 0)
        left = self.clock.left()
        h.setOptionValue("time_limit", float(max(left, 0.01)) if np.isfinite(left) else np.inf)
        last = [0.0]

        def on_interrupt(e) -> None:
            if report and self.progress is not None:
                now = self.clock.elapsed()
                if now - last[0] >= 0.5:
                    last[0] = now
                    d = e.data_out
                    b = max(self.bound, float(d.mip_dual_bound))
                    plan = min(self.best.cost, float(d.objective_function_value))
                    self.progress(Progress("exact", plan, b, now, f"nodes {int(d.mip_node_count)}"))
            e.interrupt(False)

        if report:
            h.cbMipInterrupt.subscribe(on_interrupt)
        try:
            h.run()
        finally:
            if report:
                h.cbMipInterrupt.unsubscribe(on_interrupt)
        info = h.getInfo()
        if h.getModelStatus() == highspy.HighsModelStatus.kTimeLimit:
            self.clock.cut = True
        bound = float(info.mip_dual_bound) if np.isfinite(info.mip_dual_bound) else -np.inf
        if info.primal_solution_status == 2 and inst is self.inst:
            op = open_from(m, np.asarray(h.getSolution().col_value))
            self.offer(self.exact(op))
        return int(info.mip_node_count), bound

    # ------------------------------------------------------------------ polish
    def polish(self) -> tuple[int, int]:
        """Windows of neighbouring groups re-planned by small MILPs (LNS), in sweeps."""
        inst, L = self.inst, self.limits
        if not inst.O:
            return 0, 0
        r, f, _ = inst.pairs()
        # group ↔ clients (through the facilities the group's options touch)
        a = inst.option_adds.tocoo()
        fac_group = np.full(inst.F, -1, np.int64)
        fac_group[a.row] = inst.option_group[a.col]
        on = fac_group[f] >= 0
        B = sp.csr_matrix(
            (np.ones(int(on.sum())), (fac_group[f[on]], r[on])), shape=(inst.G, inst.n)
        )
        B.data[:] = 1.0
        A = (B @ B.T).tocsr()
        cols_per_group = np.asarray(B.sum(axis=1)).ravel() * inst.P
        windows = better = 0
        for sweep in range(L.polish_sweeps):
            has = np.zeros(inst.G, bool)
            has[inst.option_group[self.best.open_period >= 0]] = True
            seeds = np.r_[np.flatnonzero(has), np.flatnonzero(~has)]
            seeds = np.roll(seeds, -(sweep * 7) % max(len(seeds), 1))
            covered = np.zeros(inst.G, bool)
            gained = False
            for g in seeds:
                if covered[g] or self.done():
                    continue
                if self.clock.expired():
                    return windows, better
                W = grow(A, int(g), cols_per_group, L.window_columns)
                covered[W] = True
                windows += 1
                if self._window(W, fac_group):
                    better += 1
                    gained = True
            self.report("polish", f"sweep {sweep + 1}: {windows} windows, {better} better")
            if not gained:
                break
        return windows, better

    def _window(self, W: np.ndarray, fac_group: np.ndarray) -> bool:
        inst, best = self.inst, self.best
        sub, maps = window_instance(inst, best, W, fac_group)
        if sub is None:
            return False
        K, _, Ow, Ew = maps
        cur = Plan(
            best.open_period[Ow].copy(),
            best.flow[Ew].copy(),
            best.unserved[K].copy(),
            0.0,
        )
        cur.cost = plan_cost(sub, cur.open_period, cur.flow, cur.unserved)
        m = build_milp(sub)
        set_start(m, cur)
        h = m.highs
        h.setOptionValue("mip_max_nodes", int(self.limits.window_nodes))
        h.setOptionValue("mip_rel_gap", 1e-4)
        h.setOptionValue("threads", 1)
        h.setOptionValue("random_seed", 0)
        left = self.clock.left()
        h.setOptionValue("time_limit", float(max(left, 0.01)) if np.isfinite(left) else np.inf)
        h.run()
        if h.getModelStatus() == highspy.HighsModelStatus.kTimeLimit:
            self.clock.cut = True
        if h.getInfo().primal_solution_status != 2:
            return False
        if not float(h.getInfo().objective_function_value) < cur.cost - 1e-7 * max(
            1.0, abs(cur.cost)
        ):
            return False
        op = best.open_period.copy()
        op[Ow] = open_from(m, np.asarray(h.getSolution().col_value))
        return self.offer(self.exact(op))

    # ------------------------------------------------------------------ result
    def solution(self) -> SitingSolution:
        return finish(
            self.inst,
            self.best,
            self.bound,
            gap_target=self.limits.gap,
            stopped_by_clock=self.clock.cut,
            strategy="phased",
            steps=self.log,
            heuristic_objective=self.heur_cost,
            seconds=self.clock.elapsed(),
        )


# ----------------------------------------------------------------------------- helpers


def _one_per_group(inst: SitingInstance, start: np.ndarray, freq: np.ndarray) -> np.ndarray:
    on = np.flatnonzero(start >= 0)
    o = on[np.lexsort((on, -freq[on], inst.option_group[on]))]
    first = np.r_[True, inst.option_group[o][1:] != inst.option_group[o][:-1]] if len(o) else o > 0
    out = np.full(inst.O, -1, np.int64)
    out[o[first]] = start[o[first]]
    return out


def _within_budget(inst: SitingInstance, start: np.ndarray, freq: np.ndarray) -> np.ndarray:
    on = np.flatnonzero(start >= 0)
    o = on[np.lexsort((on, -freq[on]))]
    keep = o[np.cumsum(inst.option_cost[o]) <= inst.budget + 1e-9]
    out = np.full(inst.O, -1, np.int64)
    out[keep] = start[keep]
    return out
