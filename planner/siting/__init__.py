"""School siting (学校布局优化).

- :mod:`planner.siting.problem` — the instance builder (demand grid, facilities,
  expansion and new-school options, sparse reach);
- :mod:`planner.siting.plan` — the phased MILP on HiGHS (build → solve → extract);
- :mod:`planner.siting.schools` — :func:`~planner.siting.schools.site_schools`, the
  step of ``planner run``.
"""
