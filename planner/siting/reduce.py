"""Lagrangian reduced-cost fixing for p-median instances (拉格朗日约简).

Before the exact model is built, candidate sites that cannot be in any plan cheaper
than a known one are removed. Relaxing the assignment rows ``Σ_j x_ij = 1`` of the
p-median with multipliers ``λ_i`` gives

    L(λ) = Σ_i λ_i + (sum of the p smallest ρ_j),   ρ_j = Σ_i min(0, w_i c_ij − λ_i),

a lower bound for every ``λ`` (Beasley 1993, "Lagrangean heuristics for location
problems", EJOR 65). Forcing a site *j* that the relaxed problem leaves closed into the
plan costs at least ``ρ_j − ρ_(p)`` (it replaces the p-th smallest), so when
``L(λ) + ρ_j − ρ_(p)`` exceeds the cost of a known plan, no plan containing *j* can
beat it and *j* is dropped. The test is exact for every ``λ``; a site dropped at any
subgradient step stays dropped. Every few steps the p sites of the relaxed problem are
scored as a plan; a cheaper one lowers the cost the sites are tested against. The best
known plan keeps all its sites (each of them is in a plan that costs exactly the bound
it is tested against), so the reduced instance holds it, and its optimum is the optimum
of the whole instance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from planner.siting.columns import ColumnInstance

__all__ = ["ReductionResult", "can_reduce", "reduce_pmedian"]


@dataclass
class ReductionResult:
    """Sites kept by :func:`reduce_pmedian` and the bound found on the way.

    Attributes
    ----------
    keep : int ndarray
        Facility columns kept (sorted).
    bound : float
        Best Lagrangian lower bound ``L(λ)``.
    steps : int
        Subgradient steps taken.
    upper : float
        Cost of the best plan seen (the given one, or a cheaper plan made of the sites
        the relaxed problem chose — a Lagrangian heuristic).
    plan : bool ndarray of shape (m,)
        That plan's open columns.
    relaxed : bool ndarray of shape (m,)
        The p sites of the relaxed problem at the best bound: a good start for a local
        search (:func:`~planner.siting.heuristic.greedy_interchange` ``start=``).
    """

    keep: np.ndarray
    bound: float
    steps: int
    upper: float
    plan: np.ndarray
    relaxed: np.ndarray


def can_reduce(inst: ColumnInstance) -> bool:
    """Whether ``inst`` is a p-median instance that :func:`reduce_pmedian` can reduce.

    That is: ``p`` set, uncapacitated, no budget, no existing facility, no fixed cost,
    one column per site, every client served.
    """
    return bool(
        inst.p is not None
        and inst.uncapacitated
        and inst.budget is None
        and not inst.existing.any()
        and not np.any(inst.fixed_cost)
        and inst.n_sites == inst.m
        and not inst.allow_unserved
    )


def reduce_pmedian(
    inst: ColumnInstance,
    upper: float,
    plan_open: np.ndarray,
    *,
    max_steps: int = 600,
    patience: int = 20,
) -> ReductionResult:
    """Drop the sites that no plan cheaper than ``upper`` can use.

    Parameters
    ----------
    inst : ColumnInstance
        A p-median instance (:func:`can_reduce`).
    upper : float
        Cost of a known plan (e.g. the greedy + interchange heuristic's).
    plan_open : bool ndarray of shape (m,)
        That plan's open columns; they are always kept.
    max_steps : int
        Upper limit on subgradient steps.
    patience : int
        Steps without a better bound before the step size is halved.

    Returns
    -------
    ReductionResult
    """
    n, m, p = inst.n, inst.m, int(inst.p)
    csr = inst.cost
    client = np.repeat(np.arange(n), np.diff(csr.indptr))
    col = csr.indices.astype(np.int64)
    wc = inst.obj_weight[client] * csr.data
    # start: each client at its cost in the known plan (a good guess of its multiplier)
    plan_open = np.asarray(plan_open, bool).copy()
    in_plan = plan_open[col]
    lam = np.full(n, np.inf)
    np.minimum.at(lam, client[in_plan], wc[in_plan])
    lam = np.where(np.isfinite(lam), lam, 0.0)
    alive = np.ones(m, bool)
    relaxed = plan_open.copy()
    best, theta, stall, steps = -np.inf, 2.0, 0, 0
    tol = 1e-9 * max(1.0, abs(upper))
    while steps < max_steps:
        steps += 1
        red = np.minimum(0.0, wc - lam[client])
        rho = np.bincount(col, weights=red, minlength=m)
        order = np.argsort(rho, kind="stable")
        chosen = order[:p]
        rho_p = rho[order[p - 1]]
        L = float(lam.sum() + rho[chosen].sum())
        # reduced-cost test for the sites outside the relaxed plan
        out = np.ones(m, bool)
        out[chosen] = False
        drop = out & (L + rho - rho_p > upper + tol) & ~plan_open
        alive &= ~drop
        if not np.isfinite(best) or L > best + 1e-9 * max(1.0, abs(best)):
            best, stall = max(best, L), 0
            relaxed = np.zeros(m, bool)
            relaxed[chosen] = True
        else:
            stall += 1
            if stall >= patience:
                theta, stall = theta / 2.0, 0
        if steps % 5 == 1:  # Lagrangian heuristic: the relaxed plan's sites as a plan
            cost = _plan_cost(client, col, wc, chosen, n, m)
            if cost < upper - tol:
                upper, plan_open = cost, np.zeros(m, bool)
                plan_open[chosen] = True
                alive |= plan_open  # cannot have been dropped: they form a cheaper plan
        if upper - best <= tol or theta < 1e-4:
            break
        # subgradient: 1 − (how many chosen sites take client i)
        take = np.zeros(m, bool)
        take[chosen] = True
        s = 1.0 - np.bincount(client, weights=(take[col] & (red < 0)).astype(float), minlength=n)
        norm2 = float(s @ s)
        if norm2 == 0.0:
            break
        lam = lam + theta * (upper - L) / norm2 * s
    return ReductionResult(
        np.flatnonzero(alive), float(best), steps, float(upper), plan_open, relaxed
    )


def _plan_cost(
    client: np.ndarray, col: np.ndarray, wc: np.ndarray, chosen: np.ndarray, n: int, m: int
) -> float:
    """Cost of serving every client from its cheapest site in ``chosen`` (inf if one cannot)."""
    on = np.zeros(m, bool)
    on[chosen] = True
    sel = on[col]
    best = np.full(n, np.inf)
    np.minimum.at(best, client[sel], wc[sel])
    return float(best.sum())
