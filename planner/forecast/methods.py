"""The forecast methods a scenario can choose (预测方法登记表).

Two parts of the forecast each have a registry:

* **population** (学龄人口与出生): how the population by age and the births after the
  forecast origin are projected — :data:`POPULATION_METHODS`;
* **enrolment** (就学人数): how the pupils per unit and stage are projected from their
  history and the births — :data:`ENROLMENT_METHODS`.

A scenario names one method, a combination of methods joined by ``+`` (the mean of the
members' forecasts, e.g. ``"grade_progression+ets"``) or ``"auto"``: the method chosen
by a nested rolling-origin backtest on the unit's own history
(:mod:`planner.forecast.select`). An unknown name is refused with the closest valid one.

The registry is data: the pipeline (:mod:`planner.forecast.pipeline`) builds the
estimators, the scenario model validates names against it, the docs list it.
"""

from __future__ import annotations

from dataclasses import dataclass

from planner.errors import ScenarioError, closest

__all__ = [
    "AUTO",
    "AUTO_COMBINATIONS",
    "ENROLMENT_METHODS",
    "POPULATION_METHODS",
    "Method",
    "methods_of",
    "parse_method",
]

AUTO = "auto"


@dataclass(frozen=True)
class Method:
    """One registered method.

    Attributes
    ----------
    name : str
        The name used in ``[forecast]``.
    zh : str
        Chinese name.
    summary : str
        What it does, in one sentence.
    needs : tuple of str
        Inputs it needs: ``population`` (an age table per unit, or a parent unit's),
        ``two_tables`` (two age tables per unit, or a parent with two), ``births``,
        ``grades`` (enrolment by grade), ``intake`` (new entrants per stage, or grade 1
        / 7 of the grades).
    window : bool
        Averages recent ratios over ``ratio_years`` (``"auto"``: 1, 3 or 5 years are
        candidates).
    """

    name: str
    zh: str
    summary: str
    needs: tuple[str, ...] = ()
    window: bool = False


POPULATION_METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method(
            "cohort_component",
            "分要素队列法",
            "Survival from life tables, fertility calibrated to the unit's own children or "
            "births, net migration by the residual method between its two latest age "
            "tables (none with a single table).",
            ("population",),
        ),
        Method(
            "hamilton_perry",
            "队列变动比率法",
            "Cohort-change ratios of the unit's two latest age tables (or of its parent "
            "unit's), child–woman ratios for the youngest ages.",
            ("population", "two_tables"),
        ),
        Method(
            "ratio_model",
            "比率收缩模型",
            "Hamilton–Perry with cohort-change ratios shrunk toward the parent's (or the "
            "pooled) ratios by empirical Bayes; units without their own ratios get the "
            "parent's, adjusted by a covariate model of the age structure.",
            ("population", "two_tables"),
        ),
        Method(
            "births_trend",
            "出生趋势外推",
            "Damped exponential-smoothing trend of the births themselves (no age table "
            "needed; no school-age population).",
            ("births",),
        ),
    )
}

ENROLMENT_METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method(
            "grade_progression",
            "年级递进法",
            "Grade 1 from births × entry ratio, later grades by grade progression ratios, "
            "grade 7 by the primary→junior transition ratio (without births: grade 1 = "
            "its recent mean).",
            ("grades",),
            window=True,
        ),
        Method(
            "birth_to_entry",
            "出生队列比率法",
            "A stage's pupils = ratio × the births of the cohorts of its grades (1 September "
            "cut-off).",
            ("births",),
            window=True,
        ),
        Method(
            "stock_flow",
            "存量—流量法",
            "A stage's pupils = retention ratio × its last intakes; later intakes from "
            "births × entry ratio.",
            ("intake", "births"),
            window=True,
        ),
        Method(
            "ets",
            "指数平滑趋势",
            "Damped-trend exponential smoothing of the stage totals (log scale).",
        ),
        Method("last_value", "末值外推", "The last observed stage total carried forward."),
        Method("linear_trend", "线性趋势外推", "Straight line through the last five years."),
    )
}

#: combinations "auto" also tries (means of the members), besides every single method
AUTO_COMBINATIONS: dict[str, tuple[str, ...]] = {
    "population": (
        "cohort_component+hamilton_perry",
        "cohort_component+ratio_model",
        "cohort_component+births_trend",
        "hamilton_perry+births_trend",
    ),
    "enrolment": (
        "grade_progression+ets",
        "birth_to_entry+ets",
        "stock_flow+ets",
        "grade_progression+birth_to_entry",
    ),
}


def methods_of(kind: str) -> dict[str, Method]:
    """The registry of one part: ``"population"`` or ``"enrolment"``."""
    if kind == "population":
        return POPULATION_METHODS
    if kind == "enrolment":
        return ENROLMENT_METHODS
    raise ScenarioError(f"unknown forecast part {kind!r}; use 'population' or 'enrolment'.")


def parse_method(value: str, kind: str, *, key: str | None = None) -> tuple[str, ...]:
    """The member names of a method setting, validated against the registry.

    Parameters
    ----------
    value : str
        ``"auto"``, a registered name, or names joined by ``+``.
    kind : {"population", "enrolment"}
        Which registry.
    key : str, optional
        The scenario key, for messages (default ``forecast.<kind>_method``).

    Returns
    -------
    tuple of str
        ``("auto",)`` or the member names (each once, in the given order).

    Raises
    ------
    ScenarioError
        An unknown name (the message names the closest valid one), an empty member or
        ``auto`` inside a combination.
    """
    reg = methods_of(kind)
    key = key or f"forecast.{kind}_method"
    text = str(value).strip()
    if text == AUTO:
        return (AUTO,)
    names = [p.strip() for p in text.split("+")]
    valid = [AUTO, *reg]
    out: list[str] = []
    for n in names:
        if n not in reg:
            if n == AUTO:
                raise ScenarioError(
                    f"{key} = {value!r}: 'auto' cannot be part of a combination; use "
                    "'auto' alone or name the methods."
                )
            near = closest(n, valid) if n else None
            hint = f" — did you mean '{near}'?" if near else ""
            raise ScenarioError(
                f"{key} = {value!r}: unknown method {n!r}{hint} Valid: {', '.join(valid)}, "
                "or methods joined by '+'."
            )
        if n not in out:
            out.append(n)
    return tuple(out)
