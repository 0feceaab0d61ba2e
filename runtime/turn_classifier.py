"""End of turn from the words and the voice together: one small logistic regression the project fits and ships.

The Thinker's end-of-message probability (models/turn_detector.py) fails in two known ways: the recogniser rounds
a fragment off into a sentence that the model then believes ("Book a table for" -> "Book a table for it."), and a
short answer ("Paris.") scores as low as a fragment, so it waits the long hangover. Other evidence is cheap: how
the voice ended (runtime/prosody.py: a final fall, a fade, a drawn-out last syllable), whether the last word is one
that cannot end a sentence ("the", "of", "to"), how many words there are, whether the assistant has just asked
a question (then a short answer completes the turn), and how sure the recogniser was of the last word (a word it
made up to round a fragment off is often an unlikely one). A logistic regression over the log of the model's probability
and those features weighs them; its coefficients are fitted on the tuning half of `omnirt bench turns` only
(tools/bench/turns_fit.py) and shipped as runtime/data/turn_classifier.json, with the threshold chosen there.

Three verdicts, not two: a score at or above `threshold` is finished (released when the post-roll settles), one
below `doubt_threshold` unfinished (the long hangover), and one between is doubtful and gets a middle wait. Why:
with two waits every mistake costs the whole difference, either a cut-off user or a 2 s wait after a finished
request; most scores near the line are fragments followed by a short pause or ends said flatly, and a middle wait
keeps the first without making the second wait long.

Pure logic: no model is loaded, scoring is a dot product. Without audio the voice features take their neutral
values, so the text-only path keeps working (less well: the weights were fitted with the voice present).
"""

from __future__ import annotations

import functools
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .prosody import Prosody

DEFAULT_PATH = Path(__file__).parent / "data" / "turn_classifier.json"
P_FLOOR = 1e-6
# Words a sentence hardly ever ends on: articles, possessives, prepositions, conjunctions, "very" (not "it", "me",
# "do", "can" or "what": "Tell me about it.", "Yes, I can.", "What?" end sentences).
FUNCTION_WORDS = frozenset("""
a an the my your his her its our their some any every no each whose
of to for from with by at in on into onto about as than like between through over under after before during
and or but nor so because if when while whether until unless although very
""".split())
_WORD = re.compile(r"[a-z0-9']+")  # "15": Whisper writes numbers as digits
FEATURES = ("log_p", "words", "function_end", "asked", "asked_few_words", "pitch_end", "pitch_slope",
            "energy_end", "lengthening", "voiced_end", "speech_s", "end_logprob")
END_LOGPROB_FLOOR = -6.0  # the last word's log-probability is clipped here (an unknown one is -inf)


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def features(prob: float, text: str, voice: Prosody | None = None, asked: bool = False,
             end_logprob: float | None = None) -> dict[str, float | None]:
    """The classifier's inputs for one judgement: the model's probability, the transcript, how the voice ended
    (None: no audio, neutral values), whether the assistant's last turn asked a question, and the recogniser's
    log-probability of the last word (None: unknown, which weighs as the average)."""
    w = words(text)
    v = voice if voice is not None else Prosody()
    few = 1.0 / (1.0 + len(w))
    return {"log_p": math.log10(max(float(prob), P_FLOOR)), "words": math.log1p(len(w)),
            "function_end": float(bool(w) and w[-1] in FUNCTION_WORDS), "asked": float(asked),
            "asked_few_words": float(asked) * few, "pitch_end": v.pitch_end,
            "pitch_slope": float(np.clip(v.pitch_slope, -100, 100)) / 10, "energy_end": v.energy_end / 10,
            "lengthening": v.lengthening, "voiced_end": v.voiced_end, "speech_s": math.log1p(v.speech_s),
            "end_logprob": None if end_logprob is None else max(END_LOGPROB_FLOOR, min(0.0, float(end_logprob)))}


@dataclass(frozen=True)
class TurnClassifier:
    """P(finished) = sigmoid(bias + weights . (x - mean) / scale) over `names`; `threshold`: at or above it the turn
    counts as finished (chosen on the tuning half with the runtime's waits); `doubt_threshold` (None: two
    verdicts only): at or above it, below `threshold`, the turn is doubtful and waits `doubt_wait_ms` of silence.
    `clip_sd` (None: none): each standardised feature is held within this many standard deviations, in the fit and
    here. Why: a straight line is fitted where most points lie, and far outside them it says what they never showed.
    The voice's final pitch weighs against a finished turn (a sentence falls at its end), but a question said with a
    steep final rise ("What is the opposite of hot?"), far beyond any the fit saw, then counted as surely unfinished
    and waited the long hangover, though no pause in the fitted speech rose nearly as much (docs/measurements.md)."""

    names: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float
    threshold: float
    fitted_on: str = ""
    doubt_threshold: float | None = None
    doubt_wait_ms: int | None = None
    clip_sd: float | None = None

    def __post_init__(self) -> None:
        if (self.doubt_threshold is None) != (self.doubt_wait_ms is None):
            raise ValueError("doubt_threshold and doubt_wait_ms come together")
        if self.doubt_threshold is not None and not self.doubt_threshold < self.threshold:
            raise ValueError(f"doubt_threshold {self.doubt_threshold} must be below threshold {self.threshold}")

    @classmethod
    def load(cls, path: str | Path = DEFAULT_PATH) -> "TurnClassifier":
        d = json.loads(Path(path).read_text())
        unknown = set(d["names"]) - set(FEATURES)
        if unknown:
            raise ValueError(f"{path}: unknown features {sorted(unknown)}")
        n = len(d["names"])
        if not all(len(d[k]) == n for k in ("mean", "scale", "weights")):
            raise ValueError(f"{path}: names, mean, scale and weights must have one entry per feature")
        doubt = d.get("doubt_threshold")
        return cls(tuple(d["names"]), tuple(d["mean"]), tuple(d["scale"]), tuple(d["weights"]), float(d["bias"]),
                   float(d["threshold"]), d.get("fitted_on", ""), None if doubt is None else float(doubt),
                   None if doubt is None else int(d["doubt_wait_ms"]), d.get("clip_sd"))

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"names": list(self.names), "mean": list(self.mean), "scale": list(self.scale),
                                  "weights": list(self.weights), "bias": self.bias, "threshold": self.threshold,
                                  "fitted_on": self.fitted_on}
        if self.doubt_threshold is not None:
            out.update(doubt_threshold=self.doubt_threshold, doubt_wait_ms=self.doubt_wait_ms)
        if self.clip_sd is not None:
            out.update(clip_sd=self.clip_sd)
        return out

    def score(self, x: dict[str, float | None]) -> float:
        """A feature that is None (not known for this judgement) counts as its mean: it adds nothing."""
        c = math.inf if self.clip_sd is None else self.clip_sd
        z = self.bias + sum(w * max(-c, min(c, (x[n] - m) / s))
                            for n, m, s, w in zip(self.names, self.mean, self.scale, self.weights) if x[n] is not None)
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))

    def prob(self, prob: float, text: str, voice: Prosody | None = None, asked: bool = False,
             end_logprob: float | None = None) -> float:
        """P(the user has finished) from the model's probability, the transcript, the voice, the context and the
        recogniser's certainty of the last word; 0 without words, as the model's own (nothing heard is not an
        answer, whatever the voice did)."""
        return self.score(features(prob, text, voice, asked, end_logprob)) if words(text) else 0.0

    def finished(self, prob: float, text: str, voice: Prosody | None = None, asked: bool = False,
                 end_logprob: float | None = None) -> bool:
        return self.prob(prob, text, voice, asked, end_logprob) >= self.threshold

    def wait_ms(self, score: float) -> int | None:
        """The middle wait for a doubtful score; None for a finished or an unfinished one."""
        if self.doubt_threshold is None or not self.doubt_threshold <= score < self.threshold:
            return None
        return self.doubt_wait_ms


def asks(text: str) -> bool:
    """Does an assistant's turn end by asking the user something?"""
    return text.rstrip().rstrip("\"')]").endswith("?")


def fitted_path(model: str) -> Path:
    """Where a classifier fitted to the Thinker `model`'s probability is kept (data/turn_classifier.<model>.json)."""
    return DEFAULT_PATH.with_name(f"{DEFAULT_PATH.stem}.{model}.json")


def classifier_path(model: str | None = None) -> Path:
    """The shipped classifier for the Thinker `model`: its coefficients weigh that model's probability, whose scale
    differs from model to model. Its own file when the project fitted one (fitted_path); otherwise (None, the 0.5B
    model it was first fitted to, or a model never fitted) the first classifier, DEFAULT_PATH."""
    own = fitted_path(model) if model else None
    return own if own is not None and own.is_file() else DEFAULT_PATH


@functools.lru_cache(maxsize=4)
def shipped_classifier(model: str | None = None) -> TurnClassifier:
    """The classifier the project ships for the Thinker `model` (classifier_path; read once per process)."""
    return TurnClassifier.load(classifier_path(model))
