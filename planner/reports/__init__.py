"""Reports for the plan draft (成果报告): charts and the HTML summary page."""

from planner.reports.charts import (
    demand_capacity_chart,
    gap_before_after_chart,
    gap_by_unit_chart,
)
from planner.reports.html import summary_page

__all__ = [
    "demand_capacity_chart",
    "gap_before_after_chart",
    "gap_by_unit_chart",
    "summary_page",
]
