"""School siting (学校布局优化).

- :mod:`planner.siting.problem` — the instance builder (demand grid, facilities,
  expansion and new-school options, sparse reach);
- :mod:`planner.siting.plan` — the phased MILP on HiGHS (build → solve → extract);
- :mod:`planner.siting.schools` — :func:`~planner.siting.schools.site_schools`, the
  step of ``planner run``;
- :mod:`planner.siting.instance` — :class:`SitingInstance`, the solver core's
  cost-matrix instance (p-median, fixed charge, capacitated, single sourcing) with a
  feasibility check before solving;
- :mod:`planner.siting.model` — the solver core on HiGHS: :func:`build_model` (radius
  or assignment formulation), :func:`solve_model`, :func:`extract`, :func:`solve`;
- :mod:`planner.siting.heuristic` — greedy + interchange warm start;
- :mod:`planner.siting.synthetic` — city-scale synthetic instances for benchmarks;
- :mod:`planner.siting.warm` — LP-rounding start and LP bound for the phased model.
"""

from planner.siting.heuristic import HeuristicResult, greedy_interchange
from planner.siting.instance import SitingInstance
from planner.siting.model import (
    FORMULATIONS,
    BuiltModel,
    SitingSolution,
    build_model,
    extract,
    plan_cost,
    solve,
    solve_model,
)
from planner.siting.synthetic import CityLayout, city_instance, city_layout

__all__ = [
    "FORMULATIONS",
    "BuiltModel",
    "CityLayout",
    "HeuristicResult",
    "SitingInstance",
    "SitingSolution",
    "build_model",
    "city_instance",
    "city_layout",
    "extract",
    "greedy_interchange",
    "plan_cost",
    "solve",
    "solve_model",
]
