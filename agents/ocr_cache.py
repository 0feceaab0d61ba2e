"""Incremental OCR: the words of a screen region are kept across frames and only the rectangles that changed are
read again.

OCR costs ~0.1 s for a small page and over a second for a 1280x800 screen, while an action usually changes a few
tiles (a ticked box, a focused field, an opened section). `RegionCache.update` compares the new frame with the last
one by tiles (omnirt.agents.screen.tile_diff), grows each changed rectangle until no word is cut (to rows and
columns that are blank in both frames, and over any cached word it touches), drops the cached words inside and
reads just those rectangles. When most of the region changed, one full read is cheaper than many small ones.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Sequence

import numpy as np

from omnirt.agents.screen import Box, tile_diff


def uniform_rows(img: np.ndarray) -> np.ndarray:
    """Rows whose pixels are all one colour (exact: screens are rendered, not photographed). Neighbour
    comparisons on the flat rows: ~2 ms for a 1280x800 screen, 5x faster than a widened difference."""
    r = np.ascontiguousarray(img).reshape(img.shape[0], -1)
    c = img.shape[2] if img.ndim == 3 else 1
    return ~(r[:, c:] != r[:, :-c]).any(axis=1)


def uniform_cols(img: np.ndarray) -> np.ndarray:
    """Columns whose pixels are all one colour."""
    r = np.ascontiguousarray(img).reshape(img.shape[0], -1)
    c = img.shape[2] if img.ndim == 3 else 1
    return ~(r[1:] != r[:-1]).any(axis=0).reshape(-1, c).any(axis=1)


def _blank_rows(img: np.ndarray, x0: int, x1: int) -> np.ndarray:
    return uniform_rows(img[:, x0:x1])


def _blank_cols(img: np.ndarray, y0: int, y1: int) -> np.ndarray:
    return uniform_cols(img[y0:y1])


def _grow(lo: int, hi: int, blank: np.ndarray) -> tuple[int, int]:
    """Move lo down / hi up to the nearest blank line outside [lo, hi) (or the edge)."""
    n = len(blank)
    while lo > 0 and not blank[lo - 1]:
        lo -= 1
    while hi < n and not blank[hi]:
        hi += 1
    return lo, hi


def touches(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def settle_rect(r: Box, prev: np.ndarray, cur: np.ndarray, boxes: Sequence[Box], margin: int = 3) -> Box:
    """Grow a changed rectangle until it cuts no text: its edges lie on lines blank in both frames, plus a margin
    (OCR needs a little background around a word), and it covers every cached word box it touches."""
    h, w = cur.shape[:2]
    x0, y0, x1, y1 = r
    for _ in range(6):
        before = (x0, y0, x1, y1)
        for b in boxes:
            if touches(b, (x0, y0, x1, y1)):
                x0, y0, x1, y1 = min(x0, b[0]), min(y0, b[1]), max(x1, b[2]), max(y1, b[3])
        rows = _blank_rows(prev, x0, x1) & _blank_rows(cur, x0, x1)
        y0, y1 = _grow(y0, y1, rows)
        cols = _blank_cols(prev, y0, y1) & _blank_cols(cur, y0, y1)
        x0, x1 = _grow(x0, x1, cols)
        if (x0, y0, x1, y1) == before:
            break
    return max(0, x0 - margin), max(0, y0 - margin), min(w, x1 + margin), min(h, y1 + margin)


def tight(r: Box, prev: np.ndarray, cur: np.ndarray) -> Box:
    """A changed tile rectangle shrunk to the pixels that really differ (a focus ring 2 px from a paragraph must
    not pull the paragraph in)."""
    x0, y0, x1, y1 = r
    d = (prev[y0:y1, x0:x1] != cur[y0:y1, x0:x1]).any(axis=2)
    ys, xs = np.nonzero(d.any(axis=1))[0], np.nonzero(d.any(axis=0))[0]
    if not len(ys):
        return r
    return x0 + int(xs[0]), y0 + int(ys[0]), x0 + int(xs[-1]) + 1, y0 + int(ys[-1]) + 1


def merge_rects(rects: Sequence[Box]) -> list[Box]:
    """Union overlapping rectangles until none overlap."""
    out = [tuple(r) for r in rects]
    merged = True
    while merged:
        merged = False
        for i in range(len(out)):
            for j in range(i + 1, len(out)):
                if touches(out[i], out[j]):
                    a, b = out[i], out[j]
                    out[i] = (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))
                    del out[j]
                    merged = True
                    break
            if merged:
                break
    return [tuple(int(v) for v in r) for r in out]  # type: ignore[misc]


class RegionCache:
    """The words of one region (e.g. 'query' or 'area') across frames. `read(rgb) -> words` is the OCR;
    `full_fraction`: re-read everything when the changed rectangles cover more than this part of the region."""

    def __init__(self, read: Callable[[np.ndarray], list[Any]], tile: int = 16, full_fraction: float = 0.6) -> None:
        self.read = read
        self.tile = tile
        self.full_fraction = full_fraction
        self.rgb: np.ndarray | None = None
        self.words: list[Any] = []
        self.last_rects: list[Box] = []  # what the last update re-read ([] when nothing changed)

    def update(self, rgb: np.ndarray) -> list[Any]:
        """Words of `rgb`, re-reading only what changed since the last call."""
        prev = self.rgb
        h, w = rgb.shape[:2]
        if prev is None or prev.shape != rgb.shape:
            return self._full(rgb)
        diff = tile_diff(prev, rgb, tile=self.tile)
        if not diff.changed:
            self.last_rects = []
            return self.words
        boxes = [wd.box for wd in self.words]
        rects = merge_rects([settle_rect(tight(r, prev, rgb), prev, rgb, boxes, 0) for r in diff.regions])
        for _ in range(3):  # merged rectangles may touch more words: settle again
            again = merge_rects([settle_rect(r, prev, rgb, boxes, 0) for r in rects])
            if again == rects:
                break
            rects = again
        if sum((r[2] - r[0]) * (r[3] - r[1]) for r in rects) > self.full_fraction * h * w:
            return self._full(rgb)
        kept = [wd for wd in self.words if not any(touches(wd.box, r) for r in rects)]
        m = 3  # OCR needs a little background around a word; what it reads in that margin belongs to others
        for x0, y0, x1, y1 in rects:
            a, b = max(0, x0 - m), max(0, y0 - m)
            for wd in self.read(rgb[b:min(h, y1 + m), a:min(w, x1 + m)]):
                wd = shift_word(wd, a, b)
                if x0 <= wd.center[0] < x1 and y0 <= wd.center[1] < y1:
                    kept.append(wd)
        self.rgb, self.words, self.last_rects = rgb.copy(), reading_order(kept), rects
        return self.words

    def _full(self, rgb: np.ndarray) -> list[Any]:
        self.rgb, self.words = rgb.copy(), reading_order(self.read(rgb))
        self.last_rects = [(0, 0, rgb.shape[1], rgb.shape[0])]
        return self.words


def pad_min(rgb: np.ndarray, side: int, multiple: int = 32) -> np.ndarray:
    """Pad a crop (right / bottom, with its bottom-left colour) to at least side x side and to a multiple of 32 px:
    the text detector resizes its input to multiples of 32, and squashing a 48 px strip to 32 (or stretching it to
    64) loses words or joins them with icons. Boxes keep their coordinates."""
    h, w = rgb.shape[:2]
    if h == 0 or w == 0:
        return np.ascontiguousarray(rgb)
    H = max(side, -(-h // multiple) * multiple)
    W = max(side, -(-w // multiple) * multiple)
    if (H, W) == (h, w):
        return np.ascontiguousarray(rgb)
    out = np.empty((H, W, 3), np.uint8)
    out[:] = rgb[-1, 0]
    out[:h, :w] = rgb
    return out


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


def reading_order(words: Sequence[Any], gap: float = 2.0) -> list[Any]:
    """Words regrouped into lines (vertical centres within half a word height, and no horizontal gap wider than
    `gap` word heights: a sidebar and the page beside it are different lines), sorted top to bottom and left to
    right; line numbers are reassigned (words re-read from different rectangles carry unrelated ones)."""
    from omnirt.models.ocr import Word

    rows: list[list[Any]] = []
    for w in sorted(words, key=lambda w: w.center[1]):
        h = max(1, w.box[3] - w.box[1])
        if rows and abs(w.center[1] - rows[-1][0].center[1]) <= h / 2:
            rows[-1].append(w)
        else:
            rows.append([w])
    out, n = [], 0
    for row in rows:
        row.sort(key=lambda w: w.box[0])
        for i, w in enumerate(row):
            if i and w.box[0] - row[i - 1].box[2] > gap * max(1, w.box[3] - w.box[1]):
                n += 1
            out.append(Word(w.text, w.box, w.confidence, n))
        n += 1
    return out


def shift_word(w: Any, dx: int, dy: int) -> Any:
    from omnirt.models.ocr import Word

    b = w.box
    return Word(w.text, (b[0] + dx, b[1] + dy, b[2] + dx, b[3] + dy), w.confidence, w.line)
