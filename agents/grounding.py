"""Ground: a screenshot -> UI elements (id, box, kind, label) from OCR words plus cheap pixel heuristics.

Elements come from two sources. OCR (omnirt.models.ocr) gives words; consecutive words of one OCR line also form a
"line" element so multi-word labels can be matched. Outlined rectangles found in the pixels (a grey 1-2 px border on
all four sides: text fields, buttons, checkboxes, icon buttons) become "input" (light empty interior), "button"
(text inside or a filled interior), "checkbox" (small square) or "icon" (small button without text). A box takes the
text inside it as its label; inputs and checkboxes take the nearest text to their left/right/above.

OCR is the expensive part (~0.1-1 s), so `Grounder` caches per region: with `tile_diff` against the previous frame
it re-reads only the horizontal band(s) that changed and keeps the words elsewhere.

Matching (`match`) goes from cheap and exact to fuzzy: normalised equality, containment in a line, rapidfuzz ratio,
then meaning (TextEncoder.best_match) for synonyms.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from omnirt.agents.screen import Box, Frame, tile_diff


@dataclass(frozen=True)
class Element:
    """One thing on screen, in pixels of the frame it was found in. kind: word, line, link, button, input,
    checkbox, icon. label: its text (for boxes: the text inside or next to it; may be '')."""

    id: str
    box: Box
    kind: str
    label: str
    ink: tuple[int, int, int] = (0, 0, 0)
    line: int = -1  # OCR line of a word or link (-1 for anything else)
    value: str = ""  # text inside an input

    @property
    def center(self) -> tuple[int, int]:
        return (self.box[0] + self.box[2]) // 2, (self.box[1] + self.box[3]) // 2


def norm(text: str) -> str:
    """Lower case, punctuation dropped, spaces collapsed (for label comparison)."""
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


# ---------------------------------------------------------------- pixel heuristics

def _outline_boxes(rgb: np.ndarray, min_side: int, max_dark: int = 215) -> list[Box]:
    """Rectangles drawn as a grey outline: each side of the bounding box is >= 80 % border-coloured pixels."""
    import cv2

    r, g, b = (rgb[..., i].astype(np.int16) for i in range(3))
    mx, mn = np.maximum(np.maximum(r, g), b), np.minimum(np.minimum(r, g), b)
    mask = ((mx - mn < 40) & ((r + g + b) // 3 < max_dark)).astype(np.uint8)
    contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    out: list[Box] = []
    for c in contours:
        x, y, w, h = cv2.boundingRect(c)
        if w < min_side or h < min_side:
            continue
        sides = (mask[y:y + 2, x + 3:x + w - 3].any(axis=0), mask[y + h - 2:y + h, x + 3:x + w - 3].any(axis=0),
                 mask[y + 3:y + h - 3, x:x + 2].any(axis=1), mask[y + 3:y + h - 3, x + w - 2:x + w].any(axis=1))
        if all(s.size and s.mean() > 0.8 for s in sides):
            box = (x, y, x + w, y + h)
            if box not in out:
                out.append(box)
    # Keep the outer box of a double outline (a focused field draws two rectangles 1-3 px apart).
    def within(a: Box, o: Box) -> bool:
        return o != a and all(abs(p - q) <= 4 for p, q in zip(a, o)) and o[0] <= a[0] and o[1] <= a[1]

    keep = [bx for bx in out if not any(within(bx, o) for o in out)]
    return keep


def _inside(pt: tuple[int, int], box: Box) -> bool:
    return box[0] <= pt[0] < box[2] and box[1] <= pt[1] < box[3]


def _ink(rgb: np.ndarray, box: Box) -> tuple[int, int, int]:
    """The darkest-ish colour inside a word box (its text colour), as ints."""
    x0, y0, x1, y1 = box
    sub = rgb[max(0, y0):y1, max(0, x0):x1].reshape(-1, 3)
    if not len(sub):
        return 0, 0, 0
    lum = sub.astype(np.int32).sum(axis=1)
    dark = sub[lum <= np.percentile(lum, 15)]
    c = dark.mean(axis=0) if len(dark) else sub.mean(axis=0)
    return int(c[0]), int(c[1]), int(c[2])


def is_link_colour(c: tuple[int, int, int]) -> bool:
    r, g, b = c
    return b > 120 and b - max(r, g) > 60


def split_by_colour(rgb: np.ndarray, text: str, box: Box) -> list[tuple[str, Box]]:
    """OCR joins a link to the word next to it when the space is tiny ('in' + blue 'ac' -> 'inac'): split a word
    whose ink is link-coloured on one side only, the text in proportion to the widths."""
    x0, y0, x1, y1 = box
    sub = rgb[y0:y1, x0:x1].astype(np.int16)
    if sub.size == 0 or len(text) < 2:
        return [(text, box)]
    r, g, b = sub[..., 0], sub[..., 1], sub[..., 2]
    blue = ((b > 120) & (b - np.maximum(r, g) > 60)).any(axis=0)
    dark = ((np.maximum(np.maximum(r, g), b) < 110) & (b - np.maximum(r, g) < 30)).any(axis=0)
    cols = np.nonzero(blue | dark)[0]
    if not blue.any() or not dark.any() or len(cols) < 2:
        return [(text, box)]
    kind = blue[cols]
    changes = np.nonzero(kind[1:] != kind[:-1])[0]
    if len(changes) != 1:
        return [(text, box)]
    cut = int(cols[changes[0] + 1])  # first column of the second colour
    n = round(len(text) * (cut - cols[0]) / (cols[-1] + 1 - cols[0]))
    if not 0 < n < len(text):
        return [(text, box)]
    return [(text[:n], (x0, y0, x0 + cut, y1)), (text[n:], (x0 + cut, y0, x1, y1))]


# ---------------------------------------------------------------- grounding

@dataclass
class GroundingOptions:
    """scale: device pixels per CSS pixel of the page (sizes below are CSS pixels). ocr_scale: OCR upscaling.
    ocr_threads: onnxruntime threads for OCR (1: several threads spin against each other on a shared CPU).
    min_box / checkbox_max: outline sizes for boxes and for checkboxes (square ones up to that side)."""

    scale: float = 1.0
    ocr_scale: float = 1.0
    ocr_threads: int = 1
    min_box: int = 10
    checkbox_max: int = 18
    tile: int = 16


@dataclass
class _Cache:
    rgb: np.ndarray | None = None
    words: list[Any] = field(default_factory=list)


class Grounder:
    """Frames -> elements, with OCR cached per region (`region` names one crop, e.g. 'query' or 'area')."""

    def __init__(self, options: GroundingOptions | None = None, ocr: Any = None) -> None:
        self.options = options or GroundingOptions()
        if ocr is None:
            from omnirt.models.ocr import OCR, OCROptions

            ocr = OCR.load(OCROptions(scale=self.options.ocr_scale, intra_threads=self.options.ocr_threads))
        self.ocr = ocr
        self._cache: dict[str, _Cache] = {}
        self.stats = {"ocr_calls": 0, "ocr_ms": 0.0, "reused": 0}

    def words(self, rgb: np.ndarray, region: str = "main") -> list[Any]:
        """OCR words of `rgb`, re-reading only the horizontal bands that changed since this region's last call."""
        c = self._cache.setdefault(region, _Cache())
        if c.rgb is not None and c.rgb.shape == rgb.shape:
            diff = tile_diff(c.rgb, rgb, tile=self.options.tile)
            if not diff.changed:
                self.stats["reused"] += 1
                return c.words
            flat = _flat_rows(c.rgb) & _flat_rows(rgb)
            bands: list[list[int]] = []
            for _, y0, _, y1 in sorted(diff.regions, key=lambda r: r[1]):
                a, b = _to_flat(flat, y0, -1), _to_flat(flat, y1 - 1, 1) + 1  # cut only through blank rows
                if bands and a <= bands[-1][1]:
                    bands[-1][1] = max(bands[-1][1], b)
                else:
                    bands.append([a, b])
            if sum(b - a for a, b in bands) < 0.6 * rgb.shape[0]:
                words = [w for w in c.words if not any(a <= w.center[1] < b for a, b in bands)]
                for a, b in bands:
                    words += [_shift(w, 0, a) for w in self._read(rgb[a:b])]
                c.rgb, c.words = rgb.copy(), reading_order(words)
                return c.words
        c.rgb, c.words = rgb.copy(), self._read(rgb)
        return c.words

    def _read(self, rgb: np.ndarray) -> list[Any]:
        t0 = time.perf_counter()
        words = clean_words(self.ocr.read(pad_square(rgb)))
        self.stats["ocr_calls"] += 1
        self.stats["ocr_ms"] += (time.perf_counter() - t0) * 1000
        return words

    def text(self, frame: Frame | np.ndarray, box: Box | None = None, region: str = "text") -> str:
        """All text in `box` (frame pixels), in reading order: e.g. a task's instruction."""
        rgb = frame.rgb if isinstance(frame, Frame) else frame
        sub = rgb if box is None else rgb[box[1]:box[3], box[0]:box[2]]
        return " ".join(w.text for w in self.words(sub, region))

    def ground(self, frame: Frame | np.ndarray, box: Box | None = None, region: str = "area") -> list[Element]:
        """Elements inside `box` of the frame (default: all of it); boxes are in frame pixels."""
        rgb = frame.rgb if isinstance(frame, Frame) else frame
        x0, y0 = (box[0], box[1]) if box else (0, 0)
        sub = rgb if box is None else rgb[box[1]:box[3], box[0]:box[2]]
        words = [_shift(w, x0, y0) for w in self.words(sub, region)]
        s = self.options.scale
        outlines = [(b[0] + x0, b[1] + y0, b[2] + x0, b[3] + y0)
                    for b in _outline_boxes(sub, max(4, round(self.options.min_box * s)))]
        return build_elements(rgb, words, outlines, self.options.checkbox_max * s)


def pad_square(rgb: np.ndarray) -> np.ndarray:
    """Pad a wide strip to a square with its bottom-left colour. rapidocr scales an image's SHORT side up to 736 px
    before detection, so a 320x60 strip became 2355x736 (1-3 s); padded it is 736x736 (~0.2 s). Boxes keep their
    coordinates (the padding is below / right)."""
    h, w = rgb.shape[:2]
    if h == 0 or w == 0 or h == w:
        return np.ascontiguousarray(rgb)
    n = max(h, w)
    out = np.empty((n, n, 3), np.uint8)
    out[:] = rgb[-1, 0]
    out[:h, :w] = rgb
    return out


def _flat_rows(rgb: np.ndarray, tol: int = 8) -> np.ndarray:
    """Rows of one colour across the whole width: a band may start or end there without cutting any text."""
    return (np.abs(rgb.astype(np.int16) - rgb[:, :1].astype(np.int16)).max(axis=(1, 2)) <= tol)


def _to_flat(flat: np.ndarray, y: int, step: int) -> int:
    """The nearest flat row from y in direction step (the image edge if none)."""
    y = min(max(0, y), len(flat) - 1)
    while 0 < y < len(flat) - 1 and not flat[y]:
        y += step
    return y


def clean_words(words: Sequence[Any]) -> list[Any]:
    """Drop OCR noise: words without a letter or digit (a box border read as '三') and a word lying mostly inside
    another word of its line (rapidocr sometimes repeats a last letter as its own word: 'input t')."""
    keep = [w for w in words if re.search(r"[A-Za-z0-9]", w.text)]
    out = []
    for w in keep:
        area = max(1, (w.box[2] - w.box[0]) * (w.box[3] - w.box[1]))
        inside = False
        for o in keep:
            if o is w or len(o.text) <= len(w.text):
                continue
            ix = max(0, min(w.box[2], o.box[2]) - max(w.box[0], o.box[0]))
            iy = max(0, min(w.box[3], o.box[3]) - max(w.box[1], o.box[1]))
            if ix * iy > 0.6 * area:
                inside = True
                break
        if not inside:
            out.append(w)
    return out


def reading_order(words: Sequence[Any]) -> list[Any]:
    """Words regrouped into lines (vertical centres within half a word height) and sorted left to right; line
    numbers are reassigned (words re-read from different bands carry unrelated line numbers)."""
    from omnirt.models.ocr import Word

    rows: list[list[Any]] = []
    for w in sorted(words, key=lambda w: w.center[1]):
        h = max(1, w.box[3] - w.box[1])
        if rows and abs(w.center[1] - rows[-1][0].center[1]) <= h / 2:
            rows[-1].append(w)
        else:
            rows.append([w])
    return [Word(w.text, w.box, w.confidence, i) for i, row in enumerate(rows)
            for w in sorted(row, key=lambda w: w.box[0])]


def _shift(w: Any, dx: int, dy: int) -> Any:
    from omnirt.models.ocr import Word

    b = w.box
    return Word(w.text, (b[0] + dx, b[1] + dy, b[2] + dx, b[3] + dy), w.confidence, w.line)


def build_elements(rgb: np.ndarray, words: Sequence[Any], outlines: Sequence[Box], checkbox_max: float
                   ) -> list[Element]:
    """Words, lines and outlined boxes -> elements with ids (e0, e1, ... in reading order of their kind)."""
    els: list[Element] = []
    boxes = sorted(outlines, key=lambda b: (b[1], b[0]))
    claimed: set[int] = set()
    for b in boxes:
        w, h = b[2] - b[0], b[3] - b[1]
        inner = [i for i, wd in enumerate(words) if _inside(wd.center, b)]
        holds_box = any(_inside(((o[0] + o[2]) // 2, (o[1] + o[3]) // 2), b) and o != b for o in boxes)
        if holds_box or len({words[i].line for i in inner}) > 1:
            continue  # a container (dialog, panel, tab page): its words and boxes stand on their own
        pad = 4
        interior = rgb[b[1] + pad:b[3] - pad, b[0] + pad:b[2] - pad]
        white = interior.size > 0 and float(np.median(interior)) >= 250
        small_square = max(w, h) <= checkbox_max and abs(w - h) <= 0.25 * max(w, h)
        if small_square and not inner:
            kind = "checkbox"
        elif white:
            kind = "input"  # light field: text inside is its value, its label is outside
        elif inner:
            kind = "button"
        elif max(w, h) <= 3 * checkbox_max:
            kind = "icon"
        else:
            kind = "button"
        label = " ".join(words[i].text for i in inner) if kind == "button" else ""
        value = " ".join(words[i].text for i in inner) if kind == "input" else ""
        claimed.update(inner)
        els.append(Element("", b, kind, label, value=value))
    for i, wd in enumerate(words):
        if i in claimed:
            continue
        for text, box in split_by_colour(rgb, wd.text, wd.box):
            ink = _ink(rgb, box)
            els.append(Element("", box, "link" if is_link_colour(ink) else "word", text, ink, wd.line))
    # Lines: runs of unclaimed words on one OCR line (same kind), for multi-word labels.
    by_line: dict[int, list[int]] = {}
    for i, wd in enumerate(words):
        if i not in claimed:
            by_line.setdefault(wd.line, []).append(i)
    for idx in by_line.values():
        if len(idx) > 1:
            ws = [words[i] for i in idx]
            bx = (min(w.box[0] for w in ws), min(w.box[1] for w in ws), max(w.box[2] for w in ws),
                  max(w.box[3] for w in ws))
            els.append(Element("", bx, "line", " ".join(w.text for w in ws)))
    # Unlabelled inputs / checkboxes take the nearest free text on their row (right for checkboxes, left for
    # inputs) or just above.
    texts = [e for e in els if e.kind in ("word", "line", "link")]
    out = []
    for e in els:
        if e.kind in ("input", "checkbox") and not e.label:
            e = Element(e.id, e.box, e.kind, _nearby_label(e, texts), e.ink, e.line, e.value)
        out.append(e)
    out.sort(key=lambda e: (e.box[1] // 8, e.box[0]))
    return [Element(f"e{i}", e.box, e.kind, e.label, e.ink, e.line, e.value) for i, e in enumerate(out)]


def _nearby_label(e: Element, texts: list[Element]) -> str:
    cy = e.center[1]
    h = e.box[3] - e.box[1]
    best, best_d = "", float("inf")
    for t in texts:
        tcy = t.center[1]
        if abs(tcy - cy) < h / 2:
            d = (t.box[0] - e.box[2]) if e.kind == "checkbox" else (e.box[0] - t.box[2])
        elif 0 <= e.box[1] - t.box[3] < 1.5 * h and t.box[0] < e.box[2]:
            d = (e.box[1] - t.box[3]) * 2
        else:
            continue
        if 0 <= d < best_d and (t.kind == "line" or d < 4 * h):
            best, best_d = t.label, d
    return best


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

    def order(e: Element) -> tuple[int, int]:
        return rank.get(e.kind, len(rank)), (e.box[2] - e.box[0]) * (e.box[3] - e.box[1])

    exact = [e for e in cands if norm(e.label) == t]
    if exact:
        return min(exact, key=order)
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


def render_marks(rgb: np.ndarray, elements: Sequence[Element], kinds: Sequence[str] | None = None) -> np.ndarray:
    """Set-of-marks: the screenshot with each element's box outlined and its number (the digits of its id) drawn
    at the top-left, for a multimodal policy that answers with an element id."""
    from PIL import Image, ImageDraw

    img = Image.fromarray(rgb).convert("RGB")
    d = ImageDraw.Draw(img)
    palette = [(230, 25, 75), (60, 180, 75), (0, 130, 200), (245, 130, 48), (145, 30, 180), (70, 140, 140)]
    for i, e in enumerate(el for el in elements if kinds is None or el.kind in kinds):
        col = palette[i % len(palette)]
        d.rectangle(e.box, outline=col, width=2)
        tag = e.id.lstrip("e")
        tw = 6 * len(tag) + 4
        d.rectangle((e.box[0], e.box[1] - 12, e.box[0] + tw, e.box[1]), fill=col)
        d.text((e.box[0] + 2, e.box[1] - 12), tag, fill=(255, 255, 255))
    return np.asarray(img)
