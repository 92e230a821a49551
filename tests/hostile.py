"""Map test helpers: hostile names (each breaks a page that does not escape it) and a
small hand-made plan on the demo city (no solver)."""

from __future__ import annotations

import copy

import pandas as pd

from planner.maps import school_table

HOSTILE = [
    "<img src=x onerror=alert(1)>",
    "</script><script>alert(1)</script>",
    "${alert(1)}",
    "`-alert(1)-`",
    "{{7*7}}",
    "\\`+alert(1)+\\`",
    "'\"><svg onload=alert(1)>",
    "&lt;b&gt; &amp; &",
    "<!-- x",
]


def hostile_result(result, names=HOSTILE):
    """A shallow copy of ``result`` whose first schools, first unit and first site have
    hostile names."""
    r = copy.copy(result)
    r.inputs = copy.copy(result.inputs)
    r.inputs.tables = dict(result.inputs.tables)
    s = r.inputs.tables["schools"].copy()
    order = school_table(result)["school_id"].tolist()
    for i, name in enumerate(names):
        s.loc[s["school_id"] == order[i], "name"] = name
        s.loc[s["school_id"] == order[i], "address"] = name
    r.inputs.tables["schools"] = s
    u = r.inputs.tables["units"].copy()
    u.loc[u.index[0], "name"] = names[0]
    r.inputs.tables["units"] = u
    t = r.inputs.tables["sites"].copy()
    t.loc[t.index[0], "name"] = names[1]
    r.inputs.tables["sites"] = t
    return r


def with_plan(demo):
    """The demo with a small hand-made plan (no solver): two projects, unserved demand."""
    r = copy.copy(demo)
    r.tables = dict(demo.tables)
    r.layers = {}
    units = demo.inputs["units"].to_crs(4326)
    pt = units.geometry.representative_point()
    r.tables["projects"] = pd.DataFrame(
        {
            "ref": ["E001", "P001"],
            "kind": ["new", "expansion"],
            "name": ["新建一小", "东城一小"],
            "unit_id": [units["unit_id"].iloc[0], units["unit_id"].iloc[1]],
            "school_type": ["primary", "nine_year"],
            "classes_primary": [24, 6],
            "classes_junior": [0, 3],
            "seats_primary": [1080, 270],
            "seats_junior": [0, 150],
            "cost": [9e7, 2.1e7],
            "year": [2026, 2030],
            "seats": [1080, 420],
            "lon": [pt.iloc[0].x, pt.iloc[1].x],
            "lat": [pt.iloc[0].y, pt.iloc[1].y],
        }
    )
    r.tables["unserved"] = pd.DataFrame(
        {
            "unit_id": [units["unit_id"].iloc[2]] * 3,
            "stage": ["primary"] * 3,
            "year": [2030, 2030, 2035],
            "reason": ["capacity", "nothing within reach", "capacity"],
            "seats": [100.0, 50.0, 7.0],
        }
    )
    return r
