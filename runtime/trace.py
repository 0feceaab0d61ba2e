"""Spans on one monotonic clock, written as JSONL and as Chrome trace JSON (opens in Perfetto / chrome://tracing).

`StageTracer` is a pipeline observer: for each stage and turn it records one span from the start of the process()
call that produced the turn's first output, through that first output, to the end of the last process() call that
produced output for the turn. Stages never touch the tracer. Other observers (see observers.py) add spans of their
own (the turn and its latency segments) through `Trace.add`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .clock import now
from .frames import Frame
from .stage import PipelineObserver


@dataclass
class Span:
    """A named interval. Times are monotonic seconds; `first` is the first output, when the span has one."""

    name: str
    track: str
    start: float
    end: float
    turn: int = 0
    first: float | None = None
    args: dict[str, Any] = field(default_factory=dict)

    @property
    def duration(self) -> float:
        return self.end - self.start

    def contains(self, other: "Span", slack: float = 1e-6) -> bool:
        return self.start - slack <= other.start and other.end <= self.end + slack


class Trace:
    """A list of spans with a common origin (`t0`) so files show times from the start of the session."""

    def __init__(self, t0: float | None = None) -> None:
        self.t0 = now() if t0 is None else t0
        self.spans: list[Span] = []

    def add(self, span: Span) -> Span:
        self.spans.append(span)
        return span

    def for_turn(self, turn: int) -> list[Span]:
        return [s for s in self.spans if s.turn == turn]

    def find(self, name: str, turn: int | None = None) -> Span | None:
        return next((s for s in self.spans if s.name == name and (turn is None or s.turn == turn)), None)

    # ------------------------------------------------------------ files

    def to_jsonl(self, path: str | Path) -> Path:
        """One span a line, times in ms from t0."""
        path = Path(path)
        with path.open("w") as f:
            for s in sorted(self.spans, key=lambda s: s.start):
                row = asdict(s)
                for k in ("start", "end", "first"):
                    if row[k] is not None:
                        row[k] = round((row[k] - self.t0) * 1e3, 3)
                row["duration"] = round(s.duration * 1e3, 3)
                f.write(json.dumps(row) + "\n")
        return path

    def to_chrome(self) -> dict[str, Any]:
        """Chrome trace event format: one thread per track, complete ('X') events, instants for first outputs."""
        tracks: dict[str, int] = {}
        events: list[dict[str, Any]] = []
        us = lambda t: round((t - self.t0) * 1e6, 1)  # noqa: E731
        for s in sorted(self.spans, key=lambda s: (s.start, -s.end)):
            tid = tracks.setdefault(s.track, len(tracks) + 1)
            args = {"turn": s.turn, **s.args}
            if s.first is not None:
                args["first_output_ms"] = round((s.first - s.start) * 1e3, 3)
            events.append({"name": s.name, "cat": s.track, "ph": "X", "ts": us(s.start),
                           "dur": round(s.duration * 1e6, 1), "pid": 1, "tid": tid, "args": args})
            if s.first is not None:
                events.append({"name": f"{s.name}: first output", "cat": s.track, "ph": "i", "s": "t",
                               "ts": us(s.first), "pid": 1, "tid": tid, "args": {"turn": s.turn}})
        meta = [{"name": "process_name", "ph": "M", "pid": 1, "args": {"name": "omnirt"}}]
        meta += [{"name": "thread_name", "ph": "M", "pid": 1, "tid": tid, "args": {"name": track}}
                 for track, tid in tracks.items()]
        return {"traceEvents": meta + events, "displayTimeUnit": "ms"}

    def to_chrome_json(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(json.dumps(self.to_chrome()))
        return path


class StageTracer(PipelineObserver):
    """Pipeline observer that turns each stage's work on each turn into one span on the stage's track."""

    def __init__(self, trace: Trace) -> None:
        self.trace = trace
        self._open: dict[tuple[str, int], Span] = {}
        self._calls: dict[tuple[str, int], list[Span]] = {}  # (stage, id of the frame in process) -> its spans

    def on_output(self, stage: str, frame: Frame, source: Frame, started: float, t: float) -> None:
        if frame is source:  # passed through, not produced
            return
        key = (stage, frame.turn)
        span = self._open.get(key)
        if span is None:
            span = self._open[key] = self.trace.add(Span(stage, stage, started, t, frame.turn, first=t))
        else:
            span.end = max(span.end, t)
        touched = self._calls.setdefault((stage, id(source)), [])
        if all(s is not span for s in touched):
            touched.append(span)

    def on_done(self, stage: str, frame: Frame, started: float, t: float, cancelled: bool) -> None:
        """Runs after every process() call: only the spans that call produced output for are extended (no scan of
        the session's spans on every audio frame)."""
        for span in self._calls.pop((stage, id(frame)), ()):
            span.end = t
            if cancelled:
                span.args["cancelled"] = True
