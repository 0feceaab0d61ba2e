"""OCR by blocks: cut an image into inked blocks at blank gaps, recognise each block once, and read only the
blocks never seen before, stacked into one image.

Why: OCR time grows with the pixels the detector sees and the characters the recogniser reads. A page is mostly
blank margin, and much of what is inked repeats: the same button, the same labels, a line that only moved (a
scrolled list keeps its pixels). A block is identified by its pixels (a hash), so a repeat costs a dictionary
look-up wherever it appears. Cuts: any blank row run (lines of text are read separately) and blank column runs of at
least `min_gap_x` (wider than a word space, so a line is never cut inside a word).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Any, Callable

import numpy as np

Box = tuple[int, int, int, int]


def _runs(inked: np.ndarray, min_gap: int) -> list[tuple[int, int]]:
    """[start, end) runs of inked lines, merged across blank gaps shorter than min_gap."""
    idx = np.nonzero(inked)[0]
    if not len(idx):
        return []
    out = []
    start = prev = int(idx[0])
    for i in idx[1:]:
        i = int(i)
        if i - prev - 1 >= min_gap:
            out.append((start, prev + 1))
            start = i
        prev = i
    out.append((start, prev + 1))
    return out


def xy_blocks(rgb: np.ndarray, min_gap_x: int, min_gap_y: int = 1, depth: int = 3) -> list[Box]:
    """Inked blocks of an image: alternate cuts at blank row runs and blank column runs (recursive XY-cut).
    A line is blank when its pixels are all one colour, apart from crossing rules."""
    from omnirt.agents.ocr_cache import uniform_cols, uniform_rows

    out: list[Box] = []

    def cut(x0: int, y0: int, x1: int, y1: int, level: int) -> None:
        seg = rgb[y0:y1, x0:x1]
        # A rule that spans the whole segment (a sidebar's border, a header's underline) is one colour along its
        # length: leave such columns out when asking whether a row is blank, so the rule does not glue all rows
        # into one block (and such rows when asking about columns).
        ucols = uniform_cols(seg)
        rows = ~uniform_rows(seg[:, ~ucols]) if (~ucols).any() else np.zeros(len(seg), bool)
        for r0, r1 in _runs(rows, min_gap_y):
            band = seg[r0:r1]
            urows = uniform_rows(band)
            spans = _runs(~uniform_cols(band[~urows]) if (~urows).any() else np.zeros(band.shape[1], bool),
                          min_gap_x)
            for c0, c1 in spans:
                box = (x0 + c0, y0 + r0, x0 + c1, y0 + r1)
                if level < depth and len(spans) > 1:
                    cut(*box, level + 1)  # a column may hold several lines that the row pass saw as one band
                else:
                    out.append(box)

    if rgb.size:
        cut(0, 0, rgb.shape[1], rgb.shape[0], 0)
    return out


def _key(rgb: np.ndarray) -> bytes:
    return hashlib.blake2b(np.ascontiguousarray(rgb).tobytes(), digest_size=16,
                           person=f"{rgb.shape[0]}x{rgb.shape[1]}".encode()[:16]).digest()


class BlockReader:
    """`read(rgb) -> words` through a per-block cache. ocr: `(rgb) -> words` (word boxes in that image's pixels).
    min_gap_x: column gap that separates blocks (device pixels; > a word space). margin: background kept around a
    block. capacity: blocks remembered."""

    def __init__(self, ocr: Callable[[np.ndarray], list[Any]], min_gap_x: int = 16, margin: int = 4,
                 gap: int = 16, capacity: int = 4000) -> None:
        self.ocr = ocr
        self.min_gap_x = min_gap_x
        self.margin = margin
        self.gap = gap
        self.capacity = capacity
        self._cache: OrderedDict[bytes, list[Any]] = OrderedDict()
        self.stats = {"blocks": 0, "hits": 0, "ocr_px": 0}

    def clear(self) -> None:
        """Forget every block (what was read may have been misread: the next reads start fresh)."""
        self._cache.clear()

    def read(self, rgb: np.ndarray) -> list[Any]:
        from omnirt.agents.ocr_cache import shift_word

        h, w = rgb.shape[:2]
        m = self.margin
        boxes = [(max(0, x0 - m), max(0, y0 - m), min(w, x1 + m), min(h, y1 + m))
                 for x0, y0, x1, y1 in xy_blocks(rgb, self.min_gap_x)]
        words: list[Any] = []
        todo: list[tuple[Box, bytes]] = []
        for b in boxes:
            k = _key(rgb[b[1]:b[3], b[0]:b[2]])
            hit = self._cache.get(k)
            self.stats["blocks"] += 1
            if hit is None:
                todo.append((b, k))
                continue
            self._cache.move_to_end(k)
            self.stats["hits"] += 1
            words += [shift_word(wd, b[0], b[1]) for wd in hit]
        if todo:
            stacked = max(b[2] - b[0] for b, _ in todo) * sum(b[3] - b[1] + self.gap for b, _ in todo)
            if stacked > 0.8 * h * w:  # stacking saves nothing (a full, busy screen): read it as it is
                found_all = self._split(self.ocr(rgb), [b for b, _ in todo])
            else:
                found_all = self._read_packed(rgb, [b for b, _ in todo])
            for (b, k), found in zip(todo, found_all):
                self._cache[k] = found
                words += [shift_word(wd, b[0], b[1]) for wd in found]
            while len(self._cache) > self.capacity:
                self._cache.popitem(last=False)
        return words

    @staticmethod
    def _split(words: list[Any], boxes: list[Box]) -> list[list[Any]]:
        """Words of a whole-image read, handed to the blocks their centres fall in (block-relative)."""
        from omnirt.agents.ocr_cache import shift_word

        out: list[list[Any]] = [[] for _ in boxes]
        for wd in words:
            cx, cy = wd.center
            for i, (x0, y0, x1, y1) in enumerate(boxes):
                if x0 <= cx < x1 and y0 <= cy < y1:
                    out[i].append(shift_word(wd, -x0, -y0))
                    break
        return out

    def _read_packed(self, rgb: np.ndarray, boxes: list[Box]) -> list[list[Any]]:
        """OCR several blocks in one call: stacked top to bottom, left-aligned, `gap` px apart, on the colour of the
        first block's corner; each word goes back to the block its centre falls in. One block per row: side by
        side (shelf packing) is ~40 % smaller but the detector then drops letters in some lines ('Fill n')."""
        from omnirt.agents.ocr_cache import shift_word

        width = max(b[2] - b[0] for b in boxes)
        places: list[int] = []
        y = 0
        for b in boxes:
            places.append(y)
            y += b[3] - b[1] + self.gap
        canvas = np.empty((y - self.gap, width, 3), np.uint8)
        canvas[:] = rgb[boxes[0][1], boxes[0][0]]
        for (x0, y0, x1, y1), py in zip(boxes, places):
            canvas[py:py + y1 - y0, :x1 - x0] = rgb[y0:y1, x0:x1]
        self.stats["ocr_px"] += canvas.shape[0] * canvas.shape[1]
        out: list[list[Any]] = [[] for _ in boxes]
        for wd in self.ocr(canvas):
            cx, cy = wd.center
            for i, ((x0, y0, x1, y1), py) in enumerate(zip(boxes, places)):
                if py <= cy < py + y1 - y0 and cx < x1 - x0:
                    out[i].append(shift_word(wd, 0, -py))
                    break
        return out
