"""Scenario: the one place every input, norm and assumption of a run is declared (情景配置).

A scenario is a TOML file validated by the pydantic models below. An unknown key
is an error naming the closest valid key; defaults live here and nowhere else
(functions take ``None`` to mean "from the scenario"). Reading and writing the
file is in :mod:`planner.inputs.scenario`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from planner.errors import ScenarioError, UnknownKeyError

__all__ = [
    "InputSpec",
    "WideSpec",
    "InputsSpec",
    "Scenario",
    "DemandSpec",
    "SitingSpec",
    "ForecastSpec",
    "MapSpec",
    "BasemapSpec",
    "LabelZoomSpec",
    "ExportSpec",
    "MAP_LAYERS",
    "StageValues",
    "INPUT_NAMES",
    "scenario_from_dict",
]

#: the canonical inputs, in load order (units first: later inputs are checked against them)
INPUT_NAMES = (
    "units",
    "population",
    "population_by_age",
    "births",
    "schools",
    "enrolment",
    "developments",
    "sites",
    "roads",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class WideSpec(_Strict):
    """A wide table to reshape to long rows (宽表转长表).

    Attributes
    ----------
    key : {"grade", "year", "age"}
        What the spread-out headers are: grades (``一年级`` … ``九年级``, ``初一``, ``7年级``),
        years (``2012``, ``2012年``, ``2023-2024学年``) or ages (``0岁``, ``0-4岁``,
        ``85岁及以上``). Each such column becomes rows with that value in the key column.
    value : str or None
        The canonical column the cells go to (default: the table's count — ``students``
        for enrolment, ``population``, ``births``). Under a two-row header the lower
        header names it instead (``一年级/班数`` → ``classes``).
    """

    key: Literal["grade", "year", "age"]
    value: str | None = None


class InputSpec(_Strict):
    """How to read one input file.

    Attributes
    ----------
    path : str
        File path, relative to the scenario file's folder (or absolute).
    crs : str, optional
        Coordinate system of the coordinates in the file: ``"WGS84"``, ``"CGCS2000"``,
        ``"GCJ-02"`` (Amap / Tencent exports), ``"BD-09"`` (Baidu exports) or
        ``"EPSG:NNNN"``. Required for CSV/XLSX with longitude/latitude columns and for GIS
        files that carry no CRS. When the file declares another one, this one is used
        (with a warning naming both).
    encoding : str, optional
        Text encoding (``"GBK"``, ``"UTF-8"``, ``"UTF-16"``, ``"Big5"``); detected when
        omitted.
    delimiter : str, optional
        Field separator of a CSV/TXT file (``","``, ``"tab"`` or a tab character for
        tab-separated text, ``";"``, ``"|"``); detected when omitted.
    layer : str, optional
        GeoPackage layer.
    sheet : str or int, optional
        XLSX sheet name or 0-based index.
    header_row : int, optional
        1-based row of the header in a CSV/XLSX file (below a title row); found
        automatically when omitted.
    header_rows : int, optional
        2 for a two-row (merged) header: an upper cell spanning several columns is joined
        to each lower one (``小学部`` over ``班级数`` → ``小学部/班级数``); detected when
        omitted.
    skip_rows : list of int
        1-based file rows to drop (a units row under the header, a subtotal).
    footer_rows : int
        Rows to drop at the end of the table (notes, signatures). Total rows (合计,
        小计, 总计) and note rows (注：…) are dropped anyway, with a note.
    columns : dict, optional
        Header mapping ``{"header in the file" = "canonical name"}`` for headers the
        built-in aliases do not know, or ambiguous ones (``专任教师数``).
    values : dict, optional
        Value aliases for category columns: ``{ kind = { "镇区" = "town" } }``, or flat
        ``{ "镇区" = "town" }`` for whichever category column allows the value.
    units : dict, optional
        Unit of a numeric column in the file, by canonical column:
        ``{ population = "万人", land_area = "亩", equipment_value = "万元" }``; values are
        converted to the canonical unit (see the schema page for the units known).
    wide : WideSpec, optional
        Reshape a wide table: ``wide = { key = "grade" }`` (columns 一年级…九年级),
        ``{ key = "year" }`` (columns 2012, 2013 …) or ``{ key = "age" }``.
    thousands_separator : bool
        Read numbers written with thousands separators (``1,234``, ``1，234``); by
        default they are reported and left missing, never guessed.
    """

    path: str
    crs: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    layer: str | None = None
    sheet: str | int | None = None
    header_row: int | None = Field(default=None, ge=1, le=1000)
    header_rows: Literal[1, 2] | None = None
    skip_rows: list[int] = Field(default_factory=list)
    footer_rows: int = Field(default=0, ge=0)
    columns: dict[str, str] = Field(default_factory=dict)
    values: dict[str, str | dict[str, str]] = Field(default_factory=dict)
    units: dict[str, str] = Field(default_factory=dict)
    wide: WideSpec | None = None
    thousands_separator: bool = False


class InputsSpec(_Strict):
    """The inputs of a scenario. Units, population and schools are required.

    ``roads`` (optional): road centrelines (道路中心线); when given, siting measures
    distances along them instead of straight line × ``siting.detour_factor``.
    """

    units: InputSpec
    population: InputSpec
    population_by_age: InputSpec | None = None
    births: InputSpec | None = None
    schools: InputSpec
    enrolment: InputSpec | None = None
    developments: InputSpec | None = None
    sites: InputSpec | None = None
    roads: InputSpec | None = None

    def items(self) -> list[tuple[str, InputSpec]]:
        """(name, spec) for every declared input, in load order."""
        return [(n, getattr(self, n)) for n in INPUT_NAMES if getattr(self, n) is not None]


class StageValues(_Strict):
    """A number per stage (primary, junior)."""

    primary: float = Field(ge=0)
    junior: float = Field(ge=0)


class DemandSpec(_Strict):
    """Assumptions of the demand step (需求测算假设).

    Attributes
    ----------
    requirement_basis : {"max", "norm", "forecast"}
        What the seat gap is measured against: the per-thousand norm, the enrolment
        forecast, or the larger of the two (default). Without a forecast, the norm.
    trend_years : int
        Years of history for the fallback projection of unit totals (log-linear trend)
        used when no forecast is available.
    include_developments : bool
        Add the residents of planned housing from their completion year. Turn off if the
        population projection already contains them.
    development_method : {"persons", "pupil_yield"}
        ``persons``: households × persons_per_household residents, counted by the
        per-thousand norm; ``pupil_yield``: households × pupil_yield seats, added
        directly.
    persons_per_household : float
        Residents per new household; about 2.6 in Guangdong (7th census, 2020).
    pupil_yield : StageValues
        Seats per household for ``pupil_yield``; the defaults equal 2.6 persons × 80 / 40
        per thousand.
    occupancy_years : int
        Years over which a development fills up after completion (1: at once).
    population_control : dict, optional
        City control totals of residents by year (e.g. from the master plan,
        ``{ 2030 = 1300000, 2035 = 1400000 }``): the units' projected populations are
        scaled to them (log-linear between the given years). The control applies to the
        projection before planned housing; if it already contains the new residents,
        set ``include_developments = false``.
    milestones : list of int
        Years after the base year reported in summaries (default +5 and +10).
    """

    requirement_basis: Literal["max", "norm", "forecast"] = "max"
    trend_years: int = Field(default=5, ge=1, le=30)
    include_developments: bool = True
    development_method: Literal["persons", "pupil_yield"] = "persons"
    persons_per_household: float = Field(default=2.6, gt=0, le=10)
    pupil_yield: StageValues = Field(
        default_factory=lambda: StageValues(primary=0.208, junior=0.104)
    )
    occupancy_years: int = Field(default=2, ge=1, le=10)
    population_control: dict[int, float] = Field(default_factory=dict)
    milestones: list[int] = Field(default_factory=lambda: [5, 10])


class ForecastSpec(_Strict):
    """Assumptions of the enrolment forecast (就学需求预测假设).

    Attributes
    ----------
    enabled : bool
        Forecast enrolment when the scenario has births and an enrolment history; the
        requirement then uses ``demand.requirement_basis`` (default: the larger of the
        norm and the forecast).
    population_method : str
        How the population by age and the births after the base year are projected:
        ``"cohort_component"`` (分要素队列法: life tables, fertility calibrated to the
        unit's children or births, residual migration between the two latest age tables),
        ``"hamilton_perry"`` (队列变动比率法: cohort-change ratios of the two latest age
        tables), ``"ratio_model"`` (the same ratios shrunk toward the pooled ratios by
        empirical Bayes), ``"births_trend"`` (damped trend of the births; no age table
        needed), several joined by ``+`` (the mean, e.g.
        ``"cohort_component+hamilton_perry"``), or ``"auto"`` (default): the one with the
        lowest error in a backtest of the births on the scenario's own history. Births
        after the base year follow the women of childbearing age at the fertility of the
        last observed year (× ``tfr_multiplier``).
    enrolment_method : str
        How pupils per unit and stage are projected: ``"grade_progression"`` (年级递进法),
        ``"birth_to_entry"`` (births of the stage's cohorts × ratio), ``"stock_flow"``
        (存量—流量法: retention × the last intakes), ``"ets"`` (damped exponential
        smoothing of the totals), ``"last_value"``, ``"linear_trend"``, several joined
        by ``+``, or ``"auto"`` (default): chosen per stage by a nested rolling-origin
        backtest on the scenario's own history. The choice, every candidate's error and
        the out-of-sample error of the choice are written to the run
        (``forecast_method.csv``, ``forecast_accuracy.csv``).
    tfr_multiplier : float
        Scenario multiplier of fertility (1 = as calibrated to the base year).
    migration_multiplier : float
        Scenario multiplier of net migration (1 = as observed between the age tables;
        cohort-component method only: the ratio methods hold survival and migration
        together).
    ratio_years : int or "auto"
        Recent years averaged for the ratios of the ratio methods (grade progression,
        transition, entry, retention); ``"auto"`` (default) lets the backtest choose
        among 1, 3 and 5.
    entry_years : int or None
        Recent years averaged for the birth-to-entry ratio (None: as ``ratio_years``).
    entry_prior_year_share : float
        Share of an entry class born in the calendar year before the main one: 0 when
        the births are counted by school year (September–August), about 1/3 for
        calendar-year births with the 1 September cut-off (a grade-1 pupil of school
        year *t* is born September *t − 7* to August *t − 6*).
    bias_correction : bool
        Also let ``"auto"`` choose bias-corrected variants of the enrolment methods
        (forecast × the median yearly error of its earlier forecasts); on by default
        (chosen on the training origins of the provincial benchmark).
    survival_table : str or None
        CSV/XLSX file (relative to the scenario's folder) with columns ``sex, age,
        survival``: the probability of surviving from age *x* to *x + 1* (0 < p ≤ 1),
        ages 0, 1, 2 … without gaps, the last age being the open group (p < 1); ``sex``
        M/F, or T (or no column) for both sexes. None: China census life tables (the
        latest census at or before the forecast origin). Used by the cohort-component
        method only (``"auto"`` then means that method); the table describes the base
        year, so the births backtest cannot use it before then.
    fertility_table : str or None
        CSV/XLSX file (relative to the scenario's folder) with columns ``age, asfr``:
        births per woman per year at each age (≥ 0, ages without gaps, e.g. 15–49).
        Sets the age pattern of fertility; with the cohort-component method also the
        level (TFR = Σ asfr, times ``tfr_multiplier``). None: the default age pattern,
        with the level calibrated per unit.
    enrolment_control : dict
        City control totals of pupils by stage and year (就学人数总量控制), e.g. from the
        provincial or municipal education plan: ``{primary = {2030 = 98000}}``. The
        unit forecasts of a stage (P10, P50 and P90 alike) are scaled so that their P50
        sums to the control; between the base year (observed) and the given years the
        control is interpolated log-linearly, after the last given year its ratio is
        kept. Empty (default): no control.
    """

    enabled: bool = True
    population_method: str = "auto"
    enrolment_method: str = "auto"
    tfr_multiplier: float = Field(default=1.0, ge=0, le=5)
    migration_multiplier: float = Field(default=1.0, ge=0, le=5)
    ratio_years: int | Literal["auto"] = "auto"
    entry_years: int | None = Field(default=None, ge=1, le=20)
    entry_prior_year_share: float = Field(default=0.0, ge=0, le=1)
    bias_correction: bool = True
    survival_table: str | None = None
    fertility_table: str | None = None
    enrolment_control: dict[Literal["primary", "junior"], dict[int, float]] = Field(
        default_factory=dict
    )

    @field_validator("population_method", "enrolment_method")
    @classmethod
    def _registered(cls, value: str, info) -> str:
        from planner.forecast.methods import parse_method

        kind = info.field_name.removesuffix("_method")
        try:
            parse_method(value, kind)
        except ScenarioError as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("ratio_years")
    @classmethod
    def _positive_years(cls, value: int | str) -> int | str:
        if isinstance(value, int) and not 1 <= value <= 20:
            raise ValueError(f"ratio_years must be 1–20 or 'auto', got {value}")
        return value


class SitingLimits(_Strict):
    """Work limits of the siting engine (counts, not seconds; None = the engine's default).

    Attributes
    ----------
    fit_rounds : int
        Rounds sizing and timing the projects by the exact assignment.
    lagrangian_steps : int
        Subgradient steps of the Lagrangian bound.
    mip_nodes : int
        Branch-and-bound nodes of the exact MILP.
    mip_max_columns : int
        The exact MILP runs only up to this many flow columns (pairs × periods).
    mip_max_lp_iterations : int
        ... and only when the LP relaxation took at most this many simplex iterations.
    second_start_gap : float
        After the LP, the Lagrangian second start runs when the rounded plans leave a
        larger relative gap than this.
    polish_sweeps : int
        Sweeps of polishing windows over the schools and sites.
    window_columns : int
        Flow columns per polishing window.
    window_nodes : int
        Branch-and-bound nodes per window.
    """

    model_config = ConfigDict(extra="forbid")

    fit_rounds: int | None = Field(default=None, ge=0)
    lagrangian_steps: int | None = Field(default=None, ge=0)
    mip_nodes: int | None = Field(default=None, ge=0)
    mip_max_columns: int | None = Field(default=None, ge=0)
    mip_max_lp_iterations: int | None = Field(default=None, ge=0)
    second_start_gap: float | None = Field(default=None, ge=0.0, le=1.0)
    polish_sweeps: int | None = Field(default=None, ge=0)
    window_columns: int | None = Field(default=None, ge=100)
    window_nodes: int | None = Field(default=None, ge=0)


class SitingSpec(_Strict):
    """Assumptions of the siting step (布局优化假设).

    Attributes
    ----------
    enabled : bool
        Run the siting optimisation in ``planner run``.
    grid_m : float
        Cell size of the demand grid in metres (each unit's demand is spread over the
        cells whose centre lies in it, in proportion to their area).
    detour_factor : float
        Road distance ≈ straight-line distance × this factor.
    reach_factor : float
        Pupils may be assigned up to ``reach_factor`` × the norm's service radius; travel
        beyond the radius itself is penalised and reported.
    cost_per_seat_new : float
        Construction cost of a new school per seat (yuan), land excluded.
    cost_per_seat_expansion : float
        Construction cost of an expansion per seat (yuan); cheaper than new.
    land_per_pupil : StageValues
        Site land per pupil (m²) that limits a new school's size and an expansion.
    expansion_step_classes : StageValues
        Classes added per expansion step (one per grade: 6 primary, 3 junior).
    max_expansion_steps : int
        Most expansion steps one school may take.
    budget : float or None
        Total (undiscounted) construction and land budget in yuan; None = unlimited.
    discount_rate : float
        Yearly rate for discounting costs to the base year.
    periods : list of int or None
        Years in which projects may open and demand is checked (default: base+1, +3, +5,
        +10 and the horizon).
    time_limit_s : float
        Safety cap in seconds on the whole siting solve. The engine stops on work limits
        (``limits``), so the same inputs give the same plan on any machine; when this cap
        cuts it instead, the run says so ("stopped by the clock") and exits with code 3.
    mip_gap : float
        Proven relative gap at which the engine stops early.
    limits : SitingLimits
        Work limits of the engine's steps (see :class:`SitingLimits`).
    single_sourcing : bool
        Assign each demand point (grid block or development) wholly to one school per
        period and stage, so that catchments partition the blocks (学区划分); a point is
        then either served entirely or reported unserved entirely. Off: a point's pupils
        may be split between schools.
    closest_assignment : bool
        Near-school enrolment (就近入学): a point may only be assigned to a public school
        if no open public school (existing, or built by that period) is strictly closer.
        A point whose nearest school is full stays unserved ('capacity') rather than
        going farther. Private schools neither block nor are blocked.
    boarding_per_rural_town : bool
        Require at least one boarding school (寄宿制学校) in every unit of
        ``boarding_unit_kinds`` by the last period: an existing school with
        ``boarding = true`` counts; otherwise a new school must be built on a candidate
        site in the unit (new schools in those units are planned as boarding schools).
        Units where that is impossible are reported, not fatal.
    boarding_unit_kinds : list of str
        Unit kinds the boarding rule covers: towns (镇) and rural towns (乡村), not city
        streets (街道).
    """

    enabled: bool = True
    grid_m: float = Field(default=1000.0, gt=50, le=10000)
    detour_factor: float = Field(default=1.3, ge=1.0, le=3.0)
    reach_factor: float = Field(default=4.0, ge=1.0, le=10.0)
    cost_per_seat_new: float = Field(default=80_000.0, ge=0)
    cost_per_seat_expansion: float = Field(default=50_000.0, ge=0)
    land_per_pupil: StageValues = Field(
        default_factory=lambda: StageValues(primary=10.0, junior=12.0)
    )
    expansion_step_classes: StageValues = Field(
        default_factory=lambda: StageValues(primary=6, junior=3)
    )
    max_expansion_steps: int = Field(default=2, ge=0, le=10)
    budget: float | None = Field(default=None, ge=0)
    discount_rate: float = Field(default=0.03, ge=0, le=0.5)
    periods: list[int] | None = None
    time_limit_s: float = Field(default=600.0, gt=0)
    mip_gap: float = Field(default=1e-3, ge=0, le=0.5)
    limits: SitingLimits = Field(default_factory=SitingLimits)
    single_sourcing: bool = False
    closest_assignment: bool = False
    boarding_per_rural_town: bool = False
    boarding_unit_kinds: list[Literal["urban", "town", "rural"]] = Field(
        default_factory=lambda: ["town", "rural"]
    )


MapLayer = Literal[
    "gaps",
    "schools",
    "flags",
    "planned",
    "sites",
    "projects",
    "radii",
    "catchments",
    "allocations",
    "unserved",
    "unit_labels",
    "school_labels",
]

#: the layers of the run's map (``[map] layers``), in drawing order
MAP_LAYERS: tuple[str, ...] = get_args(MapLayer)


class BasemapSpec(_Strict):
    """The basemap under the map's data (底图, ``[map.basemap]``).

    Attributes
    ----------
    kind : {"none", "local", "xyz", "wmts", "tianditu", "amap"}
        ``none`` (default): no basemap, the map needs no network. ``local``: tiles from a
        folder (``{z}/{x}/{y}.png``, ``.jpg`` or ``.webp``, XYZ numbering) or an
        ``.mbtiles`` file, copied into the map so it opens offline. ``xyz``: an intranet
        tile server (``url`` with ``{z}``, ``{x}``, ``{y}``). ``wmts``: an intranet WMTS
        (KVP ``GetTile``) in a web-Mercator tile matrix set. ``tianditu``: 天地图 (needs a
        key; CGCS2000 ≈ WGS84, no shift). ``amap``: 高德地图 road map; its tiles are in
        GCJ-02, so every overlay is shifted to GCJ-02 to line up.
    path : str or None
        ``local``: the tile folder or ``.mbtiles`` file, relative to the scenario's folder.
    url : str or None
        ``xyz``: the tile URL template (``https://tiles.intranet/{z}/{x}/{y}.png``,
        ``{s}`` for a subdomain); ``wmts``: the service endpoint (``…/wmts``).
    layer : str or None
        ``wmts``: the layer name. ``tianditu``: ``vec`` (roads, default), ``img``
        (imagery) or ``ter`` (terrain). ``amap``: ``vec`` (default) or ``img``.
    style : str
        ``wmts``: the style name.
    tile_matrix_set : str or None
        ``wmts``: a tile matrix set in web Mercator (EPSG:3857, GoogleMapsCompatible).
    format : str
        ``wmts``: the tile format (``image/png``, ``image/jpeg``).
    key : str or None
        ``tianditu``: the key (tk). Better ``key_env``: keys do not belong in files that
        are shared.
    key_env : str or None
        ``tianditu``: the environment variable holding the key (``TIANDITU_KEY``).
    labels : bool
        ``tianditu``: add the annotation tiles (注记) over the base tiles.
    attribution : str or None
        The provider's credit line, shown in the footer (plain text); a default for
        ``tianditu`` and ``amap``, required for ``xyz`` and ``wmts``.
    subdomains : str or None
        Letters or digits substituted for ``{s}`` in ``url``.
    gcj02 : bool
        ``local``, ``xyz``, ``wmts``: the tiles are in GCJ-02 (tiles cut from Amap /
        Tencent); the overlays are shifted to match. Always on for ``amap``.
    min_zoom : int
        Lowest zoom level of the tiles (``local``: the lowest level copied into the map).
    max_zoom : int
        Highest zoom level of the tiles (``local``: the highest level copied).
    opacity : float
        Opacity of the basemap (0–1); a paler basemap lets the seat gaps stand out.
    embed_max_mb : float
        ``local``: tiles up to this size are embedded in ``map.html`` (one file to hand
        on); more are copied into a folder beside it (``map_files/``), which must travel
        with the map.
    """

    kind: Literal["none", "local", "xyz", "wmts", "tianditu", "amap"] = "none"
    path: str | None = None
    url: str | None = None
    layer: str | None = None
    style: str = "default"
    tile_matrix_set: str | None = None
    format: str = "image/png"
    key: str | None = None
    key_env: str | None = None
    labels: bool = True
    attribution: str | None = None
    subdomains: str | None = None
    gcj02: bool = False
    min_zoom: int = Field(default=8, ge=0, le=22)
    max_zoom: int = Field(default=18, ge=0, le=22)
    opacity: float = Field(default=1.0, ge=0, le=1)
    embed_max_mb: float = Field(default=20.0, ge=0)

    @model_validator(mode="after")
    def _complete(self) -> BasemapSpec:
        k = self.kind
        if k == "local" and not self.path:
            raise ValueError("basemap kind 'local' needs `path` (a tile folder or .mbtiles file)")
        if k == "xyz":
            if not self.url or not all(t in self.url for t in ("{z}", "{x}", "{y}")):
                raise ValueError("basemap kind 'xyz' needs `url` with {z}, {x} and {y}")
        if k == "wmts" and not (self.url and self.layer and self.tile_matrix_set):
            raise ValueError("basemap kind 'wmts' needs `url`, `layer` and `tile_matrix_set`")
        if k in ("xyz", "wmts") and not (self.attribution or "").strip():
            raise ValueError(f"basemap kind '{k}' needs `attribution` (the provider's credit)")
        if k in ("xyz", "wmts") and not self.url.startswith(("http://", "https://")):
            raise ValueError(f"basemap `url` must start with http:// or https://: {self.url!r}")
        if k == "tianditu" and not (self.key or self.key_env):
            raise ValueError("basemap kind 'tianditu' needs `key_env` (or `key`)")
        if self.min_zoom > self.max_zoom:
            raise ValueError(f"basemap min_zoom {self.min_zoom} > max_zoom {self.max_zoom}")
        return self


class LabelZoomSpec(_Strict):
    """From which zoom level permanent labels show (标注显示级别).

    Attributes
    ----------
    units : int
        Names of the planning units (镇街 / 施教区).
    projects : int
        Names and opening years of the planned projects.
    schools : int
        Names of existing schools.
    """

    units: int = Field(default=10, ge=0, le=22)
    projects: int = Field(default=12, ge=0, le=22)
    schools: int = Field(default=14, ge=0, le=22)


class ExportSpec(_Strict):
    """Figure export of the map (``planner map --png/--pdf``, 出图).

    Attributes
    ----------
    paper : {"A4", "A3"}
        Page size of the PDF; the PNG has the same proportions.
    orientation : {"landscape", "portrait"}
        Page orientation.
    scale : float
        PNG pixels per CSS pixel (2 gives about 190 dpi on A4).
    """

    paper: Literal["A4", "A3"] = "A4"
    orientation: Literal["landscape", "portrait"] = "landscape"
    scale: float = Field(default=2.0, ge=1, le=4)


class MapSpec(_Strict):
    """The run's map (学位缺口与学校布局图, ``[map]``).

    Attributes
    ----------
    title : str or None
        Heading of the map; None: "<scenario name> — 学位缺口与学校布局".
    approval_no : str
        审图号 printed in the footer; required before a map with a basemap or boundaries
        is published (ask the surveying office).
    organisation : str
        编制单位 printed in the footer (the bureau or institute).
    date : str or None
        编制日期 as printed (``"2025年11月"``); None: the month the map is written.
    lang : {"zh", "en"}
        Language of the map's labels.
    layers : list of str
        Layers on the map: ``gaps`` (seat gap of every plan year, before and after the
        plan), ``schools``, ``flags`` (大班额 / 大校额), ``planned`` (under construction /
        planned schools), ``sites`` (candidate land, chosen and not chosen),
        ``projects`` (new schools and expansions), ``radii`` (service radius of each
        project), ``catchments`` (served areas per plan period), ``allocations`` (lines
        from demand to school, per period; large), ``unserved``, ``unit_labels`` and
        ``school_labels`` (permanent names). Layers without data are left out.
    hidden : list of str
        Layers on the map but switched off when it opens.
    label_zoom : LabelZoomSpec
        Zoom levels from which the permanent labels show.
    basemap : BasemapSpec
        The basemap (``[map.basemap]``); none by default.
    export : ExportSpec
        Page set-up of ``planner map --png/--pdf`` (``[map.export]``).
    """

    title: str | None = None
    approval_no: str = ""
    organisation: str = ""
    date: str | None = None
    lang: Literal["zh", "en"] = "zh"
    layers: list[MapLayer] = Field(
        default_factory=lambda: [n for n in MAP_LAYERS if n != "allocations"]
    )
    hidden: list[MapLayer] = Field(default_factory=lambda: ["catchments"])
    label_zoom: LabelZoomSpec = Field(default_factory=LabelZoomSpec)
    basemap: BasemapSpec = Field(default_factory=BasemapSpec)
    export: ExportSpec = Field(default_factory=ExportSpec)


class Scenario(_Strict):
    """A planning scenario.

    Attributes
    ----------
    name : str
        Shown on every output.
    description : str
        Free text.
    base_year : int
        Last observed year (基期); the forecast starts the year after.
    horizon : int
        Last planning year (规划期末).
    norms : str
        A bundled norms name (``"guangdong"``, ``"zhongshan_urban"``) or a path to a
        norms TOML file (relative to the scenario file).
    norms_override : dict
        Norm entries overridden for this scenario, by dotted key
        (``"seats_per_thousand.primary" = 95``).
    strict : bool
        Refuse to run when the inputs have errors (default: warn and go on).
    compute_crs : str
        Metric CRS for distances and areas: ``"auto"`` picks the CGCS2000 3° Gauss–Krüger
        zone of the data's median longitude (EPSG:4534–4554), or give ``"EPSG:4547"``.
    inputs : InputsSpec
        The input files.
    demand : DemandSpec
        Assumptions of the demand step (``[demand]``).
    forecast : ForecastSpec
        Assumptions of the enrolment forecast (``[forecast]``).
    siting : SitingSpec
        Assumptions of the siting step (``[siting]``).
    map : MapSpec
        The run's map: basemap, 审图号, 编制单位, layers (``[map]``).
    """

    name: str
    description: str = ""
    base_year: int = Field(ge=1990, le=2100)
    horizon: int = Field(ge=1990, le=2150)
    norms: str = "guangdong"
    norms_override: dict[str, Any] = Field(default_factory=dict)
    strict: bool = False
    compute_crs: str = "auto"
    inputs: InputsSpec
    demand: DemandSpec = Field(default_factory=DemandSpec)
    forecast: ForecastSpec = Field(default_factory=ForecastSpec)
    siting: SitingSpec = Field(default_factory=SitingSpec)
    map: MapSpec = Field(default_factory=MapSpec)

    # set by the reader, never by the file
    base_dir: Path = Field(default=Path("."), exclude=True)
    source_file: str = Field(default="<scenario>", exclude=True)

    @model_validator(mode="after")
    def _years_in_order(self) -> Scenario:
        if self.horizon <= self.base_year:
            raise ValueError(f"horizon ({self.horizon}) must be after base_year ({self.base_year})")
        return self

    def map_path(self, path: str) -> Path:
        """Absolute path of a file named in ``[map]`` (relative to the scenario's folder)."""
        p = Path(path)
        return p if p.is_absolute() else (self.base_dir / p)

    def input_path(self, name: str) -> Path:
        """Absolute path of an input file (relative paths are taken from the scenario's folder)."""
        spec = getattr(self.inputs, name)
        if spec is None:
            raise ScenarioError(f"{self.source_file}: input '{name}' is not declared.")
        p = Path(spec.path)
        return p if p.is_absolute() else (self.base_dir / p)

    @property
    def years(self) -> list[int]:
        """Planning years from the base year to the horizon, inclusive."""
        return list(range(self.base_year, self.horizon + 1))


def _check_keys(data: Any, model: type[BaseModel], source: str, section: str = "") -> None:
    """Raise UnknownKeyError for the first key the model does not know, naming the closest."""
    if not isinstance(data, dict):
        return
    fields = {n: f for n, f in model.model_fields.items() if not f.exclude}
    for key, value in data.items():
        if key not in fields:
            where = f"{source} [{section}]" if section else f"{source} (top level)"
            raise UnknownKeyError(key, list(fields), where)
        sub = _model_of(fields[key].annotation)
        if sub is not None:
            _check_keys(value, sub, source, f"{section}.{key}" if section else key)


def _model_of(ann: Any) -> type[BaseModel] | None:
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return ann
    for arg in getattr(ann, "__args__", ()) or ():
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None


def scenario_from_dict(
    data: dict[str, Any], *, base_dir: Path | str = ".", source: str = "<scenario>"
) -> Scenario:
    """Validate a parsed scenario.

    Parameters
    ----------
    data : dict
        The parsed TOML.
    base_dir : path
        Folder relative input paths are taken from.
    source : str
        The file name used in messages.

    Raises
    ------
    UnknownKeyError
        A key is unknown (the message names the closest valid key).
    ScenarioError
        A value has the wrong type or is out of range (every such problem is listed).
    """
    _check_keys(data, Scenario, source)
    try:
        sc = Scenario.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = ".".join(str(x) for x in err["loc"]) or "(top level)"
            lines.append(f"  {loc}: {err['msg']} (got {err.get('input')!r})")
        raise ScenarioError(
            f"{source}: {len(lines)} problem(s) in the scenario:\n" + "\n".join(lines)
        ) from None
    sc.base_dir = Path(base_dir)
    sc.source_file = source
    return sc
