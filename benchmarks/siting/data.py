"""Readers of the published facility-location benchmark files (see the benchdata README).

- OR-Library p-median ``pmedN.txt`` (Beasley 1985): graph, shortest-path costs;
- OR-Library capacitated p-median ``pmedcapNN.txt`` (Osman & Christofides 1994);
- Lorena & Senne São José dos Campos ``SJC*.dat`` (2004);
- OR-Library capacitated warehouse location ``capNNN.txt`` / ``capa.txt`` (Beasley 1988).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import shortest_path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from planner.siting import SitingInstance  # noqa: E402

DATA = Path(os.environ.get("PLANNER_BENCHDATA", "/work/shared/benchdata")) / "siting"

#: proven optima of the OR-Library capacitated warehouse instances (benchdata README)
CAP_OPT = {
    "cap41": 1040444.375,
    "cap42": 1098000.450,
    "cap43": 1153000.450,
    "cap44": 1235500.450,
    "cap51": 1025208.225,
    "cap61": 932615.750,
    "cap62": 977799.400,
    "cap63": 1014062.050,
    "cap64": 1045650.250,
    "cap71": 932615.750,
    "cap72": 977799.400,
    "cap73": 1010641.450,
    "cap74": 1034976.975,
    "cap81": 838499.288,
    "cap82": 910889.563,
    "cap83": 975889.563,
    "cap84": 1069369.525,
    "cap91": 796648.438,
    "cap92": 855733.500,
    "cap93": 896617.538,
    "cap94": 946051.325,
    "cap101": 796648.437,
    "cap102": 854704.200,
    "cap103": 893782.112,
    "cap104": 928941.750,
}
#: capa: capacity set by the user → proven optimum
CAPA_OPT = {8000: 19240822.449, 10000: 18438046.543, 12000: 17765201.949, 14000: 17160439.012}
#: Lorena & Senne optima (benchdata README)
SJC_OPT = {"SJC1": 17288.99, "SJC2": 33270.94, "SJC3a": 45335.16}


def read_pmed(path: Path) -> tuple[SitingInstance, int]:
    """OR-Library p-median: all-pairs shortest paths; the LAST line of a duplicate edge counts.

    Returns the instance (every vertex a client of weight 1 and a candidate) and n.
    """
    tok = np.array(path.read_text().split(), dtype=float)
    n, n_edge, p = (int(t) for t in tok[:3])
    e = tok[3 : 3 + 3 * n_edge].reshape(n_edge, 3)
    a = e[:, 0].astype(int) - 1
    b = e[:, 1].astype(int) - 1
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    key = lo * n + hi
    # last occurrence of every vertex pair: first occurrence in the reversed list
    _, idx_rev = np.unique(key[::-1], return_index=True)
    last = n_edge - 1 - idx_rev
    g = sp.csr_matrix((e[last, 2], (lo[last], hi[last])), shape=(n, n))
    dist = shortest_path(g, method="D", directed=False)
    inst = SitingInstance.from_cost_matrix(dist, np.ones(n), p=p)
    return inst, n


def pmed_optima() -> dict[str, float]:
    """Known optima of pmed1–40 from ``pmedopt.txt``."""
    out = {}
    for line in (DATA / "orlib_pmed" / "pmedopt.txt").read_text().splitlines()[1:]:
        parts = line.split()
        if len(parts) == 2:
            out[parts[0]] = float(parts[1])
    return out


def read_pmedcap(path: Path) -> tuple[SitingInstance, float]:
    """Osman–Christofides: floor of Euclidean distance, unweighted, single sourcing."""
    lines = path.read_text().split("\n")
    best = float(lines[0].split()[1])
    n, p, q = (int(float(t)) for t in lines[1].split()[:3])
    pts = np.array([ln.split() for ln in lines[2 : 2 + n]], dtype=float)
    xy, dem = pts[:, 1:3], pts[:, 3]
    d = np.floor(np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1)))
    inst = SitingInstance.from_cost_matrix(
        d, dem, p=p, capacity=float(q), single_source=True, weight=np.ones(n)
    )
    return inst, best


def read_sjc(path: Path) -> SitingInstance:
    """Lorena–Senne SJC: real Euclidean distance (metres), unweighted, single sourcing."""
    tok = np.array(path.read_text().replace("\r", " ").split(), dtype=float)
    n, p = int(tok[0]), int(tok[1])
    rec = tok[2 : 2 + 4 * n].reshape(n, 4)
    xy, cap, dem = rec[:, :2], rec[:, 2], rec[:, 3]
    d = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1))
    return SitingInstance.from_cost_matrix(
        d, dem, p=p, capacity=cap, single_source=True, weight=np.ones(n)
    )


def read_cap(path: Path, capacity: float | None = None) -> SitingInstance:
    """OR-Library CFLP: per customer its demand, then m costs of serving ALL its demand.

    Split demand; objective weight 1 per customer, so a share x_ij costs x_ij · c_ij.
    ``capacity`` replaces the word 'capacity' of capa/capb/capc (required there).
    """
    tok = path.read_text().split()
    m, n = int(tok[0]), int(tok[1])
    head = tok[2 : 2 + 2 * m]
    caps = head[0::2]
    if any(c.lower() == "capacity" for c in caps):
        if capacity is None:
            raise ValueError(f"{path.name}: capacities are the word 'capacity'; pass capacity=")
        cap = np.full(m, float(capacity))
    else:
        cap = np.array(caps, dtype=float)
    fixed = np.array(head[1::2], dtype=float)
    body = np.array(tok[2 + 2 * m : 2 + 2 * m + n * (m + 1)], dtype=float).reshape(n, m + 1)
    dem, cost = body[:, 0], body[:, 1:]
    return SitingInstance.from_cost_matrix(
        cost, dem, capacity=cap, fixed_cost=fixed, weight=np.ones(n)
    )
