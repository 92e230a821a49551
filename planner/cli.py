"""Command line: ``planner validate``, ``planner run``, ``planner norms`` (命令行)."""

from __future__ import annotations

import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from planner.errors import PlannerError, ValidationFailed
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


def _fail(exc: BaseException) -> None:
    err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=2)


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


def _load(scenario_path: Path, strict: bool | None):
    from planner.io.load import load_inputs
    from planner.io.norms import load_norms
    from planner.io.scenario import read_scenario

    sc = read_scenario(scenario_path)
    norms_ref = sc.norms
    cand = sc.base_dir / norms_ref
    if norms_ref.endswith(".toml") and cand.exists():
        norms_ref = str(cand)
    norms = load_norms(norms_ref, overrides=sc.norms_override or None)
    names = [n for n, _ in sc.inputs.items()]
    with _progress() as prog:
        task = prog.add_task("reading inputs", total=len(names))

        inputs = load_inputs(
            sc,
            strict=strict,
            on_input=lambda name: prog.update(task, advance=1, description=f"read {name}"),
        )
    return sc, norms, inputs


def _print_report(inputs, max_lines: int = 60) -> None:
    t = Table(title="Inputs 输入数据", show_lines=False)
    for c in ("input", "file", "rows", "errors", "warnings"):
        t.add_column(c, justify="right" if c in {"rows", "errors", "warnings"} else "left")
    for _, r in inputs.summary().iterrows():
        t.add_row(r["input"], r["file"], str(r["rows"]), str(r["errors"]), str(r["warnings"]))
    console.print(t)
    console.print(f"compute CRS: {inputs.compute_crs.name} ({inputs.compute_crs.to_string()})")
    probs = inputs.report.problems
    if not probs:
        console.print("[bold green]No problems found.[/] 未发现数据问题。")
        return
    style = {"error": "red", "warning": "yellow", "info": "cyan"}
    rank = {"error": 0, "warning": 1, "info": 2}
    ordered = sorted(probs, key=lambda p: (rank[p.severity], p.file, p.row or 0))
    for p in ordered[:max_lines]:
        console.print(f"[{style[p.severity]}]{escape(str(p))}[/]", highlight=False, soft_wrap=True)
    if len(probs) > max_lines:
        console.print(f"… {len(probs) - max_lines} more (see validation.csv of a run)")
    console.print(
        f"{len(inputs.report.errors)} error(s), {len(inputs.report.warnings)} warning(s), "
        f"{len(probs) - len(inputs.report.errors) - len(inputs.report.warnings)} note(s)."
    )


@app.command()
def validate(scenario: ScenarioArg, strict: StrictOpt = None) -> None:
    """Load and validate every input of SCENARIO; print a summary and every problem found.

    Exit code 0 when no error was found (warnings allowed), 1 when errors were found,
    2 when the scenario itself cannot be read.
    """
    try:
        _sc, _norms, inputs = _load(scenario, strict)
    except ValidationFailed as exc:
        err.print(escape(str(exc)), highlight=False, soft_wrap=True)
        raise typer.Exit(code=1) from None
    except PlannerError as exc:
        _fail(exc)
    _print_report(inputs)
    if inputs.report.errors:
        raise typer.Exit(code=1)


@app.command()
def run(
    scenario: ScenarioArg,
    out: Annotated[
        Path | None,
        typer.Option(help="Output folder (default: runs/<scenario name>-<time>). Must not exist."),
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing output folder.")] = False,
    strict: StrictOpt = None,
    siting: Annotated[
        bool | None,
        typer.Option(
            "--siting/--no-siting",
            help="Plan new schools (default: the scenario's siting.enabled).",
        ),
    ] = None,
) -> None:
    """Run the planner on SCENARIO and write every output to a fresh folder."""
    from planner.io.run_output import write_run
    from planner.run import compute, forecast_for

    t0 = time.perf_counter()
    try:
        sc, norms, inputs = _load(scenario, strict)
        t_load = time.perf_counter() - t0
        if inputs.report.errors:
            err.print(
                f"[yellow]{len(inputs.report.errors)} input error(s) found; running anyway "
                "(use --strict to refuse). See validation.csv in the output.[/]"
            )
        with _progress() as prog:
            task = prog.add_task("computing", total=None)
            prog.update(task, description="forecast")
            forecast, details = forecast_for(inputs)
            result = compute(
                inputs,
                norms,
                forecast=forecast,
                siting=(sc.siting.enabled if siting is None else siting) and "sites" in inputs,
                on_step=lambda s: prog.update(task, description=s),
            )
            for k, v in details.items():
                result.tables[f"forecast_{k}"] = v
            prog.update(task, description="computed", total=1, completed=1)
        target = out or _default_out(sc)
        t1 = time.perf_counter()
        write_run(result, target, overwrite=overwrite, timings={"load_inputs": t_load})
        t_write = time.perf_counter() - t1
    except ValidationFailed as exc:
        err.print(escape(str(exc)), highlight=False, soft_wrap=True)
        raise typer.Exit(code=1) from None
    except PlannerError as exc:
        _fail(exc)
    _print_summary(sc, result)
    if "forecast_method" in result.tables:
        from planner.forecast.pipeline import forecast_line

        console.print(escape(forecast_line(result.tables)), highlight=False)
    total = time.perf_counter() - t0
    console.print(
        f"outputs written to [bold]{target}[/] in {total:.1f} s "
        f"(load {t_load:.1f} s, write {t_write:.1f} s)"
    )


def _print_summary(sc: Scenario, result) -> None:
    from planner.run import summary

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
    console.print(
        f"大班额 schools: {s['oversized_class_schools']}; 大校额 schools: {s['oversized_schools']}; "
        f"差异系数 over the limit: {', '.join(s['cv_failing']) or 'none'}"
    )
    if "siting_summary" in result.tables:
        ss = result.tables["siting_summary"].iloc[0]
        after = (
            result.tables["gaps_after"]
            .groupby(["stage", "year"])[["seat_gap", "seat_gap_after"]]
            .sum()
        )
        console.print(
            f"siting: {ss['projects']} projects, {ss['seats_added']:,} seats, "
            f"{ss['cost_yuan'] / 1e8:,.2f} 亿元; solver {ss['status']}, gap {ss['gap']:.3%}, "
            f"{ss['solve_seconds']:.0f} s"
        )
        if ss.get("distances") == "road":
            console.print(
                f"distances along the road network; {ss['points_snapped_far']} demand points and "
                f"{ss['facilities_snapped_far']} school/site points are more than "
                f"{ss['snap_tolerance_m']:.0f} m from it"
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
def backtest(scenario: ScenarioArg) -> None:
    """Backtest the forecast on SCENARIO's history: the same choice `planner run` makes.

    Runs the scenario's forecast (births and enrolment per stage) exactly as `planner
    run` does and shows, per target: every candidate's backtest error and the method
    chosen; the out-of-sample error of that choice per horizon (nested: at each origin
    the choice is remade from what was known then) with the 80 % interval coverage; and
    every candidate's MAPE and coverage per horizon (all in %).
    """
    from planner.forecast.pipeline import forecast_line
    from planner.run import forecast_for

    try:
        _sc, _norms, inputs = _load(scenario, None)
        if "enrolment" not in inputs or "births" not in inputs:
            _fail(PlannerError(f"{scenario}: a backtest needs the births and enrolment inputs."))
        _fc, details = forecast_for(inputs, force=True)
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
def compare(
    run_a: Annotated[Path, typer.Argument(help="Output folder of the first `planner run`.")],
    run_b: Annotated[Path, typer.Argument(help="Output folder of the second `planner run`.")],
    out: Annotated[Path, typer.Option(help="Folder for the comparison (must not exist).")] = Path(
        "runs/compare"
    ),
    overwrite: Annotated[bool, typer.Option(help="Replace an existing folder.")] = False,
) -> None:
    """Compare two runs: city totals side by side and the units whose gap changed."""
    from planner.io.compare import read_run, write_comparison

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


def _default_out(sc: Scenario) -> Path:
    stem = Path(sc.source_file).stem
    return Path("runs") / f"{stem}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"


@app.command()
def norms(
    name: Annotated[
        str | None, typer.Argument(help="Norms name or TOML path; omit to list them.")
    ] = None,
) -> None:
    """List the bundled norms files, or show every entry of one with its source."""
    from planner.io.norms import available_norms, load_norms

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
