"""Facility-location instances on a sparse cost matrix (选址问题实例).

:class:`SitingInstance` is the solver-neutral description of a siting problem: ``n``
clients with a demand, ``m`` facility columns (candidate sites, existing schools, or
size options of a candidate site) and a sparse ``n × m`` cost matrix whose *stored*
entries are the client–facility pairs within reach. Everything else (p, budget,
capacities, single sourcing, unserved demand) is optional.

:meth:`SitingInstance.check` lists the reasons the instance cannot be feasible, in
plain words, *before* a solver is run (like spopt's ``from_cost_matrix`` checks).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from planner.errors import SolverError

__all__ = ["ColumnInstance"]

#: at most this many ids are named in one check message
_SHOW = 8


def _as_vector(x, n: int, name: str, default: float, dtype=float) -> np.ndarray:
    """A length-``n`` vector from a scalar, a sequence or None (then ``default``)."""
    if x is None:
        return np.full(n, default, dtype=dtype)
    arr = np.asarray(x, dtype=dtype)
    if arr.ndim == 0:
        return np.full(n, arr.item(), dtype=dtype)
    if arr.shape != (n,):
        raise SolverError(f"SitingInstance: '{name}' has shape {arr.shape}, expected ({n},)")
    return arr.copy()


def _names(idx: np.ndarray, what: str) -> str:
    """``client 3, 7, 9 … (12 in all)`` for the first few indices."""
    idx = np.asarray(idx)
    shown = ", ".join(str(int(i)) for i in idx[:_SHOW])
    more = f" … ({len(idx)} in all)" if len(idx) > _SHOW else ""
    return f"{what} {shown}{more}"


@dataclass(eq=False)
class ColumnInstance:
    """A facility-location instance on a sparse cost matrix.

    Parameters
    ----------
    cost : scipy.sparse matrix, shape (n, m)
        ``cost[i, j]`` is the cost of serving one unit of client *i*'s demand from
        facility column *j* (multiplied by ``weight[i]`` in the objective). Only the
        **stored** entries are allowed pairs; explicit zeros are allowed pairs of zero
        cost, absent entries are out of reach. Converted to CSR with sorted indices.
    demand : array of shape (n,)
        Demand of each client (seats, pupils …), ≥ 0. Used by the capacities.
    fixed_cost : array of shape (m,) or scalar, optional
        Cost of opening each facility column (default 0). Ignored for existing ones.
    capacity : array of shape (m,) or scalar, optional
        Capacity of each column in demand units; ``np.inf`` (the default) means
        uncapacitated.
    existing : bool array of shape (m,), optional
        Facilities already open: forced open, no fixed cost.
    site : int array of shape (m,), optional
        Site group of each column. Columns sharing a site are mutually exclusive size
        options (at most one opens). Default: every column is its own site.
    p : int, optional
        Total number of open facility columns, existing ones included.
    budget : float, optional
        Upper bound on the fixed cost of the opened (non-existing) columns.
    single_source : bool
        Every client is served by exactly one facility (otherwise demand may split).
    weight : array of shape (n,), optional
        Objective weight of each client (default: its demand). Use 1 for objectives
        that sum distances regardless of demand (Osman–Christofides, Lorena–Senne).
    allow_unserved : bool
        Allow a client to stay (partly) unserved at a penalty instead of failing.
    unserved_penalty : float, optional
        Penalty per unit of unserved demand. Default: an upper bound on the cost of any
        plan plus one, so that less unserved demand always wins (lexicographic when
        demands are integral and sourcing is single; near-lexicographic otherwise).
    """

    cost: sp.csr_matrix
    demand: np.ndarray
    fixed_cost: np.ndarray | float | None = None
    capacity: np.ndarray | float | None = None
    existing: np.ndarray | None = None
    site: np.ndarray | None = None
    p: int | None = None
    budget: float | None = None
    single_source: bool = False
    weight: np.ndarray | None = None
    allow_unserved: bool = False
    unserved_penalty: float | None = None
    _penalty: float = field(init=False, repr=False, default=0.0)

    def __post_init__(self) -> None:
        if not sp.issparse(self.cost):
            raise SolverError(
                "SitingInstance: 'cost' must be a scipy.sparse matrix; use "
                "SitingInstance.from_cost_matrix for a dense array"
            )
        cost = sp.csr_matrix(self.cost, dtype=float, copy=True)
        cost.sum_duplicates()
        cost.sort_indices()
        self.cost = cost
        n, m = cost.shape
        if not np.all(np.isfinite(cost.data)):
            raise SolverError(
                "SitingInstance: the cost matrix has NaN or infinite stored entries; "
                "leave out-of-reach pairs unstored instead"
            )
        self.demand = _as_vector(self.demand, n, "demand", 0.0)
        self.fixed_cost = _as_vector(self.fixed_cost, m, "fixed_cost", 0.0)
        self.capacity = _as_vector(self.capacity, m, "capacity", np.inf)
        self.existing = _as_vector(self.existing, m, "existing", False, dtype=bool)
        self.site = (
            np.arange(m) if self.site is None else _as_vector(self.site, m, "site", 0, dtype=int)
        )
        self.weight = _as_vector(self.weight, n, "weight", 0.0) if self.weight is not None else None
        for name in ("demand", "fixed_cost", "capacity") + (
            ("weight",) if self.weight is not None else ()
        ):
            arr = getattr(self, name)
            if np.any(np.isnan(arr)) or np.any(arr < 0):
                bad = np.flatnonzero(np.isnan(arr) | (arr < 0))
                raise SolverError(
                    f"SitingInstance: '{name}' must be ≥ 0 and not NaN; bad at index "
                    f"{', '.join(map(str, bad[:_SHOW]))}"
                )
        if not np.all(np.isfinite(self.demand)) or not np.all(np.isfinite(self.fixed_cost)):
            raise SolverError("SitingInstance: 'demand' and 'fixed_cost' must be finite")
        if self.site.size and self.site.min() < 0:
            raise SolverError("SitingInstance: 'site' indices must be ≥ 0")
        # compact site ids 0..S-1 in order of first appearance (deterministic)
        _, first, inv = np.unique(self.site, return_index=True, return_inverse=True)
        order = np.argsort(np.argsort(first, kind="stable"), kind="stable")
        self.site = order[inv].astype(np.int64)
        if self.p is not None:
            if int(self.p) != self.p:
                raise SolverError(f"SitingInstance: p must be an integer, got {self.p}")
            self.p = int(self.p)
        if self.budget is not None:
            self.budget = float(self.budget)
        self._penalty = self._default_penalty()
        if self.unserved_penalty is not None:
            if not self.unserved_penalty > 0:
                raise SolverError("SitingInstance: unserved_penalty must be > 0")
            self._penalty = float(self.unserved_penalty)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_cost_matrix(
        cls,
        cost,
        demand,
        *,
        max_cost: float | None = None,
        **kwargs,
    ) -> ColumnInstance:
        """Build an instance from a dense ``n × m`` cost matrix.

        Parameters
        ----------
        cost : array-like of shape (n, m)
            Cost per unit of demand; ``NaN`` or ``inf`` marks a forbidden pair.
        demand : array-like of shape (n,)
            Client demand.
        max_cost : float, optional
            Reach threshold: pairs costing more than this are dropped (out of reach).
        **kwargs
            Any other :class:`SitingInstance` field (``p``, ``capacity`` …).

        Returns
        -------
        SitingInstance
        """
        dense = np.asarray(cost, dtype=float)
        if dense.ndim != 2:
            raise SolverError(f"from_cost_matrix: cost must be 2-D, got shape {dense.shape}")
        keep = np.isfinite(dense)
        if max_cost is not None:
            keep &= dense <= max_cost
        rows, cols = np.nonzero(keep)
        # built from coordinates so that zero costs stay stored (allowed) entries
        mat = sp.csr_matrix((dense[rows, cols], (rows, cols)), shape=dense.shape)
        return cls(mat, demand, **kwargs)

    # ------------------------------------------------------------------ properties
    @property
    def n(self) -> int:
        """Number of clients."""
        return self.cost.shape[0]

    @property
    def m(self) -> int:
        """Number of facility columns."""
        return self.cost.shape[1]

    @property
    def n_sites(self) -> int:
        """Number of distinct sites (site groups)."""
        return int(self.site.max()) + 1 if self.m else 0

    @property
    def obj_weight(self) -> np.ndarray:
        """Objective weight of each client (``weight`` or, by default, ``demand``)."""
        return self.demand if self.weight is None else self.weight

    @property
    def uncapacitated(self) -> bool:
        """True when no facility has a finite capacity."""
        return bool(np.all(np.isinf(self.capacity)))

    @property
    def open_cost(self) -> np.ndarray:
        """Fixed cost charged when a column opens (0 for existing facilities)."""
        return np.where(self.existing, 0.0, self.fixed_cost)

    @property
    def penalty(self) -> float:
        """Penalty per unit of unserved demand (only used when ``allow_unserved``)."""
        return self._penalty

    @property
    def unserved_cost(self) -> np.ndarray:
        """Penalty of leaving each client entirely unserved (``penalty · demand``).

        A client of zero demand is charged one unit, so that it is still served when
        it can be.
        """
        return self._penalty * np.where(self.demand > 0, self.demand, 1.0)

    def _default_penalty(self) -> float:
        """An upper bound on the cost of any plan, plus one, per unit of demand."""
        cost = self.cost
        w = self.obj_weight
        worst = 0.0
        if cost.nnz:
            row_max = np.zeros(self.n)
            counts = np.diff(cost.indptr)
            nz = counts > 0
            row_max[nz] = np.maximum.reduceat(np.abs(cost.data), cost.indptr[:-1][nz])
            worst = float(np.sum(w * row_max))
        worst += float(np.sum(self.open_cost))
        dem = self.demand[self.demand > 0]
        unit = float(dem.min()) if dem.size else 1.0
        return (worst + 1.0) / min(unit, 1.0)

    # ------------------------------------------------------------------ checks
    def check(self) -> list[str]:
        """List the reasons this instance cannot have a feasible plan.

        Cheap necessary conditions, checked before any model is built. Problems about
        covering demand are skipped when ``allow_unserved`` is set (such demand is
        reported as unserved instead).

        Returns
        -------
        list of str
            Human-readable problems; empty when none was found (the instance may still
            be infeasible for subtler reasons, which the solver then reports).
        """
        problems: list[str] = []
        n, m = self.n, self.m
        cost = self.cost
        site = self.site
        S = self.n_sites
        ex = self.existing
        if m == 0:
            problems.append("there is no facility column at all (m = 0)")
            return problems
        # existing facilities sharing a site
        n_ex_site = np.bincount(site[ex], minlength=S)
        if np.any(n_ex_site > 1):
            problems.append(
                f"{_names(np.flatnonzero(n_ex_site > 1), 'site')} hold(s) more than one "
                "existing facility, but at most one option per site may be open; give "
                "existing facilities their own site"
            )
        n_ex = int(np.count_nonzero(n_ex_site))
        # p
        if self.p is not None:
            if self.p < 1:
                problems.append(f"p = {self.p}: at least one facility must open")
            if self.p > S:
                problems.append(
                    f"p = {self.p} facilities are required but there are only {S} "
                    f"candidate sites ({m} columns); lower p or add sites"
                )
            if self.p < n_ex:
                problems.append(
                    f"p = {self.p} counts every open facility, but {n_ex} facilities "
                    "already exist and are forced open; raise p to at least "
                    f"{n_ex}"
                )
        # budget
        free = ~ex
        site_free = np.ones(S, bool)
        site_free[site[ex]] = False  # a site with an existing facility cannot add another
        cand = free & site_free[site]
        min_site_cost = np.full(S, np.inf)
        np.minimum.at(min_site_cost, site[cand], self.fixed_cost[cand])
        if self.budget is not None:
            if self.budget < 0:
                problems.append(f"budget {self.budget:g} is negative")
            elif self.p is not None and S >= self.p > n_ex:
                need = self.p - n_ex
                cheapest = np.sort(min_site_cost[np.isfinite(min_site_cost)])[:need]
                if len(cheapest) == need and cheapest.sum() > self.budget * (1 + 1e-12):
                    problems.append(
                        f"budget {self.budget:g} is below {cheapest.sum():g}, the cheapest "
                        f"way to open the {need} new facilities that p = {self.p} requires"
                    )
        if self.allow_unserved:
            return problems
        # clients out of reach (of every column that can be open: not an option of a
        # site that already holds an existing facility)
        reach = np.diff(cost.indptr)
        usable = ex | site_free[site]
        reach_usable = np.bincount(
            np.repeat(np.arange(n), reach), weights=usable[cost.indices], minlength=n
        )
        lonely = np.flatnonzero(reach == 0)
        if lonely.size:
            problems.append(
                f"{_names(lonely, 'client')} ha(s) no facility within reach (no allowed "
                "pair in the cost matrix); raise the reach threshold, add a site, or "
                "allow unserved demand"
            )
        blocked = np.flatnonzero((reach > 0) & (reach_usable == 0))
        if blocked.size:
            problems.append(
                f"{_names(blocked, 'client')} can only reach option(s) of site(s) that "
                "already hold an existing facility (at most one option per site may be "
                "open); add a site within reach or allow unserved demand"
            )
        if self.uncapacitated:
            return problems
        # capacity: each site contributes at most its largest option
        site_cap = np.zeros(S)
        np.maximum.at(site_cap, site, self.capacity)
        total_dem = float(self.demand.sum())
        total_cap = float(site_cap.sum())
        if total_cap < total_dem * (1 - 1e-12):
            problems.append(
                f"total capacity {total_cap:g} of all sites (largest option each) is below "
                f"total demand {total_dem:g}"
            )
        elif self.p is not None and 1 <= self.p <= S:
            # the p largest sites, existing ones forced in
            ex_sites = n_ex_site > 0
            forced = float(site_cap[ex_sites].sum())
            rest = np.sort(site_cap[~ex_sites])[::-1][: max(self.p - n_ex, 0)]
            best = forced + float(rest.sum())
            if best < total_dem * (1 - 1e-12):
                problems.append(
                    f"with p = {self.p} facilities the capacity is at most {best:g}, below "
                    f"total demand {total_dem:g}"
                )
        # per-client: reachable capacity
        rows = np.repeat(np.arange(n), reach)
        cap_e = self.capacity[cost.indices]
        if self.single_source:
            best_cap = np.zeros(n)
            np.maximum.at(best_cap, rows, cap_e)
            too_big = np.flatnonzero((reach > 0) & (self.demand > best_cap * (1 + 1e-12)))
            if too_big.size:
                i0 = too_big[0]
                problems.append(
                    f"{_names(too_big, 'client')}: demand exceeds the capacity of every "
                    f"facility within reach (e.g. client {i0}: demand {self.demand[i0]:g}, "
                    f"largest reachable capacity {best_cap[i0]:g}) and demand may not split"
                )
        else:
            # largest option per (client, site) pair, summed per client
            key = rows.astype(np.int64) * S + site[cost.indices]
            uk, inv = np.unique(key, return_inverse=True)
            pair_cap = np.zeros(len(uk))
            np.maximum.at(pair_cap, inv, cap_e)
            reach_cap = np.zeros(n)
            np.add.at(reach_cap, uk // S, pair_cap)
            short = np.flatnonzero((reach > 0) & (self.demand > reach_cap * (1 + 1e-12)))
            if short.size:
                i0 = short[0]
                problems.append(
                    f"{_names(short, 'client')}: demand exceeds the total capacity within "
                    f"reach (e.g. client {i0}: demand {self.demand[i0]:g}, reachable "
                    f"capacity {reach_cap[i0]:g})"
                )
        return problems

    def __repr__(self) -> str:
        extra = []
        if self.p is not None:
            extra.append(f"p={self.p}")
        if self.budget is not None:
            extra.append(f"budget={self.budget:g}")
        if not self.uncapacitated:
            extra.append("capacitated")
        if self.single_source:
            extra.append("single_source")
        if self.existing.any():
            extra.append(f"existing={int(self.existing.sum())}")
        if self.allow_unserved:
            extra.append("allow_unserved")
        tail = (", " + ", ".join(extra)) if extra else ""
        return f"ColumnInstance(n={self.n}, m={self.m}, pairs={self.cost.nnz}{tail})"
