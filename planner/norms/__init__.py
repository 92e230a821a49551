"""Norms: the policy numbers of a jurisdiction, as data (规划标准).

A :class:`Norms` object holds every entry of a norms file (after inheritance) by
dotted key, each with its value, unit, Chinese label and source. Pure: the files
are read by :mod:`planner.io.norms`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from planner.errors import NormsError, UnknownKeyError

__all__ = ["Norms", "NormEntry", "flatten_norms"]

_REQUIRED = ("value", "unit", "source")


@dataclass(frozen=True)
class NormEntry:
    """One norm: value with its unit, Chinese label and source."""

    key: str
    value: Any
    unit: str
    zh: str
    source: str
    note: str = ""
    defined_in: str = ""


def flatten_norms(data: Mapping[str, Any], origin: str) -> dict[str, NormEntry]:
    """Flatten a parsed norms file to ``{dotted key: NormEntry}``.

    A table with a ``value`` key is an entry; other tables are namespaces.

    Raises
    ------
    NormsError
        An entry lacks ``value``, ``unit`` or ``source``, or a leaf is not a table.
    """
    out: dict[str, NormEntry] = {}

    def walk(node: Mapping[str, Any], prefix: str) -> None:
        for k, v in node.items():
            key = f"{prefix}.{k}" if prefix else k
            if key == "meta":
                continue
            if not isinstance(v, Mapping):
                raise NormsError(
                    f"{origin}: '{key}' must be a table with value, unit and source, "
                    f'e.g. [{key}] value = {v!r} unit = "..." source = "..."'
                )
            if "value" in v:
                missing = [f for f in _REQUIRED if f not in v]
                if missing:
                    raise NormsError(
                        f"{origin}: norm '{key}' lacks {', '.join(missing)}; every norm needs "
                        "value, unit and source"
                    )
                extra = set(v) - {"value", "unit", "zh", "source", "note"}
                if extra:
                    raise NormsError(f"{origin}: norm '{key}' has unknown field(s) {sorted(extra)}")
                out[key] = NormEntry(
                    key,
                    v["value"],
                    str(v["unit"]),
                    str(v.get("zh", "")),
                    str(v["source"]),
                    str(v.get("note", "")),
                    origin,
                )
            else:
                walk(v, key)

    walk(data, "")
    return out


def _same_kind(old: Any, new: Any) -> bool:
    num = (int, float)
    if isinstance(old, bool) or isinstance(new, bool):
        return isinstance(old, bool) and isinstance(new, bool)
    if isinstance(old, num):
        return isinstance(new, num)
    if isinstance(old, list):
        return isinstance(new, list) and all(
            isinstance(x, num) and not isinstance(x, bool) for x in new
        )
    return isinstance(new, type(old))


class Norms(Mapping[str, Any]):
    """The norms in force: ``norms["class_cap.primary"]`` → 45.

    Parameters
    ----------
    entries : mapping
        ``{dotted key: NormEntry}``.
    name : str
        The norms' name (file stem or path).
    """

    def __init__(self, entries: Mapping[str, NormEntry], name: str) -> None:
        self._entries = dict(entries)
        self.name = name

    @classmethod
    def from_dicts(cls, layers: list[tuple[Mapping[str, Any], str]], name: str) -> Norms:
        """Build from parsed files, base first; later layers override earlier ones.

        Parameters
        ----------
        layers : list of (dict, origin)
            Each parsed norms file with the name used in messages.
        name : str
            The resulting norms' name.
        """
        entries: dict[str, NormEntry] = {}
        for data, origin in layers:
            for key, entry in flatten_norms(data, origin).items():
                if key in entries and not _same_kind(entries[key].value, entry.value):
                    raise NormsError(
                        f"{origin}: norm '{key}' = {entry.value!r} does not match the type of "
                        f"the inherited value {entries[key].value!r}"
                    )
                entries[key] = entry
        return cls(entries, name)

    # -- mapping protocol -------------------------------------------------------------
    def __getitem__(self, key: str) -> Any:
        return self.entry(key).value

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Norms({self.name!r}, {len(self)} entries)"

    def entry(self, key: str) -> NormEntry:
        """The full entry (value, unit, zh, source) of ``key``."""
        try:
            return self._entries[key]
        except KeyError:
            raise UnknownKeyError(key, self._entries, f"norms '{self.name}'") from None

    # -- overrides --------------------------------------------------------------------
    def with_overrides(self, overrides: Mapping[str, Any], source: str = "scenario") -> Norms:
        """A copy with some values replaced (unit and label kept, source noted).

        Raises
        ------
        UnknownKeyError
            An override names no existing norm (the closest key is suggested).
        NormsError
            The new value has the wrong type, or is negative.
        """
        entries = dict(self._entries)
        for key, value in overrides.items():
            old = self.entry(key)
            if not _same_kind(old.value, value):
                raise NormsError(
                    f"{source}: override of '{key}' = {value!r} must be of the same kind as "
                    f"{old.value!r} ({old.unit})"
                )
            vals = value if isinstance(value, list) else [value]
            if any(isinstance(v, int | float) and not isinstance(v, bool) and v < 0 for v in vals):
                raise NormsError(f"{source}: override of '{key}' = {value!r} must not be negative")
            entries[key] = replace(
                old,
                value=value,
                source=f"{source} override (was {old.value!r}: {old.source})",
                defined_in=source,
            )
        return Norms(entries, self.name)

    # -- stage-aware helpers -----------------------------------------------------------
    def per_thousand(self, stage: str) -> float:
        """Seats per 1,000 residents (千人学位数) for ``stage`` (primary / junior)."""
        return float(self[f"seats_per_thousand.{stage}"])

    def class_cap(self, stage: str) -> int:
        """Maximum pupils per class (班额上限) for ``stage``."""
        return int(self[f"class_cap.{stage}"])

    def school_size_cap(self, school_type: str) -> int:
        """Maximum compulsory pupils of a school type (primary, junior, nine_year, twelve_year)."""
        return int(self[f"school_size_cap.{school_type}"])

    def service_radius(self, kind: str, stage: str) -> float:
        """Service radius in metres for a unit kind (urban / town / rural) and stage."""
        return float(self[f"service_radius.{kind}.{stage}"])

    def standard_sizes(self, school_type: str) -> list[int]:
        """Standard school sizes in classes (办学规模) for a school type."""
        return [int(v) for v in self[f"standard_sizes.{school_type}"]]

    def to_frame(self) -> pd.DataFrame:
        """Every entry as a table: key, value, unit, zh, source, note, defined_in."""
        rows = [
            {
                "key": e.key,
                "value": ", ".join(map(str, e.value)) if isinstance(e.value, list) else e.value,
                "unit": e.unit,
                "zh": e.zh,
                "source": e.source,
                "note": e.note,
                "defined_in": e.defined_in,
            }
            for e in self._entries.values()
        ]
        return pd.DataFrame(
            rows, columns=["key", "value", "unit", "zh", "source", "note", "defined_in"]
        )
