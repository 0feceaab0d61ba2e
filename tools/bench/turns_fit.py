"""Fits the end-of-turn classifier (runtime/turn_classifier.py) on the tuning half of `omnirt bench turns`, and
rescores the bench's decision points with it.

Why only the tuning half: the held-out half (other voices, other sentences) is where the bench reads the result;
a classifier that had seen it would be measured on its own training data. `main` plans the tuning half alone, so
the held-out audio is not even read; the bench reads the held-out figures of whatever this wrote.

Why logistic regression: a few hundred decision points (215 utterances, each end and each inner pause) fit
a dozen weights, not a network; the result is a dot product the runtime computes in microseconds, and its weights
can be read (which evidence counts, and which way). L2-regularised, fitted by Newton's method in numpy.

The thresholds shipped with it are chosen as the runtime's default for the Thinker's probability was: on the
tuning half, with the runtime's waits (release at the post-roll when finished, the unfinished hangover when not,
and a middle wait between two thresholds when in doubt), the fewest cutoffs at a mean latency within
`FitOptions.max_latency_ms`.

    python -m omnirt.tools.bench.turns_fit                 # the sessions' Thinker's: turn_classifier.<its asset>.json
    python -m omnirt.tools.bench.turns_fit --thinker 0.5b  # the 0.5B model's: runtime/data/turn_classifier.json
    python -m omnirt.tools.bench.turns_fit --keep-weights  # the shipped weights, only the waits chosen again
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ...runtime.prosody import Prosody
from ...runtime.turn_classifier import DEFAULT_PATH, FEATURES, TurnClassifier, features, fitted_path, words
from .turns import Evaluator, Row

CONTEXT = ("asked", "asked_few_words")
VOICE = ("pitch_end", "pitch_slope", "energy_end", "lengthening", "voiced_end", "speech_s")
# The classifiers the bench compares: the shipped one, and ablations fitted on the fly (on tuning) to show what
# the context, the voice and the recogniser's certainty of the last word add.
ABLATIONS = {"combined, no context": CONTEXT, "combined, no voice": VOICE,
             "combined, no last-word certainty": ("end_logprob",)}  # name -> the features left out


@dataclass(frozen=True)
class FitOptions:
    """l2: the penalty on the standardised weights (1 = a unit Gaussian prior). max_latency_ms: the latency budget
    the shipped threshold is chosen under (the old plain hangover, as for the Thinker's threshold). max_slow_share:
    the share of real ends that may wait longer than slow_ms: a mean alone let a setting buy cutoffs with a long
    middle wait for every doubtful end, which finished questions then met one time in ten (a question spoken with a
    final rise); at one in twenty the detector's waits do not set the 95th percentile of a conversation. d_short/d_long:
    the runtime's waits (VADOptions post_roll_ms, unfinished_hangover_ms). d_mid: the middle waits tried (none:
    two verdicts only). clip_sd: standardised features are held within this many deviations, in the fit and in
    the runtime (runtime/turn_classifier.py TurnClassifier.clip_sd says why); None: not held."""

    l2: float = 1.0
    clip_sd: float | None = 3.0
    max_latency_ms: float = 400.0
    max_slow_share: float = 0.05
    slow_ms: float = 1000.0
    d_short: float = 200.0
    d_long: float = 2100.0
    thetas: tuple[float, ...] = tuple(float(x) for x in np.linspace(0.01, 0.99, 99))
    d_mid: tuple[int, ...] = tuple(range(400, 2001, 100))


def points(rows: list[Row]) -> tuple[list[dict[str, float]], np.ndarray]:
    """Every decision point's features and label (1: the real end, 0: an inner pause); points where nothing was
    heard are left out (the classifier gives them 0 by rule)."""
    xs, ys = [], []
    for r in rows:
        heard = [(p, t, v, lp, 0.0) for p, t, v, lp in zip(r.pause_p, r.pause_text, r.pause_voice, pause_lps(r))]
        for p, text, voice, lp, label in [*heard, (r.end_p, r.end_text, r.end_voice, r.end_lp, 1.0)]:
            if words(text):
                xs.append(features(p, text, Prosody(**voice), r.asked, lp))
                ys.append(label)
    return xs, np.array(ys)


def pause_lps(r: Row) -> list[float | None]:
    """The last word's log-probability at each inner pause (None where the row was heard without it)."""
    return r.pause_lp if len(r.pause_lp) == len(r.pause_p) else [None] * len(r.pause_p)


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0, iterations: int = 50) -> tuple[np.ndarray, float]:
    """Weights and bias of an L2-regularised logistic regression (the bias unpenalised), by Newton's method."""
    n, k = x.shape
    a = np.hstack([x, np.ones((n, 1))])
    w = np.zeros(k + 1)
    penalty = np.full(k + 1, l2)
    penalty[-1] = 0.0
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-np.clip(a @ w, -50, 50)))
        grad = a.T @ (p - y) + penalty * w
        hess = (a * (p * (1 - p))[:, None]).T @ a + np.diag(penalty) + 1e-9 * np.eye(k + 1)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w[:-1], float(w[-1])


def fit(rows: list[Row], names: tuple[str, ...] | None = None, options: FitOptions = FitOptions()) -> TurnClassifier:
    """The classifier over `names` (None: every feature known at every decision point) fitted on `rows` (tuning
    rows only: a held-out row is refused), with its threshold chosen on them."""
    if any(r.half != "tuning" for r in rows):
        raise ValueError("the classifier is fitted on the tuning half only")
    xs, y = points(rows)
    if names is None:
        names = tuple(n for n in FEATURES if all(d[n] is not None for d in xs))
    missing = sorted({n for d in xs for n in names if d[n] is None})
    if missing:
        raise ValueError(f"{missing} unknown at some decision points: hear the corpus again")
    x = np.array([[d[n] for n in names] for d in xs])
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale = np.where(scale > 1e-9, scale, 1.0)
    z = (x - mean) / scale
    w, b = fit_logistic(z if options.clip_sd is None else np.clip(z, -options.clip_sd, options.clip_sd), y, options.l2)
    clf = TurnClassifier(tuple(names), tuple(mean.tolist()), tuple(scale.tolist()), tuple(w.tolist()), b, 0.5,
                         fitted_on=f"omnirt bench turns, tuning half: {len(rows)} utterances, {len(y)} points",
                         clip_sd=options.clip_sd)
    return with_waits(clf, rows, options)


def with_waits(clf: TurnClassifier, rows: list[Row], options: FitOptions = FitOptions()) -> TurnClassifier:
    """`clf` with its thresholds and middle wait chosen on `rows` (tuning only)."""
    if any(r.half != "tuning" for r in rows):
        raise ValueError("the waits are chosen on the tuning half only")
    theta, lo, mid = choose_waits(rescore(rows, clf), options)
    return replace(clf, threshold=theta, doubt_threshold=lo, doubt_wait_ms=mid)


def rescore(rows: list[Row], clf: TurnClassifier) -> list[Row]:
    """The rows with each decision point's probability replaced by the classifier's."""
    return [replace(r, end_p=clf.prob(r.end_p, r.end_text, Prosody(**r.end_voice), r.asked, r.end_lp),
                    pause_p=[clf.prob(p, t, Prosody(**v), r.asked, lp)
                             for p, t, v, lp in zip(r.pause_p, r.pause_text, r.pause_voice, pause_lps(r))])
            for r in rows]


def choose_waits(rescored: list[Row], options: FitOptions = FitOptions()) -> tuple[float, float | None, int | None]:
    """(threshold, doubt threshold, middle wait): the fewest cutoffs at mean latency within budget, with few real
    ends waiting long (FitOptions.max_slow_share), over two waits and three (ties: the lower latency, the higher
    threshold, then two waits); (threshold, None, None) when a middle wait does no better."""
    ev = Evaluator(rescored)
    two = [(t, None, None) for t in options.thetas]
    three = [(t, lo, m) for t in options.thetas for lo in options.thetas if lo < t for m in options.d_mid
             if options.d_short < m < options.d_long]
    best = None
    for t, lo, m in two + three:
        lat, cut = ev(t, options.d_short, options.d_long, lo, m)
        slow = float(np.mean(ev.latency(t, options.d_short, options.d_long, lo, m) > options.slow_ms)) if ev.n else 0.0
        key = (cut, lat, -t, lo is not None, -(lo or 0.0), m or 0)
        if lat <= options.max_latency_ms + 1e-9 and slow <= options.max_slow_share + 1e-9 and (
                best is None or key < best[0]):
            best = (key, (t, lo, m))
    return best[1] if best else (max(options.thetas), None, None)


def own_path(thinker: str) -> Path:
    """The file the runtime reads for this Thinker (0.5b: the first classifier, DEFAULT_PATH)."""
    from ...models.registry import thinker_model

    model = thinker_model(thinker)
    return DEFAULT_PATH if model == thinker_model("0.5b") else fitted_path(model)


def main(argv: list[str] | None = None) -> int:
    from rich.console import Console

    from ..voice import DEFAULT
    from .turns_corpus import build, plan
    from .turns_hear import decide

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="", help="where the classifier goes (default: the file the runtime reads for "
                   "--thinker, runtime/turn_classifier.py classifier_path)")
    p.add_argument("--threads", type=int, default=1, help="CPU threads, when decision points are not cached")
    p.add_argument("--keep-weights", action="store_true", help="keep the shipped weights; choose only the waits")
    p.add_argument("--thinker", default=DEFAULT.thinker,
                   help="the model whose end-of-turn probability is fitted (1.5b, 0.5b; default: the sessions' own)")
    args = p.parse_args(argv)
    args.out = args.out or str(own_path(args.thinker))
    console = Console()
    rows = decide(build(plan(halves=("tuning",))), args, console)
    clf = with_waits(TurnClassifier.load(args.out), rows) if args.keep_weights else fit(rows)
    if not args.keep_weights:
        clf = replace(clf, fitted_on=f"{clf.fitted_on}; the Thinker {args.thinker}'s probability")
    with open(args.out, "w") as f:
        json.dump(clf.to_json(), f, indent=1)
        f.write("\n")
    o = FitOptions()
    for name, c in (("two waits", with_waits(clf, rows, replace(o, d_mid=()))), ("chosen", clf)):
        lat, cut = Evaluator(rescore(rows, c))(c.threshold, o.d_short, o.d_long, c.doubt_threshold, c.doubt_wait_ms)
        doubt = "" if c.doubt_threshold is None else f", in doubt from {c.doubt_threshold:.2f}: {c.doubt_wait_ms} ms"
        console.print(f"{name}: threshold {c.threshold:.2f}{doubt}: tuning {lat:.0f} ms / {100 * cut:.1f} % cutoffs")
    console.print(f"fitted on {clf.fitted_on}")
    for n, w in sorted(zip(clf.names, clf.weights), key=lambda x: -abs(x[1])):
        console.print(f"  {n:16s} {w:+.2f}")
    console.print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
