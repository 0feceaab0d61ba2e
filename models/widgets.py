"""Learned widget detector: a screenshot -> boxes of checkboxes, radios, text fields, buttons, links, dropdowns,
sliders and icons, with a kind and a score each.

The network (models/data/widgets.onnx, ~0.4 M parameters) is trained by `python -m omnirt.tools.widgets.train` on
synthetic pages rendered by Chromium, with boxes and kinds read from the DOM; models/data/widgets.json holds its
kinds, input format, thresholds, training recipe and held-out precision/recall. It is a CenterNet-style fully
convolutional net: at stride 4 it gives a peak map per kind (a peak sits at a widget's centre; the 3x3 max-pool
that keeps only local maxima runs inside the graph), the distances from each cell to the box's four sides, and the
kind of widget under each cell (a box takes the kind its cells vote for). So any screen size works, small crops
cost almost nothing, and decoding here is a threshold, a vote and a box NMS in numpy.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from omnirt.models.assets import ModelMissingError
from omnirt.models.onnx import SessionOptions, provider_of, session

Box = tuple[int, int, int, int]
DATA = Path(__file__).with_name("data")
MODEL = DATA / "widgets.onnx"
KINDS = ("checkbox", "radio", "text field", "button", "link", "dropdown", "slider", "icon")
STRIDE, ALIGN = 4, 32  # output stride; input sides are padded to a multiple of ALIGN (the deepest stride)
_RETRAIN = "python -m omnirt.tools.widgets.train --out DIR, then copy DIR/widgets.onnx and widgets.json to models/data"


@dataclass(frozen=True)
class Detection:
    """One widget. box: (x0, y0, x1, y1) in the input image's pixels, x1/y1 exclusive. kind: one of KINDS."""

    box: Box
    kind: str
    score: float

    @property
    def center(self) -> tuple[int, int]:
        return (self.box[0] + self.box[2]) // 2, (self.box[1] + self.box[3]) // 2


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of (N, 4) and (M, 4) boxes -> (N, M)."""
    a, b = np.asarray(a, np.float32).reshape(-1, 4), np.asarray(b, np.float32).reshape(-1, 4)
    x0, y0 = np.maximum(a[:, None, 0], b[None, :, 0]), np.maximum(a[:, None, 1], b[None, :, 1])
    x1, y1 = np.minimum(a[:, None, 2], b[None, :, 2]), np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = lambda z: (z[:, 2] - z[:, 0]) * (z[:, 3] - z[:, 1])  # noqa: E731
    return inter / np.maximum(area(a)[:, None] + area(b)[None, :] - inter, 1e-6)


def nms(boxes: np.ndarray, scores: np.ndarray, thr: float) -> np.ndarray:
    """Indices kept by greedy non-maximum suppression, best score first."""
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    while order.size:
        i = order[0]
        keep.append(int(i))
        order = order[1:][iou(boxes[i], boxes[order[1:]])[0] <= thr]
    return np.array(keep, dtype=np.int64)


def decode(peaks: np.ndarray, dist: np.ndarray, kinds: np.ndarray, threshold: float | np.ndarray,
           nms_iou: float = 0.5, max_det: int = 300) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Network outputs for one image -> (boxes (N, 4) float, kind indices (N,), scores (N,)).

    peaks: (K, h, w) scores, zero except at local maxima. dist: (4, h, w) log distances (in strides) from each
    cell centre to the left, top, right and bottom sides. kinds: (K, h, w) probability of each kind under each
    cell (trained on widget cells only). A box's kind is the one most probable over the cells inside it: the
    centre of a wide dropdown is blank, its arrow at the far end is not. threshold: one for all, or one per kind.
    """
    n_kinds, h, w = peaks.shape
    thr = np.broadcast_to(np.asarray(threshold, np.float32).reshape(-1), (n_kinds,))
    obj = peaks.max(axis=0)  # a local maximum in any kind's map is a candidate widget
    ys, xs = np.nonzero(obj > thr.min())
    scores = obj[ys, xs]
    if scores.size > max_det:
        top = np.argsort(-scores)[:max_det]
        ys, xs, scores = ys[top], xs[top], scores[top]
    d = np.exp(np.clip(dist[:, ys, xs], -4.0, 6.0)) * STRIDE
    cx, cy = xs * STRIDE + STRIDE / 2, ys * STRIDE + STRIDE / 2
    boxes = np.stack([cx - d[0], cy - d[1], cx + d[2], cy + d[3]], axis=1).astype(np.float32)
    # cells whose centres lie well inside each box (at least the peak cell), summed with an integral image; the
    # margin keeps out the cells just outside a widget that a box a pixel too big would take in (the kind map is
    # trained on widget cells only, so elsewhere it says nothing useful)
    mx = np.minimum(STRIDE / 2, (boxes[:, 2] - boxes[:, 0]) / 4)
    my = np.minimum(STRIDE / 2, (boxes[:, 3] - boxes[:, 1]) / 4)
    j0 = np.clip(np.floor((boxes[:, 0] + mx - STRIDE / 2) / STRIDE).astype(np.int64) + 1, 0, w)
    j1 = np.clip(np.ceil((boxes[:, 2] - mx - STRIDE / 2) / STRIDE).astype(np.int64), 0, w)
    i0 = np.clip(np.floor((boxes[:, 1] + my - STRIDE / 2) / STRIDE).astype(np.int64) + 1, 0, h)
    i1 = np.clip(np.ceil((boxes[:, 3] - my - STRIDE / 2) / STRIDE).astype(np.int64), 0, h)
    small = (j1 <= j0) | (i1 <= i0)
    j0, j1 = np.where(small, xs, j0), np.where(small, xs + 1, j1)
    i0, i1 = np.where(small, ys, i0), np.where(small, ys + 1, i1)
    c = np.zeros((n_kinds, h + 1, w + 1), np.float32)
    c[:, 1:, 1:] = kinds.cumsum(1).cumsum(2)
    votes = c[:, i1, j1] - c[:, i0, j1] - c[:, i1, j0] + c[:, i0, j0]
    k = votes.argmax(axis=0)
    ok = scores > thr[k]
    boxes, k, scores = boxes[ok], k[ok], scores[ok]
    keep = nms(boxes, scores, nms_iou)  # across kinds: one place holds one widget
    return boxes[keep], k[keep], scores[keep]


class WidgetDetector:
    """The ONNX detector behind `detect(rgb, box=None)`. Safe to share: onnxruntime sessions run concurrently."""

    def __init__(self, model: str | Path = MODEL, options: SessionOptions = SessionOptions(),
                 threshold: float | None = None) -> None:
        model = Path(model)
        if not model.is_file():
            raise ModelMissingError(f"widget detector weights not found at {model}: {_RETRAIN}")
        cfg_path = model.with_suffix(".json")
        try:
            cfg = json.loads(cfg_path.read_text()) if cfg_path.is_file() else {}
        except json.JSONDecodeError as e:
            raise ModelMissingError(f"widget detector config {cfg_path} is not valid JSON ({e.msg}): {_RETRAIN}"
                                    ) from None
        self.kinds = tuple(cfg.get("kinds", KINDS))
        per_kind = cfg.get("thresholds", {})
        self.thresholds = np.array([float(threshold if threshold is not None else per_kind.get(k, 0.35))
                                    for k in self.kinds], np.float32)  # tuned per kind on validation screens
        self.nms_iou = float(cfg.get("nms_iou", 0.5))
        try:
            self._sess = session(model, options)
        except Exception as e:  # noqa: BLE001 - onnxruntime raises its own types for a bad file
            first = str(e).strip().splitlines()[0][:160] if str(e).strip() else type(e).__name__
            raise ModelMissingError(f"widget detector {model} could not be loaded ({first}): {_RETRAIN}") from None
        outs = [o.name for o in self._sess.get_outputs()]
        if outs != ["peaks", "dist", "kinds"] or self._sess.get_outputs()[0].shape[1] != len(self.kinds):
            raise ModelMissingError(f"widget detector {model} has outputs {outs}, expected peaks/dist/kinds for "
                                    f"{len(self.kinds)} kinds: {_RETRAIN}")
        self.provider = provider_of(self._sess)

    @classmethod
    def load(cls, model: str | Path = MODEL, intra_threads: int = 0) -> "WidgetDetector":
        """The cached detector for this file (loaded on first use)."""
        return _load(str(model), intra_threads)

    def run(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Raw outputs (peaks (K, h, w), dist (4, h, w), kinds (K, h, w)) for a whole HxWx3 uint8 image."""
        h, w = rgb.shape[:2]
        ph, pw = -h % ALIGN, -w % ALIGN
        x = np.pad(rgb, ((0, ph), (0, pw), (0, 0)), mode="edge") if ph or pw else rgb
        x = np.ascontiguousarray(x.transpose(2, 0, 1)[None], dtype=np.float32) * np.float32(1 / 255)
        peaks, dist, kinds = self._sess.run(["peaks", "dist", "kinds"], {"image": x})
        return peaks[0], dist[0], kinds[0]

    def detect(self, rgb: np.ndarray, box: Box | None = None, threshold: float | None = None) -> list[Detection]:
        """Widgets in an HxWx3 (or 4) uint8 RGB screenshot, best score first; with `box`, only inside that region
        (coordinates stay the full image's). threshold overrides the per-kind score thresholds."""
        if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] not in (3, 4):
            desc = f"{rgb.dtype} {rgb.shape}" if isinstance(rgb, np.ndarray) else type(rgb).__name__
            raise ValueError(f"WidgetDetector.detect needs an HxWx3 uint8 RGB array, got {desc}")
        H, W = rgb.shape[:2]
        x0, y0, x1, y1 = (0, 0, W, H) if box is None else (max(0, int(box[0])), max(0, int(box[1])),
                                                             min(W, int(box[2])), min(H, int(box[3])))
        if x1 - x0 < 8 or y1 - y0 < 8:
            if box is not None and (x1 <= x0 or y1 <= y0):
                raise ValueError(f"box {tuple(box)} does not overlap the {W}x{H} image")
            return []
        crop = rgb[y0:y1, x0:x1, :3]
        thr = self.thresholds if threshold is None else threshold
        boxes, kinds, scores = decode(*self.run(crop), thr, self.nms_iou)
        out = []
        for b, k, s in zip(boxes, kinds, scores):
            bx0, by0 = int(np.clip(round(b[0]), 0, x1 - x0)), int(np.clip(round(b[1]), 0, y1 - y0))
            bx1, by1 = int(np.clip(round(b[2]), 0, x1 - x0)), int(np.clip(round(b[3]), 0, y1 - y0))
            if bx1 > bx0 and by1 > by0:
                out.append(Detection((bx0 + x0, by0 + y0, bx1 + x0, by1 + y0), self.kinds[int(k)],
                                     round(float(s), 4)))
        return out


@functools.lru_cache(maxsize=4)
def _load(model: str, intra_threads: int) -> WidgetDetector:
    return WidgetDetector(model, SessionOptions(intra_threads=intra_threads))


def describe(dets: list[Detection]) -> list[dict[str, Any]]:
    """Detections as plain dicts (for JSON traces)."""
    return [{"box": list(d.box), "kind": d.kind, "score": d.score} for d in dets]
