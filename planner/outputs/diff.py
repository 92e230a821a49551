"""Compare two scenarios' results (情景比较): what changes in seats, gaps, projects and cost.

Pure: takes the result tables of two runs (as read by :func:`planner.outputs.compare.read_run`)
and returns difference tables.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

__all__ = ["compare_runs"]

_CITY_COLS = ["norm_seats", "required_seats", "capacity", "seat_gap", "surplus"]


def compare_runs(
    a: Mapping[str, pd.DataFrame],
    b: Mapping[str, pd.DataFrame],
    names: tuple[str, str] = ("A", "B"),
) -> dict[str, pd.DataFrame]:
    """Difference tables between two runs.

    Parameters
    ----------
    a, b : mapping of table name → DataFrame
        At least ``needs_city`` and ``needs``; ``projects`` and ``unserved`` (siting) when
        present.
    names : (str, str)
        The two scenarios' names (columns are labelled A and B; names go in ``scenarios``).

    Returns
    -------
    dict
        ``city``: per stage × year, each measure in A, in B and B − A;
        ``units``: per unit × stage × year, seat gap in A, in B and B − A (changed rows
        only); ``projects``: project count, seats, cost and the seats still unserved in
        the last plan period per stage, for A, B and B − A, when both runs have a siting
        plan (``unserved`` table optional).
    """
    na, nb = "A", "B"
    keys = ["stage", "year"]
    ca = a["needs_city"].set_index(keys)[_CITY_COLS]
    cb = b["needs_city"].set_index(keys)[_CITY_COLS]
    city = pd.concat({na: ca, nb: cb}, axis=1)
    for c in _CITY_COLS:
        city[("B − A", c)] = city[(nb, c)] - city[(na, c)]
    city.columns = [f"{c} ({s})" for s, c in city.columns]
    ukeys = ["unit_id", "stage", "year"]
    ua = a["needs"].set_index(ukeys)[["name", "seat_gap", "required_seats", "capacity"]]
    ub = b["needs"].set_index(ukeys)[["seat_gap", "required_seats", "capacity"]]
    units = ua.merge(
        ub, left_index=True, right_index=True, how="outer", suffixes=(f" ({na})", f" ({nb})")
    )
    units["seat_gap (B − A)"] = units[f"seat_gap ({nb})"] - units[f"seat_gap ({na})"]
    units = units.loc[
        (units["seat_gap (B − A)"] != 0)
        | (units[f"required_seats ({nb})"] != units[f"required_seats ({na})"])
    ]
    out = {
        "scenarios": pd.DataFrame({"label": [na, nb], "scenario": list(names)}),
        "city": city.reset_index(),
        "units": units.reset_index(),
    }
    if "projects" in a and "projects" in b:
        rows = []
        for label, run in ((na, a), (nb, b)):
            t = run["projects"]
            rows.append(
                {
                    "scenario": label,
                    "projects": len(t),
                    "seats": int(t["seats"].sum()) if "seats" in t else 0,
                    "cost": float(t["cost"].sum()) if "cost" in t else 0.0,
                    **_unserved(run.get("unserved")),
                }
            )
        projects = pd.DataFrame(rows).set_index("scenario")
        projects.loc["B − A"] = projects.loc[nb] - projects.loc[na]
        out["projects"] = projects.reset_index()
    return out


def _unserved(t: pd.DataFrame | None) -> dict[str, float]:
    """Unserved seats of a siting result in its last period, per stage (未满足学位).

    Zero when the run has no unserved demand (an empty or absent ``unserved`` table).
    """
    row = {"unserved_primary": 0.0, "unserved_junior": 0.0}
    if t is None or t.empty:
        return row
    last = t.loc[t["year"] == t["year"].max()]
    for stage, v in last.groupby("stage")["seats"].sum().items():
        row[f"unserved_{stage}"] = round(float(v), 1)
    return row
