"""The siting MILP, built block by block (选址模型的构建：按约束块).

One model for every instance of :class:`~planner.siting.instance.SitingInstance`, from a
one-period CFLP to the phased school plan. Every block is one small function returning
its rows as arrays (no Python loop per variable or row); :func:`build_milp` stacks them
into one sparse matrix handed to HiGHS with ``passModel``.

Variables (period *p* = 0…P−1):

- ``flow[e, p]`` ≥ 0: demand of client *i* served by facility *f* along pair *e = (i, f)*
  in period *p* (only where the client has demand and the facility can have seats);
  with single sourcing the binary "client *i* wholly to *f* in *p*", entering the rows
  with the client's demand as coefficient;
- ``unserved[i, p]`` ∈ [0, demand]: demand left without a seat (penalised);
- ``open[o, p]`` ∈ {0, 1}: option *o* is open in period *p* (cumulative: once open, open
  in every later period; it *opens* in the first period where it is 1);
- ``cover_short[u]`` ∈ [0, 1]: cover rule *u* left unmet (penalised).

Named constraint blocks:

- ``demand[i, p]``:   Σ_f flow + unserved = demand
- ``capacity[f, p]``: Σ_i flow − Σ_o seats(f, o) · open[o, p] ≤ capacity₀(f, p)
- ``link[e, p]`` (strong formulation, optional): flow ≤ demand · Σ_{o ∋ f} open[o, p] for
  facilities closed without a project (a client uses a site only when it is open)
- ``monotone[o, p]``: open[o, p] ≤ open[o, p + 1]
- ``one_option[g]``:  Σ_{o ∈ g} open[o, P−1] ≤ 1   (one project per school or site)
- ``budget``:         Σ cost(o) · open[o, P−1] ≤ budget
- ``p``:              Σ_o open[o, P−1] = p
- ``closest`` (就近入学): see :func:`closest_block`
- ``cover[u]``:       Σ_{o ∈ u} open[o, P−1] + cover_short[u] ≥ 1

Objective: Σ cost(e) · flow + Σ penalty(i) · unserved + Σ_o Σ_p (c(o, p) − c(o, p+1)) ·
open[o, p] (with c(o, P) = 0, so an option opening in period *q* costs exactly c(o, q),
its discounted cost) + Σ penalty(u) · cover_short[u].

The cumulative ``open`` variables give the same LP relaxation as "opens in period q"
variables (a unimodular change of variables) with sparser rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import highspy
import numpy as np
import scipy.sparse as sp

from planner.errors import SolverError
from planner.siting.instance import SitingInstance

__all__ = ["Milp", "build_milp", "CLOSER_TOL"]

#: distances within this much count as equal for closest assignment (metres)
CLOSER_TOL = 0.01
#: the strong ``link`` block is added while it has at most this many rows
STRONG_MAX_ROWS = 400_000


@dataclass
class Block:
    """Rows of one named constraint block (row indices local to the block)."""

    rows: np.ndarray
    cols: np.ndarray
    vals: np.ndarray
    lower: np.ndarray
    upper: np.ndarray

    @property
    def size(self) -> int:
        """Number of rows."""
        return len(self.lower)


@dataclass
class Milp:
    """A siting MILP in HiGHS with the index maps of its variable and row blocks."""

    inst: SitingInstance
    highs: highspy.Highs
    flow_pair: np.ndarray
    flow_period: np.ndarray
    flow_scale: np.ndarray
    unserved_client: np.ndarray
    unserved_period: np.ndarray
    cols: dict[str, slice] = field(default_factory=dict)
    rows: dict[str, slice] = field(default_factory=dict)

    @property
    def n_cols(self) -> int:
        """Number of variables."""
        return int(self.highs.getNumCol())

    def open_col(self, o: np.ndarray, p: np.ndarray) -> np.ndarray:
        """Column index of ``open[o, p]``."""
        return self.cols["open"].start + np.asarray(o) * self.inst.P + np.asarray(p)

    def block_sizes(self) -> dict[str, int]:
        """Size of every named variable and constraint block."""
        out = {f"col:{k}": s.stop - s.start for k, s in self.cols.items()}
        out.update({f"row:{k}": s.stop - s.start for k, s in self.rows.items()})
        return out


# ----------------------------------------------------------------------------- columns


def reachable_capacity(inst: SitingInstance) -> np.ndarray:
    """(F, P) bool: the facility has seats, or an option could give it seats, by period p."""
    can = inst.capacity > 0
    if inst.O:
        a = inst.option_adds.tocoo()
        first = np.full(inst.F, inst.P, np.int64)
        np.minimum.at(first, a.row, inst.option_earliest[a.col])
        can |= np.arange(inst.P)[None, :] >= first[:, None]
    return can


def flow_columns(inst: SitingInstance, banned: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """Pairs × periods that get a flow column: client demand > 0, facility can have seats.

    Returns ``(pair, period)`` arrays in pair-major order.
    """
    r, f, _ = inst.pairs()
    E, P = len(r), inst.P
    ok = (inst.demand[r] > 0) & reachable_capacity(inst)[f]
    if inst.single_source:  # a client larger than every capacity its facility can get
        ok &= inst.demand[r] <= _max_capacity(inst)[f] * (1 + 1e-12)
    if banned is not None:
        ok &= ~banned
    e, p = np.nonzero(ok.reshape(E, P))
    return e.astype(np.int64), p.astype(np.int64)


def _max_capacity(inst: SitingInstance) -> np.ndarray:
    """(F, P) the largest capacity each facility can have (best option of its group)."""
    best = np.zeros(inst.F)
    if inst.O:
        a = inst.option_adds.tocoo()
        np.maximum.at(best, a.row, a.data)
    return inst.capacity + best[:, None]


def closest_bans(inst: SitingInstance) -> np.ndarray:
    """(E, P) bool: pairs farther than the client's nearest always-open public facility.

    Facilities with base seats in a period are open in it, so under closest assignment a
    public facility strictly farther than the nearest of them is never allowed.
    """
    r, f, _ = inst.pairs()
    d = inst.distance.data
    ban = np.zeros((len(r), inst.P), bool)
    pub = inst.public[f]
    for p in range(inst.P):  # P ≤ a handful of periods; arrays inside
        always = inst.public & (inst.capacity[:, p] > 0)
        nearest = np.full(inst.n, np.inf)
        m = always[f]
        np.minimum.at(nearest, r[m], d[m])
        ban[:, p] = pub & (d > nearest[r] + CLOSER_TOL)
    return ban


# ----------------------------------------------------------------------------- blocks


def demand_block(inst, fe, fp, scale, ucl, upe, c_un) -> Block:
    """``demand[i, p]``: Σ_f flow + unserved = demand (rows for clients with demand)."""
    r, _, _ = inst.pairs()
    key = ucl * inst.P + upe  # one row per unserved column, same order
    row_of = np.full(inst.n * inst.P, -1, np.int64)
    row_of[key] = np.arange(len(key))
    fr = row_of[r[fe] * inst.P + fp]
    d = inst.demand[ucl, upe]
    return Block(
        np.concatenate([fr, np.arange(len(key))]),
        np.concatenate([np.arange(len(fe)), c_un + np.arange(len(key))]),
        np.concatenate([scale, np.ones(len(key))]),
        d,
        d,
    )


def capacity_block(inst, fe, fp, scale, c_open, reach_dem) -> Block:
    """``capacity[f, p]``: Σ_i flow − Σ_o seats · open[o, p] ≤ capacity₀ (finite ones).

    An option's infinite seats count as the demand within the facility's reach.
    """
    _, f, _ = inst.pairs()
    P = inst.P
    ff = f[fe]
    used = np.zeros((inst.F, P), bool)
    used[ff, fp] = True
    need = used & np.isfinite(inst.capacity)
    row_of = np.full(inst.F * P, -1, np.int64)
    fk, pk = np.nonzero(need)
    row_of[fk * P + pk] = np.arange(len(fk))
    fr = row_of[ff * P + fp]
    on = fr >= 0
    R, C, V = [fr[on]], [np.flatnonzero(on)], [scale[on]]
    a = inst.option_adds.tocoo()
    if a.nnz:
        # every (facility, option) entry in every period with a row
        ent_f = np.repeat(a.row, P)
        ent_o = np.repeat(a.col, P)
        ent_p = np.tile(np.arange(P), a.nnz)
        seats = np.repeat(a.data, P)
        seats = np.where(np.isinf(seats), reach_dem[ent_f, ent_p], seats)
        rr = row_of[ent_f * P + ent_p]
        ok = (rr >= 0) & (ent_p >= inst.option_earliest[ent_o])
        R.append(rr[ok])
        C.append(c_open + ent_o[ok] * P + ent_p[ok])
        V.append(-seats[ok])
    return Block(
        np.concatenate(R),
        np.concatenate(C),
        np.concatenate(V),
        np.full(len(fk), -np.inf),
        inst.capacity[fk, pk],
    )


def link_block(inst, fe, fp, c_open) -> Block:
    """``link[e, p]``: flow ≤ demand · Σ_{o ∋ f} open[o, p] where f has no base seats in p.

    Under single sourcing the flow column is the binary "wholly to f", so the row is
    ``x ≤ Σ_{o ∋ f} open[o, p]``. Not written where the capacity row implies it (a client
    at least as large as every option's seats).
    """
    r, f, _ = inst.pairs()
    P = inst.P
    ff, ii = f[fe], r[fe]
    closed = inst.capacity[ff, fp] == 0
    d = inst.demand[ii, fp]
    adds = inst.option_adds.tocsr()
    big = np.zeros(inst.F)
    if adds.nnz:
        np.maximum.at(big, np.repeat(np.arange(inst.F), np.diff(adds.indptr)), adds.data)
    need = closed & ~(d >= big[ff])
    k = np.flatnonzero(need)
    cnt = np.diff(adds.indptr)[ff[k]]
    owner = np.repeat(np.arange(len(k)), cnt)
    offs = np.arange(int(cnt.sum())) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    pos = adds.indptr[ff[k]][owner] + offs
    o = adds.indices[pos]
    ok = fp[k][owner] >= inst.option_earliest[o]
    return Block(
        np.concatenate([np.arange(len(k)), owner[ok]]),
        np.concatenate([k, c_open + o[ok] * P + fp[k][owner][ok]]),
        np.concatenate(
            [np.ones(len(k)), -(np.ones(len(k)) if inst.single_source else d[k])[owner][ok]]
        ),
        np.full(len(k), -np.inf),
        np.zeros(len(k)),
    )


def monotone_block(inst, c_open) -> Block:
    """``monotone[o, p]``: open[o, p] − open[o, p + 1] ≤ 0 (an opened option stays open)."""
    O, P = inst.O, inst.P
    if P < 2 or not O:
        return _empty()
    o, p = np.meshgrid(np.arange(O), np.arange(P - 1), indexing="ij")
    o, p = o.ravel(), p.ravel()
    keep = p >= inst.option_earliest[o]  # before the earliest period both are 0 anyway
    o, p = o[keep], p[keep]
    k = np.arange(len(o))
    return Block(
        np.concatenate([k, k]),
        np.concatenate([c_open + o * P + p, c_open + o * P + p + 1]),
        np.concatenate([np.ones(len(k)), -np.ones(len(k))]),
        np.full(len(k), -np.inf),
        np.zeros(len(k)),
    )


def one_option_block(inst, c_open) -> Block:
    """``one_option[g]``: Σ_{o ∈ g} open[o, P−1] ≤ 1 for groups with several options."""
    size = np.bincount(inst.option_group, minlength=inst.G)
    multi = np.flatnonzero(size > 1)
    if not len(multi):
        return _empty()
    row_of = np.full(inst.G, -1, np.int64)
    row_of[multi] = np.arange(len(multi))
    o = np.flatnonzero(row_of[inst.option_group] >= 0)
    return Block(
        row_of[inst.option_group[o]],
        c_open + o * inst.P + inst.P - 1,
        np.ones(len(o)),
        np.full(len(multi), -np.inf),
        np.ones(len(multi)),
    )


def budget_block(inst, c_open) -> Block:
    """``budget``: Σ cost(o) · open[o, P−1] ≤ budget."""
    if inst.budget is None or not inst.O:
        return _empty()
    o = np.flatnonzero(inst.option_cost != 0)
    return Block(
        np.zeros(len(o), np.int64),
        c_open + o * inst.P + inst.P - 1,
        inst.option_cost[o],
        np.array([-np.inf]),
        np.array([inst.budget]),
    )


def p_block(inst, c_open) -> Block:
    """``p``: Σ_o open[o, P−1] = p."""
    if inst.p is None:
        return _empty()
    o = np.arange(inst.O)
    return Block(
        np.zeros(inst.O, np.int64),
        c_open + o * inst.P + inst.P - 1,
        np.ones(inst.O),
        np.array([float(inst.p)]),
        np.array([float(inst.p)]),
    )


def cover_block(inst, c_open, c_short) -> Block:
    """``cover[u]``: Σ_{o ∈ u} open[o, P−1] + cover_short[u] ≥ 1."""
    U = inst.cover.shape[0]
    if not U:
        return _empty()
    c = inst.cover.tocoo()
    return Block(
        np.concatenate([c.row, np.arange(U)]),
        np.concatenate([c_open + c.col * inst.P + inst.P - 1, c_short + np.arange(U)]),
        np.ones(c.nnz + U),
        np.ones(U),
        np.full(U, np.inf),
    )


def closest_block(inst, fe, fp, scale, c_open) -> Block:
    """Closest-assignment rows (就近入学), built with array calls per period.

    For a client *i*, a public facility *j* that a project opens and a period *p*, the
    aggregated "farther-facilities" inequality (Rojeski & ReVelle 1970; Wagner & Falkson
    1975)

        Σ_{k public, d_ik > d_ij} flow[i, k, p] + demand[i, p] · Σ_{o ∋ j} open[o, p]
        ≤ demand[i, p]

    forbids any assignment farther than an open *j*; it is among the sets Espejo, Marín
    & Rodríguez-Chía (EJOR 219, 2012) recommend for their strong LP relaxation.
    Facilities with base seats are always open: their rule is the column ban of
    :func:`closest_bans` (presolve), so rows are written only for facilities without
    base seats that are strictly closer than the client's nearest always-open one.
    """
    r, f, _ = inst.pairs()
    d = inst.distance.data
    P = inst.P
    adds = inst.option_adds.tocsr()
    has_opt = np.diff(adds.indptr) > 0
    # flow column of every (pair, period)
    col_of = np.full(len(r) * P, -1, np.int64)
    col_of[fe * P + fp] = np.arange(len(fe))
    R, C, V, rhs = [], [], [], []
    n_rows = 0
    span = 2.0 * (float(d.max()) if len(d) else 1.0) + 10.0
    for p in range(P):  # one pass of array calls per period
        always = inst.public & (inst.capacity[:, p] > 0)
        nearest = np.full(inst.n, np.inf)
        m = always[f]
        np.minimum.at(nearest, r[m], d[m])
        rows_e = np.flatnonzero(
            inst.public[f]
            & ~always[f]
            & has_opt[f]
            & (d < nearest[r] - CLOSER_TOL)
            & (inst.demand[r, p] > 0)
        )
        if not len(rows_e):
            continue
        mem = np.flatnonzero(inst.public[f] & (col_of.reshape(-1, P)[:, p] >= 0))
        key = r[mem] * span + d[mem]
        order = np.argsort(key, kind="stable")
        mem, key = mem[order], key[order]
        start = np.searchsorted(key, r[rows_e] * span + d[rows_e] + CLOSER_TOL, side="right")
        stop = np.searchsorted(key, (r[rows_e] + 1) * span, side="left")
        cnt = np.maximum(stop - start, 0)
        some = cnt > 0
        rows_e, start, cnt = rows_e[some], start[some], cnt[some]
        if not len(rows_e):
            continue
        rr = np.repeat(np.arange(len(rows_e)), cnt)
        pos = np.repeat(start, cnt) + (np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt))
        k_col = col_of[mem[pos] * P + p]
        R.append(n_rows + rr)
        C.append(k_col)
        V.append(scale[k_col])
        dem = inst.demand[r[rows_e], p]
        ob = adds[f[rows_e]].tocoo()
        keep = p >= inst.option_earliest[ob.col]
        R.append(n_rows + ob.row[keep])
        C.append(c_open + ob.col[keep] * P + p)
        V.append(dem[ob.row[keep]])
        rhs.append(dem)
        n_rows += len(rows_e)
    if not n_rows:
        return _empty()
    up = np.concatenate(rhs)
    return Block(
        np.concatenate(R), np.concatenate(C), np.concatenate(V), np.full(n_rows, -np.inf), up
    )


def _empty() -> Block:
    z = np.zeros(0, np.int64)
    return Block(z, z, np.zeros(0), np.zeros(0), np.zeros(0))


# ----------------------------------------------------------------------------- build


def build_milp(inst: SitingInstance, *, strong: bool | None = None) -> Milp:
    """Build the MILP of ``inst`` (see the module docstring) and load it into HiGHS.

    Parameters
    ----------
    inst : SitingInstance
        The instance.
    strong : bool, optional
        Add the ``link`` block; default: when it has at most :data:`STRONG_MAX_ROWS`
        rows.

    Returns
    -------
    Milp
    """
    P, O = inst.P, inst.O
    r, f, c = inst.pairs()
    banned = closest_bans(inst) if inst.closest else None
    fe, fp = flow_columns(inst, banned)
    single = inst.single_source
    dem_e = inst.demand[r[fe], fp]
    scale = dem_e if single else np.ones(len(fe))
    ucl, upe = np.nonzero(inst.demand > 0)
    U = inst.cover.shape[0]
    K, Ku = len(fe), len(ucl)
    c_un = K
    c_open = K + Ku
    c_short = c_open + O * P
    n_col = c_short + U
    # demand within reach of every facility and period (the seats of an infinite option)
    reach_dem = np.zeros((inst.F, P))
    np.add.at(reach_dem, (f[fe], fp), dem_e)
    blocks: dict[str, Block] = {
        "demand": demand_block(inst, fe, fp, scale, ucl, upe, c_un),
        "capacity": capacity_block(inst, fe, fp, scale, c_open, reach_dem),
    }
    link = None
    if strong is not False:
        link = link_block(inst, fe, fp, c_open)
        if strong is None and link.size > STRONG_MAX_ROWS:
            link = None
    if link is not None:
        blocks["link"] = link
    blocks["monotone"] = monotone_block(inst, c_open)
    blocks["one_option"] = one_option_block(inst, c_open)
    blocks["budget"] = budget_block(inst, c_open)
    blocks["p"] = p_block(inst, c_open)
    if inst.closest:
        blocks["closest"] = closest_block(inst, fe, fp, scale, c_open)
    blocks["cover"] = cover_block(inst, c_open, c_short)
    # objective
    obj = inst.option_objective
    step = obj - np.concatenate([obj[:, 1:], np.zeros((O, 1))], axis=1)
    cover_pen = (
        np.full(U, _cover_default(inst)) if inst.cover_penalty is None else inst.cover_penalty
    )
    col_cost = np.concatenate(
        [c[fe] * (dem_e if single else 1.0), inst.penalty[ucl], step.ravel(), cover_pen]
    )
    col_lo = np.zeros(n_col)
    flow_up = np.ones(K) if single else dem_e
    open_up = (np.arange(P)[None, :] >= inst.option_earliest[:, None]).astype(float).ravel()
    col_up = np.concatenate([flow_up, inst.demand[ucl, upe], open_up, np.ones(U)])
    integer = np.zeros(n_col, bool)
    integer[c_open:c_short] = True
    if single:
        integer[:K] = True
    R, C, V, lo, up = [], [], [], [], []
    rows: dict[str, slice] = {}
    row = 0
    for name, b in blocks.items():
        if not b.size:
            continue
        R.append(b.rows + row)
        C.append(b.cols)
        V.append(b.vals)
        lo.append(b.lower)
        up.append(b.upper)
        rows[name] = slice(row, row + b.size)
        row += b.size
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    _pass(h, col_cost, col_lo, col_up, integer, R, C, V, lo, up, n_col, row)
    cols = {"flow": slice(0, K), "unserved": slice(c_un, c_open), "open": slice(c_open, c_short)}
    if U:
        cols["cover_short"] = slice(c_short, n_col)
    return Milp(inst, h, fe, fp, scale, ucl, upe, cols, rows)


def _cover_default(inst: SitingInstance) -> float:
    """Penalty of an unmet must-cover rule: above the cost of any plan."""
    return float(10.0 * inst.penalty.max() * max(inst.demand.sum(), 1.0))


def _pass(h, col_cost, col_lo, col_up, integer, R, C, V, lo, up, n_col, n_row) -> None:
    """Hand one column-wise sparse model to HiGHS."""
    a = sp.csc_matrix(
        (
            np.concatenate(V) if V else np.zeros(0),
            (
                np.concatenate(R) if R else np.zeros(0, np.int64),
                np.concatenate(C) if C else np.zeros(0, np.int64),
            ),
        ),
        shape=(n_row, n_col),
    )
    a.sum_duplicates()
    a.eliminate_zeros()
    a.sort_indices()
    lp = highspy.HighsLp()
    lp.num_col_ = n_col
    lp.num_row_ = n_row
    lp.col_cost_ = col_cost
    lp.col_lower_ = col_lo
    lp.col_upper_ = col_up
    lp.row_lower_ = np.concatenate(lo) if lo else np.zeros(0)
    lp.row_upper_ = np.concatenate(up) if up else np.zeros(0)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a.indices.astype(np.int32)
    lp.a_matrix_.value_ = a.data
    kinds = np.where(integer, highspy.HighsVarType.kInteger, highspy.HighsVarType.kContinuous)
    lp.integrality_ = kinds.tolist()
    if h.passModel(lp) == highspy.HighsStatus.kError:
        raise SolverError("HiGHS refused the siting model (passModel); please report this")
