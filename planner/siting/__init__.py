"""School siting (学校布局优化): one engine from a p-median to the phased school plan.

- :mod:`planner.siting.instance` — :class:`SitingInstance`, the cost-matrix core
  (clients, facilities, projects, periods) with its feasibility check;
- :mod:`planner.siting.problem` — the GeoDataFrame adapter: a scenario's demand grid,
  schools, sites and options, and :func:`~planner.siting.problem.to_instance`;
- :mod:`planner.siting.build` — the MILP, one function per named constraint block;
- :mod:`planner.siting.heuristic` — the construction heuristic (greedy add, fit, drop,
  interchange);
- :mod:`planner.siting.lagrange` — the Lagrangian bound (knapsacks per facility);
- :mod:`planner.siting.transport` — plans, exact and greedy assignment, plan costs;
- :mod:`planner.siting.relax` — the LP relaxation by column generation, and rounding;
- :mod:`planner.siting.solve` — :func:`solve`, the one entry: heuristic → bound → exact
  → polish under work limits (:class:`SolveLimits`);
- :mod:`planner.siting.polish` — polishing windows (large-neighbourhood search);
- :mod:`planner.siting.extract` — :class:`SitingSolution`, status and proven gap;
- :mod:`planner.siting.radius`, :mod:`planner.siting.reduce`,
  :mod:`planner.siting.interchange`, :mod:`planner.siting.columns` — the p-median
  strategy of :func:`solve` (uncapacitated one-period instances);
- :mod:`planner.siting.schools` — :func:`~planner.siting.schools.site_schools`, the step
  of ``planner run``;
- :mod:`planner.siting.synthetic` — city-scale synthetic instances for benchmarks.
"""

from planner.errors import InfeasibleError
from planner.siting.extract import SitingSolution
from planner.siting.heuristic import HeuristicLimits
from planner.siting.instance import SitingInstance
from planner.siting.solve import STRATEGIES, Progress, SolveLimits, solve, strategy_for

__all__ = [
    "STRATEGIES",
    "HeuristicLimits",
    "InfeasibleError",
    "Progress",
    "SitingInstance",
    "SitingSolution",
    "SolveLimits",
    "solve",
    "strategy_for",
]
