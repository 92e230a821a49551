"""The siting problem of a scenario (布局优化问题): demand points, facilities, options, reach.

Builds, from canonical inputs and the seat requirement, the arrays the optimiser
works on. Pure computation on data frames in a metric CRS; sparse throughout: only
demand–facility pairs within reach exist.

Rules (documented for the bureau):

- **Demand points**: a square grid of ``siting.grid_m`` metres; each unit's planning
  requirement (seats, per stage and period) is spread over the cells whose centre lies in
  the unit: 20 % in proportion to area, 80 % following today's pupils of the stage
  (an exponential kernel of 1.5 km around each school, weighted by its pupils), since
  where pupils live is best seen from where they go to school (a unit too small to hold a
  cell centre gets one point at its representative point). Planned housing developments are points of their
  own carrying their seats, taken out of their unit's spread share.
- **Facilities**: every existing (and planned) school offers its capacity per stage and
  period; each candidate site is a facility whose capacity comes only from a chosen
  option.
- **Options**: expansions of public schools in whole steps of classes (6 primary / 3
  junior per step), limited by the school-size cap and the school's land at
  ``siting.land_per_pupil``; new schools on candidate sites at the norms' standard sizes
  for the stages the site allows, limited by its land area and the size cap. Options of
  one school or one site exclude each other.
- **Reach**: road distance ≈ straight line × ``siting.detour_factor``; a pupil may be
  assigned up to ``siting.reach_factor`` × the service radius of their unit's kind and
  stage; distance beyond the radius itself is penalised. When a road network is given
  (``build_problem(..., network=G)``), road distance is the shortest path on it instead
  (:func:`network_distances`): point and school are snapped to their nearest network
  nodes, the straight-line snapping legs are added, and pairs beyond reach on the
  network are left out even when the straight line would reach.
- **Boarding** (``siting.boarding_per_rural_town``): every unit of
  ``siting.boarding_unit_kinds`` without an existing boarding school (``boarding``
  column of the schools) needs one: the new-school options on candidate sites in the
  unit are boarding-capable (planned with dormitories), and the model must build one of
  them by the last period (:attr:`SitingProblem.boarding_units`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from planner.norms import STAGES, Norms
from planner.scenario import SitingSpec
from planner.siting.instance import SitingInstance

if TYPE_CHECKING:  # networkx is only needed when a road network is given
    import networkx as nx

__all__ = [
    "SitingProblem",
    "build_problem",
    "default_periods",
    "network_distances",
    "snap_distances",
    "nine_year_split",
    "to_instance",
]

SITE_TYPES = {
    "primary": ("primary",),
    "junior": ("junior",),
    "nine_year": ("nine_year",),
    "any": ("primary", "junior", "nine_year"),
}


#: columns of the options table (one row per expansion step or size option of a site)
OPTION_COLUMNS = [
    "group",
    "kind",
    "ref",
    "school_type",
    "classes_primary",
    "classes_junior",
    "seats_primary",
    "seats_junior",
    "cost",
    "earliest_year",
    "unit_id",
    "boarding",
]


@dataclass
class SitingProblem:
    """Arrays of one siting instance.

    Attributes
    ----------
    periods : ndarray
        Years in which demand is checked and projects may open.
    points : DataFrame
        ``point_id, stage, unit_id, kind, x, y, source`` (source: grid or development).
    demand : ndarray
        Seats required, shape (points, periods).
    radius : ndarray
        Norm service radius of each point (m).
    facilities : DataFrame
        ``fac_id, stage, ref, kind, x, y, unit_id, public, boarding`` — ref is the
        school_id or site_id; ``public`` False for private schools (they neither block
        nor are blocked by closest assignment); ``boarding`` True for existing boarding
        schools. Missing columns default to public, non-boarding.
    cap0 : ndarray
        Capacity without any project, shape (facilities, periods).
    options : DataFrame
        ``opt_id, group, kind, ref, school_type, classes_primary, classes_junior,
        seats_primary, seats_junior, cost, earliest_year, unit_id, boarding`` —
        ``boarding`` marks a boarding-capable option (a new school on a site in a unit
        the boarding rule covers).
    adds : scipy.sparse.csr_matrix
        Seats an option adds to a facility, shape (facilities, options).
    dist : scipy.sparse.csr_matrix
        Road-approximate distance (m) of every eligible point–facility pair, shape
        (points, facilities); absent = not allowed.
    cells : GeoDataFrame
        The grid cells (point geometry for developments) for catchment polygons.
    crs : object
        The compute CRS.
    boarding_units : list of str
        Units that must get a boarding-capable school (an option with ``boarding``) by
        the last period; empty when the boarding rule is off or every covered unit
        already has an existing boarding school.
    """

    periods: np.ndarray
    points: pd.DataFrame
    demand: np.ndarray
    radius: np.ndarray
    facilities: pd.DataFrame
    cap0: np.ndarray
    options: pd.DataFrame
    adds: sp.csr_matrix
    dist: sp.csr_matrix
    cells: gpd.GeoDataFrame
    crs: object = None
    boarding_units: list[str] = field(default_factory=list)

    @property
    def n_pairs(self) -> int:
        """Eligible point–facility pairs."""
        return int(self.dist.nnz)

    def check(self) -> list[str]:
        """Problems visible before solving (the model itself always has a solution)."""
        out = []
        reach = np.diff(self.dist.indptr) > 0
        dem = self.demand.sum(axis=1)
        lonely = (~reach) & (dem > 0)
        if lonely.any():
            out.append(
                f"{int(lonely.sum())} demand points ({dem[lonely].sum():,.0f} seat-periods) have "
                "no school or site within reach: they stay unserved ('nothing within reach')"
            )
        for p, year in enumerate(self.periods):
            for stage in STAGES:
                fs = (self.facilities["stage"] == stage).to_numpy()
                ps = (self.points["stage"] == stage).to_numpy()
                extra = self.adds[fs].max(axis=1).toarray().sum() if self.adds.shape[1] else 0.0
                cap = self.cap0[fs, p].sum() + extra
                need = self.demand[ps, p].sum()
                if need > cap:
                    out.append(
                        f"{year} {stage}: {need:,.0f} seats required but at most {cap:,.0f} "
                        "available even with every option; the rest stays unserved ('capacity')"
                    )
        if len(self.options) == 0:
            out.append("no expansion or new-school option: the plan can only assign pupils")
        if self.boarding_units:
            capable = set(
                self.options.loc[self.options["boarding"].astype(bool), "unit_id"]
                if "boarding" in self.options
                else []
            )
            lacking = [u for u in self.boarding_units if u not in capable]
            if lacking:
                out.append(
                    f"boarding rule: {len(lacking)} unit(s) have no boarding school and no "
                    f"candidate site that could hold one ({', '.join(map(str, lacking))}): "
                    "the rule cannot be met there"
                )
        return out


def default_periods(base_year: int, horizon: int) -> list[int]:
    """Base+1, +3, +5, +10 and the horizon (within the horizon)."""
    ys = {base_year + k for k in (1, 3, 5, 10)} | {horizon}
    return sorted(y for y in ys if base_year < y <= horizon)


def nine_year_split(classes: int, grades: tuple[int, int]) -> tuple[int, int]:
    """Primary and junior classes of a nine-year school of ``classes``.

    ``grades`` is the number of primary and junior grades (六三制 (6, 3), 五四制 (5, 4)):
    ``len(norms.grades(stage))`` of the norms in force.

    >>> nine_year_split(36, (6, 3)), nine_year_split(36, (5, 4))
    ((24, 12), (20, 16))
    """
    per_grade = classes // sum(grades)
    return grades[0] * per_grade, grades[1] * per_grade


def _grid_points(units: gpd.GeoDataFrame, cell: float) -> gpd.GeoDataFrame:
    minx, miny, maxx, maxy = units.total_bounds
    xs = np.arange(minx + cell / 2, maxx, cell)
    ys = np.arange(miny + cell / 2, maxy, cell)
    gx, gy = np.meshgrid(xs, ys)
    gx, gy = gx.ravel(), gy.ravel()
    centres = gpd.GeoDataFrame(geometry=gpd.points_from_xy(gx, gy), crs=units.crs)
    j = gpd.sjoin(centres, units[["unit_id", "kind", "geometry"]], predicate="within", how="inner")
    j = j[~j.index.duplicated()]
    boxes = shapely.box(
        gx[j.index] - cell / 2,
        gy[j.index] - cell / 2,
        gx[j.index] + cell / 2,
        gy[j.index] + cell / 2,
    )
    ugeom = units.set_index("unit_id").geometry
    clipped = shapely.intersection(boxes, ugeom.loc[j["unit_id"]].values)
    out = gpd.GeoDataFrame(
        {
            "unit_id": j["unit_id"].to_numpy(),
            "kind": j["kind"].to_numpy(),
            "x": gx[j.index],
            "y": gy[j.index],
            "area": shapely.area(clipped),
        },
        geometry=clipped,
        crs=units.crs,
    )
    missing = units.loc[~units["unit_id"].isin(out["unit_id"])]
    if len(missing):
        rp = missing.geometry.representative_point()
        extra = gpd.GeoDataFrame(
            {
                "unit_id": missing["unit_id"].to_numpy(),
                "kind": missing["kind"].to_numpy(),
                "x": rp.x.to_numpy(),
                "y": rp.y.to_numpy(),
                "area": missing.area.to_numpy(),
            },
            geometry=missing.geometry.values,
            crs=units.crs,
        )
        out = pd.concat([out, extra], ignore_index=True)
    return out.reset_index(drop=True)


#: share of a unit's demand spread evenly by area; the rest follows today's pupils
UNIFORM_SHARE = 0.2
#: length scale (m) of the kernel that spreads demand around today's schools
KERNEL_M = 1500.0


def _cell_shares(
    cells: gpd.GeoDataFrame, schools: gpd.GeoDataFrame, stage: str, grid_m: float
) -> np.ndarray:
    """Share of its unit's demand each cell carries.

    Where pupils live is approximated by where they go to school today: each cell's
    weight is its area × (UNIFORM_SHARE + (1 − UNIFORM_SHARE) × K), with K the
    exponential kernel (length KERNEL_M) of today's pupils of the stage around the cell,
    normalised within the unit. A unit without pupils of the stage is spread by area.
    """
    pupils = schools[f"students_{stage}"].astype("Float64").fillna(0).to_numpy(float)
    has = pupils > 0
    cx, cy = cells["x"].to_numpy(), cells["y"].to_numpy()
    k = np.zeros(len(cells))
    if has.any():
        tree = cKDTree(
            np.column_stack(
                [schools.geometry.x.to_numpy()[has], schools.geometry.y.to_numpy()[has]]
            )
        )
        m = cKDTree(np.column_stack([cx, cy])).sparse_distance_matrix(
            tree, max_distance=5 * KERNEL_M, output_type="coo_matrix"
        )
        np.add.at(k, m.row, pupils[has][m.col] * np.exp(-m.data / KERNEL_M))
    unit = cells["unit_id"].to_numpy()
    area = cells["area"].to_numpy(float)
    kdf = pd.DataFrame({"u": unit, "k": k * area, "a": area})
    ksum = kdf.groupby("u")["k"].transform("sum").to_numpy()
    asum = kdf.groupby("u")["a"].transform("sum").to_numpy()
    kern = np.where(ksum > 0, kdf["k"].to_numpy() / np.where(ksum > 0, ksum, 1), area / asum)
    return UNIFORM_SHARE * area / asum + (1 - UNIFORM_SHARE) * kern


def build_problem(
    *,
    units: gpd.GeoDataFrame,
    schools: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame | None,
    developments: gpd.GeoDataFrame | None,
    requirement: pd.DataFrame,
    school_capacity: pd.DataFrame,
    dev_seats: pd.DataFrame | None,
    norms: Norms,
    spec: SitingSpec,
    periods: list[int],
    network: nx.Graph | None = None,
) -> SitingProblem:
    """Build the siting arrays.

    Parameters
    ----------
    units, schools, sites, developments : GeoDataFrame
        Canonical inputs in the metric compute CRS.
    requirement : DataFrame
        ``unit_id, stage, year, required_seats`` (the planning requirement).
    school_capacity : DataFrame
        From :func:`planner.supply.school_capacity` (``school_id, stage, year, capacity``).
    dev_seats : DataFrame, optional
        ``dev_id, unit_id, stage, year, seats``: seats owed by each development.
    norms : Norms
        Class caps, size caps, standard sizes, service radii.
    spec : SitingSpec
        The scenario's siting assumptions.
    periods : list of int
        Years to plan for.
    network : networkx.Graph, optional
        Road network in the compute CRS: node attributes ``x``, ``y`` (m), edge
        attribute ``length`` (m; the straight segment between its nodes when missing).
        A ``DiGraph`` gives one-way streets. When given, distances are shortest paths
        on it (:func:`network_distances`) instead of straight line × detour factor.

    Returns
    -------
    SitingProblem
    """
    periods_a = np.asarray(periods, dtype="int64")
    P = len(periods_a)
    cells = _grid_points(units, spec.grid_m)
    # ---- demand points --------------------------------------------------------------
    req = requirement.loc[requirement["year"].isin(periods_a)]
    pts_frames, dem_rows, cell_rows = [], [], []
    for stage in STAGES:
        r = (
            req.loc[req["stage"] == stage]
            .pivot_table(index="unit_id", columns="year", values="required_seats", aggfunc="sum")
            .reindex(columns=periods_a)
            .fillna(0.0)
        )
        dv = None
        if dev_seats is not None and len(dev_seats):
            d = dev_seats.loc[(dev_seats["stage"] == stage) & dev_seats["year"].isin(periods_a)]
            dv = (
                d.pivot_table(index="dev_id", columns="year", values="seats", aggfunc="sum")
                .reindex(columns=periods_a)
                .fillna(0.0)
            )
            by_unit = (
                d.pivot_table(index="unit_id", columns="year", values="seats", aggfunc="sum")
                .reindex(index=r.index, columns=periods_a)
                .fillna(0.0)
            )
            r = (r - by_unit).clip(lower=0.0)
        share = _cell_shares(cells, schools, stage, spec.grid_m)
        dem = r.reindex(cells["unit_id"]).fillna(0.0).to_numpy() * share[:, None]
        pts_frames.append(
            pd.DataFrame(
                {
                    "stage": stage,
                    "unit_id": cells["unit_id"],
                    "kind": cells["kind"],
                    "x": cells["x"],
                    "y": cells["y"],
                    "source": "grid",
                }
            )
        )
        dem_rows.append(dem)
        cell_rows.append(cells.geometry.values)
        if dv is not None and developments is not None and len(dv):
            dd = developments.set_index("dev_id").loc[dv.index]
            c = dd.geometry.representative_point()
            kinds = dd["unit_id"].map(units.set_index("unit_id")["kind"])
            pts_frames.append(
                pd.DataFrame(
                    {
                        "stage": stage,
                        "unit_id": dd["unit_id"].to_numpy(),
                        "kind": kinds.to_numpy(),
                        "x": c.x.to_numpy(),
                        "y": c.y.to_numpy(),
                        "source": "development",
                    }
                )
            )
            dem_rows.append(dv.to_numpy())
            cell_rows.append(c.values)
    points = pd.concat(pts_frames, ignore_index=True)
    points.insert(0, "point_id", np.arange(len(points)))
    demand = np.vstack(dem_rows)
    cell_geoms = gpd.GeoDataFrame(
        points[["point_id", "stage", "unit_id", "source"]],
        geometry=np.concatenate(cell_rows),
        crs=units.crs,
    )
    radius = np.array(
        [norms.service_radius(k, s) for k, s in zip(points["kind"], points["stage"], strict=True)]
    )

    # ---- facilities: existing schools × stage, then sites × stage --------------------
    cap = school_capacity.loc[school_capacity["year"].isin(periods_a)]
    capw = (
        cap.pivot_table(
            index=["school_id", "stage"], columns="year", values="capacity", aggfunc="sum"
        )
        .reindex(columns=periods_a)
        .fillna(0)
    )
    sch = schools.set_index("school_id")
    fac_school = capw.reset_index()[["school_id", "stage"]]
    geom = sch.geometry.loc[fac_school["school_id"]]
    ids = schools["school_id"].to_numpy()
    s_unit = _unit_of(schools, units).set_axis(ids)
    s_public = (
        schools["public"].astype("boolean").fillna(True).to_numpy(bool)
        if "public" in schools
        else np.ones(len(schools), bool)
    )
    s_board = (
        schools["boarding"].astype("boolean").fillna(False).to_numpy(bool)
        if "boarding" in schools
        else np.zeros(len(schools), bool)
    )
    s_public, s_board = pd.Series(s_public, index=ids), pd.Series(s_board, index=ids)
    fac = pd.DataFrame(
        {
            "stage": fac_school["stage"],
            "ref": fac_school["school_id"],
            "kind": "existing",
            "x": geom.x.to_numpy(),
            "y": geom.y.to_numpy(),
            "unit_id": s_unit.loc[fac_school["school_id"]].to_numpy(),
            "public": s_public.loc[fac_school["school_id"]].to_numpy(bool),
            "boarding": s_board.loc[fac_school["school_id"]].to_numpy(bool),
        }
    )
    cap0 = capw.to_numpy(float)
    site_rows = []
    site_unit = None
    if sites is not None and len(sites):
        c = sites.geometry.representative_point()
        site_unit = _unit_of(sites, units).set_axis(sites["site_id"].to_numpy())
        for stage in STAGES:
            site_rows.append(
                pd.DataFrame(
                    {
                        "stage": stage,
                        "ref": sites["site_id"].to_numpy(),
                        "kind": "site",
                        "x": c.x.to_numpy(),
                        "y": c.y.to_numpy(),
                        "unit_id": site_unit.to_numpy(),
                        "public": True,
                        "boarding": False,
                    }
                )
            )
    if site_rows:
        fac = pd.concat([fac, *site_rows], ignore_index=True)
        cap0 = np.vstack([cap0, np.zeros((len(fac) - len(cap0), P))])
    fac.insert(0, "fac_id", np.arange(len(fac)))
    fac_index = {(r, s): i for i, (r, s) in enumerate(zip(fac["ref"], fac["stage"], strict=True))}

    # ---- options --------------------------------------------------------------------
    opts = []
    base = int(periods_a.min()) - 1
    cap_classes = {s: norms.class_cap(s) for s in STAGES}
    ex = schools.loc[
        (schools["status"] == "existing") & schools["public"].astype("boolean").fillna(True)
    ]
    for stage in STAGES:
        step = int(getattr(spec.expansion_step_classes, stage))
        lpp = float(getattr(spec.land_per_pupil, stage))
        for k in range(1, spec.max_expansion_steps + 1):
            add = k * step
            cls_stage = ex[f"classes_{stage}"].astype(float)
            teaches = cls_stage > 0
            seats_now = (
                ex["classes_primary"].astype(float) * cap_classes["primary"]
                + ex["classes_junior"].astype(float) * cap_classes["junior"]
            )
            seats_after = seats_now + add * cap_classes[stage]
            size_cap = ex["stage"].map(lambda t: norms.school_size_cap(t)).astype(float)
            land_ok = ex["land_area"].astype(float).fillna(0) >= seats_after * lpp
            ok = (teaches & (seats_after <= size_cap) & land_ok).to_numpy()
            e = ex.loc[ok]
            seats = add * cap_classes[stage]
            opts.append(
                pd.DataFrame(
                    {
                        "group": "school:" + e["school_id"].astype(str) + ":" + stage,
                        "kind": "expansion",
                        "ref": e["school_id"].to_numpy(),
                        "school_type": e["stage"].to_numpy(),
                        "classes_primary": add if stage == "primary" else 0,
                        "classes_junior": add if stage == "junior" else 0,
                        "seats_primary": seats if stage == "primary" else 0,
                        "seats_junior": seats if stage == "junior" else 0,
                        "cost": seats * spec.cost_per_seat_expansion,
                        "earliest_year": base + 1,
                    }
                )
            )
    if sites is not None and len(sites):
        site_stage = sites["stage"].fillna("any")
        land_cost = sites["land_cost"].astype(float).fillna(0.0)
        for stype in ("primary", "junior", "nine_year"):
            allowed = site_stage.map(lambda v, t=stype: t in SITE_TYPES.get(v, ())).to_numpy(bool)
            for classes in norms.standard_sizes(stype):
                if stype == "nine_year":
                    cp, cj = nine_year_split(
                        classes, (len(norms.grades("primary")), len(norms.grades("junior")))
                    )
                else:
                    cp, cj = (classes, 0) if stype == "primary" else (0, classes)
                sp_, sj = cp * cap_classes["primary"], cj * cap_classes["junior"]
                need_land = sp_ * spec.land_per_pupil.primary + sj * spec.land_per_pupil.junior
                ok = (
                    allowed
                    & (sites["land_area"].astype(float).to_numpy() >= need_land)
                    & (sp_ + sj <= norms.school_size_cap(stype))
                )
                s = sites.loc[ok]
                opts.append(
                    pd.DataFrame(
                        {
                            "group": "site:" + s["site_id"].astype(str),
                            "kind": "new",
                            "ref": s["site_id"].to_numpy(),
                            "school_type": stype,
                            "classes_primary": cp,
                            "classes_junior": cj,
                            "seats_primary": sp_,
                            "seats_junior": sj,
                            "cost": (sp_ + sj) * spec.cost_per_seat_new + land_cost[ok].to_numpy(),
                            "earliest_year": s["earliest_year"]
                            .astype("Float64")
                            .fillna(base + 1)
                            .astype(int)
                            .to_numpy(),
                        }
                    )
                )
    options = pd.concat(opts, ignore_index=True) if opts else pd.DataFrame(columns=OPTION_COLUMNS)
    options.insert(0, "opt_id", np.arange(len(options)))
    # unit of each option's school or site; boarding-capable = a new school on a site in a
    # unit the boarding rule covers (planned with dormitories)
    unit_of_ref = pd.concat(
        [s_unit, site_unit if site_unit is not None else pd.Series(dtype=object)]
    )
    unit_of_ref = unit_of_ref[~unit_of_ref.index.duplicated()]
    options["unit_id"] = options["ref"].map(unit_of_ref).to_numpy()
    kind_of_unit = units.set_index("unit_id")["kind"]
    covered = options["unit_id"].map(kind_of_unit).isin(spec.boarding_unit_kinds)
    options["boarding"] = (
        bool(spec.boarding_per_rural_town) & (options["kind"] == "new") & covered
    ).to_numpy(bool)
    boarding_units: list[str] = []
    if spec.boarding_per_rural_town:
        need = units.loc[units["kind"].isin(spec.boarding_unit_kinds), "unit_id"]
        last = int(periods_a.max())
        opening = (
            pd.to_numeric(schools["opening_year"], errors="coerce").to_numpy(float)
            if "opening_year" in schools
            else np.full(len(schools), np.nan)
        )
        open_by_last = np.isnan(opening) | (opening <= last)
        has = set(s_unit[s_board.to_numpy() & open_by_last].dropna())
        boarding_units = [u for u in need if u not in has]
    rows, cols, vals = [], [], []
    for stage in STAGES:
        seats = options[f"seats_{stage}"].to_numpy(float)
        has = seats > 0
        fidx = np.array([fac_index.get((r, stage), -1) for r in options.loc[has, "ref"]], dtype=int)
        good = fidx >= 0
        rows.append(fidx[good])
        cols.append(options.loc[has, "opt_id"].to_numpy()[good])
        vals.append(seats[has][good])
    adds = sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(len(fac), len(options)),
    )

    # ---- reach ----------------------------------------------------------------------
    if network is not None:
        dist = network_distances(
            network,
            points[["x", "y"]].to_numpy(float),
            fac[["x", "y"]].to_numpy(float),
            radius * spec.reach_factor,
            point_group=points["stage"].to_numpy(),
            fac_group=fac["stage"].to_numpy(),
        )
    else:
        dist = _straight_distances(points, fac, radius, spec)
    return SitingProblem(
        periods_a,
        points,
        demand,
        radius,
        fac,
        cap0,
        options,
        adds.tocsr(),
        dist,
        cell_geoms,
        units.crs,
        boarding_units,
    )


def _straight_distances(
    points: pd.DataFrame, fac: pd.DataFrame, radius: np.ndarray, spec: SitingSpec
) -> sp.csr_matrix:
    """Straight line × detour factor for the same-stage pairs within reach."""
    reach = radius * spec.reach_factor / spec.detour_factor  # straight-line limit
    dist_parts = []
    for stage in STAGES:
        pi = np.flatnonzero((points["stage"] == stage).to_numpy())
        fi = np.flatnonzero((fac["stage"] == stage).to_numpy())
        if len(pi) == 0 or len(fi) == 0:
            continue
        tp = cKDTree(points[["x", "y"]].to_numpy()[pi])
        tf = cKDTree(fac[["x", "y"]].to_numpy()[fi])
        m = tp.sparse_distance_matrix(
            tf, max_distance=float(reach[pi].max()), output_type="coo_matrix"
        )
        keep = m.data <= reach[pi][m.row]
        dist_parts.append(
            sp.coo_matrix(
                (m.data[keep] * spec.detour_factor + 1e-3, (pi[m.row[keep]], fi[m.col[keep]])),
                shape=(len(points), len(fac)),
            )
        )
    dist = sp.csr_matrix((len(points), len(fac)))
    for part in dist_parts:
        dist = dist + part.tocsr()
    dist.sort_indices()
    return dist


def _unit_of(gdf: gpd.GeoDataFrame, units: gpd.GeoDataFrame) -> pd.Series:
    """Unit of each row: its ``unit_id`` when given, else the unit holding its position."""
    given = (
        gdf["unit_id"].astype(object).reset_index(drop=True)
        if "unit_id" in gdf
        else pd.Series([None] * len(gdf), dtype=object)
    )
    miss = given.isna().to_numpy()
    if miss.any() and len(gdf):
        pts = gpd.GeoDataFrame(
            geometry=gdf.geometry.representative_point().to_numpy()[miss], crs=gdf.crs
        )
        hit = gpd.sjoin(pts, units[["unit_id", "geometry"]], predicate="within", how="left")
        hit = hit[~hit.index.duplicated()]
        given.iloc[np.flatnonzero(miss)] = hit["unit_id"].to_numpy()
    return given


def _node_xy(graph: nx.Graph) -> tuple[pd.Index, np.ndarray]:
    """The nodes of a graph and their coordinates, shape (nodes, 2)."""
    nodes = pd.Index(list(graph.nodes))
    xs = {k: v for k, v in graph.nodes(data="x") if v is not None}
    ys = {k: v for k, v in graph.nodes(data="y") if v is not None}
    if len(xs) < len(nodes) or len(ys) < len(nodes):
        raise ValueError("every network node needs coordinates 'x' and 'y' in the compute CRS")
    return nodes, np.column_stack([nodes.map(xs).to_numpy(float), nodes.map(ys).to_numpy(float)])


def snap_distances(graph: nx.Graph, xy: np.ndarray) -> np.ndarray:
    """Distance (m) from each point to the network node it is snapped to.

    The same snapping as :func:`network_distances`: the nearest node (``cKDTree``).

    Parameters
    ----------
    graph : networkx.Graph or networkx.DiGraph
        Node attributes ``x``, ``y`` (m, compute CRS).
    xy : ndarray
        Coordinates, shape (n, 2).

    Returns
    -------
    ndarray
        Shape (n,); infinite when the graph has no node.
    """
    xy = np.asarray(xy, float).reshape(-1, 2)
    if graph.number_of_nodes() == 0:
        return np.full(len(xy), np.inf)
    return cKDTree(_node_xy(graph)[1]).query(xy)[0]


def _graph_arrays(graph: nx.Graph) -> tuple[np.ndarray, sp.csr_matrix]:
    """Node coordinates and the weighted adjacency (shortest parallel edge) of a graph."""
    nodes, xy = _node_xy(graph)
    n = len(nodes)
    e = list(graph.edges(data="length", default=np.nan))
    if not e:
        return xy, sp.csr_matrix((n, n))
    ends = np.array([(a, b) for a, b, _ in e], dtype=object)
    u = nodes.get_indexer(ends[:, 0])
    v = nodes.get_indexer(ends[:, 1])
    w = np.array([c for _, _, c in e], dtype=float)
    w = np.where(np.isfinite(w), w, np.hypot(*(xy[u] - xy[v]).T))
    if not graph.is_directed():
        u, v, w = np.concatenate([u, v]), np.concatenate([v, u]), np.concatenate([w, w])
    keep = u != v
    u, v, w = u[keep], v[keep], w[keep]
    # keep the shortest of parallel edges (a sparse constructor would add them up)
    order = np.lexsort((w, v, u))
    u, v, w = u[order], v[order], w[order]
    first = np.ones(len(u), bool)
    first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
    # a tiny floor keeps zero-length edges as edges (csgraph drops explicit zeros)
    return xy, sp.csr_matrix((np.maximum(w[first], 1e-6), (u[first], v[first])), shape=(n, n))


def network_distances(
    graph: nx.Graph,
    point_xy: np.ndarray,
    fac_xy: np.ndarray,
    limit: np.ndarray,
    *,
    point_group: np.ndarray | None = None,
    fac_group: np.ndarray | None = None,
    chunk_cells: int = 20_000_000,
) -> sp.csr_matrix:
    """Road distances of every point–facility pair within reach on a network.

    Points and facilities are snapped to their nearest network node (``cKDTree``); the
    distance of a pair is snap(point) + shortest path + snap(facility), computed with
    :func:`scipy.sparse.csgraph.dijkstra` from the facilities' nodes (on the reversed
    graph, so that one-way streets count in the pupil's direction), cut off at the
    largest limit. Facilities are processed in chunks so that memory stays near
    ``chunk_cells`` floats.

    Parameters
    ----------
    graph : networkx.Graph or networkx.DiGraph
        Node attributes ``x``, ``y`` (m, compute CRS); edge attribute ``length`` (m).
    point_xy, fac_xy : ndarray
        Coordinates, shapes (points, 2) and (facilities, 2).
    limit : ndarray
        Longest road distance each point may travel (m), shape (points,).
    point_group, fac_group : ndarray, optional
        Labels (the stage): only pairs with equal labels are kept.
    chunk_cells : int
        Size of the dense block computed at once.

    Returns
    -------
    scipy.sparse.csr_matrix
        Distances (m, + 1 mm so that none is zero) of the pairs within ``limit``,
        shape (points, facilities).
    """
    n_p, n_f = len(point_xy), len(fac_xy)
    limit = np.asarray(limit, float)
    if n_p == 0 or n_f == 0 or graph.number_of_nodes() == 0:
        return sp.csr_matrix((n_p, n_f))
    xy, adj = _graph_arrays(graph)
    tree = cKDTree(xy)
    snap_p, node_p = tree.query(point_xy)
    snap_f, node_f = tree.query(fac_xy)
    rev = adj.T.tocsr() if graph.is_directed() else adj
    if point_group is None or fac_group is None:
        gp, gf = np.zeros(n_p, int), np.zeros(n_f, int)
    else:
        codes = pd.factorize(np.concatenate([point_group, fac_group]))[0]
        gp, gf = codes[:n_p], codes[n_p:]
    size = max(1, int(chunk_cells // max(len(xy), n_p)))
    rows, cols, vals = [], [], []
    cutoff = float(limit.max())
    for start in range(0, n_f, size):  # one Dijkstra batch per chunk of facilities
        fs = np.arange(start, min(start + size, n_f))
        d = dijkstra(rev, directed=True, indices=node_f[fs], limit=cutoff)[:, node_p]
        total = d + snap_p[None, :] + snap_f[fs][:, None]
        ok = (total <= limit[None, :]) & (gf[fs][:, None] == gp[None, :])
        fi, pi = np.nonzero(ok)
        rows.append(pi)
        cols.append(fs[fi])
        vals.append(total[fi, pi] + 1e-3)
    out = sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n_p, n_f)
    )
    out.sort_indices()
    return out


#: objective weight of one unserved seat in one period, in 万元 (far above any seat's cost)
UNSERVED_WEIGHT = 1000.0
#: travel weight in 万元 per seat-km (small: breaks ties between plans of equal cost)
TRAVEL_WEIGHT = 0.001
#: extra weight in 万元 per seat-km travelled beyond the norm's service radius
BEYOND_RADIUS_WEIGHT = 0.05
#: weight in 万元 of a unit left without the boarding school the rule asks for (worth
#: 10,000 unserved seat-periods: the rule yields only where it cannot be met)
BOARDING_WEIGHT = 1e7


def to_instance(
    problem: SitingProblem,
    *,
    budget: float | None,
    discount_rate: float,
    base_year: int,
    single_sourcing: bool,
    closest_assignment: bool,
) -> SitingInstance:
    """The engine's instance of a scenario's siting problem (the GeoDataFrame adapter).

    Objective in 万元 (10,000 yuan), near-lexicographic: an unserved seat in a period costs
    :data:`UNSERVED_WEIGHT`, far above any seat's cost; then the project costs discounted
    at ``discount_rate`` to ``base_year`` and charged in the opening year; then travel,
    :data:`TRAVEL_WEIGHT` per seat-km and :data:`BEYOND_RADIUS_WEIGHT` per seat-km beyond
    the norm's service radius; a unit of the boarding rule left without a boarding school
    costs :data:`BOARDING_WEIGHT`.

    Parameters
    ----------
    problem : SitingProblem
        From :func:`build_problem`.
    budget : float or None
        Total undiscounted cost limit (yuan).
    discount_rate : float
        Yearly discount rate of the project costs.
    base_year : int
        Year the costs are discounted to.
    single_sourcing, closest_assignment : bool
        The scenario's assignment rules.

    Returns
    -------
    SitingInstance
    """
    pb = problem
    years = np.asarray(pb.periods, dtype=np.int64)
    dist = pb.dist.tocsr()
    dist.sort_indices()
    rows = np.repeat(np.arange(dist.shape[0]), np.diff(dist.indptr))
    beyond = np.maximum(dist.data - pb.radius[rows], 0.0)
    unit_cost = TRAVEL_WEIGHT * dist.data / 1000.0 + BEYOND_RADIUS_WEIGHT * beyond / 1000.0
    cost = sp.csr_matrix((unit_cost, dist.indices, dist.indptr), shape=dist.shape)
    opt = pb.options
    O = len(opt)
    yuan = opt["cost"].to_numpy(float) if O else np.zeros(0)
    disc = (1.0 + discount_rate) ** -(years - int(base_year)).astype(float)
    objective = yuan[:, None] * disc[None, :] / 1e4
    earliest_year = opt["earliest_year"].to_numpy(np.int64) if O else np.zeros(0, np.int64)
    earliest = np.searchsorted(years, earliest_year, side="left")  # P: never within the plan
    group = pd.factorize(opt["group"])[0] if O else np.zeros(0, np.int64)
    cover = None
    if pb.boarding_units:
        capable = opt["boarding"].to_numpy(bool)
        u_of = pd.Index(pb.boarding_units).get_indexer(opt["unit_id"].to_numpy(object))
        m = capable & (u_of >= 0)
        cover = sp.csr_matrix(
            (np.ones(int(m.sum())), (u_of[m], np.flatnonzero(m))),
            shape=(len(pb.boarding_units), O),
        )
    fac = pb.facilities
    public = fac["public"].to_numpy(bool) if "public" in fac else np.ones(len(fac), bool)
    return SitingInstance(
        cost,
        np.asarray(pb.demand, float),
        capacity=np.asarray(pb.cap0, float),
        option_group=group,
        option_adds=pb.adds.tocsc(),
        option_cost=yuan,
        option_objective=objective,
        option_earliest=earliest,
        budget=budget,
        single_source=single_sourcing,
        unserved_penalty=UNSERVED_WEIGHT,
        distance=dist,
        public=public,
        closest=closest_assignment,
        cover=cover,
        cover_penalty=None if cover is None else np.full(cover.shape[0], BOARDING_WEIGHT),
        periods=years,
        client_names=pb.points["point_id"].astype(str).to_numpy(),
        facility_names=(fac["ref"].astype(str) + "/" + fac["stage"].astype(str)).to_numpy(),
        group_names=pd.factorize(opt["group"])[1].to_numpy() if O else None,
        cover_names=np.asarray(pb.boarding_units, dtype=object) if cover is not None else None,
    )
