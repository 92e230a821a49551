"""planner: seat-demand forecasting and school siting for education bureaus (义务教育学位规划)."""

__version__ = "0.1.0"
