"""Forecasting building blocks (预测模块).

Baselines, entry and grade progression, cohort methods, time-series models, a
covariate model of small-area ratios, and the rolling-origin backtest. The scenario's
forecast — the method registry (:mod:`~planner.forecast.methods`), the nested choice
and conformal intervals (:mod:`~planner.forecast.select`) and the one entry
:func:`planner.forecast.pipeline.forecast_units` — is built from them.

Pure computation on long tables; nothing here reads files. Every forecaster follows
the scikit-learn estimator contract (keyword-only parameters, ``fit`` returns
``self``, fitted attributes end in ``_``, ``predict`` before ``fit`` raises
:class:`planner.errors.NotFittedError`).
"""

from planner.forecast.backtest import (
    add_intervals,
    backtest,
    coverage,
    empirical_intervals,
    score,
    truncate,
)
from planner.forecast.baselines import (
    ConstantRatio,
    Ensemble,
    LastValue,
    LinearTrend,
    lagged_driver,
)
from planner.forecast.cohort import CohortComponent, HamiltonPerry, regroup, residual_migration
from planner.forecast.covariates import RatioRegressor, age_structure_features, cohort_ratio
from planner.forecast.entry import BirthToEntry, GradeProgression, StockFlow
from planner.forecast.schedules import (
    WPP2024_CHINA_TFR,
    asfr_from_table,
    census_life_table,
    china_2010_life_table,
    default_asfr,
    gompertz_life_table,
    life_table_from_survival,
    observed_tfr,
    survival_from_table,
    survival_ratios,
)
from planner.forecast.stats import DampedTrend, StatsForecaster

__all__ = [
    "BirthToEntry",
    "CohortComponent",
    "ConstantRatio",
    "DampedTrend",
    "Ensemble",
    "GradeProgression",
    "HamiltonPerry",
    "LastValue",
    "LinearTrend",
    "RatioRegressor",
    "StatsForecaster",
    "StockFlow",
    "WPP2024_CHINA_TFR",
    "add_intervals",
    "age_structure_features",
    "asfr_from_table",
    "backtest",
    "census_life_table",
    "china_2010_life_table",
    "cohort_ratio",
    "coverage",
    "default_asfr",
    "empirical_intervals",
    "gompertz_life_table",
    "lagged_driver",
    "life_table_from_survival",
    "observed_tfr",
    "regroup",
    "residual_migration",
    "score",
    "survival_from_table",
    "survival_ratios",
    "truncate",
]
