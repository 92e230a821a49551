"""The siting instance of the one engine: clients, facilities, projects, periods (选址问题实例).

:class:`SitingInstance` describes every siting problem the engine solves, from an
OR-Library p-median to a bureau's phased school plan, as arrays on a sparse cost matrix
(the cost-matrix core; :mod:`planner.siting.problem` is the GeoDataFrame adapter):

- ``n`` **clients** (demand points: residential blocks per stage) with a demand per
  period, ``demand[i, p]`` (seats, pupils …);
- ``F`` **facilities** (a school's seats of one stage, a candidate site) with a base
  capacity per period, ``capacity[f, p]`` (``inf``: uncapacitated, ``0``: closed until
  a project opens it);
- a sparse ``n × F`` **cost** matrix whose stored entries are the allowed pairs, with
  the objective cost of one unit of demand served along the pair in one period;
- ``O`` **options** (projects: an expansion, a new school of one size on one site), each
  in a **group** (a school or a site: at most one project per group), adding seats to
  one or more facilities (``option_adds``, a nine-year school adds primary and junior
  seats), with a budget cost, an objective cost per opening period (discounted) and an
  earliest opening period. Once open, an option stays open in every later period.

Optional rules: ``p`` (exactly that many projects), ``budget`` (total cost of the
projects), ``single_source`` (each client wholly to one facility per period),
``closest`` (就近入学: no assignment to a public facility while an open public one is
strictly closer), ``cover`` sets (e.g. ≥ 1 boarding school per rural town) and the
penalty of unserved demand (``None``: every client must be served).

One-period special cases (``P = 1``) are built with :meth:`SitingInstance.from_columns`
or :meth:`SitingInstance.from_cost_matrix` in the classical "column" terms (one column
per facility option with a fixed cost and a capacity, columns of one site exclusive,
existing columns forced open), which covers the p-median, the capacitated p-median and
the capacitated facility-location problem (CFLP) with size options.

:meth:`SitingInstance.check` lists, before any solver runs, what makes a must-serve
instance infeasible, naming the clients, facilities and rule (like spopt's
``from_cost_matrix`` checks).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from planner.errors import SolverError

__all__ = ["SitingInstance"]

#: how many ids a message lists before "… (N in all)"
_SHOW = 8


def _vec(x, n: int, name: str, default, dtype=float) -> np.ndarray:
    if x is None:
        return np.full(n, default, dtype=dtype)
    arr = np.asarray(x, dtype=dtype)
    if arr.ndim == 0:
        return np.full(n, arr.item(), dtype=dtype)
    if arr.shape != (n,):
        raise SolverError(f"SitingInstance: '{name}' must have shape ({n},), got {arr.shape}")
    return arr.copy()


def _per_period(x, n: int, P: int, name: str, default) -> np.ndarray:
    """An (n, P) float array from None, a scalar, an (n,) or an (n, P) array."""
    if x is None:
        return np.full((n, P), float(default))
    arr = np.asarray(x, dtype=float)
    if arr.ndim == 0:
        return np.full((n, P), float(arr))
    if arr.shape == (n,):
        return np.repeat(arr[:, None], P, axis=1)
    if arr.shape != (n, P):
        raise SolverError(
            f"SitingInstance: '{name}' must have shape ({n},) or ({n}, {P}), got {arr.shape}"
        )
    return arr.copy()


def _ids(idx, names: np.ndarray | None, what: str) -> str:
    """``client 3, 7, 9 … (12 in all)`` for the first few indices (their names if known)."""
    idx = np.asarray(idx)
    lab = [str(names[i]) if names is not None else str(int(i)) for i in idx[:_SHOW]]
    more = f" … ({len(idx)} in all)" if len(idx) > _SHOW else ""
    return f"{what} {', '.join(lab)}{more}"


@dataclass(eq=False)
class SitingInstance:
    """A phased facility-location instance on a sparse cost matrix.

    Parameters
    ----------
    cost : scipy.sparse matrix, shape (n, F)
        Objective cost of one unit of client *i*'s demand served by facility *f* in one
        period. Only the **stored** entries are allowed pairs (explicit zeros included).
    demand : array of shape (n,) or (n, P)
        Demand of each client in each period (≥ 0).
    capacity : array of shape (F,) or (F, P), or scalar, optional
        Base capacity of each facility per period; ``inf`` (default) = uncapacitated and
        open, ``0`` = closed until a project adds seats.
    option_group : int array of shape (O,), optional
        Group of every option (a school or a site); at most one option per group opens.
    option_adds : scipy.sparse matrix, shape (F, O), optional
        Seats option *o* adds to facility *f* (``inf`` = uncapacitated once open).
    option_cost : array of shape (O,), optional
        Budget cost of every option (default 0).
    option_objective : array of shape (O,) or (O, P), optional
        Objective cost of opening option *o* in period *p* (default: ``option_cost`` in
        every period); costs are charged once, in the opening period.
    option_earliest : int array of shape (O,), optional
        First period index in which the option may open (default 0).
    p : int, optional
        Exactly this many options open.
    budget : float, optional
        Upper bound on the total ``option_cost`` of the open options.
    single_source : bool
        Each client is served wholly by one facility in every period.
    unserved_penalty : array of shape (n,) or scalar, optional
        Objective cost per unit of unserved demand. ``None``: every client must be
        served (the engine still carries a penalty above the cost of any plan, so that it
        can report what cannot be served).
    distance : scipy.sparse matrix, shape (n, F), optional
        Distances of the stored pairs (same pattern as ``cost``) for ``closest`` and the
        reports; default: ``cost``.
    public : bool array of shape (F,), optional
        Public facilities (closest assignment applies among them); default all.
    closest : bool
        就近入学: no assignment to a public facility while an open public facility with
        capacity is strictly closer to the client.
    cover : scipy.sparse matrix, shape (U, O), optional
        Cover rules: rule *u* is met when one of the options with a stored entry in row
        *u* opens (e.g. a boarding school in a rural town).
    cover_penalty : array of shape (U,) or scalar, optional
        Objective cost of leaving a cover rule unmet; ``None``: must be met.
    periods : array of shape (P,), optional
        Labels of the periods (years) for messages and tables; default 0..P−1.
    client_names, facility_names, group_names, cover_names : array, optional
        Labels used in messages (default: indices).
    """

    cost: sp.csr_matrix
    demand: np.ndarray
    capacity: np.ndarray | float | None = None
    option_group: np.ndarray | None = None
    option_adds: sp.csc_matrix | None = None
    option_cost: np.ndarray | None = None
    option_objective: np.ndarray | None = None
    option_earliest: np.ndarray | None = None
    p: int | None = None
    budget: float | None = None
    single_source: bool = False
    unserved_penalty: np.ndarray | float | None = None
    distance: sp.csr_matrix | None = None
    public: np.ndarray | None = None
    closest: bool = False
    cover: sp.csr_matrix | None = None
    cover_penalty: np.ndarray | float | None = None
    periods: np.ndarray | None = None
    client_names: np.ndarray | None = None
    facility_names: np.ndarray | None = None
    group_names: np.ndarray | None = None
    cover_names: np.ndarray | None = None
    #: column view of a one-period instance built by :meth:`from_columns`: the column of
    #: every option and of every facility without options (−1 otherwise)
    option_column: np.ndarray | None = field(default=None, repr=False)
    facility_column: np.ndarray | None = field(default=None, repr=False)
    #: objective weight of every client when built from columns (for the column table)
    column_weight: np.ndarray | None = field(default=None, repr=False)
    must_serve: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        if not sp.issparse(self.cost):
            raise SolverError(
                "SitingInstance: 'cost' must be a scipy.sparse matrix; use "
                "SitingInstance.from_cost_matrix for a dense array"
            )
        cost = sp.csr_matrix(self.cost, dtype=float, copy=True)
        cost.sum_duplicates()
        cost.sort_indices()
        if not np.all(np.isfinite(cost.data)):
            raise SolverError(
                "SitingInstance: the cost matrix has NaN or infinite stored entries; leave "
                "out-of-reach pairs unstored instead"
            )
        self.cost = cost
        n, F = cost.shape
        dem = np.asarray(self.demand, dtype=float)
        P = 1 if dem.ndim == 1 else dem.shape[1]
        self.demand = _per_period(dem, n, P, "demand", 0.0)
        if np.any(~np.isfinite(self.demand)) or np.any(self.demand < 0):
            bad = np.flatnonzero(~np.all(np.isfinite(self.demand) & (self.demand >= 0), axis=1))
            raise SolverError(
                "SitingInstance: demand must be finite and ≥ 0; bad at "
                + _ids(bad, self.client_names, "client")
            )
        cap = np.inf if self.capacity is None else self.capacity
        self.capacity = _per_period(cap, F, P, "capacity", np.inf)
        if np.any(np.isnan(self.capacity)) or np.any(self.capacity < 0):
            raise SolverError("SitingInstance: capacity must be ≥ 0 (inf = uncapacitated)")
        # options
        if self.option_group is None:
            O = 0 if self.option_adds is None else self.option_adds.shape[1]
            self.option_group = np.arange(O, dtype=np.int64)
        self.option_group = np.asarray(self.option_group, dtype=np.int64).ravel()
        O = len(self.option_group)
        adds = sp.csc_matrix((F, O)) if self.option_adds is None else self.option_adds
        adds = sp.csc_matrix(adds, dtype=float, copy=True)
        if adds.shape != (F, O):
            raise SolverError(
                f"SitingInstance: option_adds must have shape ({F}, {O}), got {adds.shape}"
            )
        adds.sum_duplicates()
        adds.eliminate_zeros()
        adds.sort_indices()
        if np.any(np.isnan(adds.data)) or np.any(adds.data < 0):
            raise SolverError("SitingInstance: option_adds must be ≥ 0 (inf = uncapacitated)")
        self.option_adds = adds
        self.option_cost = _vec(self.option_cost, O, "option_cost", 0.0)
        obj = self.option_cost if self.option_objective is None else self.option_objective
        self.option_objective = _per_period(obj, O, P, "option_objective", 0.0)
        self.option_earliest = _vec(self.option_earliest, O, "option_earliest", 0, dtype=np.int64)
        for name in ("option_cost", "option_objective"):
            a = getattr(self, name)
            if not np.all(np.isfinite(a)):
                raise SolverError(f"SitingInstance: '{name}' must be finite")
        if O and self.option_group.min() < 0:
            raise SolverError("SitingInstance: option_group must be ≥ 0")
        # compact group ids 0..G−1 in order of first appearance (deterministic)
        if O:
            _, first, inv = np.unique(self.option_group, return_index=True, return_inverse=True)
            order = np.argsort(np.argsort(first, kind="stable"), kind="stable")
            self.option_group = order[inv].astype(np.int64)
        if self.p is not None:
            if int(self.p) != self.p:
                raise SolverError(f"SitingInstance: p must be an integer, got {self.p}")
            self.p = int(self.p)
        if self.budget is not None:
            self.budget = float(self.budget)
        self.must_serve = self.unserved_penalty is None
        if self.unserved_penalty is None:
            self.unserved_penalty = np.full(n, self._default_penalty())
        else:
            self.unserved_penalty = _vec(self.unserved_penalty, n, "unserved_penalty", 0.0)
            if np.any(~np.isfinite(self.unserved_penalty)) or np.any(self.unserved_penalty <= 0):
                raise SolverError("SitingInstance: unserved_penalty must be finite and > 0")
        if self.distance is None:
            self.distance = cost
        else:
            d = sp.csr_matrix(self.distance, dtype=float, copy=True)
            d.sum_duplicates()
            d.sort_indices()
            if d.shape != cost.shape or d.nnz != cost.nnz or np.any(d.indices != cost.indices):
                raise SolverError("SitingInstance: 'distance' must have the pattern of 'cost'")
            self.distance = d
        self.public = _vec(self.public, F, "public", True, dtype=bool)
        if self.cover is None:
            self.cover = sp.csr_matrix((0, O))
        self.cover = sp.csr_matrix(self.cover, dtype=float)
        self.cover.data[:] = 1.0
        if self.cover.shape[1] != O:
            raise SolverError(f"SitingInstance: cover must have {O} columns")
        U = self.cover.shape[0]
        self.cover_penalty = (
            None if self.cover_penalty is None else _vec(self.cover_penalty, U, "cover_penalty", 0)
        )
        self.periods = np.arange(P) if self.periods is None else np.asarray(self.periods)
        if len(self.periods) != P:
            raise SolverError(f"SitingInstance: periods must have {P} labels")

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_columns(
        cls,
        cost,
        demand,
        *,
        fixed_cost=None,
        capacity=None,
        existing=None,
        site=None,
        p: int | None = None,
        budget: float | None = None,
        single_source: bool = False,
        weight=None,
        allow_unserved: bool = False,
        unserved_penalty: float | None = None,
    ) -> SitingInstance:
        """A one-period instance in column terms (p-median, capacitated p-median, CFLP).

        Parameters
        ----------
        cost : scipy.sparse matrix, shape (n, m)
            ``cost[i, j]``: cost of serving one unit of client *i* from column *j*
            (multiplied by ``weight[i]``); only stored entries are allowed pairs.
        demand : array of shape (n,)
            Demand of each client (uses the capacities).
        fixed_cost : array of shape (m,) or scalar, optional
            Cost of opening each column (ignored for existing ones).
        capacity : array of shape (m,) or scalar, optional
            Capacity of each column (default ``inf``).
        existing : bool array of shape (m,), optional
            Columns already open (forced open, free).
        site : int array of shape (m,), optional
            Site of each column; the columns of one site are exclusive size options.
        p : int, optional
            Total number of open columns, existing ones included.
        budget : float, optional
            Upper bound on the fixed cost of the opened columns.
        single_source : bool
            Each client wholly to one column.
        weight : array of shape (n,), optional
            Objective weight of each client (default: its demand); ``1`` for the
            unweighted objectives of Osman–Christofides and Lorena–Senne.
        allow_unserved : bool
            Allow unserved demand at ``unserved_penalty`` per unit (default: above the
            cost of any plan).
        unserved_penalty : float, optional
            Penalty per unit of unserved demand.

        Returns
        -------
        SitingInstance
            One facility per group of columns of one site that share a cost column,
            one option per non-existing column; ``option_column`` and
            ``facility_column`` map back to the columns.
        """
        C = sp.csr_matrix(cost, dtype=float, copy=True)
        C.sum_duplicates()
        C.sort_indices()
        n, m = C.shape
        d = _vec(demand, n, "demand", 0.0)
        w = d.copy() if weight is None else _vec(weight, n, "weight", 0.0)
        fixed = _vec(fixed_cost, m, "fixed_cost", 0.0)
        cap = _vec(capacity, m, "capacity", np.inf)
        ex = _vec(existing, m, "existing", False, dtype=bool)
        st = np.arange(m) if site is None else _vec(site, m, "site", 0, dtype=np.int64)
        for name, arr in (("demand", d), ("weight", w), ("fixed_cost", fixed), ("capacity", cap)):
            if np.any(np.isnan(arr)) or np.any(arr < 0):
                bad = np.flatnonzero(np.isnan(arr) | (arr < 0))
                raise SolverError(
                    f"SitingInstance: '{name}' must be ≥ 0 and not NaN; bad at index "
                    f"{', '.join(map(str, bad[:_SHOW]))}"
                )
        n_ex_site = np.bincount(st[ex], minlength=int(st.max()) + 1 if m else 0)
        if np.any(n_ex_site > 1):
            raise SolverError(
                f"{_ids(np.flatnonzero(n_ex_site > 1), None, 'site')} hold(s) more than one "
                "existing column; give existing facilities their own site"
            )
        # a site with an existing column offers nothing else (its other columns drop)
        drop = (n_ex_site[st] > 0) & ~ex if m else np.zeros(0, bool)
        # facilities: columns of one site with identical cost columns share one facility
        csc = C.tocsc()
        csc.sort_indices()
        keys: dict[tuple, int] = {}
        fac_of_col = np.full(m, -1, np.int64)
        for j in range(m):  # m columns (≤ a few thousand): a dict of column signatures
            if drop[j]:
                continue
            sl = slice(csc.indptr[j], csc.indptr[j + 1])
            sig = (int(st[j]), bool(ex[j]), csc.indices[sl].tobytes(), csc.data[sl].tobytes())
            if ex[j]:
                sig = (*sig, j)  # an existing column is a facility of its own
            fac_of_col[j] = keys.setdefault(sig, len(keys))
        F = len(keys)
        first_col = np.full(F, m, np.int64)
        live = fac_of_col >= 0
        np.minimum.at(first_col, fac_of_col[live], np.flatnonzero(live))
        # unit cost per unit of flow: w_i c_ij / d_i (the weight carries the objective)
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(d > 0, w / np.where(d > 0, d, 1.0), 0.0)
        # explicit zeros stay stored (allowed pairs of zero cost)
        pattern = csc[:, first_col].tocsr()
        pattern.sort_indices()
        fc = sp.csr_matrix(
            (_rescale(pattern, scale), pattern.indices, pattern.indptr), shape=pattern.shape
        )
        fac_cap = np.zeros(F)
        fac_ex = np.zeros(F, bool)
        exc = np.flatnonzero(ex & live)
        fac_cap[fac_of_col[exc]] = cap[exc]
        fac_ex[fac_of_col[exc]] = True
        opt_cols = np.flatnonzero(live & ~ex)
        O = len(opt_cols)
        adds = sp.csc_matrix((cap[opt_cols], (fac_of_col[opt_cols], np.arange(O))), shape=(F, O))
        facility_column = np.where(fac_ex, first_col, -1)
        n_exist = int(fac_ex.sum())
        if p is not None:
            p = int(p) - n_exist
        penalty = None
        if allow_unserved:
            penalty = unserved_penalty
            if penalty is None:
                penalty = _column_penalty(C, w, d, fixed, ex)
        inst = cls(
            fc,
            d,
            capacity=fac_cap if F else None,
            option_group=st[opt_cols],
            option_adds=adds,
            option_cost=fixed[opt_cols],
            p=p,
            budget=budget,
            single_source=single_source,
            unserved_penalty=None if penalty is None else np.full(n, float(penalty)),
            option_column=opt_cols,
            facility_column=facility_column,
        )
        inst.column_weight = w
        return inst

    @classmethod
    def from_cost_matrix(cls, cost, demand, *, max_cost: float | None = None, **kwargs):
        """A one-period instance from a dense ``n × m`` cost matrix (column terms).

        ``NaN`` or ``inf`` marks a forbidden pair; with ``max_cost`` pairs costing more
        are out of reach. Other keywords as :meth:`from_columns`.
        """
        dense = np.asarray(cost, dtype=float)
        if dense.ndim != 2:
            raise SolverError(f"from_cost_matrix: cost must be 2-D, got shape {dense.shape}")
        keep = np.isfinite(dense)
        if max_cost is not None:
            keep &= dense <= max_cost
        rows, cols = np.nonzero(keep)
        mat = sp.csr_matrix((dense[rows, cols], (rows, cols)), shape=dense.shape)
        return cls.from_columns(mat, demand, **kwargs)

    # ------------------------------------------------------------------ sizes
    @property
    def n(self) -> int:
        """Number of clients."""
        return self.cost.shape[0]

    @property
    def F(self) -> int:  # noqa: N802 - the model's symbol
        """Number of facilities."""
        return self.cost.shape[1]

    @property
    def O(self) -> int:  # noqa: N802, E743 - the model's symbol
        """Number of options."""
        return len(self.option_group)

    @property
    def P(self) -> int:  # noqa: N802 - the model's symbol
        """Number of periods."""
        return self.demand.shape[1]

    @property
    def G(self) -> int:  # noqa: N802 - the model's symbol
        """Number of option groups."""
        return int(self.option_group.max()) + 1 if self.O else 0

    @property
    def n_pairs(self) -> int:
        """Allowed client–facility pairs."""
        return int(self.cost.nnz)

    @property
    def penalty(self) -> np.ndarray:
        """Objective cost per unit of unserved demand of each client."""
        return self.unserved_penalty

    @property
    def uncapacitated(self) -> bool:
        """True when every capacity and every option's seats are infinite."""
        base = self.capacity
        return bool(
            np.all(np.isinf(base) | (base == 0)) and np.all(np.isinf(self.option_adds.data))
        )

    def pairs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Client, facility and unit cost of every stored pair (row-major order)."""
        c = self.cost
        return np.repeat(np.arange(self.n), np.diff(c.indptr)), c.indices.astype(np.int64), c.data

    def _default_penalty(self) -> float:
        """Per unit of demand: above the cost of any plan (lexicographic must-serve)."""
        c = self.cost
        worst = 0.0
        if c.nnz:
            counts = np.diff(c.indptr)
            nz = counts > 0
            row_max = np.zeros(self.n)
            row_max[nz] = np.maximum.reduceat(np.abs(c.data), c.indptr[:-1][nz])
            worst = float(np.sum(self.demand.sum(axis=1) * row_max))
        worst += float(np.sum(np.abs(self.option_objective).max(axis=1, initial=0.0)))
        dem = self.demand[self.demand > 0]
        unit = float(dem.min()) if dem.size else 1.0
        return (worst + 1.0) / min(unit, 1.0)

    def capacity_with(self, open_period: np.ndarray) -> np.ndarray:
        """Capacity of every facility and period when the options open as given.

        Parameters
        ----------
        open_period : int array of shape (O,)
            Period index in which each option opens, −1 for closed.

        Returns
        -------
        ndarray of shape (F, P)
        """
        cap = self.capacity.copy()
        on = np.flatnonzero(open_period >= 0)
        if len(on):
            a = self.option_adds[:, on].tocoo()
            q = open_period[on][a.col]
            later = np.arange(self.P)[None, :] >= q[:, None]
            np.add.at(cap, a.row, np.where(later, a.data[:, None], 0.0))
        return cap

    # ------------------------------------------------------------------ checks
    def check(self) -> list[str]:
        """Reasons this instance cannot have a plan that meets every must-rule.

        Cheap necessary conditions, checked before any solver runs: every client with
        demand must reach a facility that has or can get seats; ``p`` and the budget
        must allow a plan; the capacity within reach must hold the demand; every cover
        rule without a penalty must have an option. Rules carried by a penalty
        (unserved demand, cover penalty) never make an instance infeasible.

        Returns
        -------
        list of str
            Problems, each naming the clients, facilities, groups or rule and what to
            do; empty when none was found (subtler infeasibility is then reported after
            solving, from the unserved demand of the best plan).
        """
        out: list[str] = []
        n, F, O, G = self.n, self.F, self.O, self.G
        if self.p is not None:
            if self.p < 0:
                out.append(f"p = {self.p}: fewer projects than the existing facilities")
            elif self.p > G:
                out.append(
                    f"p = {self.p} projects are required but only {G} groups (schools or "
                    "sites) offer one; lower p or add candidate sites"
                )
        cheapest = np.full(G, np.inf)
        if O:
            np.minimum.at(cheapest, self.option_group, self.option_cost)
        if self.budget is not None:
            if self.budget < 0:
                out.append(f"budget {self.budget:g} is negative")
            elif self.p is not None and 0 < self.p <= G:
                need = np.sort(cheapest)[: self.p].sum()
                if need > self.budget * (1 + 1e-12):
                    out.append(
                        f"budget {self.budget:g} is below {need:g}, the cheapest way to open "
                        f"the {self.p} projects that p requires"
                    )
        if self.cover_penalty is None and self.cover.shape[0]:
            empty = np.flatnonzero(np.diff(self.cover.indptr) == 0)
            if len(empty):
                out.append(
                    f"cover rule: {_ids(empty, self.cover_names, 'rule')} has no option that "
                    "could meet it; add a candidate site or let the rule carry a penalty"
                )
        if not self.must_serve:
            return out
        # facilities that have or can get seats in the last period
        can = (self.capacity[:, -1] > 0) | (np.asarray(self.option_adds.sum(axis=1)).ravel() > 0)
        r, f, _ = self.pairs()
        ok = can[f]
        reach = np.bincount(r[ok], minlength=n)
        needy = self.demand.max(axis=1) > 0
        lonely = np.flatnonzero(needy & (reach == 0))
        if len(lonely):
            out.append(
                f"{_ids(lonely, self.client_names, 'client')} ha(s) no facility within reach "
                "that has or can get seats: raise the reach, add a candidate site, or allow "
                "unserved demand"
            )
        if self.uncapacitated:
            return out
        # largest capacity each facility can get (best option of its group)
        best_add = np.zeros(F)
        if O:
            a = self.option_adds.tocoo()
            np.maximum.at(best_add, a.row, a.data)
        top = self.capacity + best_add[:, None]
        for p_i in range(self.P):
            dem = self.demand[:, p_i]
            if self.single_source:
                big = np.zeros(n)
                np.maximum.at(big, r, top[f, p_i])
                bad = np.flatnonzero((dem > big * (1 + 1e-12)) & (reach > 0))
                if len(bad):
                    out.append(
                        f"period {self.periods[p_i]}: "
                        f"{_ids(bad, self.client_names, 'client')}: demand exceeds the "
                        "capacity of every facility within reach and may not split"
                    )
            else:
                reach_cap = np.bincount(r, weights=np.minimum(top[f, p_i], 1e300), minlength=n)
                bad = np.flatnonzero((dem > reach_cap * (1 + 1e-12)) & (reach > 0))
                if len(bad):
                    out.append(
                        f"period {self.periods[p_i]}: "
                        f"{_ids(bad, self.client_names, 'client')}: demand exceeds the "
                        "total capacity within reach"
                    )
            total = float(np.minimum(top[:, p_i], 1e300).sum())
            if total < dem.sum() * (1 - 1e-12):
                out.append(
                    f"period {self.periods[p_i]}: total capacity {total:g} (every option at "
                    f"its largest) is below total demand {dem.sum():g}"
                )
        return out

    def __repr__(self) -> str:
        extra = []
        if self.P > 1:
            extra.append(f"periods={self.P}")
        if self.p is not None:
            extra.append(f"p={self.p}")
        if self.budget is not None:
            extra.append(f"budget={self.budget:g}")
        if not self.uncapacitated:
            extra.append("capacitated")
        if self.single_source:
            extra.append("single_source")
        if self.closest:
            extra.append("closest")
        if self.cover.shape[0]:
            extra.append(f"cover={self.cover.shape[0]}")
        if self.must_serve:
            extra.append("must_serve")
        tail = (", " + ", ".join(extra)) if extra else ""
        return (
            f"SitingInstance(n={self.n}, F={self.F}, options={self.O}, groups={self.G}, "
            f"pairs={self.n_pairs}{tail})"
        )


def _rescale(pattern: sp.csr_matrix, scale: np.ndarray) -> np.ndarray:
    rows = np.repeat(np.arange(pattern.shape[0]), np.diff(pattern.indptr))
    return pattern.data * scale[rows]


def _column_penalty(C: sp.csr_matrix, w, d, fixed, ex) -> float:
    """Old column-view default: an upper bound on any plan's cost, plus one, per unit."""
    worst = 0.0
    if C.nnz:
        counts = np.diff(C.indptr)
        nz = counts > 0
        row_max = np.zeros(C.shape[0])
        row_max[nz] = np.maximum.reduceat(np.abs(C.data), C.indptr[:-1][nz])
        worst = float(np.sum(w * row_max))
    worst += float(np.sum(np.where(ex, 0.0, fixed)))
    dd = d[d > 0]
    unit = float(dd.min()) if dd.size else 1.0
    return (worst + 1.0) / min(unit, 1.0)
