"""Latency budgets in TOML, checked against a summary (simulated, or measured and put in the same shape).

A budget mirrors `Summary.as_dict()`: a table per metric with limits named like its statistics, e.g.

    [voice_to_voice]
    p50_ms = 500
    p95_ms = 800
    [stages."ASR done"]
    p95_ms = 200

Every `*_ms` key is an upper bound; nested tables (stages, waits, barge_in...) are walked recursively. A limit whose
statistic is absent from the summary is a violation too ("not measured"), so a budget cannot pass by omission.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping


@dataclass(frozen=True)
class Violation:
    """One broken limit: where (e.g. 'stages.ASR done.p95_ms'), the limit, and the value (None: not measured)."""

    path: str
    limit: float
    value: float | None

    @property
    def message(self) -> str:
        if self.value is None:
            return f"{self.path}: not measured (budget {self.limit:g} ms)"
        return f"{self.path} = {self.value:.1f} ms > budget {self.limit:g} ms (+{self.value - self.limit:.1f})"

    def __str__(self) -> str:
        return self.message


def load_budget(path: str | Path) -> dict[str, Any]:
    """Read a budget TOML file; raises ValueError with one line on a malformed file or a non-numeric limit."""
    try:
        with open(path, "rb") as f:
            budget = tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise ValueError(f"{path}: not valid TOML: {e}") from None
    _validate(budget, "")
    return budget


def _validate(d: Mapping[str, Any], where: str) -> None:
    for k, v in d.items():
        path = f"{where}.{k}" if where else k
        if isinstance(v, Mapping):
            _validate(v, path)
        elif not (k.endswith("_ms") and isinstance(v, (int, float)) and not isinstance(v, bool)):
            raise ValueError(f"budget {path}: limits are numbers named *_ms, got {v!r}")


def check(budget: Mapping[str, Any], summary: Mapping[str, Any]) -> list[Violation]:
    """Every limit of `budget` that `summary` (a dict shaped like Summary.as_dict()) exceeds or lacks."""
    _validate(budget, "")
    out: list[Violation] = []
    _walk(budget, summary, "", out)
    return out


def _walk(budget: Mapping[str, Any], summary: Any, where: str, out: list[Violation]) -> None:
    for k, limit in budget.items():
        path = f"{where}.{k}" if where else k
        sub = summary.get(k) if isinstance(summary, Mapping) else None
        if isinstance(limit, Mapping):
            _walk(limit, sub, path, out)
        elif not isinstance(sub, (int, float)) or isinstance(sub, bool):
            out.append(Violation(path, float(limit), None))
        elif sub > limit:
            out.append(Violation(path, float(limit), float(sub)))


def from_bench_reply(bench: Mapping[str, Any]) -> dict[str, Any]:
    """A measured `omnirt bench reply` JSON (stages_ms with p50/p95/max; files written before p50 say median) in
    the summary's shape, so the same budget checks measurements: its `total` is the server-side time to first
    audio."""
    names = {"p50": "p50_ms", "median": "p50_ms", "p95": "p95_ms", "max": "max_ms"}
    stages_ms = bench.get("stages_ms", {})
    conv = {name: {names[k]: v for k, v in st.items() if k in names} for name, st in stages_ms.items()}
    total = conv.pop("total", {})
    return {"time_to_first_audio": total, "stages": conv}
