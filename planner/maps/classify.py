"""One classed colour scale for every seat-gap layer (分级设色).

Every layer of a map (each stage and year, before and after the plan) — and both sides
of a comparison map — is coloured on the same classes, so that a colour means the same
number of seats everywhere. Gaps and surpluses are classed separately (a diverging
scale around "balanced"), each by Fisher–Jenks natural breaks (``mapclassify``) on the
pooled values, with the class limits rounded to readable numbers.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable

import mapclassify
import numpy as np
import pandas as pd

__all__ = ["GapScale", "gap_scale", "nice_ceil", "scale_for"]

#: reds for seat gaps (light → dark), blues for surpluses (light → dark)
GAP_COLORS = ("#fee5d9", "#fcae91", "#fb6a4a", "#de2d26", "#a50f15")
SURPLUS_COLORS = ("#c6dbef", "#6baed6", "#2171b5")
ZERO_COLOR = "#f7f7f7"
NODATA_COLOR = "#cccccc"
#: above this many distinct values Fisher–Jenks (quadratic) gives way to quantiles
JENKS_MAX = 3000


def nice_ceil(x: float) -> int:
    """``x`` rounded up to two significant digits (1,234 → 1,300; 87 → 87; 0.4 → 1)."""
    if x <= 1:
        return 1
    step = 10 ** max(math.floor(math.log10(x)) - 1, 0)
    return int(math.ceil(x / step - 1e-9) * step)


def _upper_bounds(values: np.ndarray, k: int) -> list[int]:
    """Rounded class upper bounds of positive values (last one ≥ the maximum)."""
    v = np.unique(np.round(values[np.isfinite(values) & (values > 0)]))
    if not len(v):
        return [1]
    if len(v) <= k:
        bins = v
    elif len(v) <= JENKS_MAX:
        with warnings.catch_warnings():  # "Numba not installed": the pure version is fine here
            warnings.simplefilter("ignore", UserWarning)
            bins = mapclassify.FisherJenks(v, k=k).bins
    else:
        bins = mapclassify.Quantiles(v, k=k).bins
    out: list[int] = []
    for b in bins:
        n = nice_ceil(float(b))
        if not out or n > out[-1]:
            out.append(n)
    return out


class GapScale(dict):
    """The classes of a seat-gap scale, as the map page reads them (a JSON-able dict).

    Keys: ``gap`` (upper bounds of the gap classes, seats), ``sur`` (upper bounds of the
    surplus classes), ``gapColors``, ``surColors``, ``zero`` and ``nodata`` colours.
    """

    def class_of(self, net: float) -> str:
        """The class of a net gap (gap − surplus): ``g0…``, ``s0…``, ``z`` or ``nodata``."""
        if net is None or not np.isfinite(net):
            return "nodata"
        if net > 0:
            for i, ub in enumerate(self["gap"]):
                if net <= ub:
                    return f"g{i}"
            return f"g{len(self['gap']) - 1}"
        if net < 0:
            for i, ub in enumerate(self["sur"]):
                if -net <= ub:
                    return f"s{i}"
            return f"s{len(self['sur']) - 1}"
        return "z"


def gap_scale(nets: Iterable[float], *, k_gap: int = 5, k_surplus: int = 3) -> GapScale:
    """The shared classed scale of net seat gaps (gap − surplus; positive = seats missing).

    Parameters
    ----------
    nets : iterable of float
        Every value the map will show (all stages, years, before and after the plan;
        for a comparison map both runs').
    k_gap, k_surplus : int
        Number of gap and surplus classes (at most ``len(GAP_COLORS)`` and
        ``len(SURPLUS_COLORS)``).

    Returns
    -------
    GapScale
    """
    v = np.asarray(list(nets), dtype=float)
    v = v[np.isfinite(v)]
    gap = _upper_bounds(v, min(k_gap, len(GAP_COLORS)))
    sur = _upper_bounds(-v, min(k_surplus, len(SURPLUS_COLORS)))
    # light to dark over the classes actually used
    gap_colors = [GAP_COLORS[round(i)] for i in np.linspace(0, len(GAP_COLORS) - 1, len(gap))]
    sur_colors = [
        SURPLUS_COLORS[round(i)] for i in np.linspace(0, len(SURPLUS_COLORS) - 1, len(sur))
    ]
    return GapScale(
        gap=gap,
        sur=sur,
        gapColors=gap_colors,
        surColors=sur_colors,
        zero=ZERO_COLOR,
        nodata=NODATA_COLOR,
    )


def net_gaps(needs: pd.DataFrame, projects: pd.DataFrame | None) -> np.ndarray:
    """Every net seat gap (gap − surplus) a run's map shows.

    Each unit, stage and year, before and, with a plan, after it
    (:func:`planner.gaps.gaps_after_plan`).
    """
    from planner.gaps import gaps_after_plan

    g = gaps_after_plan(needs, projects)
    nets = [(g["seat_gap"] - g["surplus"]).to_numpy(float)]
    if projects is not None and len(projects):
        nets.append((g["seat_gap_after"] - g["surplus_after"]).to_numpy(float))
    return np.concatenate(nets)


def scale_for(*runs: tuple[pd.DataFrame, pd.DataFrame | None]) -> GapScale:
    """The shared scale of one or more runs, each given as ``(needs, projects)``.

    One run: its web map and its GIS layers use it. Two runs: both sides of the
    comparison map use it, so a colour means the same seats on either side.
    """
    return gap_scale(np.concatenate([net_gaps(n, p) for n, p in runs]))
