"""Hostile names for the map tests: each breaks a page that does not escape it."""

from __future__ import annotations

import copy

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
