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
- :mod:`planner.siting.heuristic` — greedy + interchange warm start.
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

__all__ = [
    "FORMULATIONS",
    "BuiltModel",
    "HeuristicResult",
    "SitingInstance",
    "SitingSolution",
    "build_model",
    "extract",
    "greedy_interchange",
    "plan_cost",
    "solve",
    "solve_model",
]
