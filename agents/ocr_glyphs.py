"""Font knowledge for OCR's blind spots in sans-serif UI text: capital I and lower-case l are the same plain bar,
and capital O and zero differ only in width.

They differ only in height: in Arial / Liberation Sans / Helvetica-like fonts a lower-case ascender (b, d, h, k, l)
rises above the capital height (by ~5 %: 0.7 px at 20 px, which antialiasing and hinting render as a lighter or an
extra top row). A recogniser that reads single glyphs cannot tell, and random strings (passwords, generated names)
give it no word context. So each bar the OCR called I, l or | is measured against bars of KNOWN letters in the same
text: its antialiased height (the sum of each row's ink coverage) is compared with the heights of h/k (ascender)
and of flat capitals E/F/H/K/L/N/T; an O or 0 by its width for its height. Only words whose glyph count matches
the OCR text are touched.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

BARS = "Il|"
ASCENDERS = "hk"          # flat-topped ascenders without an overshooting bowl
CAPITALS = "EFHKLNT"       # flat-topped, flat-bottomed capitals
ROUNDS = "O0"             # capital O is round, zero is a narrow oval
ZERO_MAX_ASPECT = 0.82     # ink box width / height at 20 px: 0 is 0.71, O 0.93-1.0 (font: 0.78 vs 1.1)
ASC_OVER_CAP = 1.05        # ascender / capital height in Arial-like fonts (Liberation Sans l / I: 145 / 138)


def _ink(rgb: np.ndarray, box: tuple[int, int, int, int], pad: int = 2) -> tuple[np.ndarray, int, int]:
    """Ink coverage in [0, 1] around a word box: distance from the background colour, normalised by the text's."""
    h, w = rgb.shape[:2]
    x0, y0 = max(0, box[0] - pad), max(0, box[1] - pad)
    x1, y1 = min(w, box[2] + pad), min(h, box[3] + pad)
    crop = rgb[y0:y1, x0:x1].astype(np.float32)
    if crop.size == 0:
        return np.zeros((0, 0), np.float32), x0, y0
    edge = np.concatenate([crop[0], crop[-1], crop[:, 0], crop[:, -1]])
    bg = np.median(edge, axis=0)
    d = np.abs(crop - bg).max(axis=2)
    top = np.percentile(d, 99) if d.size else 0
    return (np.clip(d / top, 0, 1) if top > 0 else d), x0, y0


def glyph_groups(cov: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Glyphs of a word as (x0, y0, x1, y1) in the crop: connected ink merged when their columns overlap
    (the dot of an i, the two strokes of a broken glyph)."""
    from scipy import ndimage

    lab, n = ndimage.label(cov > 0.3)
    boxes = [(s[1].start, s[0].start, s[1].stop, s[0].stop) for s in ndimage.find_objects(lab) if s is not None]
    boxes.sort()
    out: list[list[int]] = []
    for b in boxes:
        if out and b[0] < out[-1][2] - 0 and min(b[2], out[-1][2]) - b[0] >= 1:
            o = out[-1]
            out[-1] = [min(o[0], b[0]), min(o[1], b[1]), max(o[2], b[2]), max(o[3], b[3])]
        else:
            out.append(list(b))
    return [tuple(b) for b in out]  # type: ignore[misc]


def _height(cov: np.ndarray, g: tuple[int, int, int, int]) -> float:
    """Antialiased height of a glyph: its full rows plus the covered fraction of its top and bottom rows, each
    measured against the row next to it (so a stem that straddles two pixel columns measures the same)."""
    x0, y0, x1, y1 = g
    rows = cov[max(0, y0 - 1):y1 + 1, x0:x1].sum(axis=1)
    on = np.nonzero(rows >= 0.05 * rows.max())[0] if rows.size else []
    if len(on) < 3:
        return float(len(on))
    t, b = int(on[0]), int(on[-1])
    top = min(1.0, rows[t] / max(rows[t + 1], 1e-6))
    bottom = min(1.0, rows[b] / max(rows[b - 1], 1e-6))
    return float(b - t - 1 + top + bottom)


def _expected(text: str) -> int:
    return sum(2 if ch == '"' else 1 for ch in text if not ch.isspace())


def resolve_bars(rgb: np.ndarray, words: Sequence[Any]) -> list[Any]:
    """Words with each I / l / | re-decided by its height and each O / 0 by its width (see the module doc)."""
    measured = []  # (word index, glyph heights and widths) for words whose glyphs match their text
    asc: list[float] = []
    cap: list[float] = []
    for i, w in enumerate(words):
        cov, _, _ = _ink(rgb, w.box)
        if cov.size == 0:
            continue
        groups = glyph_groups(cov)
        chars = [ch for ch in w.text if not ch.isspace()]
        if len(groups) != _expected(w.text):
            continue
        # Map characters to groups ('"' takes two).
        per_char = []
        k = 0
        for ch in chars:
            n = 2 if ch == '"' else 1
            per_char.append((ch, groups[k:k + n]))
            k += n
        measured.append((i, per_char, cov))
        for ch, gs in per_char:
            if len(gs) == 1:
                if ch in ASCENDERS:
                    asc.append(_height(cov, gs[0]))
                elif ch in CAPITALS:
                    cap.append(_height(cov, gs[0]))
    if not asc and not cap:
        return list(words)
    a = float(np.median(asc)) if asc else float(np.median(cap)) * ASC_OVER_CAP
    c = float(np.median(cap)) if cap else a / ASC_OVER_CAP
    if a - c < 0.3:  # no measurable difference at this size: leave the OCR's guess
        return list(words)
    out = list(words)
    for i, per_char, cov in measured:
        text = []
        changed = False
        for ch, gs in per_char:
            x0, y0, x1, y1 = gs[0] if gs else (0, 0, 0, 0)
            new = ch
            if ch in BARS and len(gs) == 1 and (x1 - x0) <= 0.3 * (y1 - y0):  # a plain bar, not a wider glyph
                new = "l" if _height(cov, gs[0]) >= (a + c) / 2 else "I"
            elif ch in ROUNDS and len(gs) == 1 and y1 - y0 >= 0.9 * c:
                new = "0" if (x1 - x0) < ZERO_MAX_ASPECT * (y1 - y0) else "O"
            changed |= new != ch
            ch = new
            text.append(ch)
        if changed:
            w = words[i]
            out[i] = type(w)(_respace(w.text, "".join(text)), w.box, w.confidence, w.line)
    return out


def _respace(orig: str, chars: str) -> str:
    """Put the original spaces back into the re-decided characters."""
    it = iter(chars)
    return "".join(ch if ch.isspace() else next(it) for ch in orig)
