"""Command line: ``planner validate``, ``planner run``, ``planner norms`` (命令行)."""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from planner.errors import (
    EXIT_INPUTS_REFUSED,
    EXIT_INTERNAL,
    EXIT_USAGE,
    PlannerError,
    ValidationFailed,
    ValidationReport,
)
from planner.scenario import Scenario

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="School seat planner: seat demand, gaps and siting for compulsory education "
    "(义务教育学位规划).",
)
console = Console(stderr=False)
err = Console(stderr=True)

ScenarioArg = Annotated[
    Path, typer.Argument(help="Scenario TOML file, e.g. data/demo/scenario.toml")
]
StrictOpt = Annotated[
    bool | None,
    typer.Option(
        "--strict/--no-strict", help="Refuse inputs with errors (default: the scenario's `strict`)."
    ),
]


#: where a crash report goes and what it names: set by each command as it starts
_CRASH: dict[str, object] = {}


def _fail(exc: BaseException, code: int = EXIT_USAGE) -> None:
    err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=code)


def crash_report(exc: BaseException, folder: Path, *, scenario: object = None) -> Path:
    """Write a crash report (traceback, versions, scenario path, command) into ``folder``.

    Falls back to the system's temporary folder when ``folder`` cannot be written.

    Returns
    -------
    Path
        The report file.
    """
    import platform
    import tempfile
    import traceback

    from planner.outputs.run_output import package_versions

    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    lines = [
        "planner crash report — please send this file with your bug report",
        f"time: {datetime.now().isoformat(timespec='seconds')}",
        f"command: {' '.join(sys.argv)}",
        f"scenario: {Path(str(scenario)).resolve() if scenario else '(none)'}",
        f"working folder: {Path.cwd()}",
        f"platform: {platform.platform()}",
        "versions: " + ", ".join(f"{k} {v}" for k, v in package_versions().items()),
        "",
        "".join(traceback.format_exception(exc)),
    ]
    text = "\n".join(lines)
    for where in (Path(folder), Path(tempfile.gettempdir())):
        try:
            where.mkdir(parents=True, exist_ok=True)
            path = where / f"planner-crash-{stamp}.txt"
            path.write_text(text, encoding="utf-8")
            return path
        except OSError:
            continue
    raise OSError("cannot write a crash report")  # pragma: no cover


def _guarded(fn: Callable[..., None]) -> Callable[..., None]:
    """Catch an unexpected exception: crash report in the output's parent folder, exit 70."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        _CRASH.clear()
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort, click.exceptions.ClickException, KeyboardInterrupt):
            raise
        except Exception as exc:
            from planner.pipeline import describe_exception

            folder = Path(str(_CRASH.get("folder") or "."))
            try:
                path = crash_report(exc, folder, scenario=_CRASH.get("scenario"))
                where = f"; report written to {path}"
            except OSError:
                where = ""
            err.print(
                f"[bold red]internal error:[/] {escape(describe_exception(exc))}{escape(where)}. "
                "This is a bug in planner, not in your data: please report it with that file.",
                highlight=False,
                soft_wrap=True,
            )
            raise typer.Exit(code=EXIT_INTERNAL) from None

    return wrapper


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err,
        transient=False,
        disable=not err.is_terminal,
    )


def _siting_progress(prog: Progress, task):
    """The siting engine's reports: a live line on a terminal, plain log lines otherwise."""

    def show(p) -> None:
        if err.is_terminal:
            prog.update(task, description=escape(p.line()))
        else:
            err.print(p.line(), highlight=False, soft_wrap=True)

    return show


def _load(sc: Scenario, strict: bool | None):
    from planner.api import load_inputs, norms_for

    norms = norms_for(sc)
    names = [n for n, _ in sc.inputs.items()]
    with _progress() as prog:
        task = prog.add_task("reading inputs", total=len(names))

        inputs = load_inputs(
            sc,
            strict=strict,
            on_input=lambda name: prog.update(task, advance=1, description=f"read {name}"),
            norms=norms,
        )
    return norms, inputs


def validation_file(sc: Scenario) -> Path:
    """Where the full problem list goes: ``<scenario>.validation.csv`` beside the scenario."""
    src = Path(sc.source_file)
    return src.with_name(f"{src.stem}.validation.csv")


def _write_validation(sc: Scenario, report, excluded=None) -> Path | None:
    """Write every problem to the file beside the scenario (the working folder if read-only)."""
    from planner.outputs.writers import write_csv

    df = report.to_frame()
    for path in (validation_file(sc), Path.cwd() / validation_file(sc).name):
        try:
            write_csv(df, path)
            return path
        except OSError:
            continue
    return None


def _grouped(problems) -> Table:
    """Input × problem code: how many, of which severity, the first rows."""
    import pandas as pd

    df = pd.DataFrame(
        [{"file": p.file, "code": p.code, "severity": p.severity, "row": p.row} for p in problems]
    )
    rank = {"error": 0, "warning": 1, "info": 2}
    df["rank"] = df["severity"].map(rank)
    t = Table(title="Problems by input and code 数据问题汇总", show_lines=False)
    for c in ("input file", "code", "severity", "count", "first rows"):
        t.add_column(c, justify="right" if c == "count" else "left", overflow="fold")
    g = df.groupby(["file", "code", "severity", "rank"], sort=False)
    rows = []
    for (file, code, sev, rk), grp in g:
        first = [str(int(r)) for r in grp["row"].dropna().unique()[:5]]
        more = " …" if grp["row"].dropna().nunique() > 5 else ""
        rows.append((rk, file, code, sev, len(grp), ", ".join(first) + more))
    style = {"error": "red", "warning": "yellow", "info": "cyan"}
    for _rk, file, code, sev, n, first in sorted(rows, key=lambda r: (r[0], r[1], r[2])):
        t.add_row(escape(file), code, f"[{style[sev]}]{sev}[/]", str(n), first or "—")
    return t


def _print_report(inputs, max_lines: int = 30, written: Path | None = None) -> None:
    t = Table(title="Inputs 输入数据", show_lines=False)
    for c in ("input", "file", "rows", "kept out", "errors", "warnings"):
        t.add_column(c, justify="left" if c in {"input", "file"} else "right")
    excl = inputs.excluded.groupby("input").size() if len(inputs.excluded) else {}
    for _, r in inputs.summary().iterrows():
        t.add_row(
            r["input"],
            escape(r["file"]),
            str(r["rows"]),
            str(int(excl.get(r["input"], 0))) if len(inputs.excluded) else "0",
            str(r["errors"]),
            str(r["warnings"]),
        )
    console.print(t)
    if inputs.compute_crs is not None:
        console.print(f"compute CRS: {inputs.compute_crs.name} ({inputs.compute_crs.to_string()})")
    probs = inputs.report.problems
    if not probs:
        console.print("[bold green]No problems found.[/] 未发现数据问题。")
        return
    console.print(_grouped(probs))
    style = {"error": "red", "warning": "yellow", "info": "cyan"}
    rank = {"error": 0, "warning": 1, "info": 2}
    ordered = sorted(probs, key=lambda p: (rank[p.severity], p.file, p.row or 0))
    for p in ordered[:max_lines]:  # in Chinese, the English message alongside
        console.print(f"[{style[p.severity]}]{escape(p.zh())}[/]", highlight=False, soft_wrap=True)
    if len(probs) > max_lines:
        console.print(f"… the first {max_lines} of {len(probs)} problems are shown above.")
    n_err, n_warn = len(inputs.report.errors), len(inputs.report.warnings)
    n_info, n_out = len(probs) - n_err - n_warn, len(inputs.excluded)
    console.print(
        f"{n_err} 个错误、{n_warn} 个警告、{n_info} 条提示，{n_out} 行未参与计算 / "
        f"{n_err} error(s), {n_warn} warning(s), {n_info} note(s); "
        f"{n_out} row(s) kept out of the computation."
    )
    if written is not None:
        console.print(
            f"every problem, with what the run does about it: [bold]{escape(str(written))}[/]"
        )


@app.command()
@_guarded
def validate(scenario: ScenarioArg, strict: StrictOpt = None) -> None:
    """Load and validate every input of SCENARIO; print a summary and every problem found.

    The full list (with what a run does about each problem) is written beside the
    scenario as ``<scenario>.validation.csv``. Exit code 0 when no error was found
    (warnings allowed), 1 when errors were found, 2 when the scenario itself cannot be
    read, 70 on an internal error.
    """
    from planner.inputs.scenario import read_scenario

    _CRASH.update(folder=scenario.parent, scenario=scenario)
    try:
        sc = read_scenario(scenario)
        _norms, inputs = _load(sc, False)
    except PlannerError as exc:
        _fail(exc)
    written = _write_validation(sc, inputs.report)
    _print_report(inputs, written=written)
    effective = sc.strict if strict is None else strict
    if inputs.blocking:
        err.print(
            f"[bold red]{len(inputs.blocking)} required input(s) unusable: `planner run` will "
            "refuse this scenario.[/]"
        )
    if inputs.report.errors:
        if effective:
            err.print("strict mode: `planner run` will refuse these inputs.")
        raise typer.Exit(code=EXIT_INPUTS_REFUSED)


@app.command()
@_guarded
def run(
    scenario: ScenarioArg,
    out: Annotated[
        Path | None,
        typer.Option(help="Output folder (default: runs/<scenario name>-<time>). Must not exist."),
    ] = None,
    overwrite: Annotated[
        bool,
        typer.Option(help="Replace an existing output folder of a previous planner run."),
    ] = False,
    strict: StrictOpt = None,
    siting: Annotated[
        bool | None,
        typer.Option(
            "--siting/--no-siting",
            help="Plan new schools (default: the scenario's siting.enabled).",
        ),
    ] = None,
    time_limit: Annotated[
        float | None,
        typer.Option(
            "--time-limit",
            help="Safety cap in seconds on the siting solve (default: the scenario's "
            "siting.time_limit_s). The plan itself stops on work limits.",
        ),
    ] = None,
) -> None:
    """Run the planner on SCENARIO and write every output to a fresh folder.

    Exit codes: 0 complete; 1 inputs refused; 2 usage, scenario or output folder error;
    3 complete but siting was stopped by the clock; 4 complete but a step failed (see
    run_status.csv); 70 internal error (crash report in the output's parent folder).
    """
    from planner.api import compute_run
    from planner.inputs.scenario import read_scenario
    from planner.outputs.run_output import input_files, write_run
    from planner.outputs.writers import OutputFolder

    t0 = time.perf_counter()
    _CRASH.update(folder=(out.resolve().parent if out else Path("runs")), scenario=scenario)
    try:
        sc = read_scenario(scenario)
        target = out or _default_out(sc)
        _CRASH["folder"] = Path(target).resolve().parent
        # the output folder is checked (and locked) before anything is computed
        folder = OutputFolder(
            target, protect=[*input_files(sc), Path(sc.source_file)], overwrite=overwrite
        )
    except PlannerError as exc:
        _fail(exc)
    try:
        try:
            norms, inputs = _load(sc, strict)
        except ValidationFailed as exc:
            written = _write_validation(sc, ValidationReport(exc.problems))
            err.print(escape(str(exc)), highlight=False, soft_wrap=True)
            if written:
                err.print(f"every problem: {escape(str(written))}")
            raise typer.Exit(code=EXIT_INPUTS_REFUSED) from None
        except PlannerError as exc:
            _fail(exc)
        t_load = time.perf_counter() - t0
        if inputs.blocking:
            written = _write_validation(sc, inputs.report)
            err.print(
                f"[bold red]error:[/] the run cannot proceed: {len(inputs.blocking)} required "
                "input(s) unusable:",
                highlight=False,
            )
            for p in inputs.blocking:
                err.print(f"  {escape(str(p))}", highlight=False, soft_wrap=True)
            if written:
                err.print(f"every problem found: {escape(str(written))}")
            raise typer.Exit(code=EXIT_INPUTS_REFUSED)
        if inputs.report.errors:
            err.print(
                f"[yellow]{len(inputs.report.errors)} input error(s) found; running anyway "
                f"({len(inputs.excluded)} row(s) kept out; use --strict to refuse). See "
                "validation.csv and excluded_rows.csv in the output.[/]"
            )
        with _progress() as prog:
            task = prog.add_task("computing", total=None)
            result = compute_run(
                inputs,
                norms,
                forecast="auto",
                siting=(sc.siting.enabled if siting is None else siting) and "sites" in inputs,
                time_limit_s=time_limit,
                on_step=lambda s: prog.update(task, description=s),
                siting_progress=_siting_progress(prog, task),
            )
            prog.update(task, description="writing outputs")
            t1 = time.perf_counter()
            write_run(result, folder, timings={"load_inputs": t_load})
            t_write = time.perf_counter() - t1
            prog.update(task, description="done", total=1, completed=1)
    finally:
        folder.release()
    _print_summary(sc, result)
    _print_status(result)
    if "forecast_method" in result.tables:
        from planner.forecast.pipeline import forecast_line

        console.print(escape(forecast_line(result.tables)), highlight=False)
    total = time.perf_counter() - t0
    console.print(
        f"outputs written to [bold]{escape(str(target))}[/] in {total:.1f} s "
        f"(load {t_load:.1f} s, write {t_write:.1f} s)"
    )
    code = result.exit_code()
    if code:
        raise typer.Exit(code=code)


def _print_status(result) -> None:
    """The steps that did not end ok, and the clock, one line each."""
    from planner.pipeline import CLOCK_MESSAGE

    for s in result.steps:
        if s.status == "ok":
            continue
        colour = "red" if s.status == "failed" else "yellow"
        err.print(
            f"[{colour}]{s.step}: {s.status}[/] — {escape(s.message)}"
            + (f" → {escape(s.hint)}" if s.hint and s.status != "skipped" else ""),
            highlight=False,
            soft_wrap=True,
        )
    if result.stopped_by_clock:
        err.print(f"[yellow]siting: {CLOCK_MESSAGE}[/]", highlight=False)
    if result.failed_steps:
        err.print(
            f"[red]{len(result.failed_steps)} step(s) failed; every other output is written "
            "(run_status.csv, manifest.json).[/]"
        )


def _print_summary(sc: Scenario, result) -> None:
    from planner.outputs.summary import summary

    if "needs_city" in result.tables:
        city = result.tables["needs_city"].set_index(["stage", "year"])
        t = Table(title=f"{sc.name}: 学位缺口 seat gap (sum of unit gaps)")
        t.add_column("stage 学段")
        years = result.milestone_years()
        for y in years:
            t.add_column(str(y), justify="right")
        zh = {"primary": "小学 primary", "junior": "初中 junior"}
        for stage in ("primary", "junior"):
            t.add_row(zh[stage], *(f"{int(city.loc[(stage, y), 'seat_gap']):,}" for y in years))
        console.print(t)
    s = summary(result)
    if s["oversized_schools"] is not None:
        console.print(
            f"大班额 schools: {s['oversized_class_schools']}; 大校额 schools: "
            f"{s['oversized_schools']}"
        )
    if "equity_summary" in result.tables:
        console.print(
            f"差异系数 over the limit: {', '.join(s['cv_failing']) or 'none'}"
            + (f"; no data for: {', '.join(s['cv_no_data'])}" if s["cv_no_data"] else "")
        )
    if "siting_summary" in result.tables and len(result.tables["siting_summary"]):
        ss = result.tables["siting_summary"].iloc[0]
        try:
            console.print(
                f"siting: {ss['projects']} projects, {ss['seats_added']:,} seats, "
                f"{ss['cost_yuan'] / 1e8:,.2f} 亿元; solver {ss['status']}, gap {ss['gap']:.3%}, "
                f"{ss['solve_seconds']:.0f} s"
            )
        except (KeyError, TypeError, ValueError):
            console.print(f"siting: solver {ss.get('status', '?')}")
        if ss.get("distances") == "road":
            console.print(
                f"distances along the road network; {ss['points_snapped_far']} demand points and "
                f"{ss['facilities_snapped_far']} school/site points are more than "
                f"{ss['snap_tolerance_m']:.0f} m from it"
            )
    if "gaps_after" in result.tables:
        after = (
            result.tables["gaps_after"]
            .groupby(["stage", "year"])[["seat_gap", "seat_gap_after"]]
            .sum()
        )
        t2 = Table(title="seat gap before → after the plan")
        t2.add_column("stage")
        t2.add_column("year", justify="right")
        t2.add_column("before", justify="right")
        t2.add_column("after", justify="right")
        for (stage, year), r in after.iterrows():
            t2.add_row(stage, str(year), f"{int(r['seat_gap']):,}", f"{int(r['seat_gap_after']):,}")
        console.print(t2)


@app.command()
@_guarded
def backtest(scenario: ScenarioArg) -> None:
    """Backtest the forecast on SCENARIO's history: the same choice `planner run` makes.

    Runs the scenario's forecast (births and enrolment per stage) exactly as `planner
    run` does and shows, per target: every candidate's backtest error and the method
    chosen; the out-of-sample error of that choice per horizon (nested: at each origin
    the choice is remade from what was known then) with the 80 % interval coverage; and
    every candidate's MAPE and coverage per horizon (all in %).
    """
    from planner.api import forecast_for
    from planner.forecast.pipeline import forecast_line
    from planner.inputs.scenario import read_scenario

    _CRASH.update(folder=scenario.parent, scenario=scenario)
    try:
        norms, inputs = _load(read_scenario(scenario), None)
        if "enrolment" not in inputs or "births" not in inputs:
            _fail(PlannerError(f"{scenario}: a backtest needs the births and enrolment inputs."))
        _fc, details = forecast_for(inputs, force=True, norms=norms)
    except PlannerError as exc:
        _fail(exc)
    _print_backtest(details)
    console.print(escape(forecast_line(details)), highlight=False)


def _print_backtest(details: dict) -> None:
    """The choice, its out-of-sample record and every candidate's scores, as tables."""
    import pandas as pd

    choice = details["method"]
    for target, g in choice.groupby("target", sort=False):
        idle = g.loc[(g["n"] == 0) & ~g["chosen"]]
        g = g.drop(idle.index)
        title = f"{target}: candidates (backtest MAPE %, mean over horizons 1–5)"
        if len(idle):
            title += f"; {len(idle)} without a forecast on this history not shown"
        t = Table(title=title)
        for c in ("candidate", "score", "n", "chosen"):
            t.add_column(c, justify="right")
        for r in g.itertuples():
            score = "—" if pd.isna(r.score) else f"{r.score:.2f}"
            t.add_row(str(r.candidate), score, str(r.n), "✔" if r.chosen else "")
        console.print(t)
    acc = details["accuracy"]
    if len(acc):
        t = Table(title="out of sample: the choice remade at every origin (MAPE, bias in %)")
        for c in ("target", "horizon", "mape", "malpe", "coverage 80 %", "n"):
            t.add_column(c, justify="right")
        for r in acc.itertuples():
            cov = "—" if pd.isna(r.coverage) else f"{r.coverage:.0%}"
            t.add_row(
                str(r.target), str(r.horizon), f"{r.mape:.2f}", f"{r.malpe:.2f}", cov, str(r.n)
            )
        console.print(t)
    bt = details["backtest"]
    if len(bt):
        wide = bt.pivot_table(index=["target", "method"], columns="horizon", values="mape")
        cov = bt.pivot_table(index=["target", "method"], columns="horizon", values="coverage")
        t = Table(title="every candidate: MAPE % (80 % interval coverage) per horizon")
        t.add_column("target")
        t.add_column("method")
        for h in wide.columns:
            t.add_column(f"h{h}", justify="right")
        for (target, method), r in wide.iterrows():
            cells = [
                f"{r[h]:.2f} ({cov.loc[(target, method), h]:.0%})"
                if pd.notna(r[h]) and pd.notna(cov.loc[(target, method), h])
                else ("—" if pd.isna(r[h]) else f"{r[h]:.2f}")
                for h in wide.columns
            ]
            t.add_row(str(target), str(method), *cells)
        console.print(t)


@app.command()
@_guarded
def compare(
    run_a: Annotated[Path, typer.Argument(help="Output folder of the first `planner run`.")],
    run_b: Annotated[Path, typer.Argument(help="Output folder of the second `planner run`.")],
    out: Annotated[Path, typer.Option(help="Folder for the comparison (must not exist).")] = Path(
        "runs/compare"
    ),
    overwrite: Annotated[bool, typer.Option(help="Replace an existing folder.")] = False,
) -> None:
    """Compare two runs: city totals side by side and the units whose gap changed."""
    from planner.outputs.compare import read_run, write_comparison

    _CRASH.update(folder=out.resolve().parent)
    try:
        write_comparison(run_a, run_b, out, overwrite=overwrite)
        (_, ta), (_, tb) = read_run(run_a), read_run(run_b)
    except PlannerError as exc:
        _fail(exc)
    t = Table(title="seat gap: A → B")
    t.add_column("stage")
    t.add_column("year", justify="right")
    t.add_column("A", justify="right")
    t.add_column("B", justify="right")
    a = ta["needs_city"].set_index(["stage", "year"])["seat_gap"]
    b = tb["needs_city"].set_index(["stage", "year"])["seat_gap"]
    for (stage, year), v in a.items():
        if year % 5 == 0:
            t.add_row(stage, str(year), f"{v:,}", f"{b.get((stage, year), 0):,}")
    console.print(t)
    if (out / "compare_map.html").exists():
        console.print("maps side by side: [bold]" + escape(str(out / "compare_map.html")) + "[/]")
    console.print(f"comparison written to [bold]{escape(str(out))}[/]")


@app.command("map")
def map_(
    source: Annotated[
        Path, typer.Argument(help="A `planner run` output folder, or a scenario .toml file.")
    ],
    out: Annotated[
        Path | None, typer.Option(help="HTML file to write (default for a scenario: maps/).")
    ] = None,
    png: Annotated[Path | None, typer.Option(help="Export the map as PNG (figure page).")] = None,
    pdf: Annotated[Path | None, typer.Option(help="Export the map as PDF.")] = None,
    stage: Annotated[str | None, typer.Option(help="primary or junior.")] = None,
    year: Annotated[int | None, typer.Option(help="Year of the seat-gap layer.")] = None,
    after: Annotated[bool, typer.Option("--after", help="Seat gap after the plan.")] = False,
    projects: Annotated[
        str | None, typer.Option(help="Projects opening in a year or span (2026-2030).")
    ] = None,
    show: Annotated[
        str | None, typer.Option(help="Layers to switch on, comma-separated (catchments,…).")
    ] = None,
    hide: Annotated[
        str | None, typer.Option(help="Layers to switch off, comma-separated (radii,…).")
    ] = None,
    lang: Annotated[str | None, typer.Option(help="zh or en (scenario maps).")] = None,
    siting: Annotated[
        bool, typer.Option("--siting", help="Plan new schools first (scenario maps; minutes).")
    ] = False,
) -> None:
    """Write the map as HTML and export it as PNG / PDF for the plan's figure pages (出图)."""
    from planner.api import map_command

    state = {k: v for k, v in {"stage": stage, "year": year, "pyear": projects}.items() if v}
    if after:
        state["plan"] = "after"
    layers = {n.strip(): True for n in (show or "").split(",") if n.strip()}
    layers.update({n.strip(): False for n in (hide or "").split(",") if n.strip()})
    if layers:
        state["layers"] = layers
    try:
        files = map_command(
            source, out=out, png=png, pdf=pdf, state=state, lang=lang, siting=siting
        )
    except PlannerError as exc:
        _fail(exc)
    for f in files:
        console.print(f"written: [bold]{escape(str(f))}[/]")


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Folder for the demo city and its run.")] = Path(
        "planner-demo"
    ),
    siting: Annotated[bool, typer.Option("--siting/--no-siting", help="Plan new schools.")] = True,
) -> None:
    """Copy the bundled demo city (示例市, synthetic) to OUT and run it (OUT/run)."""
    from planner.inputs.schema import data_dir

    src = data_dir("demo")
    data = out / "demo_city"
    data.mkdir(parents=True, exist_ok=True)
    for f in sorted(src.iterdir()):
        if f.is_file() and f.suffix in (".csv", ".gpkg", ".toml", ".md"):
            (data / f.name).write_bytes(f.read_bytes())
    console.print(f"demo city copied to [bold]{escape(str(data))}[/]")
    run(data / "scenario.toml", out=out / "run", overwrite=True, strict=None, siting=siting)


def _default_out(sc: Scenario) -> Path:
    stem = Path(sc.source_file).stem
    return Path("runs") / f"{stem}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"


@app.command()
@_guarded
def norms(
    name: Annotated[
        str | None, typer.Argument(help="Norms name or TOML path; omit to list them.")
    ] = None,
) -> None:
    """List the bundled norms files, or show every entry of one with its source."""
    from planner.inputs.norms import available_norms, load_norms

    try:
        if name is None:
            for n in available_norms():
                console.print(n)
            return
        nm = load_norms(name)
    except PlannerError as exc:
        _fail(exc)
    t = Table(title=f"norms: {name}")
    for c in ("key", "value", "unit", "zh", "source"):
        t.add_column(c, overflow="fold")
    for _, r in nm.to_frame().iterrows():
        t.add_row(str(r["key"]), str(r["value"]), str(r["unit"]), str(r["zh"]), str(r["source"]))
    console.print(t)


def main() -> None:  # pragma: no cover - console entry
    """Entry point for ``python -m planner``."""
    app(prog_name="planner")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
