"""Ground: a screenshot -> UI elements (id, box, kind, label, value) from OCR words plus cheap pixel heuristics.

Pixels give the shapes (omnirt.agents.pixels): outlined boxes, radio rings, tree expanders ('+' collapsed, '-'
expanded), check boxes, the resize grip of a text area, a button partly hidden under another. A learned widget
detector can be plugged in (`Grounder(detector=...)`): its boxes name or add shapes. OCR gives the words; shapes and
words become elements in omnirt.agents.elements.

OCR is the expensive part (0.1 s for a small page, over 1 s for a 1280x800 screen), so `Grounder` keeps each
region's words and re-reads only the rectangles that changed (omnirt.agents.ocr_cache), by blocks it may have read
before (omnirt.agents.ocr_blocks); the detector keeps each crop's resolution and the recogniser pads no line. The
instruction (`text`) is read upsampled and its I/l and O/0 re-decided by font metrics (omnirt.agents.ocr_glyphs).

Matching (`match`) goes from cheap and exact to fuzzy: normalised equality, equality up to OCR confusables (O/0,
I/l/1), a phrase in a line, rapidfuzz ratio, then meaning (TextEncoder.best_match) for synonyms.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from omnirt.agents.ocr_blocks import BlockReader
from omnirt.agents.ocr_glyphs import resolve_bars
from omnirt.agents.elements import (  # noqa: F401  (re-exported: the grounding API)
    DETECTOR_KINDS, Element, _outside_words, build_elements, fold, is_link_colour, merge_detections, norm,
    split_by_colour)
from omnirt.agents.pixels import Shape, blank_shapes, find_shapes, occluded
from omnirt.agents.ocr_cache import RegionCache, clean_words, pad_min, reading_order, shift_word, tight, touches
from omnirt.agents.screen import Box, Screenshot, tile_diff


@dataclass
class GroundingOptions:
    """scale: device pixels per CSS pixel of the page (sizes below are CSS pixels). ocr_scale: OCR upscaling.
    ocr_threads: onnxruntime threads for OCR (1: several threads spin against each other on a shared CPU).
    min_box / checkbox_max: outline sizes for boxes and for checkboxes (square ones up to that side); tick_min: the
    smallest check box / radio button (a smaller empty square or ring is a letter: O, D, 0).
    det_min_side: the OCR's text detector reads each crop at its own resolution, padded to at least this size
    (rapidocr's default scales the short side UP to 736 px: 5x the pixels of a 320 px page, no better at device
    scale 2). glyphs: re-decide I/l and O/0 in `text` by font metrics (omnirt.agents.ocr_glyphs). text_scale: `text`
    (an instruction: exact strings to type) reads its crop upsampled by this factor; at native size the recogniser
    drops the i of a tight "fi" (measured on 161 login instructions: 1 error at 1.0, none at 1.25; +4 % time).
    detector_min_score: detections below it are ignored, above the detector's own per-kind thresholds (those
    were tuned for recall on synthetic screens; below 0.5 a link box glued a plain word to the link beside it on
    a DEV task, and stars became radios). detector: use the learned widget detector
    (models/widgets.py) when the Grounder is given none: icons without text (a close ×, a trash can), buttons
    without a label and unframed fields are shapes pixels alone do not find. It was trained on pages at device
    scale 1, so it reads the crop shrunk by `scale` (at scale 2 that is also a quarter of the pixels)."""

    scale: float = 1.0
    ocr_scale: float = 1.0
    ocr_threads: int = 1
    min_box: int = 8
    checkbox_max: int = 18
    tick_min: int = 11
    tile: int = 16
    det_min_side: int = 64
    glyphs: bool = True
    text_scale: float = 1.25
    detector_min_score: float = 0.5
    detector: bool = True


def _load_ocr(o: GroundingOptions) -> Any:
    """A private OCR engine tuned for screens (private: the shared `OCR.load` cache serves others that expect
    rapidocr's defaults). Detector: keep each crop's resolution (`det_min_side`). Recogniser: one line per batch,
    no minimum width: rapidocr pads every line of a batch to the widest one and to at least 320 px, so a 'Submit'
    would cost as much as a paragraph line (measured: -30 % CPU, same text)."""
    from omnirt.models.ocr import OCR, OCROptions

    return OCR(OCROptions(scale=o.ocr_scale, intra_threads=o.ocr_threads,
                          det_side=min(o.det_min_side, 736) if o.det_min_side > 0 else 0, rec_batch=1,
                          rec_min_width=48))


def load_detector(note: Any = None) -> Any:
    """The learned widget detector (one onnxruntime thread: it runs beside OCR on a shared CPU), or None when its
    weights cannot be loaded (grounding then relies on pixels alone; `note` hears why)."""
    try:
        from omnirt.models.widgets import WidgetDetector

        return WidgetDetector.load(intra_threads=1)
    except Exception as e:  # ModelMissingError, a broken onnxruntime
        if note is not None:
            note(f"  widget detector unavailable ({type(e).__name__}: {e}); grounding by pixels only")
        return None


class Grounder:
    """Frames -> elements, with OCR cached per region (`region` names one crop, e.g. 'query' or 'area': only what
    changed in it since its last call is read again). detector: a learned widget detector with
    `detect(rgb) -> [Detection(box, kind, score)]` whose boxes are merged with the pixel heuristics'; "auto" (the
    default) loads models/widgets.py's when `options.detector` is on; None: pixels only."""

    def __init__(self, options: GroundingOptions | None = None, ocr: Any = None, detector: Any = "auto") -> None:
        self.options = options or GroundingOptions()
        self.ocr = ocr if ocr is not None else _load_ocr(self.options)
        if isinstance(detector, str) and detector == "auto":
            detector = load_detector() if self.options.detector else None
        self.detector = detector
        self._regions: dict[str, RegionCache] = {}
        self._shapes: dict[str, tuple[np.ndarray, list[Shape]]] = {}
        self._glyphs: dict[str, tuple[list[Any], list[Any]]] = {}
        self._scaled: dict[str, tuple[list[Any], list[Any]]] = {}
        self._direct: set[str] = set()  # regions to read whole once (after `forget`)
        self._base: dict[str, np.ndarray] = {}  # each region's frame at its last whole read (kept by `forget`)
        self._patches: dict[str, list[tuple[Box, list[Any]]]] = {}  # crops read on their own, per region
        self._blocks = BlockReader(self._ocr, min_gap_x=max(8, round(8 * self.options.scale)))
        self.stats = {"ocr_calls": 0, "ocr_ms": 0.0, "reused": 0, "ocr_kpx": 0.0}

    def words(self, rgb: np.ndarray, region: str = "main") -> list[Any]:
        """OCR words of `rgb`, re-reading only the rectangles that changed since this region's last call."""
        cache = self._regions.get(region)
        if cache is None:
            read = self._ocr if region in self._direct else self._read
            self._direct.discard(region)
            cache = self._regions[region] = RegionCache(read, self.options.tile)
        words = cache.update(rgb)
        if not cache.last_rects:
            self.stats["reused"] += 1
        return self._patched(rgb, region, words, cache.last_rects)

    def _patched(self, rgb: np.ndarray, region: str, words: list[Any], reread: list[Box]) -> list[Any]:
        """`words` with what appeared on the page since its last whole read read on its own (`popup_rects`): a
        whole read drops the items of a menu that opened over the page, a crop of the menu reads them. A crop
        stays in force while its pixels hold still (a later whole read, after `forget`, keeps it), is read again
        with what changed beside it (a submenu) while the two stay popup-sized, and is dropped otherwise."""
        h, w = rgb.shape[:2]
        base = self._base.get(region)
        patches = self._patches.get(region, []) if base is not None and base.shape == rgb.shape else []
        if reread == [(0, 0, w, h)]:  # a whole read: crops of what appeared since the last whole read
            self._base[region] = rgb
            if base is None or base.shape != rgb.shape:
                self._patches[region] = []
                return words
            changed = tile_diff(base, rgb, tile=16).regions
            patches = [(r, ws) for r, ws in patches if not any(touches(r, c) for c in changed)]  # still so
            patches += [(r, self._read_crop(rgb, r)) for r in popup_rects(base, rgb, changed)]
        elif reread:  # what changed inside or beside a crop is read with it, if the two stay popup-sized
            kept = []
            for r, ws in patches:
                near = [c for c in reread if touches(c, (r[0] - 2, r[1] - 2, r[2] + 2, r[3] + 2))]
                if not near:
                    kept.append((r, ws))
                    continue
                u = (min([r[0]] + [c[0] for c in near]), min([r[1]] + [c[1] for c in near]),
                     max([r[2]] + [c[2] for c in near]), max([r[3]] + [c[3] for c in near]))
                if (u[2] - u[0]) * (u[3] - u[1]) <= POPUP_MAX_FRACTION * h * w:
                    kept.append((u, self._read_crop(rgb, u)))
            patches = kept
        self._patches[region] = patches
        if not patches:
            return words
        inside = lambda wd: any(r[0] <= wd.center[0] < r[2] and r[1] <= wd.center[1] < r[3]  # noqa: E731
                                for r, _ in patches)
        return reading_order([wd for wd in words if not inside(wd)] + [wd for _, ws in patches for wd in ws])

    def _read_crop(self, rgb: np.ndarray, r: Box) -> list[Any]:
        m = 4
        h, w = rgb.shape[:2]
        x0, y0, x1, y1 = max(0, r[0] - m), max(0, r[1] - m), min(w, r[2] + m), min(h, r[3] + m)
        return [shift_word(wd, x0, y0) for wd in self._ocr(rgb[y0:y1, x0:x1])]

    def forget(self) -> None:
        """Drop every cached word, shape and block: the next `ground` / `text` reads the screen afresh. For a second
        look when a target is not found (a misread block would otherwise be served from the cache forever); that
        look reads each region whole, not by blocks, for a second opinion."""
        self._direct |= set(self._regions)
        self._regions.clear()
        self._shapes.clear()
        self._glyphs.clear()
        self._scaled.clear()
        self._blocks.clear()

    def _read(self, rgb: np.ndarray) -> list[Any]:
        """OCR of `rgb` by blocks: blank space is skipped and blocks seen before cost nothing (agents.ocr_blocks)."""
        return self._blocks.read(rgb)

    def _ocr(self, rgb: np.ndarray) -> list[Any]:
        t0 = time.perf_counter()
        h, w = rgb.shape[:2]
        words = [wd for wd in clean_words(self.ocr.read(pad_min(rgb, self.options.det_min_side)))
                 if wd.box[0] < w and wd.box[1] < h]
        self.stats["ocr_calls"] += 1
        self.stats["ocr_ms"] += (time.perf_counter() - t0) * 1000
        self.stats["ocr_kpx"] += h * w / 1000
        return words

    def text(self, frame: Screenshot | np.ndarray, box: Box | None = None, region: str = "text") -> str:
        """All text in `box` (frame pixels), in reading order: e.g. a task's instruction."""
        return " ".join(w.text for w in self.text_words(frame, box, region))

    def text_words(self, frame: Screenshot | np.ndarray, box: Box | None = None, region: str = "text") -> list[Any]:
        """The words of `text`, in reading order, with boxes in pixels of the `box` crop (for line geometry)."""
        rgb = frame.rgb if isinstance(frame, Screenshot) else frame
        sub = rgb if box is None else rgb[box[1]:box[3], box[0]:box[2]]
        k = self.options.text_scale
        if k != 1.0:  # read upsampled, keep boxes in frame pixels
            import cv2

            big = self.words(cv2.resize(sub, None, fx=k, fy=k, interpolation=cv2.INTER_CUBIC), region)
            last = self._scaled.get(region)
            if last is None or last[0] is not big:
                last = self._scaled[region] = (big, [type(w)(w.text, tuple(int(round(v / k)) for v in w.box),
                                                             w.confidence, w.line) for w in big])
            words = last[1]
        else:
            words = self.words(sub, region)
        if self.options.glyphs:
            last = self._glyphs.get(region)
            if last is None or last[0] is not words:
                last = self._glyphs[region] = (words, resolve_bars(sub, words))
            words = last[1]
        return list(words)

    def ground(self, frame: Screenshot | np.ndarray, box: Box | None = None, region: str = "area") -> list[Element]:
        """Elements inside `box` of the frame (default: all of it); boxes are in frame pixels."""
        rgb = frame.rgb if isinstance(frame, Screenshot) else frame
        x0, y0 = (box[0], box[1]) if box else (0, 0)
        sub = rgb if box is None else rgb[box[1]:box[3], box[0]:box[2]]
        shapes = self.shapes(sub, region)
        # OCR sees the page without its small widgets: a radio ring read as 'O' would stick to its label.
        words = [shift_word(w, x0, y0) for w in self.words(blank_shapes(sub, shapes), region)]
        shapes = [Shape((b.box[0] + x0, b.box[1] + y0, b.box[2] + x0, b.box[3] + y0), b.kind, b.value)
                  for b in shapes]
        # A small "box" inside a read word is made of its letters (an O or D drawn boxy by hinting, 'as').
        shapes = _outside_words(shapes, words)
        s = self.options.scale
        return build_elements(rgb, words, shapes, self.options.checkbox_max * s, s)

    def shapes(self, rgb: np.ndarray, region: str = "area") -> list[Shape]:
        """Outlined shapes (pixel heuristics, plus the detector's boxes), recomputed only when `rgb` changed."""
        last = self._shapes.get(region)
        if last is not None and last[0].shape == rgb.shape and np.array_equal(last[0], rgb):
            return last[1]
        s = self.options.scale
        shapes = find_shapes(rgb, max(4, round(self.options.min_box * s)), self.options.checkbox_max * s,
                             min_tick=self.options.tick_min * s)
        shapes += occluded(rgb, shapes, max(4, round(self.options.min_box * s)))
        if self.detector is not None:
            t0 = time.perf_counter()
            shapes = merge_detections(shapes, self.detect(rgb), self.options.detector_min_score)
            self.stats["detector_ms"] = self.stats.get("detector_ms", 0.0) + (time.perf_counter() - t0) * 1000
            self.stats["detector_calls"] = self.stats.get("detector_calls", 0) + 1
        self._shapes[region] = (rgb.copy(), shapes)
        return shapes

    def detect(self, rgb: np.ndarray) -> list[Any]:
        """The detector's widgets in `rgb` (its pixels), read at device scale 1 (see GroundingOptions.detector)."""
        s = self.options.scale
        if s <= 1.0 or self.detector is None:
            return list(self.detector.detect(rgb)) if self.detector is not None else []
        import cv2

        small = cv2.resize(rgb, (max(1, round(rgb.shape[1] / s)), max(1, round(rgb.shape[0] / s))),
                           interpolation=cv2.INTER_AREA)
        h, w = rgb.shape[:2]
        out = []
        for d in self.detector.detect(small):
            b = (min(w, int(round(d.box[0] * s))), min(h, int(round(d.box[1] * s))),
                 min(w, int(round(d.box[2] * s))), min(h, int(round(d.box[3] * s))))
            out.append(type(d)(b, d.kind, d.score))
        return out


POPUP_MAX_FRACTION = 0.3  # of the frame: a larger change is a new page, read whole


def popup_rects(prev: np.ndarray, cur: np.ndarray, changed: Sequence[Box]) -> list[Box]:
    """The changed rectangles that are a popup, a menu or a dialog's panel rather than a new page: each shrunk to
    the pixels that differ, big enough to hold a line of text and at most POPUP_MAX_FRACTION of the frame."""
    h, w = cur.shape[:2]
    out = []
    for r in changed:
        x0, y0, x1, y1 = tight(r, prev, cur)
        if x1 - x0 >= 24 and y1 - y0 >= 12 and (x1 - x0) * (y1 - y0) <= POPUP_MAX_FRACTION * h * w:
            out.append((x0, y0, x1, y1))
    return out


# ---------------------------------------------------------------- matching

def match(target: str, elements: Sequence[Element], kinds: Sequence[str] | None = None, encoder: Any = None,
          min_ratio: float = 80.0, min_similarity: float = 0.55) -> Element | None:
    """The element whose label best matches `target`: exact (normalised) > whole line > fuzzy > meaning.
    `kinds` restricts the candidates (preferred first: an exact match of a preferred kind wins)."""
    cands = [e for e in elements if e.label and (kinds is None or e.kind in kinds)]
    if not cands:
        return None
    t = norm(target)
    rank = {k: i for i, k in enumerate(kinds or [])}

    def order(e: Element) -> tuple[int, int, int]:
        # With no kind asked for, a control (button, link, box ...) labelled exactly so beats the same word in
        # running text: "click Save" means the Save button, not "press Save" in the instructions above it.
        plain = int(not kinds and e.kind in ("word", "line"))
        return rank.get(e.kind, len(rank)), plain, (e.box[2] - e.box[0]) * (e.box[3] - e.box[1])

    exact = [e for e in cands if norm(e.label) == t]
    if exact:
        return min(exact, key=order)
    # Both sides may be OCR readings: O/0 and I/l/1 are the recogniser's usual swaps, not different words.
    alike = [e for e in cands if fold(e.label) == fold(target)]
    if alike:
        return min(alike, key=order)
    span = _span(t, elements)
    if span is not None and (kinds is None or set(kinds) & {"word", "line", "link"}):
        return span
    from rapidfuzz import fuzz

    scored = [(fuzz.ratio(t, norm(e.label)), e) for e in cands]
    best = max(s for s, _ in scored)
    if best >= min_ratio:
        return min((e for s, e in scored if s == best), key=order)
    if encoder is not None:
        labels = [e.label for e in cands]
        i, sim = encoder.best_match(target, labels)
        if sim >= min_similarity:
            return cands[i]
    return None


def _span(t: str, elements: Sequence[Element]) -> Element | None:
    """Consecutive words of one line that spell `t` (e.g. "Tab #1" in "Tab #1 Tab #2"), as a 'span' element whose
    id is its first word's."""
    k = len(t.split())
    if k < 2:
        return None
    lines: dict[int, list[Element]] = {}
    for e in elements:
        if e.kind in ("word", "link") and e.line >= 0:
            lines.setdefault(e.line, []).append(e)
    for ws in lines.values():
        ws.sort(key=lambda e: e.box[0])
        for i in range(len(ws)):
            for j in range(i + 1, len(ws) + 1):
                text = norm(" ".join(w.label for w in ws[i:j]))
                if text == t:
                    part = ws[i:j]
                    box = (min(w.box[0] for w in part), min(w.box[1] for w in part), max(w.box[2] for w in part),
                           max(w.box[3] for w in part))
                    return Element(part[0].id, box, "span", " ".join(w.label for w in part), part[0].ink, ws[0].line)
                if len(text) > len(t):
                    break
    return None


def close_button(target: str, elements: Sequence[Element]) -> Element | None:
    """The button or icon named `target` (a close step's), else by convention the icon furthest to the top right (a
    close button is a small text-less button, top right of its dialog)."""
    hit = match(target, elements, ["icon", "button"]) if target else None
    if hit is not None and hit.kind in ("icon", "button"):
        return hit
    icons = [e for e in elements if e.kind == "icon"]
    return max(icons, key=lambda e: e.box[2] - e.box[1]) if icons else None


def nth(pool: list[Element], ordinal: int | None) -> Element | None:
    """The `ordinal`-th element (1-based; -1: the last; None: the first) in reading order."""
    if not pool:
        return None
    pool = sorted(pool, key=lambda e: (e.box[1], e.box[0]))
    if ordinal is None or ordinal == 1:
        return pool[0]
    if ordinal == -1:
        return pool[-1]
    return pool[ordinal - 1] if ordinal <= len(pool) else None
