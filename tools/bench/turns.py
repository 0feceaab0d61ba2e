"""End of turn, measured as LiveKit's eot-bench does: false cutoffs at mid-turn pauses against latency at real ends.

Why offline: a policy's two errors are decided by what it knows at each silence, so every utterance of the corpus
(tools/bench/turns_corpus.py) is heard once at each decision point (each inner pause's start and the real end):
the audio from its start up to that point plus 0.2 s of zeros (what the VAD has passed on by then), decoded by the
project's recogniser, and the transcript scored by the end-of-turn model (models/turn_detector.py). Those
probabilities are cached per utterance; the policies are then swept over them without any clock, so a busy host
cannot change a figure and a sweep of thousands of settings takes a second.

Policies. VAD only: the turn ends after d ms of silence; a pause P is a cutoff when P >= d; latency at a real end
is d. Detector: wait d_short when p >= theta, else d_long; a cutoff when P >= that wait; latency at a real end is
the wait for the p heard there. Cutoff rate: utterances cut at least once over those with an inner pause; latency:
the mean over every real end. The settings are chosen on the tuning half and the figures read on the held-out half
(another voice set, other sentences): the held-out numbers are the ones that count.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from .turns_corpus import HALVES, HELDOUT_SETS, KINDS, build, plan

TAIL_S = 0.2
LATENCY_BUDGETS_MS = (300, 600)
CUTOFF_BUDGETS = (0.05, 0.10)
TARGETS = {"cutoff_at_600": 0.05, "cutoff_at_300": 0.10}  # the issue's: <= 5 % at <= 600 ms, <= 10 % at 300 ms
# eot-bench's published figures: (latency ms at 5 % cutoffs, cutoff rate at 300 ms).
ANCHORS = {"LiveKit Turn Detector v1": (543, 0.099), "Smart Turn v3.2": (1051, 0.352),
           "VAD baseline (eot-bench)": (1600, 0.556)}
CURVE_BUDGETS_MS = (200, 300, 400, 500, 600, 800, 1000, 1500, 2000, 3000)
THREE = "combined, 3 waits"


@dataclass(frozen=True)
class SweepOptions:
    """The settings swept: theta on a log grid (the combined classifier's on a linear one), the detector's two
    waits, the VAD's one; for three waits lo and theta on a coarser grid, the middle wait, and fewer long waits
    (a pause is at most 2000 ms, so a longer wait only costs latency)."""

    thetas: tuple[float, ...] = tuple(float(x) for x in np.geomspace(1e-5, 0.5, 25))
    d_short: tuple[int, ...] = tuple(range(100, 601, 50))
    d_long: tuple[int, ...] = tuple(range(600, 3001, 100))
    d_vad: tuple[int, ...] = tuple(range(100, 3001, 50))
    combined_thetas: tuple[float, ...] = tuple(float(x) for x in np.linspace(0.02, 0.98, 49))
    three_thetas: tuple[float, ...] = tuple(float(x) for x in np.linspace(0.02, 0.98, 25))
    d_mid: tuple[int, ...] = tuple(range(400, 2001, 100))
    three_d_long: tuple[int, ...] = (1500, 2100, 3000)


@dataclass
class Row:
    """One utterance's decision points: each inner pause (its length, what was heard before it, p) and the end."""

    half: str
    kind: str
    voice: str
    text: str
    end_p: float
    end_text: str
    pause_ms: list[float] = field(default_factory=list)
    pause_p: list[float] = field(default_factory=list)
    pause_text: list[str] = field(default_factory=list)
    asked: bool = False  # the assistant's turn before asked a question (turns_corpus.after_question)
    end_voice: dict[str, float] = field(default_factory=dict)  # runtime/prosody.py at the end
    pause_voice: list[dict[str, float]] = field(default_factory=list)  # and at each inner pause
    end_lp: float | None = None  # the recogniser's log-probability of the last word heard at the end (None: unknown)
    pause_lp: list[float | None] = field(default_factory=list)  # and at each inner pause


@dataclass(frozen=True)
class Point:
    """One setting of a policy and what it gives. VAD only is the detector that never takes the short wait
    (theta = inf, d_short = d_long = d)."""

    policy: str
    theta: float
    d_short: float
    d_long: float
    latency_ms: float
    cutoff: float
    lo: float | None = None  # three waits: at or above lo (below theta) the middle wait d_mid
    d_mid: float | None = None

    def params(self) -> str:
        if self.policy == "vad":
            return f"d={self.d_long:.0f}"
        mid = "" if self.lo is None else f" lo={self.lo:.2g} mid={self.d_mid:.0f}"
        return f"theta={self.theta:.2g} short={self.d_short:.0f}{mid} long={self.d_long:.0f}"

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["theta"] = None if math.isinf(self.theta) else self.theta
        return d


class Evaluator:
    """Rows as flat arrays, so that one setting is a few vector operations (a sweep is thousands of them)."""

    def __init__(self, rows: list[Row]) -> None:
        self.n = len(rows)
        self.end_p = np.array([r.end_p for r in rows], float)
        self.pause_p = np.array([p for r in rows for p in r.pause_p], float)
        self.pause_ms = np.array([m for r in rows for m in r.pause_ms], float)
        self.pause_row = np.array([i for i, r in enumerate(rows) for _ in r.pause_ms], int)
        self.paused = np.array([bool(r.pause_ms) for r in rows])

    @staticmethod
    def wait(p: np.ndarray, theta: float, d_short: float, d_long: float, lo: float | None = None,
             d_mid: float | None = None) -> np.ndarray:
        """The silence each probability is given before the turn ends."""
        rest = d_long if lo is None else np.where(p >= lo, d_mid, d_long)
        return np.where(p >= theta, d_short, rest)

    def cut(self, theta: float, d_short: float, d_long: float, lo: float | None = None,
            d_mid: float | None = None) -> np.ndarray:
        """Per row: was it cut off at any inner pause?"""
        wait = self.wait(self.pause_p, theta, d_short, d_long, lo, d_mid)
        return np.bincount(self.pause_row[self.pause_ms >= wait], minlength=self.n) > 0

    def latency(self, theta: float, d_short: float, d_long: float, lo: float | None = None,
                d_mid: float | None = None) -> np.ndarray:
        return self.wait(self.end_p, theta, d_short, d_long, lo, d_mid).astype(float)

    def __call__(self, theta: float, d_short: float, d_long: float, lo: float | None = None,
                 d_mid: float | None = None) -> tuple[float, float]:
        """(mean latency at the real ends in ms, cutoff rate over the rows with an inner pause)."""
        lat = float(self.latency(theta, d_short, d_long, lo, d_mid).mean()) if self.n else float("nan")
        paused = int(self.paused.sum())
        cut = int(self.cut(theta, d_short, d_long, lo, d_mid).sum())
        return lat, (cut / paused if paused else 0.0)


def point(rows: list[Row] | Evaluator, policy: str, theta: float, d_short: float, d_long: float,
          lo: float | None = None, d_mid: float | None = None) -> Point:
    ev = rows if isinstance(rows, Evaluator) else Evaluator(rows)
    return Point(policy, theta, d_short, d_long, *ev(theta, d_short, d_long, lo, d_mid), lo, d_mid)


def vad_point(rows: list[Row] | Evaluator, d: float) -> Point:
    return point(rows, "vad", math.inf, d, d)


def sweep(rows: list[Row], options: SweepOptions = SweepOptions(),
          combined: dict[str, list[Row]] | None = None) -> dict[str, list[Point]]:
    """Every setting of both policies on `rows`; `combined`: the same rows rescored by each classifier
    (tools/bench/turns_fit.py rescore), swept as policies of their own."""
    ev = Evaluator(rows)
    det = [point(ev, "detector", t, s, lg) for t in options.thetas for s in options.d_short for lg in options.d_long
           if s <= lg]
    out = {"vad": [vad_point(ev, d) for d in options.d_vad], "detector": det}
    for name, rescored in (combined or {}).items():
        cev = Evaluator(rescored)
        out[name] = [point(cev, name, t, s, lg) for t in options.combined_thetas for s in options.d_short
                     for lg in options.d_long if s <= lg]
        if name == "combined":
            out[THREE] = three_waits(cev, options)
    return out


def three_waits(ev: Evaluator, options: SweepOptions = SweepOptions()) -> list[Point]:
    """The combined classifier's scores with a middle wait between the short and the long one."""
    ts = options.three_thetas
    return [point(ev, THREE, hi, s, lg, lo, m) for i, hi in enumerate(ts) for lo in ts[:i] for s in options.d_short
            for m in options.d_mid for lg in options.three_d_long if s < m < lg]


def pareto(points: list[Point]) -> list[Point]:
    """The operating curve: the points no other point beats on both latency and cutoffs, by rising latency."""
    front: list[Point] = []
    for p in sorted(points, key=lambda p: (p.latency_ms, p.cutoff)):
        if not front or p.cutoff < front[-1].cutoff:
            front.append(p)
    return front


def best_cutoff_at(points: list[Point], max_latency_ms: float) -> Point | None:
    """The fewest cutoffs with mean latency within budget (ties: the lower latency)."""
    ok = [p for p in points if p.latency_ms <= max_latency_ms + 1e-9]
    return min(ok, key=lambda p: (p.cutoff, p.latency_ms)) if ok else None


def best_latency_at(points: list[Point], max_cutoff: float) -> Point | None:
    """The lowest mean latency with cutoffs within budget (ties: the fewer cutoffs)."""
    ok = [p for p in points if p.cutoff <= max_cutoff + 1e-9]
    return min(ok, key=lambda p: (p.latency_ms, p.cutoff)) if ok else None


def transfer(p: Point | None, rows: list[Row] | Evaluator) -> Point | None:
    """The same setting on other rows (tuning's choice read on the held-out half)."""
    return None if p is None else point(rows, p.policy, p.theta, p.d_short, p.d_long, p.lo, p.d_mid)


# ---------------------------------------------------------------- the report

def summarise(rows: list[Row], options: SweepOptions = SweepOptions(),
              classifier: Any = None) -> dict[str, Any]:
    """Both halves swept; the 'best at' settings chosen on tuning and read on held-out; curves, per kind, misreads.
    classifier: the shipped end-of-turn classifier (runtime/turn_classifier.py): its policy, and two ablations of it
    fitted here on the tuning half (tools/bench/turns_fit.py), are swept beside the others."""
    halves = {h: [r for r in rows if r.half == h] for h in HALVES}
    data = {h: {"vad": halves[h], "detector": halves[h]} for h in HALVES}
    classifiers = _classifiers(classifier, halves["tuning"])
    if classifiers:
        from .turns_fit import rescore

        for name, clf in classifiers.items():
            for h in HALVES:
                data[h][name] = rescore(halves[h], clf)
        for h in HALVES:
            data[h][THREE] = data[h]["combined"]
    policies = list(data["tuning"])
    evs = {h: {pol: Evaluator(data[h][pol]) for pol in policies} for h in HALVES}
    swept = {h: sweep(halves[h], options, {n: data[h][n] for n in classifiers}) for h in HALVES}  # (+ THREE)
    queries = [(f"cutoff at latency <= {b} ms", best_cutoff_at, b) for b in LATENCY_BUDGETS_MS] + \
              [(f"latency at cutoff <= {100 * c:.0f} %", best_latency_at, c) for c in CUTOFF_BUDGETS]
    best: dict[str, dict[str, Any]] = {}
    for name, query, budget in queries:
        for policy in policies:
            chosen = query(swept["tuning"][policy], budget)
            best[f"{policy}: {name}"] = {"tuning": chosen, "heldout": transfer(chosen, evs["heldout"][policy]),
                                         "heldout_best_possible": query(swept["heldout"][policy], budget)}
    fronts = {h: {pol: pareto(swept[h][pol]) for pol in swept[h]} for h in HALVES}
    transferred = {pol: pareto([transfer(p, evs["heldout"][pol]) for p in fronts["tuning"][pol]])
                   for pol in fronts["tuning"]}
    curve = {f"{h} {pol}": {b: best_cutoff_at(pts, b) for b in CURVE_BUDGETS_MS}
             for h, by in (("tuning", fronts["tuning"]), ("heldout", transferred)) for pol, pts in by.items()}
    at = {f"{short} {q}": (pol, best[f"{pol}: {query}"]["tuning"])
          for pol, short in (("detector", "det"), ("combined", "comb"), (THREE, "comb3")) if pol in policies
          for q, query in (("<=600", "cutoff at latency <= 600 ms"), ("<=300", "cutoff at latency <= 300 ms"),
                           ("5 %", "latency at cutoff <= 5 %"))}
    kinds = {h: {k: _kind(data[h], k, at) for k in KINDS if any(r.kind == k for r in halves[h])} for h in HALVES}
    pause_texts = [(t, p) for r in rows for t, p in zip(r.pause_text, r.pause_p)]
    return {"utterances": {h: len(halves[h]) for h in HALVES}, "best": best, "fronts": fronts,
            "runtime_default": (default := runtime_default(halves, classifier,
                                                           {h: data[h].get("combined") for h in HALVES})),
            "runtime_default_waits": {h: default_waits(default[h], evs[h]) for h in HALVES},
            "classifiers": {n: c.to_json() for n, c in classifiers.items()},
            "heldout_front_from_tuning": transferred, "curve": curve, "per_kind": kinds,
            "fragments_punctuated": sum(t.rstrip().endswith((".", "?", "!")) for t, _ in pause_texts),
            "fragments": len(pause_texts),
            "likeliest_fragments": sorted(pause_texts, key=lambda x: -x[1])[:10],
            "unlikeliest_ends": sorted(((r.kind, r.end_text, r.end_p) for r in rows
                                        if r.kind in ("paused", "complete")), key=lambda x: x[2])[:10],
            "heard_backchannels": [(r.text, r.end_text, r.end_p) for r in rows if r.kind == "backchannel"]}


def _classifiers(shipped: Any, tuning: list[Row]) -> dict[str, Any]:
    """The shipped classifier as "combined", and its ablations fitted on the tuning rows (none without it)."""
    if shipped is None:
        return {}
    from .turns_fit import ABLATIONS, fit

    return {"combined": shipped, **{name: fit(tuning, tuple(n for n in shipped.names if n not in out))
                                    for name, out in ABLATIONS.items()}}


def runtime_default(halves: dict[str, list[Row]], classifier: Any = None,
                    combined: dict[str, list[Row] | None] | None = None) -> dict[str, dict[str, Point]]:
    """What a live session does by default: a turn judged finished is released when its post-roll settles, an
    unfinished one waits the VAD's unfinished hangover; judged by the classifier when there is one (`combined`:
    the rows it rescored), and the Thinker's probability alone as before. Beside them, the rule those replaced
    (released at the settle when the transcript ends a sentence, else at the hangover) and the VAD's hangover
    alone."""
    from ...runtime.session import SessionOptions
    from ...runtime.turn import ends_sentence

    o = SessionOptions()
    v = o.vad
    punct = {h: [replace(r, end_p=float(ends_sentence(r.end_text)),
                         pause_p=[float(ends_sentence(t)) for t in r.pause_text]) for r in rows]
             for h, rows in halves.items()}
    out = {h: {"detector": point(rows, "detector", o.end_of_turn_threshold, v.post_roll_ms, v.unfinished_hangover_ms),
               "punctuation": point(punct[h], "punctuation", 0.5, v.post_roll_ms, v.hangover_ms),
               "vad": vad_point(rows, v.hangover_ms)} for h, rows in halves.items()}
    for h in out:
        if classifier is not None and combined and combined.get(h) is not None:
            out[h] = {"combined": point(combined[h], "combined", classifier.threshold, v.post_roll_ms,
                                        v.unfinished_hangover_ms, classifier.doubt_threshold,
                                        classifier.doubt_wait_ms), **out[h]}
    return out


def default_waits(default: dict[str, Point], evs: dict[str, Evaluator]) -> list[float]:
    """The wait after each real end under the runtime's default rule (for `omnirt simulate --turns-from`)."""
    p = default.get("combined") or default["detector"]
    return evs[p.policy].latency(p.theta, p.d_short, p.d_long, p.lo, p.d_mid).tolist()


def _kind(data: dict[str, list[Row]], kind: str, at: dict[str, tuple[str, Point | None]]) -> dict[str, Any]:
    sel = [r for r in data["detector"] if r.kind == kind]
    out: dict[str, Any] = {"n": len(sel), "median_p_end": float(np.median([r.end_p for r in sel]))}
    for name, (policy, p) in at.items():
        if p is not None:
            ev = Evaluator([r for r in data[policy] if r.kind == kind])
            out[name] = dict(zip(("latency_ms", "cutoff"), ev(p.theta, p.d_short, p.d_long, p.lo, p.d_mid)))
    return out


def _jsonable(x: Any) -> Any:
    if isinstance(x, Point):
        return x.to_json()
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    return x


# ---------------------------------------------------------------- the command

def _shipped_classifier(thinker: str) -> Any:
    """The classifier the runtime uses with this Thinker (runtime/turn_classifier.py classifier_path), or None
    before one is fitted."""
    from ...models.registry import thinker_model
    from ...runtime.turn_classifier import TurnClassifier, classifier_path

    path = classifier_path(thinker_model(thinker))
    return TurnClassifier.load(path) if path.is_file() else None


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", default="bench-results/turns.json")
    p.add_argument("--html", default="", help="the HTML report (default: beside --json)")
    p.add_argument("--limit", type=int, default=0, help="only the first N utterances, halves and kinds mixed (0: all)")
    from ..voice import DEFAULT

    p.add_argument("--threads", type=int, default=1, help="CPU threads for the recogniser and the Thinker")
    p.add_argument("--thinker", default=DEFAULT.thinker,
                   help="the Thinker whose end-of-turn probability is judged (0.5b, 1.5b; default: the sessions' own)")
    p.add_argument("--held-out", dest="heldout", choices=HELDOUT_SETS, default=HELDOUT_SETS[0],
                   help="the set read as the held-out half (default: the fresh one; heldout5 and heldout4: the ones "
                        "before, read with the 1.5B Thinker, and heldout2, read twice: kept to compare with earlier "
                        "runs)")
    p.add_argument("--asr-context", action="store_true",
                   help="each utterance follows an exchange on another topic, which the recogniser reads (as "
                        "`serve --asr-context` would): what the context does to the judgement of paused requests; "
                        "with --live, sessions with the context on, each utterance after an exchange")
    from .turns_live import add_live_arguments

    add_live_arguments(p)

def run(args: argparse.Namespace, console: Any) -> int:
    from rich.console import Console

    from .report import cpu_probe
    from .turns_hear import decide
    from .turns_report import print_report, write_html

    if args.limit < 0 or args.threads < 1:
        raise SystemExit("omnirt: error: --limit must be 0 or more, --threads 1 or more")
    if args.live:
        from .turns_live import run as run_live

        return run_live(args, console)
    probes = [cpu_probe()]
    console.print(f"machine: CPU probe {probes[0]:.1f} ms before (report.py cpu_probe: lower is quieter)")
    started = time.perf_counter()
    planned = plan(heldout=args.heldout)
    console.print(f"held-out half: the set {args.heldout!r} (tools/bench/turns_corpus.py)")
    planned = planned[: args.limit] if args.limit else planned
    with console.status(f"building the corpus ({len(planned)} utterances, cached)"):
        utts = build(planned)
    rows = decide(utts, args, console)
    s = summarise(rows, classifier=_shipped_classifier(args.thinker))
    probes.append(cpu_probe())
    seconds = time.perf_counter() - started
    record = Console(record=True, file=io.StringIO(), width=150, highlight=False)
    print_report(s, record)
    text = record.export_text(styles=False)  # (export clears the record: read it once)
    console.print(text, end="", soft_wrap=True, highlight=False)
    head = (f"{len(rows)} utterances; CPU probe {probes[0]:.1f} ms before, {probes[1]:.1f} ms after; "
            f"{seconds:.0f} s")
    console.print(f"machine: CPU probe {probes[1]:.1f} ms after; {seconds:.0f} s in all")
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(_jsonable({"benchmark": "turns", "cpu_probe_ms": probes, "seconds": round(seconds, 1),
                                         "settings": {"tail_s": TAIL_S, "threads": args.threads, "limit": args.limit,
                                                      "thinker": args.thinker,
                                                      "heldout_set": args.heldout, "asr_context": args.asr_context,
                                                      "sweep": asdict(SweepOptions())},
                                         "targets": TARGETS, "anchors": ANCHORS, **s,
                                         "rows": [asdict(r) for r in rows]}), indent=1))
    page = Path(args.html) if args.html else out.with_suffix(".html")
    page.parent.mkdir(parents=True, exist_ok=True)
    write_html(page, s, head, text)
    console.print(f"wrote {out} and {page}")
    return 0
