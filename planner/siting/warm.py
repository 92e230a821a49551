"""A starting plan for the phased siting MILP: LP rounding (线性松弛取整初始解).

HiGHS proves optimality well on the siting model but, on a city-sized instance, can spend
most of a short time limit before it finds a good plan of its own (on the demo city:
71 % gap after 20 s without a start, 4 % with this one). :func:`lp_rounding_start`
gives it one, in the spirit of the relax-and-fix / LP-rounding heuristics for
facility location (e.g. Shmoys, Tardos & Aardal 1997 round an LP solution; here a
simpler deterministic rule, since the exact model then improves on it):

1. solve the LP relaxation of the model;
2. for every group (one school or site: at most one project), keep the option whose
   build variables sum highest over the periods, if that sum is at least
   :data:`OPEN_THRESHOLD`; it opens in the first period where its value reaches
   :data:`PERIOD_THRESHOLD`;
3. within a budget, keep projects in decreasing order of their LP value while they fit;
4. fix those build decisions and solve the remaining LP (flows, unserved, slack) from
   the relaxation's basis: a feasible plan, handed to HiGHS as its starting solution.

The relaxation's optimum is also a proven lower bound: when the time limit stops HiGHS
before its own root bound is better, the reported gap uses it.

Only for models whose sole integer columns are the build decisions (not with single
sourcing, whose assignments are integer too).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import highspy
import numpy as np
import pandas as pd
import scipy.sparse as sp

if TYPE_CHECKING:
    from planner.siting.plan import PlanModel

__all__ = ["lp_rounding_start", "OPEN_THRESHOLD", "PERIOD_THRESHOLD"]

#: an option opens when its build variables sum to at least this in the LP optimum
OPEN_THRESHOLD = 0.05
#: ... in the first period whose build variable reaches this
PERIOD_THRESHOLD = 0.01


def lp_rounding_start(
    model: PlanModel, *, time_limit: float = 60.0
) -> tuple[np.ndarray | None, float | None]:
    """A feasible starting solution for ``model`` by LP rounding, and the LP bound.

    Parameters
    ----------
    model : PlanModel
        As built by :func:`planner.siting.plan.build_model`.
    time_limit : float
        Seconds for each of the two LP solves.

    Returns
    -------
    start : numpy.ndarray or None
        Values of every column, or None when the model has integer columns other than
        the build decisions, or an LP does not solve within the limit.
    bound : float or None
        The LP relaxation's optimum: a proven lower bound of the MILP's objective (None
        when the relaxation did not solve).
    """
    lp = model.highs.getLp()
    n_col = lp.num_col_
    b0 = model.n_flow + model.n_unserved
    B = len(model.build_opt)
    integer = np.asarray([t == highspy.HighsVarType.kInteger for t in lp.integrality_], dtype=bool)
    if B == 0 or integer[:b0].any() or integer[b0 + B :].any():
        return None, None
    lp.integrality_ = []
    h = highspy.Highs()
    h.silent()
    h.setOptionValue("time_limit", float(time_limit))
    h.passModel(lp)
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None, None
    bound = float(h.getInfo().objective_function_value)
    y = np.asarray(h.getSolution().col_value, dtype=float)[b0 : b0 + B]
    opt = model.problem.options
    group = pd.factorize(opt["group"])[0][model.build_opt]
    df = pd.DataFrame(
        {"j": np.arange(B), "o": model.build_opt, "p": model.build_period, "g": group, "y": y}
    )
    by_option = df.groupby(["g", "o"], as_index=False)["y"].sum()
    best = by_option.loc[by_option.groupby("g")["y"].idxmax()]
    best = best.loc[best["y"] >= OPEN_THRESHOLD].sort_values("y", ascending=False)
    cand = df.loc[df["o"].isin(best["o"]) & (df["y"] >= PERIOD_THRESHOLD)]
    first = cand.sort_values("p").groupby("o", sort=False)["j"].first()  # earliest period
    cols = first.reindex(best["o"]).dropna().astype(int).to_numpy()
    if "budget" in model.blocks:
        r = model.blocks["budget"][0]
        a = sp.csc_matrix(
            (lp.a_matrix_.value_, lp.a_matrix_.index_, lp.a_matrix_.start_),
            shape=(lp.num_row_, n_col),
        )
        cost = np.asarray(a[r, b0 + cols].todense()).ravel()
        cols = cols[np.cumsum(cost) <= lp.row_upper_[r] + 1e-6]
    fix = np.zeros(B)
    fix[cols] = 1.0
    # the same solver object: the dual simplex restarts from the relaxation's basis
    h.changeColsBounds(B, np.arange(b0, b0 + B, dtype=np.int32), fix, fix)
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None, bound
    return np.asarray(h.getSolution().col_value, dtype=float), bound
