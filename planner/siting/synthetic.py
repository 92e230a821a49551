"""Synthetic city-scale siting instances (合成城市规模选址实例).

:func:`city_instance` generates a radius-sparse, capacitated school-siting instance
with size options, shaped like a city: demand points (residential blocks) clustered
around a few centres over a uniform background, candidate school sites spread over
the same area, and every site offering a few standard school sizes as mutually
exclusive facility columns (one *site group* per candidate site, see
:class:`~planner.siting.instance.SitingInstance`). Pairs exist only within a walking
radius, so the cost matrix is sparse; demand that no open school within the radius
can seat is left unserved at a penalty, so every instance is feasible.

The construction is vectorised (``scipy.spatial.cKDTree.sparse_distance_matrix`` for
the pairs within the radius); all randomness comes from the ``rng`` argument, so a
seed reproduces the instance exactly.

Run as a script to build and solve one instance::

    python -m planner.siting.synthetic --points 20000 --sites 2000 --seed 1 --time-limit 60 --gap 0.01
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.spatial import cKDTree

from planner.siting.instance import SitingInstance

__all__ = ["CityLayout", "city_instance", "city_layout", "main"]


@dataclass(frozen=True)
class CityLayout:
    """Where the demand and the candidate sites of a synthetic city are.

    Attributes
    ----------
    points : float ndarray of shape (n_points, 2)
        Demand point (residential block) coordinates, km.
    sites : float ndarray of shape (n_sites, 2)
        Candidate school site coordinates, km.
    demand : float ndarray of shape (n_points,)
        Pupils (seats needed) per block, integral values ≥ 1.
    land_factor : float ndarray of shape (n_sites,)
        Multiplier of each site's fixed and seat costs.
    """

    points: np.ndarray
    sites: np.ndarray
    demand: np.ndarray
    land_factor: np.ndarray


def city_layout(
    n_points: int = 20_000,
    n_sites: int = 2_000,
    *,
    rng: np.random.Generator,
    extent: float = 30.0,
    n_centres: int = 6,
    centre_sd: tuple[float, float] = (1.5, 4.0),
    background: float = 0.25,
    mean_demand: float = 15.0,
    site_background: float = 0.5,
    land_factor: tuple[float, float] = (0.8, 1.3),
) -> CityLayout:
    """Draw the demand points, their demand and the candidate sites of a city.

    The parameters are those of :func:`city_instance` (see there for what every
    number models); the same ``rng`` state gives the same layout.

    Returns
    -------
    CityLayout
    """
    n_points, n_sites = int(n_points), int(n_sites)
    # ---- demand points: Gaussian centres + uniform background, clipped to the city
    centres = rng.uniform(0.15 * extent, 0.85 * extent, size=(n_centres, 2))
    spread = rng.uniform(centre_sd[0], centre_sd[1], size=n_centres)
    share = rng.dirichlet(np.full(n_centres, 2.0))
    n_bg = round(background * n_points)
    which = rng.choice(n_centres, size=n_points - n_bg, p=share)
    clustered = centres[which] + rng.normal(size=(n_points - n_bg, 2)) * spread[which, None]
    uniform = rng.uniform(0.0, extent, size=(n_bg, 2))
    points = np.clip(np.vstack([clustered, uniform]), 0.0, extent)
    demand = 1.0 + rng.poisson(mean_demand - 1.0, size=n_points).astype(float)
    # ---- candidate sites: uniform plots + plots next to demand points (200 m jitter)
    n_su = round(site_background * n_sites)
    near = points[rng.integers(0, n_points, size=n_sites - n_su)]
    near = near + rng.normal(scale=0.2, size=near.shape)
    sites = np.clip(np.vstack([rng.uniform(0.0, extent, size=(n_su, 2)), near]), 0.0, extent)
    factor = rng.uniform(land_factor[0], land_factor[1], size=n_sites)
    return CityLayout(points, sites, demand, factor)


def city_instance(
    n_points: int = 20_000,
    n_sites: int = 2_000,
    *,
    rng: np.random.Generator,
    extent: float = 30.0,
    radius: float = 1.2,
    n_centres: int = 6,
    centre_sd: tuple[float, float] = (1.5, 4.0),
    background: float = 0.25,
    mean_demand: float = 15.0,
    site_background: float = 0.5,
    sizes: Sequence[float] = (600.0, 900.0, 1200.0),
    fixed_cost: float = 400.0,
    seat_cost: float = 0.9,
    land_factor: tuple[float, float] = (0.8, 1.3),
    travel_cost: float = 0.5,
    unserved_penalty: float = 5.0,
    budget: float | None = None,
    periods: int = 1,
    growth: float = 0.08,
    late_sites: float = 0.3,
    discount: float = 0.03,
) -> SitingInstance:
    """A clustered, radius-sparse, capacitated city instance with size options.

    Parameters
    ----------
    n_points : int
        Demand points (residential blocks); the clients of the instance. 20,000
        blocks over the default 30 km × 30 km area is about 22 blocks per km².
    n_sites : int
        Candidate school sites. Each offers ``len(sizes)`` size options, so the
        instance has ``n_sites · len(sizes)`` facility columns in ``n_sites`` site
        groups (at most one option per site opens).
    rng : numpy.random.Generator
        The only source of randomness (same seed → identical instance).
    extent : float
        Side of the square city, in km (default 30 km).
    radius : float
        Walking radius in km (default 1.2 km, a typical school catchment reach for
        pupils walking): only pairs within it are stored; farther schools are out of
        reach.
    n_centres : int
        Number of Gaussian population centres (city core and district centres).
    centre_sd : (float, float)
        Range of the standard deviation of each centre's population, in km (each
        centre draws its spread uniformly from this range; 1.5–4 km).
    background : float
        Share of demand points spread uniformly over the whole area (suburbs and
        villages between the centres); the rest are drawn from the centres, with
        weights proportional to Dirichlet(2, …, 2) draws (centres of unequal size).
    mean_demand : float
        Mean number of school-age pupils (seats needed) per block; each block's
        demand is ``1 + Poisson(mean_demand − 1)`` (at least one pupil).
    site_background : float
        Share of candidate sites placed uniformly at random (vacant plots anywhere);
        the rest sit next to a random demand point (plots in built-up areas, jittered
        by a 200 m Gaussian), so sites are denser where people live.
    sizes : sequence of float
        Seats of the standard school sizes offered at every site (default 600, 900,
        1,200 seats: small, medium, large). One facility column per size.
    fixed_cost : float
        Fixed cost of opening any school (administration, land, site works), in
        thousand currency units per year (annualised). Together with ``seat_cost``
        it gives economies of scale: a larger school costs less per seat.
    seat_cost : float
        Cost per seat of building and running a school, in thousand currency units
        per seat per year.
    land_factor : (float, float)
        Range of the site-specific multiplier of a site's fixed and seat costs (land
        price and construction conditions vary across the city), drawn uniformly.
    travel_cost : float
        Cost of one pupil travelling one km (straight-line distance) to school, in
        thousand currency units per pupil per year (the social cost of the daily trip,
        time included). The pair cost is ``travel_cost · distance`` per pupil; the
        objective weights it by the block's demand.
    unserved_penalty : float
        Cost per pupil left without a seat within the radius (alternative provision,
        e.g. bussing to a distant school), in thousand currency units per pupil per
        year. It is above the cost of serving a pupil from a new school at the radius
        (≈ ``seat_cost · max factor + travel_cost · radius`` ≈ 1.8), so the model
        serves a pupil whenever a reasonably full school can; remote blocks with few
        pupils may stay unserved.
    budget : float, optional
        Upper bound on the total fixed cost (fixed + seat costs) of the opened
        schools, in thousand currency units per year. None (default): no budget.
    periods : int
        Plan periods (default 1: a classical CFLP with size options).
    growth : float
        With several periods: demand growth per period (each block's pupils, rounded).
    late_sites : float
        With several periods: share of the sites that become available only in a later
        period (drawn uniformly).
    discount : float
        With several periods: a school's cost falls by this rate per period of later
        opening.

    Returns
    -------
    SitingInstance
        Capacitated, split demand, ``allow_unserved=True``; ``cost`` in thousand
        currency units per pupil per year, ``demand`` in pupils (integers).
    """
    sizes_arr = np.asarray(sizes, dtype=float)
    K = len(sizes_arr)
    city = city_layout(
        n_points,
        n_sites,
        rng=rng,
        extent=extent,
        n_centres=n_centres,
        centre_sd=centre_sd,
        background=background,
        mean_demand=mean_demand,
        site_background=site_background,
        land_factor=land_factor,
    )
    points, sites, demand, factor = city.points, city.sites, city.demand, city.land_factor
    # ---- pairs within the radius (vectorised in the k-d tree)
    pairs = cKDTree(points).sparse_distance_matrix(cKDTree(sites), radius, output_type="ndarray")
    i, s, dist = pairs["i"].astype(np.int64), pairs["j"].astype(np.int64), pairs["v"]
    fixed = (factor[:, None] * (fixed_cost + seat_cost * sizes_arr[None, :])).ravel()
    S = len(sites)
    if periods <= 1:
        # every size option of a site gets the same pairs: column = site · K + option
        rows = np.repeat(i, K)
        cols = (s[:, None] * K + np.arange(K)[None, :]).ravel()
        vals = np.repeat(travel_cost * dist, K)
        cost = sp.csr_matrix((vals, (rows, cols)), shape=(len(points), S * K))
        return SitingInstance.from_columns(
            cost,
            demand,
            fixed_cost=fixed,
            capacity=np.tile(sizes_arr, S),
            site=np.repeat(np.arange(S), K),
            budget=budget,
            allow_unserved=True,
            unserved_penalty=unserved_penalty,
        )
    # phased: one facility per site (closed until a size option opens)
    P = int(periods)
    dem = np.rint(demand[:, None] * (1.0 + growth) ** np.arange(P)[None, :])
    cost = sp.csr_matrix((travel_cost * dist, (i, s)), shape=(len(points), S))
    earliest = np.where(rng.random(S) < late_sites, rng.integers(1, P, S), 0)
    disc = (1.0 + discount) ** -np.arange(P, dtype=float)
    return SitingInstance(
        cost,
        dem,
        capacity=np.zeros(S),
        option_group=np.repeat(np.arange(S), K),
        option_adds=sp.csc_matrix(
            (np.tile(sizes_arr, S), (np.repeat(np.arange(S), K), np.arange(S * K))),
            shape=(S, S * K),
        ),
        option_cost=fixed,
        option_objective=fixed[:, None] * disc[None, :],
        option_earliest=np.repeat(earliest, K),
        budget=budget,
        unserved_penalty=unserved_penalty,
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Build a city instance, solve it with the engine and print its size, bound and gap."""
    from planner.siting.solve import SolveLimits, solve

    ap = argparse.ArgumentParser(
        prog="python -m planner.siting.synthetic", description=city_instance.__doc__.split("\n")[0]
    )
    ap.add_argument("--points", type=int, default=20_000, help="demand points")
    ap.add_argument("--sites", type=int, default=2_000, help="candidate sites")
    ap.add_argument("--periods", type=int, default=1, help="plan periods")
    ap.add_argument("--seed", type=int, default=1, help="random seed")
    ap.add_argument("--radius", type=float, default=1.2, help="walking radius, km")
    ap.add_argument("--time-limit", type=float, default=600.0, help="safety cap, s")
    ap.add_argument("--gap", type=float, default=0.01, help="relative gap to stop at")
    ap.add_argument("--log", action="store_true", help="print the engine's progress")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    inst = city_instance(
        args.points,
        args.sites,
        rng=np.random.default_rng(args.seed),
        radius=args.radius,
        periods=args.periods,
    )
    t_gen = time.perf_counter() - t0
    print(f"instance: {inst!r}")
    print(f"generate: {t_gen:.2f} s, total demand {inst.demand.sum():.0f} pupil-periods")
    sol = solve(
        inst,
        limits=SolveLimits(gap=args.gap, time_limit=args.time_limit),
        progress=(lambda p: print(p.line(), flush=True)) if args.log else None,
    )
    print(f"{sol.summary()}; total with generation {time.perf_counter() - t0:.2f} s")
    print(
        f"projects {int((sol.open_period >= 0).sum())}, unserved {sol.unserved.sum():.0f} "
        f"pupil-periods, stopped by the clock: {sol.stopped_by_clock}"
    )


if __name__ == "__main__":
    main()
