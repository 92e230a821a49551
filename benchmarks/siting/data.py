"""Readers of published facility-location benchmark files, by path (see the benchdata README).

Four formats, each read into a one-period :class:`planner.siting.SitingInstance`:

- ``pmed`` — OR-Library uncapacitated p-median (Beasley 1985): ``n m p``, then m edges
  ``i j cost``; cost = all-pairs shortest paths, the **last** line of a vertex pair counts;
- ``pmedcap`` — capacitated p-median of Osman & Christofides (1994): ``problem best``,
  ``n p Q``, n lines ``i x y demand``; floor of the Euclidean distance, unweighted
  objective, single sourcing;
- ``sjc`` — Lorena & Senne's São José dos Campos instances (2004): ``n p``, n lines
  ``x y capacity demand``; real Euclidean distance, unweighted, single sourcing;
- ``cap`` — OR-Library capacitated warehouse location (Beasley 1988): ``m n``, m lines
  ``capacity fixed_cost``, then per customer its demand and the m costs of serving **all**
  of it; split demand. In ``capa``/``capb``/``capc`` the capacity is the word
  ``capacity``: the caller gives the value (one of the published settings).

:func:`detect_format` tells the format from the file's first lines (the file name breaks
ties); :func:`read_instance` reads any of them; :class:`Optima` holds known optima from
``optima.csv`` files (``instance,capacity,optimum,source``), OR-Library ``*opt.txt``
tables and values written in the instance files themselves.

Malformed files raise :class:`BenchFileError` naming the file, the line and what is
wrong; the command-line scripts print it instead of a traceback.
"""

from __future__ import annotations

import csv
import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import shortest_path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from planner.siting import SitingInstance  # noqa: E402

#: the shipped benchmark data (override with PLANNER_BENCHDATA)
DATA = Path(os.environ.get("PLANNER_BENCHDATA", "/work/shared/benchdata")) / "siting"
#: published optima shipped with the scripts
OPTIMA_CSV = HERE / "optima.csv"
FORMATS = ("pmed", "pmedcap", "sjc", "cap")


class BenchFileError(ValueError):
    """A benchmark file (instance or optima table) that cannot be read as stated."""


# ----------------------------------------------------------------------------- detection


def _head(path: Path, lines: int = 3) -> list[list[str]]:
    """Tokens of the first ``lines`` non-blank lines (CRLF and tabs tolerated)."""
    out: list[list[str]] = []
    try:
        with open(path, encoding="ascii", errors="replace") as fh:
            for raw in fh:
                tok = raw.split()
                if tok:
                    out.append(tok)
                if len(out) == lines:
                    break
    except OSError as exc:
        raise BenchFileError(f"{path}: cannot read the file ({exc.strerror})") from None
    return out


def _is_num(tok: str) -> bool:
    try:
        float(tok)
    except ValueError:
        return False
    return True


def format_from_content(path: Path) -> str | None:
    """The format told by the shape of the first lines, or None when it is unclear.

    ``pmed``: 3 numbers, then edges of 3; ``pmedcap``: 2, then 3, then points of 4;
    ``sjc``: 2, then points of 4; ``cap``: 2, then warehouses of 2 (a number or the word
    ``capacity``, then a number).
    """
    head = _head(path)
    if len(head) < 2:
        return None
    shape = [len(t) for t in head]
    nums = [all(_is_num(x) for x in t) for t in head]
    if shape[0] == 3 and nums[0] and shape[1] == 3 and nums[1]:
        return "pmed"
    if shape[0] != 2 or not nums[0]:
        return None
    if shape[1] == 3 and nums[1] and (len(head) < 3 or shape[2] == 4):
        return "pmedcap"
    if shape[1] == 4 and nums[1]:
        return "sjc"
    if shape[1] == 2 and _is_num(head[1][1]) and (nums[1] or head[1][0].lower() == "capacity"):
        return "cap"
    return None


def format_from_name(path: Path) -> str | None:
    """The format told by the file name (``pmedcap*``, ``sjc*``, ``cap*``, ``pmed*``)."""
    stem = path.stem.lower()
    for fmt, prefix in (("pmedcap", "pmedcap"), ("sjc", "sjc"), ("cap", "cap"), ("pmed", "pmed")):
        if stem.startswith(prefix):
            return fmt
    return None


def detect_format(path: Path) -> str:
    """The format of an instance file: from its content, else from its name.

    Raises
    ------
    BenchFileError
        When neither tells it (pass ``--format``).
    """
    path = Path(path)
    fmt = format_from_content(path) or format_from_name(path)
    if fmt is None:
        raise BenchFileError(
            f"{path}: cannot tell the format from the first lines or the name; pass "
            f"--format {'|'.join(FORMATS)}"
        )
    return fmt


# ----------------------------------------------------------------------------- readers


def _numbers(path: Path, text: str | None = None) -> np.ndarray:
    text = path.read_text(encoding="ascii", errors="replace") if text is None else text
    tok = text.replace(",", " ").split()
    try:
        return np.array(tok, dtype=float)
    except ValueError:
        bad = next(t for t in tok if not _is_num(t))
        raise BenchFileError(f"{path}: '{bad}' is not a number") from None


def _need(path: Path, have: int, need: int, what: str) -> None:
    if have < need:
        raise BenchFileError(
            f"{path}: the file ends early: {what} need {need} numbers, found {have}"
        )


def _header_int(path: Path, value: float, name: str, line: int) -> int:
    if not (math.isfinite(value) and value == int(value) and value >= 0):
        raise BenchFileError(
            f"{path}: line {line}: {name} must be a whole number ≥ 0, got {value:g}"
        )
    return int(value)


def read_pmed(path: Path) -> tuple[SitingInstance, int]:
    """OR-Library p-median: all-pairs shortest paths; the LAST line of a duplicate edge counts.

    Returns the instance (every vertex a client of weight 1 and a candidate) and n.
    """
    path = Path(path)
    tok = _numbers(path)
    _need(path, len(tok), 3, "the header 'n m p'")
    n, n_edge, p = (_header_int(path, t, k, 1) for t, k in zip(tok[:3], "nmp", strict=True))
    _need(path, len(tok) - 3, 3 * n_edge, f"{n_edge} edges 'i j cost'")
    e = tok[3 : 3 + 3 * n_edge].reshape(n_edge, 3)
    a = e[:, 0].astype(np.int64) - 1
    b = e[:, 1].astype(np.int64) - 1
    out = np.flatnonzero((a < 0) | (a >= n) | (b < 0) | (b >= n))
    if len(out):
        k = int(out[0])
        raise BenchFileError(
            f"{path}: line {k + 2}: vertex {int(e[k, 0])} or {int(e[k, 1])} outside 1..{n}"
        )
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    key = lo * n + hi
    # last occurrence of every vertex pair: first occurrence in the reversed list
    _, idx_rev = np.unique(key[::-1], return_index=True)
    last = n_edge - 1 - idx_rev
    g = sp.csr_matrix((e[last, 2], (lo[last], hi[last])), shape=(n, n))
    dist = shortest_path(g, method="D", directed=False)
    inst = SitingInstance.from_cost_matrix(dist, np.ones(n), p=p)
    return inst, n


def read_pmedcap(path: Path) -> tuple[SitingInstance, float]:
    """Osman–Christofides: floor of Euclidean distance, unweighted, single sourcing.

    Returns the instance and the optimum written on line 1 (``problem best``).
    """
    path = Path(path)
    tok = _numbers(path)
    _need(path, len(tok), 5, "the header lines 'problem best' and 'n p Q'")
    best = float(tok[1])
    n = _header_int(path, tok[2], "n", 2)
    p = _header_int(path, tok[3], "p", 2)
    q = float(tok[4])
    _need(path, len(tok) - 5, 4 * n, f"{n} points 'i x y demand'")
    pts = tok[5 : 5 + 4 * n].reshape(n, 4)
    xy, dem = pts[:, 1:3], pts[:, 3]
    d = np.floor(np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1)))
    inst = SitingInstance.from_cost_matrix(
        d, dem, p=p, capacity=q, single_source=True, weight=np.ones(n)
    )
    return inst, best


def read_sjc(path: Path) -> SitingInstance:
    """Lorena–Senne SJC: real Euclidean distance (metres), unweighted, single sourcing."""
    path = Path(path)
    tok = _numbers(path)
    _need(path, len(tok), 2, "the header 'n p'")
    n = _header_int(path, tok[0], "n", 1)
    p = _header_int(path, tok[1], "p", 1)
    _need(path, len(tok) - 2, 4 * n, f"{n} points 'x y capacity demand'")
    rec = tok[2 : 2 + 4 * n].reshape(n, 4)
    xy, cap, dem = rec[:, :2], rec[:, 2], rec[:, 3]
    d = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1))
    return SitingInstance.from_cost_matrix(
        d, dem, p=p, capacity=cap, single_source=True, weight=np.ones(n)
    )


def cap_needs_capacity(path: Path) -> bool:
    """True when the warehouse capacities of a ``cap`` file are the word ``capacity``."""
    head = _head(Path(path), 2)
    return len(head) == 2 and head[1][0].lower() == "capacity"


def read_cap(path: Path, capacity: float | None = None) -> SitingInstance:
    """OR-Library CFLP: per customer its demand, then m costs of serving ALL its demand.

    Split demand; objective weight 1 per customer, so a share x_ij costs x_ij · c_ij.
    ``capacity`` replaces the word 'capacity' of capa/capb/capc (required there, and
    refused for files with numeric capacities).
    """
    path = Path(path)
    text = path.read_text(encoding="ascii", errors="replace")
    tok = text.split()
    _need(path, len(tok), 2, "the header 'm n'")
    m = _header_int(path, _numbers(path, " ".join(tok[:1]))[0], "m", 1)
    n = _header_int(path, _numbers(path, " ".join(tok[1:2]))[0], "n", 1)
    _need(path, len(tok) - 2, 2 * m, f"{m} warehouses 'capacity fixed_cost'")
    head = tok[2 : 2 + 2 * m]
    caps = head[0::2]
    word = [c.lower() == "capacity" for c in caps]
    if any(word):
        if not all(word):
            raise BenchFileError(f"{path}: some capacities are the word 'capacity', some numbers")
        if capacity is None:
            raise BenchFileError(
                f"{path}: the capacities are the word 'capacity'; give the value (--capacity Q)"
            )
        if not (math.isfinite(capacity) and capacity > 0):
            raise BenchFileError(f"{path}: capacity must be a positive number, got {capacity}")
        cap = np.full(m, float(capacity))
    else:
        if capacity is not None:
            raise BenchFileError(
                f"{path}: the file gives numeric capacities; --capacity applies only to files "
                "whose capacities are the word 'capacity' (capa, capb, capc)"
            )
        cap = _numbers(path, " ".join(caps))
    fixed = _numbers(path, " ".join(head[1::2]))
    body = _numbers(path, " ".join(tok[2 + 2 * m :]))
    _need(path, len(body), n * (m + 1), f"{n} customers 'demand' + {m} costs")
    body = body[: n * (m + 1)].reshape(n, m + 1)
    dem, cost = body[:, 0], body[:, 1:]
    return SitingInstance.from_cost_matrix(
        cost, dem, capacity=cap, fixed_cost=fixed, weight=np.ones(n)
    )


def read_instance(
    path: Path, fmt: str | None = None, capacity: float | None = None
) -> tuple[SitingInstance, float | None]:
    """Read any instance file; returns the instance and the optimum the file states.

    Only pmedcap files state their optimum (line 1); the others give None.
    """
    path = Path(path)
    fmt = fmt or detect_format(path)
    if fmt not in FORMATS:
        raise BenchFileError(f"unknown format '{fmt}'; choose one of {', '.join(FORMATS)}")
    if fmt != "cap" and capacity is not None:
        raise BenchFileError(f"{path}: --capacity applies to cap files only (format {fmt})")
    try:
        if fmt == "pmed":
            return read_pmed(path)[0], None
        if fmt == "pmedcap":
            return read_pmedcap(path)
        if fmt == "sjc":
            return read_sjc(path), None
        return read_cap(path, capacity), None
    except OSError as exc:
        raise BenchFileError(f"{path}: cannot read the file ({exc.strerror})") from None


# ----------------------------------------------------------------------------- optima


@dataclass(frozen=True)
class Known:
    """A known optimum and where it comes from."""

    value: float
    source: str


def _cap_key(capacity: float | None) -> float | None:
    return None if capacity is None else float(capacity)


class Optima:
    """Known optima by (instance name, capacity); later additions override earlier ones.

    The instance name is the file's stem, compared case-insensitively; the capacity is
    None except for capa/capb/capc (one optimum per published capacity setting).
    """

    def __init__(self) -> None:
        self._known: dict[tuple[str, float | None], Known] = {}

    def add(self, instance: str, capacity: float | None, value: float, source: str) -> None:
        """Record one optimum."""
        self._known[(instance.lower(), _cap_key(capacity))] = Known(float(value), source)

    def get(self, instance: str, capacity: float | None = None) -> Known | None:
        """The optimum of an instance (at a capacity setting), or None."""
        return self._known.get((instance.lower(), _cap_key(capacity)))

    def capacities(self, instance: str) -> list[float]:
        """The capacity settings with a known optimum, ascending."""
        name = instance.lower()
        return sorted(c for (i, c) in self._known if i == name and c is not None)

    def __len__(self) -> int:
        return len(self._known)

    def read(self, path: Path) -> Optima:
        """Add the optima of a CSV (``instance,capacity,optimum,source``) or an ``*opt.txt``.

        ``*opt.txt`` is OR-Library's two-column table (a title line, then ``name value``).
        """
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise BenchFileError(f"{path}: cannot read the optima file ({exc.strerror})") from None
        lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
        if lines and "," in lines[0]:
            self._read_csv(path, text)
        else:
            self._read_table(path, text)
        return self

    def _read_csv(self, path: Path, text: str) -> None:
        rows = csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))
        need = {"instance", "capacity", "optimum", "source"}
        have = set(rows.fieldnames or ())
        if not need <= have:
            raise BenchFileError(
                f"{path}: an optima CSV needs the columns {', '.join(sorted(need))}; missing "
                f"{', '.join(sorted(need - have))}"
            )
        for k, r in enumerate(rows, start=2):
            name = (r["instance"] or "").strip()
            cap = (r["capacity"] or "").strip()
            val = (r["optimum"] or "").strip()
            if not name or not _is_num(val) or (cap and not _is_num(cap)):
                raise BenchFileError(
                    f"{path}: row {k}: needs an instance name, a numeric optimum and an "
                    f"empty or numeric capacity (got {name!r}, {val!r}, {cap!r})"
                )
            self.add(name, float(cap) if cap else None, float(val), (r["source"] or "").strip())

    def _read_table(self, path: Path, text: str) -> None:
        for k, line in enumerate(text.splitlines(), start=1):
            parts = line.split()
            if len(parts) == 2 and _is_num(parts[1]) and not _is_num(parts[0]):
                self.add(parts[0], None, float(parts[1]), f"{path.name}")
            elif parts and k > 1:
                raise BenchFileError(f"{path}: line {k}: expected 'name value', got {line!r}")


def default_optima() -> Optima:
    """The shipped optima (``optima.csv``) plus OR-Library's ``pmedopt.txt`` when present."""
    opt = Optima().read(OPTIMA_CSV)
    pmedopt = DATA / "orlib_pmed" / "pmedopt.txt"
    if pmedopt.exists():
        opt.read(pmedopt)
    return opt


def parse_optimum(text: str) -> float:
    """``--optimum X``: a finite number (``1e6``, ``1,040,444.375`` and ``_`` allowed)."""
    clean = text.strip().replace(",", "").replace("_", "")
    try:
        value = float(clean)
    except ValueError:
        raise BenchFileError(f"--optimum: '{text}' is not a number") from None
    if not math.isfinite(value):
        raise BenchFileError(f"--optimum: '{text}' is not a finite number")
    return value
