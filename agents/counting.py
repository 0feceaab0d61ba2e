"""Things counted on the screen from its pixels: "Type the total number of blocks", "How many large red circles are
there?", "how many digits are shown". OCR sees words; a count asks about pictures too (blocks, dots, coloured
shapes, letters drawn one by one), so the objects are found as blobs of colour on the page's background:

- the background is the frame's most common colour; a band or panel of another colour (a header strip, a toolbar)
  is no object, and nothing drawn inside it is on the page (components larger than BAND of the frame, or as wide
  as it, take their box out of the count);
- each pixel gets a colour name (black, red, orange, yellow, green, aqua, blue, purple, magenta; greys and the
  background none), and the pixels of one name joined together are one object; a ring of one colour around an
  object of another is its border (a block with an outline is one block), a small piece just above another of its
  colour is its dot (i, j);
- an object is a shape when it is solid (its stroke is thick for its size: a rectangle, circle or triangle, told
  apart by how much of its box it fills), otherwise a glyph (a letter or digit drawn as text); large and small are
  read against each other when both are there (the sizes split by a gap of at least SIZE_GAP), else against the
  page's text height;
- controls (buttons, fields, check boxes) are no objects to count: what lies inside them is left out, and so is the
  outline of a labelled one (a numbered button the detector boxed as an icon is still a button); an "icon" with no
  outline around it is the detector's box of a lone glyph, which is counted.

A description names any of: a size (large, big / small, little, tiny), a colour, a kind (shape, circle, rectangle or
square, triangle, letter, digit or number, a character such as "5"); anything else ("blocks", "items", "things")
counts the objects of the most numerous like group (one colour, one kind, alike in size) when it names no kind,
or every object when it says "items", "objects" or "things".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from omnirt.agents.elements import Element

BAND = 0.12  # a component covering more of the frame than this is a panel or band, not an object
MIN_AREA = 10  # pixels: smaller specks are anti-aliasing or noise
SIZE_GAP = 1.3  # large vs small: the sizes present split where one is this much bigger than the next
CONTROL_KINDS = ("button", "input", "textarea", "dropdown", "slider")  # (a "checkbox" may be a drawn square)
LABELLED_KINDS = ("button", "icon", "link")  # a glyph well inside one of these, with text, is its label
COLOURS = ("black", "red", "orange", "yellow", "green", "aqua", "blue", "purple", "magenta")
SYNONYMS = {"cyan": "aqua", "teal": "aqua", "turquoise": "aqua", "pink": "magenta", "fuchsia": "magenta",
            "violet": "purple", "lime": "green", "navy": "blue"}
SIZES = {"large": "large", "big": "large", "huge": "large", "small": "small", "little": "small", "tiny": "small"}
KINDS = {"shape": "shape", "circle": "circle", "dot": "circle", "disc": "circle", "rectangle": "rectangle",
         "square": "rectangle", "box": "rectangle", "triangle": "triangle", "letter": "letter",
         "digit": "digit", "number": "digit", "numeral": "digit", "character": "glyph", "glyph": "glyph"}
ALL_WORDS = ("item", "object", "thing", "element")
SHORT = "acemnorsuvwxz"  # lower-case letters of x-height only


@dataclass(frozen=True)
class Blob:
    """One object: its box, ink pixels, colour name, kind (rectangle, circle, triangle or glyph) and the text a
    glyph was read as ('' when unread)."""

    box: tuple[int, int, int, int]
    area: int
    colour: str
    kind: str
    text: str = ""

    @property
    def side(self) -> int:
        return max(self.box[2] - self.box[0], self.box[3] - self.box[1])


def colour_names(rgb: np.ndarray) -> np.ndarray:
    """Per pixel, the index into COLOURS of its colour name, or -1 (background, grey, anti-aliased edge)."""
    import cv2

    hsv = cv2.cvtColor(np.ascontiguousarray(rgb[..., :3]), cv2.COLOR_RGB2HSV_FULL).astype(np.int32)
    h, s, v = hsv[..., 0] * 360 // 256, hsv[..., 1], hsv[..., 2]
    out = np.full(h.shape, -1, np.int8)
    coloured = (s >= 90) & (v >= 90)
    bins = ((15, "red"), (40, "orange"), (70, "yellow"), (160, "green"), (200, "aqua"), (260, "blue"),
            (290, "purple"), (340, "magenta"), (361, "red"))
    lo = 0
    for hi, name in bins:
        out[coloured & (h >= lo) & (h < hi)] = COLOURS.index(name)
        lo = hi
    out[(v < 100) & (s < 110)] = COLOURS.index("black")
    return out


def _background_mask(rgb: np.ndarray) -> np.ndarray:
    """Pixels of the frame's most common colour (to a tolerance)."""
    q = (rgb[..., :3] // 8).astype(np.int32)
    key = (q[..., 0] << 10) | (q[..., 1] << 5) | q[..., 2]
    common = np.bincount(key.ravel()).argmax()
    ref = np.array([(common >> 10) & 31, (common >> 5) & 31, common & 31]) * 8 + 4
    return np.abs(rgb[..., :3].astype(np.int32) - ref).max(axis=2) <= 24


def bands(rgb: np.ndarray, bg: np.ndarray | None = None) -> list[tuple[int, int, int, int]]:
    """Boxes of the panels and bands drawn over the background (not objects; what they hold is not on the page).
    bg: `_background_mask(rgb)` when the caller has it already."""
    import cv2

    fg = (~(_background_mask(rgb) if bg is None else bg)).astype(np.uint8)
    n, _, stats, _ = cv2.connectedComponentsWithStats(fg, connectivity=8)
    h, w = fg.shape
    out = []
    for i in range(1, n):
        x, y, bw, bh, area = stats[i]
        if area > BAND * h * w or bw >= 0.95 * w:
            out.append((int(x), int(y), int(x + bw), int(y + bh)))
    return out


def _area(box: tuple[int, ...]) -> int:
    return (box[2] - box[0]) * (box[3] - box[1])


def _inside(box: tuple[int, int, int, int], outer: tuple[int, ...], tol: int = 2) -> bool:
    return box[0] >= outer[0] - tol and box[1] >= outer[1] - tol and box[2] <= outer[2] + tol and \
        box[3] <= outer[3] + tol


def _kind(mask: np.ndarray) -> str:
    """rectangle, circle or triangle for a solid component (its box's crop), glyph for strokes."""
    import cv2

    h, w = mask.shape
    area = int(mask.sum())
    thick = 2 * float(cv2.distanceTransform(np.pad(mask, 1).astype(np.uint8), cv2.DIST_L2, 3).max())
    if thick < 0.42 * min(h, w) or min(h, w) < 4 or max(h, w) > 2.2 * min(h, w):
        return "glyph"  # strokes, or one bar much longer than wide (I, l, 1)
    fill = area / float(h * w)
    if fill >= 0.88:
        return "rectangle"
    return "circle" if fill >= 0.66 else "triangle"


def find_blobs(rgb: np.ndarray, elements: Sequence[Element] = ()) -> list[Blob]:
    """The objects drawn on the page's background, outside controls and bands, top to bottom."""
    import cv2

    names = colour_names(rgb)
    bg = _background_mask(rgb)
    skip = bands(rgb, bg) + [e.box for e in elements if e.kind in CONTROL_KINDS]
    labelled = [e.box for e in elements if e.kind in LABELLED_KINDS and e.label.strip()
                and (e.kind != "icon" or _framed(bg, e.box))]
    found: list[tuple[tuple[int, int, int, int], int, str, np.ndarray]] = []
    labels: list[tuple[int, int, int, int]] = []  # the boxes of what was left out as a control's label
    for ci, name in enumerate(COLOURS):
        mask = (names == ci).astype(np.uint8)
        if not mask.any():
            continue
        n, lab, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        for i in range(1, n):
            x, y, bw, bh, area = (int(v) for v in stats[i])
            box = (x, y, x + bw, y + bh)
            if area < MIN_AREA // 3 or any(_inside(box, s) for s in skip):
                continue
            if any(_inside(box, c) and _area(c) > 4 * _area(box) for c in labelled):  # a control's own label
                labels.append(box)
                continue
            found.append((box, area, name, lab[y:y + bh, x:x + bw] == i))
    found = _join_dots(_drop_borders(_drop_frames(found, labels, labelled)))
    out = [Blob(b, a, c, _kind(m)) for b, a, c, m in found if a >= MIN_AREA]
    return sorted(out, key=lambda o: (o.box[1], o.box[0]))


def _framed(bg: np.ndarray, box: tuple[int, int, int, int], reach: int = 3) -> bool:
    """Whether a box is drawn as a control: at least three of its sides run along a line (within `reach` pixels of
    the edge) that is mostly not background. The widget detector also boxes a lone letter as an "icon" (with some
    margin around it): that letter is an object to count, not a control's label."""
    x0, y0, x1, y1 = (int(v) for v in box)
    h, w = bg.shape
    if x1 - x0 < 4 or y1 - y0 < 4:
        return False
    sides = 0
    for horizontal, at in ((True, y0), (True, y1 - 1), (False, x0), (False, x1 - 1)):
        lines = [bg[y, max(0, x0):min(w, x1)] for y in range(at - reach, at + reach + 1) if 0 <= y < h] \
            if horizontal else [bg[max(0, y0):min(h, y1), x] for x in range(at - reach, at + reach + 1) if 0 <= x < w]
        sides += any(line.size and (~line).mean() >= 0.7 for line in lines)
    return sides >= 3


def _drop_frames(found: list, labels: list, labelled: list) -> list:
    """A ring as large as a labelled control, around that control's label, is the control's outline (a button the
    widget detector took for an icon): no object. A drawn glyph boxed as a labelled icon holds no label inside it,
    so it stays."""
    return [f for f in found if not any(_inside(f[0], c, 4) and _inside(c, f[0], 4) and
                                        any(_inside(b, f[0]) and _area(f[0]) > 4 * _area(b) for b in labels)
                                        for c in labelled)]


def _drop_borders(found: list) -> list:
    """A ring of one colour around an object of another is that object's outline: the ring goes."""
    keep = []
    for f in found:
        box = f[0]
        ring = any(g is not f and g[2] != f[2] and _inside(g[0], box, 0) and g[1] > 0.3 * f[1] and
                   (g[0][2] - g[0][0]) * (g[0][3] - g[0][1]) > 0.4 * (box[2] - box[0]) * (box[3] - box[1])
                   for g in found)
        if not ring:
            keep.append(f)
    return keep


def _join_dots(found: list) -> list:
    """A small piece of a glyph's colour just above it (the dot of an i or j) joins it."""
    found = sorted(found, key=lambda f: -f[1])
    out: list = []
    for f in found:
        box = f[0]
        host = next((i for i, g in enumerate(out) if g[2] == f[2] and f[1] < 0.3 * g[1]
                     and box[0] >= g[0][0] - 2 and box[2] <= g[0][2] + 2 and 0 <= g[0][1] - box[3] <= 6), None)
        if host is None:
            out.append(f)
            continue
        g = out[host]
        merged = (min(g[0][0], box[0]), box[1], max(g[0][2], box[2]), g[0][3])
        m = np.zeros((merged[3] - merged[1], merged[2] - merged[0]), bool)
        for b, mm in ((g[0], g[3]), (box, f[3])):
            m[b[1] - merged[1]:b[3] - merged[1], b[0] - merged[0]:b[2] - merged[0]] |= mm
        out[host] = (merged, g[1] + f[1], g[2], m)
    return out


def read_glyphs(blobs: list[Blob], elements: Sequence[Element]) -> list[Blob]:
    """Each glyph with the character OCR read over it: the characters of a word whose box holds as many glyphs'
    centres as it has characters, in order from left to right."""
    text: dict[int, str] = {}
    glyphs = [(i, b) for i, b in enumerate(blobs) if b.kind == "glyph"]
    for e in elements:
        chars = "".join(e.label.split()) if e.kind in ("word", "line", "icon", "link") else ""
        held = sorted((b.box[0], i) for i, b in glyphs
                      if e.box[0] - 2 <= (b.box[0] + b.box[2]) / 2 <= e.box[2] + 2
                      and e.box[1] - 2 <= (b.box[1] + b.box[3]) / 2 <= e.box[3] + 2)
        if chars and len(chars) == len(held):
            text.update({i: c for (_, i), c in zip(held, chars)})
    return [Blob(b.box, b.area, b.colour, b.kind, text[i]) if i in text else b for i, b in enumerate(blobs)]


@dataclass(frozen=True)
class Description:
    """What to count: size (large | small | ''), colour ('' any), kind (shape, circle, rectangle, triangle, letter,
    digit, glyph or ''), char (one character, '' any), every: count every object (an "items"-like noun);
    the noun otherwise (counted as the most numerous like group)."""

    size: str = ""
    colour: str = ""
    kind: str = ""
    char: str = ""
    every: bool = False


def describe(text: str) -> Description:
    """'large red items' -> Description(size='large', colour='red', every=True); 'blocks' -> Description()."""
    size = colour = kind = char = ""
    every = False
    for raw in re.findall(r"[\w']+", text):
        w = singular(raw.lower().rstrip("'"))
        if w in SIZES:
            size = SIZES[w]
        elif w in COLOURS or w in SYNONYMS:
            colour = SYNONYMS.get(w, w)
        elif w in KINDS:
            kind = KINDS[w]
        elif w in ALL_WORDS:
            every = True
        elif re.fullmatch(r"\w(?:'?s)?", raw) and raw.lower() not in ("a", "i", "is", "as", "us", "s"):
            char = raw[0]  # "5s", "q's": that character
    return Description(size, colour, kind, char, every)


def singular(word: str) -> str:
    """'circles' -> 'circle', 'boxes' -> 'box', "q's" -> 'q'."""
    if word.endswith("'s"):
        return word[:-2]
    if re.search(r"(?:x|ch|sh|ss)es$", word):
        return word[:-2]
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def em(b: Blob) -> float:
    """The size an object is drawn at: a shape's side, a glyph's font size from its height (a capital, digit or tall
    letter stands 0.72 of it, a short lower-case letter 0.52)."""
    if b.kind != "glyph":
        return float(b.side)
    h = b.box[3] - b.box[1]
    return h / (0.52 if b.text and b.text in SHORT else 0.72)


def sizes(blobs: list[Blob], reference: float) -> list[str]:
    """large or small for each object: the sizes split at their widest gap when it is at least SIZE_GAP; else all
    alike, large when drawn bigger than 0.7 of the reference (the height of the page's controls or text)."""
    if not blobs:
        return []
    ems = [em(b) for b in blobs]
    order = sorted(ems)
    gaps = [(order[i + 1] / max(order[i], 1.0), order[i]) for i in range(len(order) - 1)]
    ratio, cut = max(gaps) if gaps else (1.0, 0.0)
    if ratio >= SIZE_GAP:
        return ["small" if e <= cut else "large" for e in ems]
    one = "large" if reference and order[len(order) // 2] > 0.7 * reference else "small"
    return [one] * len(blobs)


def count(desc: Description, blobs: list[Blob], reference: float = 0.0) -> int:
    """How many of the objects fit the description (reference: see `sizes`)."""
    size = {id(b): v for b, v in zip(blobs, sizes(blobs, reference))}

    def fits(b: Blob) -> bool:
        if desc.size and size[id(b)] != desc.size or desc.colour and b.colour != desc.colour:
            return False
        if desc.char:
            return b.text == desc.char
        if desc.kind in ("", "glyph"):
            return not desc.kind or b.kind == "glyph"
        if desc.kind == "shape":
            return b.kind != "glyph"
        if desc.kind in ("letter", "digit"):
            return b.kind == "glyph" and (b.text.isdigit() if desc.kind == "digit" else not b.text.isdigit())
        return b.kind == desc.kind

    if desc.size or desc.colour or desc.kind or desc.char or desc.every:
        return sum(fits(b) for b in blobs)
    return max((len(g) for g in like_groups(blobs)), default=0)


def like_groups(blobs: list[Blob]) -> list[list[Blob]]:
    """Objects grouped by colour and kind, alike in size (within a third of each other)."""
    groups: list[list[Blob]] = []
    for b in blobs:
        g = next((g for g in groups if g[0].colour == b.colour and g[0].kind == b.kind
                  and abs(g[0].side - b.side) <= max(2, g[0].side / 3)), None)
        if g is None:
            groups.append([b])
        else:
            g.append(b)
    return groups
