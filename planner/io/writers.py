"""Write outputs: an output folder that appears whole or not at all (输出写入).

A run writes into a hidden temporary folder next to the target and renames it
into place only when everything succeeded, so a failed run leaves no
half-written output, and an existing folder is never overwritten unless asked.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import time
import tomllib
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import geopandas as gpd
import pandas as pd

from planner.errors import OutputFolderError
from planner.io.safe import neutralise_frame, protect_frame_cells

__all__ = [
    "MANIFEST",
    "OutputFolder",
    "is_planner_output",
    "localise",
    "output_labels",
    "pid_alive",
    "write_csv",
    "write_excel",
    "write_json",
]


#: a lock or partial folder older than this belongs to a dead run, whatever its pid
STALE_AFTER_S = 24 * 3600.0
#: the file that marks a folder as the planner's own output (``--overwrite`` replaces only such)
MANIFEST = "manifest.json"
_MANIFEST_KEYS = ("planner_manifest", "planner_compare")


def is_planner_output(folder: str | Path) -> bool:
    """Whether ``folder`` holds a previous planner output (its ``manifest.json``)."""
    m = Path(folder) / MANIFEST
    try:
        data = json.loads(m.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and any(k in data for k in _MANIFEST_KEYS)


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine (conservative: True if unsure)."""
    if pid <= 0:
        return False
    if os.name == "nt":  # pragma: no cover - Windows
        import ctypes

        kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        code = ctypes.c_ulong()
        ok = kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        kernel32.CloseHandle(handle)
        return bool(ok) and code.value == 259  # STILL_ACTIVE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return True
    return True


class OutputFolder:
    """Context manager: write into a temporary folder, move it to ``target`` on success.

    Everything about the target is checked when the object is made, before any
    computation: it must not hold an input, must not exist unless ``overwrite``, and
    ``overwrite`` replaces only a folder that holds a previous planner output (its
    ``manifest.json``), never anything else. A lock (``.<name>.lock`` beside the target)
    is taken at once, so a second run to the same folder refuses while the first is
    running; it is released when the output is in place, or by :meth:`release`. Partial
    folders (``.<name>.partial-<pid>-…``) of runs that died are removed.

    Parameters
    ----------
    target : path
        The folder the outputs will be in.
    protect : iterable of path
        Files that must never be inside ``target`` (the scenario's inputs).
    overwrite : bool
        Replace an existing ``target`` holding a planner output (only after the new output
        is complete).

    Raises
    ------
    OutputFolderError
        The target is refused or locked by another run (the message says what to do).
    """

    def __init__(
        self, target: str | Path, protect: Iterable[str | Path] = (), overwrite: bool = False
    ):
        self.target = Path(target).resolve()
        self.overwrite = overwrite
        self.lock_path = self.target.parent / f".{self.target.name}.lock"
        self._locked = False
        for p in protect:
            p = Path(p).resolve()
            if p == self.target or self.target in p.parents:
                raise OutputFolderError(
                    f"output folder {target} contains the input {p}; outputs never go into an "
                    "input folder. Choose another --out folder."
                )
        self._check_target(target)
        self._acquire()
        try:
            self._check_target(target)  # it may have appeared while we waited for the lock
            self.clean_stale()
        except BaseException:
            self.release()
            raise
        self.tmp = (
            self.target.parent / f".{self.target.name}.partial-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        )

    def _check_target(self, shown: str | Path) -> None:
        if not self.target.exists():
            return
        if not self.target.is_dir():
            raise OutputFolderError(
                f"output path {shown} is a file, not a folder. Choose another --out folder."
            )
        if not self.overwrite:
            raise OutputFolderError(
                f"output folder {shown} already exists. Choose a new --out folder, or pass "
                "--overwrite to replace it (only a previous planner output is replaced)."
            )
        if not is_planner_output(self.target):
            raise OutputFolderError(
                f"output folder {shown} exists and holds no {MANIFEST} of a planner run, so "
                "--overwrite will not replace it (it may hold someone's files). Choose another "
                "--out folder, or empty it yourself."
            )

    # -- lock ---------------------------------------------------------------------------

    def _acquire(self) -> None:
        self.target.parent.mkdir(parents=True, exist_ok=True)
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": time.time(),
            "target": str(self.target),
        }
        for _attempt in range(2):
            try:
                fd = os.open(self.lock_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                holder = self._holder()
                if holder is None:  # stale: take it over
                    self.lock_path.unlink(missing_ok=True)
                    continue
                raise OutputFolderError(
                    f"output folder {self.target} is being written by another planner run "
                    f"(pid {holder.get('pid')} on {holder.get('host')}, started "
                    f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(holder.get('started', 0)))}). "
                    "Wait for it to finish or choose another --out folder; if no run is "
                    f"active, delete {self.lock_path}."
                ) from None
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(info, fh)
            self._locked = True
            return
        raise OutputFolderError(f"cannot take the lock {self.lock_path}; delete it and retry.")

    def _holder(self) -> dict | None:
        """The live run holding the lock, or None when the lock is stale."""
        try:
            data = json.loads(self.lock_path.read_text(encoding="utf-8"))
            age = time.time() - float(data.get("started", 0))
        except (OSError, ValueError, TypeError):
            try:  # unreadable (being written?): stale only when old
                age = time.time() - self.lock_path.stat().st_mtime
            except OSError:
                return None
            return None if age > STALE_AFTER_S else {"pid": "?", "host": "?", "started": 0}
        if age > STALE_AFTER_S:
            return None
        if data.get("host") == socket.gethostname() and not pid_alive(int(data.get("pid", 0))):
            return None
        return data

    def release(self) -> None:
        """Give the lock back (idempotent)."""
        if self._locked:
            self.lock_path.unlink(missing_ok=True)
            self._locked = False

    def clean_stale(self) -> list[Path]:
        """Remove partial and old folders of this target left by runs that died."""
        removed = []
        now = time.time()
        for pat in (f".{self.target.name}.partial-*", f".{self.target.name}.old-*"):
            for p in self.target.parent.glob(pat):
                if not p.is_dir():
                    continue
                m = re.search(r"\.(?:partial|old)-(\d+)-", p.name)
                pid = int(m.group(1)) if m else 0
                try:
                    old = now - p.stat().st_mtime > STALE_AFTER_S
                except OSError:
                    continue
                if pid == os.getpid() and not old:
                    continue
                if old or not pid_alive(pid):
                    shutil.rmtree(p, ignore_errors=True)
                    removed.append(p)
        return removed

    # -- the context --------------------------------------------------------------------

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
        try:
            if exc_type is not None:
                shutil.rmtree(self.tmp, ignore_errors=True)
                return
            if self.target.exists():
                old = (
                    self.target.parent
                    / f".{self.target.name}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}"
                )
                os.replace(self.target, old)
                os.replace(self.tmp, self.target)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(self.tmp, self.target)
        finally:
            self.release()


def write_csv(df: pd.DataFrame, path: Path) -> Path:
    """Tidy CSV, UTF-8 with BOM so that Excel shows Chinese text correctly.

    Text cells a spreadsheet would run as a formula are neutralised
    (:func:`planner.io.safe.neutralise_frame`).
    """
    frame = pd.DataFrame(df.drop(columns="geometry")) if isinstance(df, gpd.GeoDataFrame) else df
    frame = neutralise_frame(frame)
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
            protect_frame_cells(ws, df)  # formula-like text stays text (planner.io.safe)
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
