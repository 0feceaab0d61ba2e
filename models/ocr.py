"""Screen OCR returning single WORDS with pixel boxes, so an agent can click "Submit" and not the whole line.

rapidocr (PP-OCRv6 small detector + recogniser, ONNX files bundled inside the package) finds text LINES. Word boxes
come from rapidocr's own CTC-column word boxes (`return_word_box`); where those are missing or do not spell the line,
the line box is split by character positions, snapped to the blank columns of the ink profile. rapidocr is pointed
at its bundled files explicitly, so it never tries to download, and it runs on the project's onnxruntime(-gpu).
"""

from __future__ import annotations

import functools
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from omnirt.models.assets import ModelMissingError

Box = tuple[int, int, int, int]
_FILES = {"Det": "PP-OCRv6_det_small.onnx", "Rec": "PP-OCRv6_rec_small.onnx",
          "Cls": "ch_ppocr_mobile_v2.0_cls_mobile.onnx"}


@dataclass(frozen=True)
class Word:
    """One recognised word. box is (x0, y0, x1, y1) in the input image's pixels, x1/y1 exclusive."""

    text: str
    box: Box
    confidence: float
    line: int  # index of the text line it belongs to, in rapidocr's reading order (top to bottom)

    @property
    def center(self) -> tuple[int, int]:
        return (self.box[0] + self.box[2]) // 2, (self.box[1] + self.box[3]) // 2


@dataclass(frozen=True)
class OCROptions:
    """Knobs for the OCR engine.

    scale: the image is resized by this factor before detection (>1 helps small UI text); boxes are always mapped
        back to the input image's pixels.
    min_confidence: lines and words whose recognition score is below this are dropped.
    use_cls: run the 0/180-degree text orientation classifier; screens are upright, so off saves time.
    max_side: longest side handed to the detector after scaling; larger images are shrunk by rapidocr.
    intra_threads: onnxruntime threads per operator; 0 lets onnxruntime use all cores.
    tight: shrink each word box to the ink inside it (rapidocr's boxes span the whole line height plus a margin).
    det_side: the text detector resizes its input so the shorter side is at least this (rapidocr: 736); small UI
        crops read faster at their own size (0 keeps rapidocr's default).
    rec_batch: text lines recognised per batch (rapidocr: 6). Every line of a batch is padded to the widest one,
        so 1 stops a short button label from costing as much as a paragraph line (0 keeps the default).
    rec_min_width: lines narrower than this are padded to it before recognition (rapidocr: 320; 0 keeps it).
    """

    scale: float = 1.0
    min_confidence: float = 0.5
    use_cls: bool = False
    max_side: int = 4096
    intra_threads: int = 0
    tight: bool = True
    det_side: int = 0
    rec_batch: int = 0
    rec_min_width: int = 0


def _model_root() -> Path:
    try:
        import rapidocr
    except ImportError:
        raise ModelMissingError("OCR needs rapidocr: run `make setup` (installs rapidocr with --no-deps)") from None
    root = Path(rapidocr.__file__).parent / "models"
    for name in _FILES.values():
        if not (root / name).is_file():
            raise ModelMissingError(f"rapidocr's bundled model {name} is missing in {root}: reinstall rapidocr==3.10.0")
    return root


class OCR:
    """rapidocr behind a words-with-boxes interface. One instance is not safe to call from two threads at once."""

    def __init__(self, options: OCROptions = OCROptions()) -> None:
        if not options.scale > 0 or not math.isfinite(options.scale):
            raise ValueError(f"scale must be a positive number, got {options.scale}")
        root = _model_root()
        from omnirt.models.onnx import CUDA, probe_providers

        from rapidocr import RapidOCR
        from rapidocr.utils.log import logger as rapid_logger

        rapid_logger.setLevel(logging.ERROR)  # it logs every model path and provider at INFO
        threads = options.intra_threads if options.intra_threads > 0 else -1
        params: dict[str, Any] = {
            "Global.log_level": "error",
            "Global.use_cls": options.use_cls,
            "Global.text_score": 0.0,  # filtered here, so rapidocr's word lists stay aligned with its lines
            "Global.max_side_len": options.max_side,
            "EngineConfig.onnxruntime.intra_op_num_threads": threads,
            "EngineConfig.onnxruntime.use_cuda": CUDA in probe_providers(),
        }
        params.update({f"{section}.model_path": str(root / name) for section, name in _FILES.items()})
        if options.det_side > 0:
            params["Det.limit_side_len"] = options.det_side
        if options.rec_batch > 0:
            params["Rec.rec_batch_num"] = options.rec_batch
        if options.rec_min_width > 0:
            params["Rec.rec_img_shape"] = [3, 48, options.rec_min_width]
        self.options = options
        self._engine = RapidOCR(params=params)

    @classmethod
    def load(cls, options: OCROptions = OCROptions()) -> "OCR":
        """The cached engine for these options (models load on the first read)."""
        return _load(options)

    def read(self, image: np.ndarray) -> list[Word]:
        """Words in an HxWx3 uint8 RGB image, in reading order; [] when there is no text."""
        if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            desc = f"{image.dtype} {image.shape}" if isinstance(image, np.ndarray) else type(image).__name__
            raise ValueError(f"OCR.read needs an HxWx3 uint8 RGB array, got {desc}")
        h, w = image.shape[:2]
        if h == 0 or w == 0:
            return []
        scale = self.options.scale
        bgr = np.ascontiguousarray(image[:, :, ::-1])  # rapidocr treats arrays as OpenCV BGR
        if scale != 1.0:
            import cv2

            size = (max(1, round(w * scale)), max(1, round(h * scale)))
            bgr = cv2.resize(bgr, size, interpolation=cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA)
        try:
            res = self._engine(bgr, return_word_box=True)
        except IndexError:  # rapidocr 3.10 misindexes its word lists when a line yields no word: split ourselves
            res = self._engine(bgr, return_word_box=False)
        if res.txts is None or res.boxes is None or len(res.txts) == 0:
            return []
        gray = bgr.mean(axis=2)
        pieces = res.word_results if len(res.word_results) == len(res.txts) else [None] * len(res.txts)
        words: list[Word] = []
        line_no = 0
        for quad, text, score, line_pieces in zip(res.boxes, res.txts, res.scores, pieces):
            if float(score) < self.options.min_confidence or not text.strip():
                continue
            found = _join_pieces(text, line_pieces) if line_pieces else None
            if found is None:  # no usable word boxes from rapidocr: split the line box ourselves
                found = [(t, float(score), b) for t, b in split_line_box(gray, text, _rect(quad))]
            for t, conf, box in found:
                if self.options.tight:
                    box = trim_to_ink(gray, box)
                if conf >= self.options.min_confidence:
                    words.append(Word(t, _to_input(box, scale, w, h), round(float(conf), 4), line_no))
            line_no += 1
        return words


@functools.lru_cache(maxsize=4)
def _load(options: OCROptions) -> OCR:
    return OCR(options)


def _rect(points: Any) -> tuple[float, float, float, float]:
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return float(pts[:, 0].min()), float(pts[:, 1].min()), float(pts[:, 0].max()), float(pts[:, 1].max())


def _to_input(box: Sequence[float], scale: float, w: int, h: int) -> Box:
    x0, y0, x1, y1 = (v / scale for v in box)
    return (min(max(0, math.floor(x0)), w), min(max(0, math.floor(y0)), h),
            min(max(0, math.ceil(x1)), w), min(max(0, math.ceil(y1)), h))


def _join_pieces(text: str, pieces: Sequence[Any]) -> list[tuple[str, float, tuple[float, ...]]] | None:
    """Merge rapidocr's pieces (it also cuts at wide letter gaps, and per character for CJK) into the line's
    whitespace-separated words; None when they do not spell the line."""
    out = []
    it = iter(pieces)
    for token in text.split():
        acc, conf, rects = "", 1.0, []
        while acc != token:
            piece = next(it, None)
            if piece is None or piece[2] is None:
                return None
            acc += str(piece[0]).strip()
            conf = min(conf, float(piece[1]))
            rects.append(_rect(piece[2]))
            if not token.startswith(acc):
                return None
        r = np.array(rects)
        out.append((token, conf, (r[:, 0].min(), r[:, 1].min(), r[:, 2].max(), r[:, 3].max())))
    return out if next(it, None) is None else None


def split_line_box(gray: np.ndarray, text: str, rect: Sequence[float]) -> list[tuple[str, tuple[float, ...]]]:
    """Split a line's box into word boxes: proportional to character positions, each word boundary moved to the
    widest blank column run near it, each word then trimmed to its ink. gray is the HxW image the box lives in.
    Used when rapidocr gives no usable word boxes for a line."""
    x0, y0, x1, y1 = (int(round(v)) for v in rect)
    x0, y0 = max(0, x0), max(0, y0)
    x1, y1 = min(gray.shape[1], x1), min(gray.shape[0], y1)
    spans, pos = [], 0
    for token in text.split():
        start = text.index(token, pos)
        spans.append((token, start, start + len(token)))
        pos = start + len(token)
    if x1 - x0 < 2 or y1 - y0 < 1 or not spans:
        return [(t, (float(x0), float(y0), float(x1), float(y1))) for t, _, _ in spans]
    crop = gray[y0:y1, x0:x1]
    ink = (np.abs(crop - np.median(crop)) > 40).any(axis=0)
    width, n = x1 - x0, len(text)
    cw = width / n  # mean character width
    cuts = [0]
    for (_, _, end), (_, nxt, _) in zip(spans, spans[1:]):
        lo, hi = int((end - 1) * cw), int(math.ceil((nxt + 1) * cw))
        cuts.append(_widest_gap(ink, lo, hi) or int((end + nxt) / 2 * cw))
    cuts.append(width)
    out = []
    for (token, _, _), a, b in zip(spans, cuts, cuts[1:]):
        out.append((token, trim_to_ink(gray, (x0 + a, y0, x0 + b, y1))))
    return out


def trim_to_ink(gray: np.ndarray, box: Sequence[float], contrast: float = 40.0) -> tuple[float, ...]:
    """The part of box holding pixels that differ from the box's median (its background); box if none do."""
    x0, y0 = max(0, math.floor(box[0])), max(0, math.floor(box[1]))
    x1, y1 = min(gray.shape[1], math.ceil(box[2])), min(gray.shape[0], math.ceil(box[3]))
    if x1 <= x0 or y1 <= y0:
        return tuple(box)
    crop = gray[y0:y1, x0:x1]
    ink = np.abs(crop - np.median(crop)) > contrast
    cols, rows = np.flatnonzero(ink.any(axis=0)), np.flatnonzero(ink.any(axis=1))
    if not cols.size:
        return tuple(box)
    return (float(x0 + cols[0]), float(y0 + rows[0]), float(x0 + cols[-1] + 1), float(y0 + rows[-1] + 1))


def _widest_gap(ink: np.ndarray, lo: int, hi: int) -> int | None:
    """Centre of the longest run of blank columns in ink[lo:hi], or None if there is none."""
    lo, hi = max(0, lo), min(len(ink), hi)
    best, best_len, run_start = None, 0, None
    for i in range(lo, hi + 1):
        blank = i < hi and not ink[i]
        if blank and run_start is None:
            run_start = i
        elif not blank and run_start is not None:
            if i - run_start > best_len:
                best, best_len = (run_start + i) // 2, i - run_start
            run_start = None
    return best
