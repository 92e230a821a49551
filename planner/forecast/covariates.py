"""Small-area ratios from covariates (协变量比率模型): a scikit-learn regressor.

Cohort-change ratios (CCR, e.g. the children aged 0–4 at a census who are aged 10–14
ten years later, divided by the former) and birth-to-entry ratios vary between small
areas mostly through migration, which leaves traces in the age structure: many young
adults, few school-age children relative to infants, an old population. A
:class:`RatioRegressor` learns ``log(ratio)`` from such unit covariates on units whose
ratio has already been observed (e.g. provinces between two earlier censuses) and
predicts the ratio of units where it has not (e.g. counties over the next interval).

Pure computation on arrays and DataFrames; nothing here reads files.

* :func:`age_structure_features` — covariates of each unit from one population table;
* :func:`cohort_ratio` — an observed cohort-change ratio between two tables;
* :class:`RatioRegressor` — the estimator (ridge regression or gradient boosting,
  chosen by cross-validation on the training data only).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.linear_model import Ridge
from sklearn.model_selection import KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from planner.errors import DataError, NotFittedError

__all__ = ["RatioRegressor", "age_structure_features", "cohort_ratio"]

#: ridge penalties tried by the default candidate set (on standardised covariates)
RIDGE_ALPHAS = (0.01, 0.1, 1.0, 10.0, 100.0)


def _ages(pop: pd.DataFrame, lo: int, hi: int) -> pd.Series:
    """Population per unit in the groups starting at ``lo`` … ``hi`` (inclusive)."""
    sel = pop[(pop["age_lo"] >= lo) & (pop["age_lo"] <= hi)]
    return sel.groupby("unit_id")["value"].sum()


def _value_table(population: pd.DataFrame) -> pd.DataFrame:
    df = population.rename(columns={"population": "value"})
    missing = [c for c in ("unit_id", "age_lo", "value") if c not in df.columns]
    if missing:
        raise DataError(
            f"population lacks column(s) {missing}; expected unit_id, [year, sex,] age_lo, value."
        )
    if "year" in df.columns and df.groupby("unit_id")["year"].nunique().max() > 1:
        raise DataError("population must hold one year per unit; filter the year first.")
    return df


def age_structure_features(population: pd.DataFrame) -> pd.DataFrame:
    """Covariates of every unit from its age structure (one census or estimate).

    Parameters
    ----------
    population : DataFrame
        ``unit_id, [year, sex,] age_lo, value`` (or ``population``) with 5-year groups
        (``0`` and ``1–4`` may be separate: groups are summed by their start age); both
        sexes are summed. One year per unit.

    Returns
    -------
    DataFrame indexed by ``unit_id`` with columns

    * ``log_share_20_39`` — log share of ages 20–39 in the total (labour migrants);
    * ``log_share_60p`` — log share of ages 60+ (ageing, out-migration of the young);
    * ``log_children_per_adult`` — log (ages 0–4 / ages 20–39) (fertility and children
      left with grandparents or brought along);
    * ``log_ratio_5_9_to_0_4`` and ``log_ratio_10_14_to_0_4`` — log ratios of older to
      younger children (past migration of children and the birth trend);
    * ``log_population`` — log total (size; usable only when the training and the
      target units are of the same level).
    """
    df = _value_table(population)
    total = df.groupby("unit_id")["value"].sum()
    a04 = _ages(df, 0, 4)
    a59 = _ages(df, 5, 9)
    a1014 = _ages(df, 10, 14)
    a2039 = _ages(df, 20, 39)
    a60 = _ages(df, 60, 200)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = pd.DataFrame(
            {
                "log_share_20_39": np.log(a2039 / total),
                "log_share_60p": np.log(a60 / total),
                "log_children_per_adult": np.log(a04 / a2039),
                "log_ratio_5_9_to_0_4": np.log(a59 / a04),
                "log_ratio_10_14_to_0_4": np.log(a1014 / a04),
                "log_population": np.log(total),
            }
        )
    out.index.name = "unit_id"
    return out.replace([np.inf, -np.inf], np.nan)


def cohort_ratio(
    start: pd.DataFrame, end: pd.DataFrame, *, ages: tuple[int, int], interval: int
) -> pd.Series:
    """Observed cohort-change ratio per unit: ``P_{a+k}(t+k) / P_a(t)``.

    Parameters
    ----------
    start, end : DataFrame
        Population tables (``unit_id, age_lo, value``; both sexes summed) at *t* and
        *t + interval*.
    ages : (int, int)
        First and last group start of the cohort at *t* (``(0, 4)`` = ages 0–4).
    interval : int
        Years between the tables; the cohort is aged ``ages + interval`` at the end.

    Returns
    -------
    Series
        Ratio per unit (units missing from either table or with no one at the start are
        dropped).
    """
    lo, hi = ages
    p0 = _ages(_value_table(start), lo, hi)
    p1 = _ages(_value_table(end), lo + interval, hi + interval)
    r = (p1 / p0.where(p0 > 0)).dropna()
    return r.rename("ratio")


def _candidates(random_state: int | None) -> dict[str, BaseEstimator]:
    cands: dict[str, BaseEstimator] = {
        f"ridge(alpha={a:g})": make_pipeline(StandardScaler(), Ridge(alpha=a)) for a in RIDGE_ALPHAS
    }
    cands["gradient_boosting"] = GradientBoostingRegressor(
        n_estimators=200,
        learning_rate=0.05,
        max_depth=2,
        subsample=0.8,
        min_samples_leaf=3,
        random_state=random_state,
    )
    return cands


class RatioRegressor(RegressorMixin, BaseEstimator):
    """Predict a unit's ratio (CCR, birth-to-entry …) from its covariates.

    Parameters
    ----------
    estimator : scikit-learn regressor or None
        The model of the (log) ratio. None: choose among ridge regressions on
        standardised covariates (penalties :data:`RIDGE_ALPHAS`) and a small gradient
        boosting model by ``cv``-fold cross-validated mean squared error **on the
        training data only**; the winner is refitted on all of it.
    log_target : bool
        Model ``log(ratio)`` (ratios must then be > 0) and return ``exp`` of the
        prediction; otherwise the ratio itself.
    cv : int
        Folds of the cross-validation (at most the number of training rows).
    ratio_limits : (float, float) or None
        Bounds applied to every predicted ratio; None = none.
    random_state : int or None
        Seed of the fold shuffling and of the gradient boosting subsampling; fix it for
        reproducible fits.

    Attributes
    ----------
    estimator_ : fitted regressor
    selected_ : str
        Name of the chosen candidate (``"given"`` when ``estimator`` was passed).
    cv_scores_ : DataFrame
        ``candidate, mse`` (cross-validated, on the modelled scale); empty when
        ``estimator`` was passed.
    n_features_in_ : int
    feature_names_in_ : array of str (only when ``X`` was a DataFrame)
    """

    def __init__(
        self,
        *,
        estimator: BaseEstimator | None = None,
        log_target: bool = True,
        cv: int = 5,
        ratio_limits: tuple[float, float] | None = None,
        random_state: int | None = None,
    ) -> None:
        self.estimator = estimator
        self.log_target = log_target
        self.cv = cv
        self.ratio_limits = ratio_limits
        self.random_state = random_state

    # ---- helpers -----------------------------------------------------------------
    def _matrix(self, X, fitting: bool) -> np.ndarray:
        if isinstance(X, pd.DataFrame):
            names = np.asarray([str(c) for c in X.columns], dtype=object)
            if fitting:
                self.feature_names_in_ = names
            elif hasattr(self, "feature_names_in_"):
                missing = [c for c in self.feature_names_in_ if c not in names]
                if missing:
                    raise DataError(
                        f"X lacks the covariate(s) {missing} used in fit; pass the columns fit had."
                    )
                X = X[list(self.feature_names_in_)]
        arr = np.asarray(X, dtype=float)
        if arr.ndim != 2:
            raise DataError(f"X must be 2-dimensional (units × covariates), got {arr.shape}.")
        if fitting:
            self.n_features_in_ = arr.shape[1]
        elif arr.shape[1] != self.n_features_in_:
            raise DataError(
                f"X has {arr.shape[1]} covariates; the model was fitted on {self.n_features_in_}."
            )
        if not np.isfinite(arr).all():
            raise DataError("X holds missing or infinite covariates; drop or impute them first.")
        return arr

    def _target(self, y) -> np.ndarray:
        t = np.asarray(y, dtype=float).ravel()
        if not np.isfinite(t).all():
            raise DataError("y holds missing or infinite ratios; drop those units first.")
        if self.log_target:
            if (t <= 0).any():
                raise DataError(
                    "log_target=True needs ratios > 0; drop those units or set log_target=False."
                )
            t = np.log(t)
        return t

    # ---- fit / predict -------------------------------------------------------------
    def fit(self, X, y, sample_weight: Sequence[float] | None = None) -> RatioRegressor:
        """Fit on units' covariates ``X`` (units × covariates) and observed ratios ``y``."""
        arr = self._matrix(X, fitting=True)
        t = self._target(y)
        if len(t) != arr.shape[0]:
            raise DataError(
                f"X has {arr.shape[0]} rows but y has {len(t)}; give one row of X per unit of y."
            )
        if len(t) < 3:
            raise DataError(
                "RatioRegressor needs at least 3 training units; give more units or use a "
                "simpler method."
            )
        fit_kw = {}
        if self.estimator is not None:
            best, name, scores = (
                clone(self.estimator),
                "given",
                pd.DataFrame(columns=["candidate", "mse"]),
            )
        else:
            folds = KFold(
                n_splits=max(2, min(int(self.cv), len(t))),
                shuffle=True,
                random_state=self.random_state,
            )
            rows = []
            cands = _candidates(self.random_state)
            for cname, est in cands.items():
                s = cross_val_score(est, arr, t, cv=folds, scoring="neg_mean_squared_error")
                rows.append({"candidate": cname, "mse": float(-s.mean())})
            scores = pd.DataFrame(rows)
            # first best: ties keep the order above (simpler models first)
            name = str(scores.loc[scores["mse"].idxmin(), "candidate"])
            best = clone(cands[name])
        if sample_weight is not None:
            w = np.asarray(sample_weight, dtype=float)
            if hasattr(best, "steps"):  # a pipeline: route to its last step
                fit_kw[f"{best.steps[-1][0]}__sample_weight"] = w
            else:
                fit_kw["sample_weight"] = w
        self.estimator_ = best.fit(arr, t, **fit_kw)
        self.selected_ = name
        self.cv_scores_ = scores
        return self

    def predict(self, X) -> np.ndarray:
        """Predicted ratios for units' covariates ``X``."""
        if not hasattr(self, "estimator_"):
            raise NotFittedError(
                "RatioRegressor is not fitted yet; call fit(X, y) before predict(X)."
            )
        arr = self._matrix(X, fitting=False)
        p = np.asarray(self.estimator_.predict(arr), dtype=float)
        if self.log_target:
            p = np.exp(p)
        if self.ratio_limits is not None:
            p = np.clip(p, *self.ratio_limits)
        return p
