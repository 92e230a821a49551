"""A phased synthetic city for the siting benchmark (合成城市, 分期): blocks, sites, sizes, years.

:func:`phased_city` builds a :class:`planner.siting.SitingInstance` of the shape a
bureau's plan has at city scale: ``n_blocks`` residential blocks (the clients) whose
pupils grow over ``n_periods`` periods, ``n_sites`` candidate school sites (one facility
each, closed until a project opens it) offering ``sizes`` as mutually exclusive options
(one group per site), each site with an earliest period (land released later), pairs
only within a walking radius, and unserved pupils at a penalty (so every instance is
feasible). The layout — clustered blocks, sites denser where people live, land-price
factors — is :func:`planner.siting.synthetic.city_layout`; the periods are added here.

Costs, per period (thousand currency units): travel ``travel_cost`` per pupil-km; an
open school ``fixed_cost + seat_cost · seats`` times the site's land factor in every
period from its opening on (so a project opened in period q is charged for ``P − q``
periods, in the opening period's objective); ``unserved_penalty`` per pupil left
without a seat. No discounting. All randomness comes from ``rng``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from scipy.spatial import cKDTree

import data  # noqa: F401  (puts the repository root on sys.path)
from planner.siting import SitingInstance
from planner.siting.synthetic import city_layout

__all__ = ["phased_city"]


def phased_city(
    n_blocks: int = 20_000,
    n_sites: int = 2_000,
    n_periods: int = 5,
    *,
    rng: np.random.Generator,
    first_year: int = 2026,
    radius: float = 1.2,
    sizes: Sequence[float] = (600.0, 900.0, 1200.0),
    growth: tuple[float, float] = (0.0, 0.08),
    new_share: float = 0.1,
    earliest_share: Sequence[float] = (0.5, 0.2, 0.15, 0.1, 0.05),
    fixed_cost: float = 400.0,
    seat_cost: float = 0.9,
    travel_cost: float = 0.5,
    unserved_penalty: float = 5.0,
) -> SitingInstance:
    """The phased city instance.

    Parameters
    ----------
    n_blocks, n_sites, n_periods : int
        Residential blocks (clients), candidate sites (facilities, one group each) and
        periods (years ``first_year …``).
    rng : numpy.random.Generator
        The only source of randomness (same seed → identical instance).
    first_year : int
        Label of the first period.
    radius : float
        Walking radius, km: farther pairs are not stored.
    sizes : sequence of float
        Seats of the school sizes every site offers (one option each).
    growth : (float, float)
        Range of each block's demand growth per period (drawn uniformly): demand in
        period p is ``round(d · (1 + g)^p)``.
    new_share : float
        Share of blocks that are new developments: no pupils before a start period drawn
        uniformly from 1 … P−1.
    earliest_share : sequence of float
        Probability that a site's land is available from period 0, 1, … (truncated to
        the horizon and renormalised).
    fixed_cost, seat_cost : float
        Cost of an open school per period: ``(fixed_cost + seat_cost · seats)`` × the
        site's land factor.
    travel_cost : float
        Cost of one pupil travelling one km, per period.
    unserved_penalty : float
        Cost of one pupil without a seat, per period.

    Returns
    -------
    SitingInstance
        ``n_blocks`` clients, ``n_sites`` facilities, ``n_sites · len(sizes)`` options,
        ``n_periods`` periods; capacitated, split demand, unserved demand allowed.
    """
    P = int(n_periods)
    city = city_layout(n_blocks, n_sites, rng=rng)
    n, S = len(city.points), len(city.sites)
    # demand growing over the periods; new developments start later
    g = rng.uniform(growth[0], growth[1], size=n)
    demand = np.round(city.demand[:, None] * (1.0 + g[:, None]) ** np.arange(P)[None, :])
    new = rng.random(n) < new_share
    start = np.where(new, rng.integers(1, max(P, 2), size=n), 0)
    demand[np.arange(P)[None, :] < start[:, None]] = 0.0
    # pairs within the radius: one facility per site
    pairs = cKDTree(city.points).sparse_distance_matrix(
        cKDTree(city.sites), radius, output_type="ndarray"
    )
    cost = sp.csr_matrix(
        (travel_cost * pairs["v"], (pairs["i"].astype(np.int64), pairs["j"].astype(np.int64))),
        shape=(n, S),
    )
    # options: every size at every site, opening no earlier than the site's land release
    K = len(sizes)
    size = np.tile(np.asarray(sizes, float), S)
    site = np.repeat(np.arange(S), K)
    per_period = city.land_factor[site] * (fixed_cost + seat_cost * size)
    share = np.asarray(earliest_share, float)[:P]
    site_earliest = rng.choice(len(share), size=S, p=share / share.sum())
    periods_open = P - np.arange(P)[None, :]  # opened in q: charged for P − q periods
    adds = sp.csc_matrix((size, (site, np.arange(S * K))), shape=(S, S * K))
    return SitingInstance(
        cost,
        demand,
        capacity=np.zeros(S),
        option_group=site,
        option_adds=adds,
        option_cost=per_period,
        option_objective=per_period[:, None] * periods_open,
        option_earliest=site_earliest[site],
        unserved_penalty=unserved_penalty,
        periods=np.arange(first_year, first_year + P),
    )
