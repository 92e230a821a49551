"""Write outputs: an output folder that appears whole or not at all (输出写入).

A run writes into a hidden temporary folder next to the target and renames it
into place only when everything succeeded, so a failed run leaves no
half-written output, and an existing folder is never overwritten unless asked.
"""

from __future__ import annotations

import json
import os
import shutil
import tomllib
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import geopandas as gpd
import pandas as pd

from planner.errors import PlannerError

__all__ = ["OutputFolder", "write_csv", "write_excel", "write_json", "output_labels", "localise"]


class OutputFolder:
    """Context manager: write into a temporary folder, move it to ``target`` on success.

    Parameters
    ----------
    target : path
        The folder the outputs will be in.
    protect : iterable of path
        Files that must never be inside ``target`` (the scenario's inputs).
    overwrite : bool
        Replace an existing ``target`` (only after the new output is complete).
    """

    def __init__(
        self, target: str | Path, protect: Iterable[str | Path] = (), overwrite: bool = False
    ):
        self.target = Path(target).resolve()
        self.overwrite = overwrite
        for p in protect:
            p = Path(p).resolve()
            if p == self.target or self.target in p.parents:
                raise PlannerError(
                    f"output folder {target} contains the input {p}; outputs never go into an "
                    "input folder. Choose another --out folder."
                )
        if self.target.exists() and not overwrite:
            raise PlannerError(
                f"output folder {target} already exists. Choose a new --out folder, or pass "
                "--overwrite to replace it."
            )
        self.tmp = self.target.parent / f".{self.target.name}.partial-{uuid.uuid4().hex[:8]}"

    def __enter__(self) -> Path:
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self.tmp.mkdir()
        return self.tmp

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            return
        if self.target.exists():
            old = self.target.parent / f".{self.target.name}.old-{uuid.uuid4().hex[:8]}"
            os.replace(self.target, old)
            os.replace(self.tmp, self.target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(self.tmp, self.target)


def write_csv(df: pd.DataFrame, path: Path) -> Path:
    """Tidy CSV, UTF-8 with BOM so that Excel shows Chinese text correctly."""
    frame = pd.DataFrame(df.drop(columns="geometry")) if isinstance(df, gpd.GeoDataFrame) else df
    frame.to_csv(path, index=False, encoding="utf-8-sig", lineterminator="\n")
    return path


def write_json(data: Any, path: Path) -> Path:
    """Pretty JSON (UTF-8, Chinese kept readable)."""
    path.write_text(
        json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8"
    )
    return path


def output_labels() -> dict[str, Any]:
    """The output column labels (``data/schema/outputs.toml``)."""
    from planner.io.schema import schema_dir

    with open(schema_dir() / "outputs.toml", "rb") as fh:
        return tomllib.load(fh)


def localise(
    df: pd.DataFrame, labels: Mapping[str, Any], lang: str = "zh", table: str | None = None
) -> pd.DataFrame:
    """Copy of ``df`` with Chinese headers (with units) and Chinese category values.

    ``table`` selects per-table label overrides (``[tables.<name>]`` in outputs.toml).
    """
    if lang != "zh":
        return df.copy()
    if table and table in labels.get("tables", {}):
        labels = {**labels, "columns": {**labels["columns"], **labels["tables"][table]}}
    out = pd.DataFrame(df.drop(columns="geometry") if "geometry" in df.columns else df).copy()
    for col, mapping in labels.get("values", {}).items():
        if col in out.columns:
            out[col] = out[col].map(lambda v, m=mapping: m.get(v, v) if isinstance(v, str) else v)
    names = {}
    for col in out.columns:
        lab = labels.get("columns", {}).get(col)
        if lab:
            names[col] = f"{lab['zh']}（{lab['unit']}）" if lab.get("unit") else lab["zh"]
    return out.rename(columns=names)


def write_excel(sheets: Mapping[str, pd.DataFrame], path: Path) -> Path:
    """One sheet per table, frozen header row, columns sized to their content."""
    with pd.ExcelWriter(path, engine="openpyxl") as xw:
        for name, df in sheets.items():
            df.to_excel(xw, sheet_name=name[:31], index=False)
            ws = xw.sheets[name[:31]]
            ws.freeze_panes = "A2"
            for i, col in enumerate(df.columns, start=1):
                values = [str(col), *(str(v) for v in df[col].head(200))]
                width = max(_display_width(v) for v in values)
                ws.column_dimensions[ws.cell(row=1, column=i).column_letter].width = min(
                    width + 2, 60
                )
    return path


def _display_width(text: str) -> int:
    """Approximate display width: CJK characters count double."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)
