"""Lagrangian relaxation of the phased siting model (拉格朗日松弛：下界与候选方案).

Relax the demand rows ``Σ_f flow[e, p] + unserved[i, p] = demand[i, p]`` with
multipliers ``λ[i, p]`` (objective cost per unit of demand). The relaxed problem splits:

- per client and period, the unserved term ``min(0, penalty_i − λ_ip) · demand_ip``;
- per facility *f* and period *p* with capacity *Q*, a continuous knapsack
  ``K_fp(Q) = min Σ_e (c_e − λ_ip) x_e`` subject to ``Σ_e x_e ≤ Q``, ``0 ≤ x_e ≤ demand``,
  filled greedily with the most negative reduced costs first (one sort of all items,
  pairs × periods, by bin and reduced cost; cumulative sums; no loop over facilities);
- per group (a school or a site), the choice of at most one option *o* and its opening
  period *q*: ``c(o, q) + Σ_{f ∋ o} Σ_{p ≥ q} (K_fp(Q₀ + seats_fo) − K_fp(Q₀))`` against
  doing nothing — all options and periods at once with suffix sums over the periods;
- a budget (a multiple-choice knapsack over the groups) is priced by its own multiplier
  μ, maximised exactly by bisection in every evaluation; ``p`` picks the ``p`` best
  groups; cover rules (a boarding school per town) get multipliers ``ν_u`` ∈ [0,
  penalty].

``L(λ, ν)`` is a lower bound on the optimum for any multipliers (weak duality), at least
as strong as the LP relaxation with the ``link`` block (each group's choice is integral)
— closest assignment is left out of the relaxation, so with it the bound is weaker but
still valid. The multipliers improve by subgradient steps with Polyak's step size and
the Camerini–Fratta–Maffioli deflection (method after Beasley 1988, "An algorithm for
solving large capacitated warehouse location problems", EJOR 33; Cornuéjols, Sridharan
& Thizy 1991, EJOR 50, on its strength). Every step is one near-sorted sort (the order
of the previous step, so timsort runs close to linear) and a few cumulative sums.

The same machinery prices projects for the construction heuristic
(:mod:`planner.siting.heuristic`): with ``λ`` set to each client's current marginal
cost, the value of an option is the saving its seats would bring.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from planner.siting.build import closest_bans, flow_columns
from planner.siting.instance import SitingInstance

__all__ = ["Items", "Relaxation", "LagrangianBound", "lagrangian_bound"]


@dataclass
class Items:
    """The knapsack items of an instance: one per flow column (pair × period)."""

    e: np.ndarray  # pair
    p: np.ndarray  # period
    client: np.ndarray
    bin: np.ndarray  # facility * P + period
    cost: np.ndarray  # unit cost
    dem: np.ndarray  # demand of the client in the period (item size)
    n_bins: int
    order: np.ndarray | None = None  # the last sort order (near-sorted next time)

    @classmethod
    def of(cls, inst: SitingInstance) -> Items:
        """Items of ``inst`` (closest assignment: the always-farther pairs left out)."""
        banned = closest_bans(inst) if inst.closest else None
        e, p = flow_columns(inst, banned)
        r, f, c = inst.pairs()
        return cls(e, p, r[e], f[e] * inst.P + p, c[e], inst.demand[r[e], p], inst.F * inst.P)


@dataclass
class Fill:
    """Sorted knapsack items with cumulative sums, for capacity queries."""

    o: np.ndarray  # item order
    a: np.ndarray  # reduced cost of the sorted items, 0 where ≥ 0
    d: np.ndarray  # size of the sorted items, 0 where reduced cost ≥ 0
    Dc: np.ndarray  # cumulative size (len + 1)
    Vc: np.ndarray  # cumulative value (len + 1)
    start: np.ndarray  # first sorted position of every bin
    end: np.ndarray
    margin_unit: float

    def value(self, bins: np.ndarray, Q: np.ndarray) -> tuple[np.ndarray, ...]:
        """Knapsack value of ``bins`` at capacities ``Q``; also the fill position and fraction."""
        s0, e0 = self.start[bins], self.end[bins]
        target = self.Dc[s0] + np.minimum(Q, 1e300)
        k = np.clip(np.searchsorted(self.Dc, target, side="right") - 1, s0, e0)
        val = self.Vc[k] - self.Vc[s0]
        part = k < e0
        kk = np.where(part, k, 0)
        d_k = self.d[kk] if len(self.d) else np.zeros(len(kk))
        with np.errstate(invalid="ignore", divide="ignore"):
            frac = np.where(
                part & (d_k > 0), (target - self.Dc[k]) / np.where(d_k > 0, d_k, 1), 0.0
            )
        frac = np.clip(frac, 0.0, 1.0)
        a_k = self.a[kk] if len(self.a) else np.zeros(len(kk))
        return val + np.where(part, frac * a_k, 0.0), k, frac, part


def fill(items: Items, lam: np.ndarray, exclude: np.ndarray | None = None) -> Fill:
    """Sort the items by bin and reduced cost ``c − λ`` and accumulate (see module doc).

    Items flagged in ``exclude`` count for nothing (their reduced cost is taken as 0).
    """
    a = items.cost - lam[items.client, items.p]
    if exclude is not None:
        a = np.where(exclude, 0.0, a)
    neg = a < 0
    lo = float(a[neg].min()) if neg.any() else -1.0
    lo = min(lo, 0.0) * 1.0000001 - 1e-9
    span = -lo * 2.0 + 1.0
    rk = np.clip(a, lo, 0.0) - lo  # in [0, −lo]; all ≥ 0 reduced costs tie at the end
    key = items.bin * span + rk
    if items.order is None or len(items.order) != len(key):
        o = np.argsort(key, kind="stable")
    else:
        o = items.order[np.argsort(key[items.order], kind="stable")]
    items.order = o
    an = np.where(neg[o], a[o] * items.dem[o], 0.0)  # value of the whole item
    dn = np.where(neg[o], items.dem[o], 0.0)
    Dc = np.r_[0.0, np.cumsum(dn)]
    Vc = np.r_[0.0, np.cumsum(an)]
    cnt = np.bincount(items.bin, minlength=items.n_bins)
    end = np.cumsum(cnt)
    # two reduced costs closer than the key's resolution may swap: bound the error
    unit = float(np.spacing(items.n_bins * span + span))
    return Fill(o, an, dn, Dc, Vc, end - cnt, end, unit)


@dataclass
class Relaxation:
    """One evaluation of the relaxed problem."""

    L: float
    subgradient: np.ndarray  # (n, P)
    cover_subgradient: np.ndarray  # (U,)
    choice: np.ndarray  # (G,) option chosen per group, −1 none
    period: np.ndarray  # (G,) opening period of that option
    mu: float  # budget multiplier


def option_values(
    inst: SitingInstance, fl: Fill, base_cap: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Knapsack values at the base capacities, and every option's value per opening period.

    Returns
    -------
    K0 : ndarray (F, P)
        ``K_fp(base_cap)``.
    V : ndarray (O, P)
        Saving of opening option *o* in period *q* (≤ 0 is a gain), without its cost:
        ``Σ_{f ∋ o} Σ_{p ≥ q} K_fp(base + seats) − K_fp(base)``; ``inf`` before its
        earliest period.
    """
    F, P, O = inst.F, inst.P, inst.O
    bins = np.arange(F * P)
    K0 = fl.value(bins, base_cap.reshape(-1))[0].reshape(F, P)
    V = np.full((O, P), np.inf)
    if not O:
        return K0, V
    a = inst.option_adds.tocoo()
    fb = (a.row[:, None] * P + np.arange(P)[None, :]).ravel()
    Q = (base_cap[a.row] + a.data[:, None]).ravel()
    Ko = fl.value(fb, Q)[0].reshape(-1, P)
    D = np.zeros((O, P))
    np.add.at(D, a.col, Ko - K0[a.row])
    S = np.cumsum(D[:, ::-1], axis=1)[:, ::-1]  # Σ_{p ≥ q}
    ok = np.arange(P)[None, :] >= inst.option_earliest[:, None]
    V = np.where(ok, S, np.inf)
    return K0, V


def _choose(
    inst: SitingInstance, val: np.ndarray, cost: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Best option per group (None = 0) under p and budget, priced by μ.

    ``val`` (O,) is each option's best relaxed value (cost included), ``cost`` its budget
    cost. Returns the chosen option per group (−1 none), the relaxed value Σ of the
    choice minus μ · budget, the multiplier μ and Σ cost of the choice.
    """
    G = inst.G
    og = inst.option_group

    def pick(mu: float):
        v = val + mu * cost
        o = np.lexsort((np.arange(len(v)), v, og))
        first = np.r_[True, og[o][1:] != og[o][:-1]] if len(o) else np.zeros(0, bool)
        best = o[first]
        gv = np.zeros(G)
        gv[og[best]] = v[best]
        gopt = np.full(G, -1, np.int64)
        gopt[og[best]] = best
        if inst.p is not None:
            k = min(max(inst.p, 0), G)
            rank = np.lexsort((np.arange(G), gv))
            chosen = np.zeros(G, bool)
            chosen[rank[:k]] = True
        else:
            chosen = (gv < 0) & (gopt >= 0)
        ch = np.where(chosen, gopt, -1)
        total = float(gv[chosen].sum())
        spent = float(cost[ch[ch >= 0]].sum())
        return ch, total, spent

    if inst.budget is None:
        ch, total, spent = pick(0.0)
        return ch, np.array(total), 0.0, spent
    B = inst.budget
    ch, total, spent = pick(0.0)
    if spent <= B + 1e-9:
        return ch, np.array(total), 0.0, spent
    # g(μ) = pick(μ).total − μ B is concave; its slope spent(μ) − B falls with μ
    lo, hi = 0.0, 1.0
    while pick(hi)[2] > B + 1e-9 and hi < 1e12:
        hi *= 4.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if pick(mid)[2] > B + 1e-9:
            lo = mid
        else:
            hi = mid
    best = None
    for mu in (lo, hi):
        c2, t2, s2 = pick(mu)
        g = t2 - mu * B
        if best is None or g > best[1]:
            best = (c2, g, mu, s2)
    return best[0], np.array(best[1]), best[2], best[3]


def evaluate(
    inst: SitingInstance,
    items: Items,
    lam: np.ndarray,
    nu: np.ndarray,
    cover_pen: np.ndarray,
) -> Relaxation:
    """``L(λ, ν)``, its subgradients and the relaxed choice of projects."""
    n, P, O, G = inst.n, inst.P, inst.O, inst.G
    fl = fill(items, lam)
    K0, V = option_values(inst, fl, inst.capacity)
    val_q = inst.option_objective + V
    U = len(nu)
    if U:  # cover rules priced by ν: an option meeting rule u earns ν_u
        val_q = val_q - np.asarray(inst.cover.T @ nu).ravel()[:, None]
    q_best = np.argmin(val_q, axis=1) if O else np.zeros(0, np.int64)
    v_best = val_q[np.arange(O), q_best] if O else np.zeros(0)
    choice, total, mu, _ = _choose(inst, v_best, inst.option_cost)
    dem = inst.demand
    L = float(np.sum(lam * dem)) + float(np.sum(np.minimum(0.0, inst.penalty[:, None] - lam) * dem))
    L += float(K0.sum()) + float(total) + float(nu.sum())
    margin = fl.margin_unit * float(np.minimum(inst.capacity, dem.sum()).sum() + 1.0) * 4.0
    L -= margin
    # subgradient: the fill at the chosen capacities
    open_period = np.full(O, -1, np.int64)
    on = choice >= 0
    open_period[choice[on]] = q_best[choice[on]]
    cap = inst.capacity_with(open_period)
    bins = np.arange(inst.F * P)
    _, k, frac, part = fl.value(bins, cap.reshape(-1))
    # x of every sorted item: full before k, frac at k (per bin)
    pos = np.arange(len(fl.o))
    item_bin = items.bin[fl.o]
    kb = k[item_bin]
    x = np.where(pos < kb, fl.d, 0.0) + np.where(
        (pos == kb) & part[item_bin], frac[item_bin] * fl.d, 0.0
    )
    served = np.zeros((n, P))
    np.add.at(served, (items.client[fl.o], items.p[fl.o]), x)
    un = np.where(lam > inst.penalty[:, None], dem, 0.0)
    s = dem - served - un
    cs = np.zeros(U)
    if U:
        met = np.asarray(inst.cover @ (open_period >= 0).astype(float)).ravel()
        cs = 1.0 - met  # ν rises where the rule is unmet, falls where met more than once
    g_choice = np.full(G, -1, np.int64)
    g_period = np.full(G, -1, np.int64)
    g_choice[inst.option_group[choice[on]]] = choice[on]
    g_period[inst.option_group[choice[on]]] = q_best[choice[on]]
    del cover_pen
    return Relaxation(L, s, cs, g_choice, g_period, mu)


@dataclass
class LagrangianBound:
    """Result of :func:`lagrangian_bound`."""

    bound: float
    lam: np.ndarray
    nu: np.ndarray
    steps: int
    #: how often each option was chosen over the later steps, and in which period (mode)
    frequency: np.ndarray = field(default_factory=lambda: np.zeros(0))
    period: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    history: list = field(default_factory=list)


def lagrangian_bound(
    inst: SitingInstance,
    *,
    upper: float,
    lam0: np.ndarray,
    max_steps: int,
    items: Items | None = None,
    cover_pen: np.ndarray | None = None,
    target_gap: float = 0.0,
    on_step=None,
    should_stop=None,
) -> LagrangianBound:
    """Subgradient optimisation of the multipliers (work limit: ``max_steps``).

    Parameters
    ----------
    inst : SitingInstance
        The instance.
    upper : float
        Cost of the best known plan (Polyak's target).
    lam0 : ndarray (n, P)
        Starting multipliers (e.g. the heuristic plan's marginal costs).
    max_steps : int
        Subgradient steps at most.
    items : Items, optional
        The instance's knapsack items (built when not given).
    cover_pen : ndarray, optional
        Penalty of every cover rule (default: the instance's).
    target_gap : float
        Stop once ``(upper − bound) / upper`` is at most this.
    on_step : callable, optional
        ``on_step(step, bound)`` after every step (progress).
    should_stop : callable, optional
        Returns True to stop early (the wall-clock safety cap).

    Returns
    -------
    LagrangianBound
    """
    items = items if items is not None else Items.of(inst)
    U = inst.cover.shape[0]
    if cover_pen is None:
        from planner.siting.build import _cover_default

        cover_pen = (
            np.full(U, _cover_default(inst)) if inst.cover_penalty is None else inst.cover_penalty
        )
    pen = inst.penalty[:, None]
    lam = np.minimum(lam0.astype(float), pen)
    nu = np.zeros(U)
    best = -np.inf
    best_lam, best_nu = lam.copy(), nu.copy()
    theta, stall, patience = 1.0, 0, 10
    direction = np.zeros(lam.size + U)
    freq = np.zeros(inst.O)
    per_sum = np.zeros(inst.O)
    n_freq = 0
    steps = 0
    history = []
    while steps < max_steps:
        rel = evaluate(inst, items, lam, nu, cover_pen)
        steps += 1
        if rel.L > best + 1e-9 * max(1.0, abs(best)) if np.isfinite(best) else True:
            best, best_lam, best_nu = rel.L, lam.copy(), nu.copy()
            stall = 0
        else:
            stall += 1
        if stall >= patience:
            theta, stall = theta / 2.0, 0
        if steps > max_steps // 3:
            on = rel.choice >= 0
            freq[rel.choice[on]] += 1
            per_sum[rel.choice[on]] += rel.period[on]
            n_freq += 1
        history.append(best)
        if on_step is not None:
            on_step(steps, best)
        if upper - best <= target_gap * abs(upper):
            break
        if theta < 1e-3 or (should_stop is not None and should_stop()):
            break
        s = np.concatenate([rel.subgradient.ravel(), rel.cover_subgradient])
        # no step for multipliers at their cap that the subgradient pushes further up
        nrm = float(s @ s)
        if nrm <= 1e-18:
            break
        dd = float(direction @ direction)
        beta = max(0.0, -1.5 * float(s @ direction) / dd) if dd > 0 else 0.0
        direction = s + beta * direction
        step = (
            theta * max(upper - rel.L, 1e-9 * max(1.0, abs(upper))) / float(direction @ direction)
        )
        lam = np.minimum(lam + step * direction[: lam.size].reshape(lam.shape), pen)
        if U:
            nu = np.clip(nu + step * direction[lam.size :], 0.0, cover_pen)
    period = np.where(freq > 0, np.rint(per_sum / np.maximum(freq, 1)), -1).astype(np.int64)
    return LagrangianBound(
        best,
        best_lam,
        best_nu,
        steps,
        freq / max(n_freq, 1),
        period,
        history,
    )
