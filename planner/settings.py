"""The settings of one run, resolved once from the scenario (运行设置).

:func:`RunSettings.from_scenario` is called by :mod:`planner.api` (the entry); the
computation (:func:`planner.pipeline.compute`) and the steps below it take the settings
object or its numbers, never the scenario.

>>> from planner.scenario import scenario_from_dict
>>> sc = scenario_from_dict(
...     {"name": "x", "base_year": 2024, "horizon": 2026,
...      "inputs": {"units": {"path": "u.gpkg"}, "population": {"path": "p.csv"},
...                 "schools": {"path": "s.csv"}}})
>>> s = RunSettings.from_scenario(sc, time_limit_s=30)
>>> s.years, s.time_limit_s, s.milestone_years
([2024, 2025, 2026], 30.0, [2024])
"""

from __future__ import annotations

from dataclasses import dataclass

from planner.scenario import DemandSpec, Scenario, SitingSpec

__all__ = ["RunSettings"]


@dataclass(frozen=True)
class RunSettings:
    """What a run computes with, taken from the scenario once.

    Attributes
    ----------
    name : str
        The scenario's name.
    base_year, horizon : int
        The base year (last observed) and the last planning year.
    demand : DemandSpec
        The demand step's assumptions (``[demand]``).
    siting : SitingSpec
        The siting step's assumptions (``[siting]``).
    time_limit_s : float
        Safety cap in seconds on the siting solve (``--time-limit``, else the
        scenario's ``[siting] time_limit_s``).
    forecast_enabled : bool
        ``[forecast] enabled``.
    """

    name: str
    base_year: int
    horizon: int
    demand: DemandSpec
    siting: SitingSpec
    time_limit_s: float
    forecast_enabled: bool = True

    @classmethod
    def from_scenario(cls, scenario: Scenario, *, time_limit_s: float | None = None) -> RunSettings:
        """The settings of ``scenario``; ``time_limit_s`` None takes the scenario's."""
        return cls(
            name=scenario.name,
            base_year=int(scenario.base_year),
            horizon=int(scenario.horizon),
            demand=scenario.demand.model_copy(deep=True),
            siting=scenario.siting.model_copy(deep=True),
            time_limit_s=float(
                scenario.siting.time_limit_s if time_limit_s is None else time_limit_s
            ),
            forecast_enabled=bool(scenario.forecast.enabled),
        )

    @property
    def years(self) -> list[int]:
        """Planning years from the base year to the horizon, inclusive."""
        return list(range(self.base_year, self.horizon + 1))

    @property
    def milestone_years(self) -> list[int]:
        """The base year and the milestones (``[demand] milestones``) within the horizon."""
        ys = [self.base_year] + [self.base_year + m for m in self.demand.milestones]
        return [y for y in ys if y <= self.horizon]
