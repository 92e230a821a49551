"""Norms: the policy numbers of a jurisdiction, as data (规划标准).

A :class:`Norms` object holds every entry of a norms file (after inheritance) by
dotted key, each with its value, unit, Chinese label and source. This module is
pure: the files are read (and ``inherits`` chains resolved) by
:mod:`planner.inputs.norms`, which hands the parsed dictionaries to
:meth:`Norms.from_dicts`.

Examples
--------
>>> base = {"meta": {"name": "demo"},
...         "class_cap": {"primary": {"value": 45, "unit": "pupils per class",
...                                   "source": "B12"}}}
>>> norms = Norms.from_dicts([base], name="demo")
>>> norms["class_cap.primary"]
45
>>> norms.with_overrides({"class_cap.primary": 40}).class_cap("primary")
40
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

import pandas as pd

from planner.errors import NormsError, UnknownKeyError

__all__ = ["DEFAULT_GRADES", "FIELDS", "STAGES", "NormEntry", "Norms", "flatten_norms"]

#: the compulsory-education stages the planner counts seats for (小学, 初中), in order;
#: the grades of each come from the norms file (``grades.<stage>``, :meth:`Norms.grades`)
STAGES = ("primary", "junior")
#: the grades of each stage (六三制) when no norms file is at hand, e.g. the forecasting
#: estimators used on their own; a run takes them from its norms (``grades.*``), and
#: tests/test_norms.py checks that this equals the bundled norms' entry
DEFAULT_GRADES: Mapping[str, tuple[int, int]] = MappingProxyType(
    {"primary": (1, 6), "junior": (7, 9)}
)

#: The fields of one norm table; ``value``, ``unit`` and ``source`` are required.
FIELDS = ("value", "unit", "zh", "source", "note")
_REQUIRED = ("value", "unit", "source")
_FRAME_COLUMNS = ["key", "value", "unit", "zh", "source", "note", "defined_in"]


@dataclass(frozen=True)
class NormEntry:
    """One norm: a value with its unit, Chinese label and source.

    Attributes
    ----------
    key : str
        Dotted key, e.g. ``"class_cap.primary"``.
    value : Any
        A number, a list of numbers (``standard_sizes.*``), a bool or a string.
    unit : str
        Unit of the value (``"pupils per class"``, ``"m"`` …).
    zh : str
        Chinese label (中文名称).
    source : str
        The policy document or standard the value comes from (依据).
    note : str
        Optional remark (assumptions to be checked, scope …).
    defined_in : str
        The norms file (or ``"scenario"``) that set the value in force.
    """

    key: str
    value: Any
    unit: str
    zh: str
    source: str
    note: str = ""
    defined_in: str = ""


# -- value checks ---------------------------------------------------------------------
def _is_number(x: Any) -> bool:
    """True for real numbers (int, float, numpy scalars), False for bools."""
    return isinstance(x, numbers.Real) and not isinstance(x, bool) and type(x).__name__ != "bool_"


def _kind(value: Any) -> str:
    """The kind of a norm value: ``number``, ``list``, ``bool``, ``str`` or ``other``."""
    if isinstance(value, bool):
        return "bool"
    if _is_number(value):
        return "number"
    if isinstance(value, list | tuple):
        return "list"
    if isinstance(value, str):
        return "str"
    return "other"


_EXPECTED = {
    "number": "a non-negative number",
    "list": "a list of non-negative numbers",
    "bool": "true or false",
    "str": "a string",
}


def _problem(value: Any, unit: str, kind: str) -> str | None:
    """Why ``value`` is not acceptable for a norm of ``kind`` and ``unit`` (None if fine)."""
    if _kind(value) != kind:
        return f"expected {_EXPECTED.get(kind, kind)} ({unit}), got {type(value).__name__}"
    if kind == "number":
        items = [value]
    elif kind == "list":
        items = list(value)
        if not items:
            return f"expected {_EXPECTED['list']} ({unit}), got an empty list"
        if not all(_is_number(v) for v in items):
            return f"expected {_EXPECTED['list']} ({unit}), got a list with non-numbers"
    else:
        return None
    if not all(math.isfinite(float(v)) for v in items):
        return f"expected a finite number ({unit}); NaN and infinity are refused"
    if any(float(v) < 0 for v in items):
        return f"expected a non-negative number ({unit}); a norm must not be negative"
    if unit.startswith("share") and any(float(v) > 1 for v in items):
        return f"expected a share between 0 and 1 ({unit}); write 95% as 0.95"
    return None


def _plain(value: Any) -> Any:
    """Numpy scalars to Python scalars, tuples to lists (so entries compare and print plainly)."""
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and _is_number(value):
        return value.item()
    return value


# -- flattening -------------------------------------------------------------------------
def _is_leaf(table: Mapping[str, Any]) -> bool:
    """A table is a norm (leaf) if it has a norm field or is empty; else a namespace."""
    return not table or any(f in table for f in FIELDS)


def flatten_norms(data: Mapping[str, Any], origin: str) -> dict[str, NormEntry]:
    """Flatten one parsed norms file to ``{dotted key: NormEntry}``.

    Parameters
    ----------
    data : mapping
        The parsed TOML file (``[meta]`` is skipped).
    origin : str
        The file's name, used in messages and as ``defined_in``.

    Returns
    -------
    dict of str to NormEntry
        Entries in file order.

    Raises
    ------
    NormsError
        A norm lacks ``value``, ``unit`` or ``source``, has an unknown field, a value
        of an unsupported type or a negative value, or a key is not a table.
    """
    out: dict[str, NormEntry] = {}

    def walk(node: Mapping[str, Any], prefix: str) -> None:
        for k, v in node.items():
            key = f"{prefix}.{k}" if prefix else k
            if key == "meta":
                continue
            if not isinstance(v, Mapping):
                raise NormsError(
                    f"{origin}: '{key}' must be a table with value, unit and source, e.g. "
                    f'[{key}] value = {v!r}, unit = "...", source = "..."'
                )
            if not _is_leaf(v):
                walk(v, key)
                continue
            missing = [f for f in _REQUIRED if f not in v]
            if missing:
                raise NormsError(
                    f"{origin}: norm '{key}' lacks {', '.join(missing)}; every norm needs "
                    "value, unit and source"
                )
            extra = sorted(set(v) - set(FIELDS))
            if extra:
                raise NormsError(
                    f"{origin}: norm '{key}' has unknown field(s) {extra}; "
                    f"allowed: {', '.join(FIELDS)}"
                )
            value = _plain(v["value"])
            kind = _kind(value)
            if kind == "other":
                raise NormsError(
                    f"{origin}: norm '{key}' has a value of type {type(value).__name__}; "
                    "expected a number, a list of numbers, true/false or a string"
                )
            bad = _problem(value, str(v["unit"]), kind)
            if bad:
                raise NormsError(f"{origin}: norm '{key}' = {value!r}: {bad}")
            if not str(v["source"]).strip():
                raise NormsError(f"{origin}: norm '{key}' has an empty source")
            out[key] = NormEntry(
                key=key,
                value=value,
                unit=str(v["unit"]),
                zh=str(v.get("zh", "")),
                source=str(v["source"]),
                note=str(v.get("note", "")),
                defined_in=origin,
            )

    walk(data, "")
    return out


# -- the norms object ---------------------------------------------------------------------
class Norms(Mapping[str, Any]):
    """The norms in force: ``norms["class_cap.primary"]`` → 45.

    A read-only mapping from dotted keys to values; :meth:`entry` gives the whole
    :class:`NormEntry` (unit, label, source). Build it with :meth:`from_dicts`, or
    read files with :func:`planner.inputs.norms.load_norms`.

    Parameters
    ----------
    entries : mapping of str to NormEntry
        ``{dotted key: NormEntry}``.
    name : str
        The norms' name (file stem or path).
    meta : mapping, optional
        The ``[meta]`` table of the most specific file (title, jurisdiction, inherits).
    """

    __slots__ = ("_entries", "_meta", "_name")

    def __init__(
        self,
        entries: Mapping[str, NormEntry],
        name: str,
        meta: Mapping[str, Any] | None = None,
    ) -> None:
        self._entries = MappingProxyType(dict(entries))
        self._name = name
        self._meta = MappingProxyType(dict(meta or {}))

    @property
    def name(self) -> str:
        """The norms' name (``"guangdong"``, ``"zhongshan_urban"`` or a file path)."""
        return self._name

    @property
    def meta(self) -> Mapping[str, Any]:
        """The ``[meta]`` table of the most specific file (read-only)."""
        return self._meta

    @classmethod
    def from_dicts(
        cls,
        layers: Sequence[Mapping[str, Any] | tuple[Mapping[str, Any], str]],
        name: str,
    ) -> Norms:
        """Build from parsed norms files, base first; later layers override earlier ones.

        Parameters
        ----------
        layers : sequence of dict or of (dict, origin)
            The parsed TOML files from the base to the most specific (inheritance
            already resolved by the reader). A layer may be paired with the name used
            in messages and ``defined_in``; otherwise its ``meta.name`` is used.
        name : str
            The resulting norms' name.

        Returns
        -------
        Norms

        Raises
        ------
        NormsError
            A layer is malformed, or overrides an inherited norm with a value of
            another kind (a string for a number …).
        """
        if not layers:
            raise NormsError(f"norms '{name}': no norms file given")
        entries: dict[str, NormEntry] = {}
        meta: Mapping[str, Any] = {}
        for i, layer in enumerate(layers):
            if isinstance(layer, tuple):
                data, origin = layer
            else:
                data = layer
                origin = str(data.get("meta", {}).get("name") or f"{name} (layer {i + 1})")
            if not isinstance(data, Mapping):
                raise NormsError(f"{origin}: a norms file must be a table of tables")
            for key, entry in flatten_norms(data, origin).items():
                if key in entries:
                    old = entries[key]
                    bad = _problem(entry.value, old.unit, _kind(old.value))
                    if bad:
                        raise NormsError(
                            f"{origin}: norm '{key}' = {entry.value!r} cannot override the "
                            f"inherited {old.value!r} from {old.defined_in}: {bad}"
                        )
                entries[key] = entry
            meta = data.get("meta", {}) or {}
        return cls(entries, name, meta)

    # -- mapping protocol -------------------------------------------------------------
    def __getitem__(self, key: str) -> Any:
        return self.entry(key).value

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Norms({self._name!r}, {len(self)} entries)"

    def entry(self, key: str) -> NormEntry:
        """The full entry (value, unit, zh, source, note, defined_in) of ``key``.

        Raises
        ------
        UnknownKeyError
            ``key`` is not a norm; the message names the closest valid key.
        """
        try:
            return self._entries[key]
        except KeyError:
            raise UnknownKeyError(key, self._entries, f"norms '{self._name}'") from None

    def entries(self) -> list[NormEntry]:
        """Every entry, in file order (base file first)."""
        return list(self._entries.values())

    # -- overrides --------------------------------------------------------------------
    def with_overrides(self, overrides: Mapping[str, Any], source: str = "scenario") -> Norms:
        """A copy with some values replaced; unit and label are kept, the source noted.

        Parameters
        ----------
        overrides : mapping
            ``{dotted key: new value}``, e.g. a scenario's ``norms_override``.
        source : str
            Who overrides; the entries' source becomes ``"<source> override (was …)"``
            and ``defined_in`` becomes ``source``.

        Returns
        -------
        Norms
            A new object; ``self`` is unchanged.

        Raises
        ------
        UnknownKeyError
            An override names no existing norm (the closest key is suggested).
        NormsError
            The new value is of the wrong kind (text for a number …), negative, not
            finite, or a share above 1.
        """
        entries = dict(self._entries)
        for key, value in overrides.items():
            old = self.entry(key)
            value = _plain(value)
            bad = _problem(value, old.unit, _kind(old.value))
            if bad:
                raise NormsError(
                    f"{source}: override of norm '{key}' = {value!r} refused: {bad} "
                    f"(current value {old.value!r}, from {old.defined_in})"
                )
            entries[key] = replace(
                old,
                value=value,
                source=f"{source} override (was {old.value!r}: {old.source})",
                defined_in=source,
            )
        return Norms(entries, self._name, self._meta)

    # -- stage-aware helpers -----------------------------------------------------------
    def _stage_value(self, prefix: str, stage: str) -> Any:
        key = f"{prefix}.{stage}"
        if key not in self._entries:
            valid = [k[len(prefix) + 1 :] for k in self._entries if k.startswith(prefix + ".")]
            if valid:
                raise UnknownKeyError(stage, valid, f"norms '{self._name}' ({prefix}.*)")
        return self[key]

    def per_thousand(self, stage: str) -> float:
        """Seats per 1,000 residents (千人学位数) for ``stage`` (primary / junior)."""
        return float(self._stage_value("seats_per_thousand", stage))

    def class_cap(self, stage: str) -> int:
        """Maximum pupils per class (班额上限; above it is 大班额) for ``stage``."""
        return int(self._stage_value("class_cap", stage))

    def school_size_cap(self, school_type: str) -> int:
        """Maximum compulsory pupils of a school type (primary, junior, nine_year, twelve_year)."""
        return int(self._stage_value("school_size_cap", school_type))

    def service_radius(self, kind: str, stage: str) -> float:
        """Service radius in metres for a unit kind (urban / town / rural) and a stage."""
        return float(self._stage_value(f"service_radius.{kind}", stage))

    def grades(self, stage: str) -> range:
        """The grades of ``stage`` (``grades.<stage> = [first, last]``): 六三制 or 五四制.

        >>> from planner.inputs.norms import load_norms
        >>> list(load_norms("guangdong").grades("primary"))
        [1, 2, 3, 4, 5, 6]
        >>> n = load_norms("guangdong", overrides={"grades.primary": [1, 5],
        ...                                        "grades.junior": [6, 9]})
        >>> list(n.grades("junior"))
        [6, 7, 8, 9]
        """
        first, last = (int(g) for g in self._stage_value("grades", stage))
        return range(first, last + 1)

    def stage_grades(self) -> dict[str, tuple[int, int]]:
        """First and last grade of each stage, checked (see :meth:`stage_of_grade`)."""
        by_stage = self.stage_of_grade()
        return {
            s: (
                min(g for g, t in by_stage.items() if t == s),
                max(g for g, t in by_stage.items() if t == s),
            )
            for s in STAGES
        }

    def stage_of_grade(self) -> dict[int, str]:
        """Grade → stage for grades 1–9, checked: every grade in exactly one stage, in order.

        Raises
        ------
        NormsError
            The ``grades.*`` entries overlap, leave a gap or are out of order.
        """
        out: dict[int, str] = {}
        expected = 1
        for stage in STAGES:
            g = self.grades(stage)
            if g.start != expected or len(g) == 0:
                raise NormsError(
                    f"norms '{self._name}': grades.{stage} = [{g.start}, {g.stop - 1}] must "
                    f"start at grade {expected} and not be empty; the stages' grades follow on "
                    "from 1 to 9 (六三制: primary [1, 6], junior [7, 9]; 五四制: [1, 5], [6, 9])."
                )
            out.update(dict.fromkeys(g, stage))
            expected = g.stop
        if expected != 10:
            raise NormsError(
                f"norms '{self._name}': the grades of {', '.join(STAGES)} end at {expected - 1}; "
                "compulsory education has 9 grades (set grades.junior to end at 9)."
            )
        return out

    def standard_sizes(self, school_type: str) -> list[int]:
        """Standard school sizes in classes (办学规模) for a school type."""
        return [int(v) for v in self._stage_value("standard_sizes", school_type)]

    # -- export -----------------------------------------------------------------------
    def to_frame(self) -> pd.DataFrame:
        """Every entry as a table: key, value, unit, zh, source, note, defined_in.

        List values are shown as comma-separated text (``"12, 18, 24"``) so the table
        writes cleanly to Excel.
        """
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
        return pd.DataFrame(rows, columns=_FRAME_COLUMNS)
