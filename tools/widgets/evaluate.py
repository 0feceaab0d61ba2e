"""Precision and recall of the widget detector against the DOM's boxes, per kind, at IoU >= 0.5.

A detection is a true positive when it has the kind of an unmatched, fairly visible DOM widget and overlaps it with
IoU >= 0.5 (greedy, best score first); a wrong kind counts as a false positive and leaves the widget missed.
Detections centred on a widget the DOM marks as clipped, covered or split (Widget.ok False) count neither way.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np

from omnirt.models.widgets import KINDS, Detection, iou


@dataclass
class Tally:
    tp: Counter = field(default_factory=Counter)
    fp: Counter = field(default_factory=Counter)
    fn: Counter = field(default_factory=Counter)
    confused: Counter = field(default_factory=Counter)  # (true kind, detected kind) -> count

    def add(self, other: "Tally") -> None:
        for a, b in ((self.tp, other.tp), (self.fp, other.fp), (self.fn, other.fn), (self.confused, other.confused)):
            a.update(b)

    def report(self) -> dict:
        """{'overall': {...}, 'per_kind': {kind: {precision, recall, tp, fp, fn}}}."""
        def pr(tp: int, fp: int, fn: int) -> dict:
            return {"precision": round(tp / max(tp + fp, 1), 4), "recall": round(tp / max(tp + fn, 1), 4),
                    "tp": tp, "fp": fp, "fn": fn}

        per = {k: pr(self.tp[k], self.fp[k], self.fn[k]) for k in KINDS}
        overall = pr(sum(self.tp.values()), sum(self.fp.values()), sum(self.fn.values()))
        conf = {f"{a} -> {b}": n for (a, b), n in self.confused.most_common(8)}
        return {"overall": overall, "per_kind": per, "top_confusions": conf}


def score_screen(dets: Sequence[Detection], widgets: Iterable, iou_thr: float = 0.5) -> Tally:
    """Tally one screen: `widgets` are synth.Widget (kind, box, ok)."""
    widgets = list(widgets)
    t = Tally()
    good = [w for w in widgets if w.ok]
    ignored = [w.box for w in widgets if not w.ok]
    gboxes = np.array([w.box for w in good], np.float32).reshape(-1, 4)
    matched = np.zeros(len(good), bool)
    dets = sorted(dets, key=lambda d: -d.score)
    ov = iou(np.array([d.box for d in dets], np.float32).reshape(-1, 4), gboxes) if dets else np.zeros((0, 0))
    for i, d in enumerate(dets):
        best, best_iou = -1, iou_thr
        for j, w in enumerate(good):
            if not matched[j] and w.kind == d.kind and ov[i, j] >= best_iou:
                best, best_iou = j, ov[i, j]
        if best >= 0:
            matched[best] = True
            t.tp[d.kind] += 1
            continue
        cx, cy = d.center
        if any(b[0] <= cx <= b[2] and b[1] <= cy <= b[3] for b in ignored):
            continue  # on a widget the DOM could not vouch for: neither right nor wrong
        t.fp[d.kind] += 1
        if len(good) and ov[i].max() >= iou_thr:
            t.confused[(good[int(ov[i].argmax())].kind, d.kind)] += 1
    for j, w in enumerate(good):
        if not matched[j]:
            t.fn[w.kind] += 1
    return t
