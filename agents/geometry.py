"""A point placed by a construction on a drawing: "click on the center of the circle", "click on the mid-point between
the two points", "add a third point to create a right angle", "create a line that bisects the angle". No label
grounds such a point: it is worked out from what is drawn, and clicked.

- The parser's step is `construct` (text: center | midpoint | right | bisect | line:vertical | line:horizontal;
  target: what the centre is of). A line through the point ("draw a vertical line that runs through the dot") is one
  drag across it, LINE_HALF either side; a circle around it ("draw a circle centered around the marked point") is
  one drag along a circle of CIRCLE_R (less where the free space is narrower) through CIRCLE_POINTS points.
- What is drawn is the ink on the page's background (agents/counting.py's background, its bands and labelled
  controls left out). Points are the small solid discs in it: the pixels at least CORE px from any background pixel
  are the discs' cores (a line or an outline is thinner than that); each core reaching MIN_REACH is one point, at
  the centroid of its inner half. Shapes
  are the ink's joined pieces larger than MIN_SHAPE.
- The page draws a mark where it took the click; when that mark lies apart from where the click was aimed (a page
  whose drawing is offset from its pointer events), the click is made once more, moved by that offset.
- center: the middle of the largest shape (its pixels weighed by their ink: a circle drawn by its outline, or solid).
- midpoint: halfway between the two points (the two farthest apart when more are drawn).
- right / bisect: an angle's vertex is the point joined by drawn lines to the most others; among equals, the point
  of a colour where the others are black (a page marks its vertex). A right angle's third point lies on the
  perpendicular to the one arm at the vertex; a bisector's on the sum of the arms' unit vectors. Either is placed
  as far along as the shorter arm (at most), shortened until it lies inside the drawing's free space: between
  the bands and controls above and below the figure, MARGIN of the width in from each side.

Geometry and drawing conventions only, nothing about any page.
"""

from __future__ import annotations

import re
from typing import Any, Sequence

import numpy as np

from omnirt.agents import counting
from omnirt.agents.elements import Element, norm

OPS = ("construct",)
CORE = 2.5  # pixels: a disc's core lies this far inside it; lines and outlines are thinner
MIN_REACH = 4.0  # pixels: a point's disc reaches this far from its edge at its middle (a stroke less than 8 px wide
# may still have a core where it bends or crosses: it is no point)
MAX_DOT = 48  # pixels: a point's disc is no wider than this
MIN_SHAPE = 20  # pixels: a shape's box is at least this wide or high
MARGIN = 0.075  # of the width: how far in from the sides a placed point stays
TEXT_KINDS = ("word", "line", "link", "cell")
JOINED = 0.8  # share of a segment's samples on ink for two points to count as joined by a line
_CLICK = r"(?:(?:find|locate)\s+and\s+)?(?:click|tap|press|put|place|mark|select|choose|add|draw)\s+(?:on\s+|at\s+)?"
CENTER_RE = re.compile(rf"^{_CLICK}(?:the\s+)?(?:exact\s+)?(?:center|centre|middle)\s+(?:point\s+)?of\s+"
                       r"(?:the\s+|a\s+)?(?P<what>(?:\w+\s+)?(?:circle|ring|disc|oval|ellipse|square|rectangle|box|"
                       r"triangle|shape|figure|polygon))$", re.I)
MID_RE = re.compile(rf"^{_CLICK}(?:the\s+|a\s+)?(?:shortest\s+)?(?:mid-?\s*point|middle\s+point|half-?\s*way\s+point)"
                    r"\s+(?:between|of)\s+(?:the\s+)?(?:two\s+|2\s+)?(?:points|dots)$", re.I)
RIGHT_RE = re.compile(r"^(?:add|place|put|draw|click|create|mark)\s+(?:on\s+)?(?:a\s+|the\s+)?"
                      r"(?:third\s+|3rd\s+|new\s+)?(?:point|dot)\s+(?:so\s+as\s+)?to\s+(?:create|make|form|draw)\s+"
                      r"a\s+right\s+angle$", re.I)
BISECT_RE = re.compile(r"^(?:(?:create|draw|make|add)\s+a\s+line\s+(?:that|which|to)\s+bisects?|bisect)\s+the\s+angle"
                       r"(?:\s+(?:evenly\s+)?in(?:to)?\s+(?:two|half|2)(?:\s+equal\s+parts)?)?$", re.I)
LINE_RE = re.compile(r"^(?:draw|make|create|add)\s+an?\s+(?P<way>vertical|horizontal|straight)\s+line\s+(?:that\s+|"
                     r"which\s+)?(?:runs?|goes|passes|going|running|passing)?\s*through\s+the\s+(?:marked\s+)?"
                     r"(?:dot|point)$", re.I)
LINE_HALF = 48  # pixels: a line drawn through a point reaches this far either side of it
CIRCLE_RE = re.compile(r"^(?:draw|make|trace|sketch)\s+a\s+circle\s+(?:(?:that\s+is\s+)?(?:centered|centred)\s+)?"
                       r"(?:around|round|on|at|about)\s+the\s+(?:marked\s+|given\s+)?(?:dot|point)(?:\s+by\s+"
                       r"dragging\s+the\s+(?:mouse|pointer|cursor))?$|^circle\s+the\s+(?:marked\s+)?(?:dot|point)$",
                       re.I)
CIRCLE_R = 44  # pixels: the radius of a circle drawn around a point
MIN_CIRCLE_R = 24  # pixels: no smaller (a page may take a tiny circle for a slip of the hand)
CIRCLE_POINTS = 48  # points of the drag along a circle
Point = tuple[float, float]


def step(clause: str) -> tuple[str, str, str] | None:
    """('construct', what, way) for a clause that asks for a constructed point; None for any other clause."""
    text = " ".join(clause.strip(" .!?").split())
    m = CENTER_RE.match(text)
    if m:
        return "construct", m.group("what").strip(), "center"
    if CIRCLE_RE.match(text):
        return "construct", "", "circle"
    m = LINE_RE.match(text)
    if m:  # ("straight": up and down, as a person draws a line through a point when no way is said)
        return "construct", "", "line:" + ("horizontal" if m.group("way").lower() == "horizontal" else "vertical")
    for way, pattern in (("midpoint", MID_RE), ("right", RIGHT_RE), ("bisect", BISECT_RE)):
        if pattern.match(text):
            return "construct", "", way
    return None


def ink(rgb: np.ndarray, elements: Sequence[Element]) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    """The drawing's ink (a bool mask) and the boxes left out of it: bands, and controls and text of two characters
    or more (a bold letter's stroke is as thick as a small disc; a lone dot may be read as "o" or ".")."""
    bg = counting._background_mask(rgb)
    out = ~bg
    skip = counting.bands(rgb, bg) + [e.box for e in elements if e.kind in counting.CONTROL_KINDS + TEXT_KINDS
                                      and len(norm(e.label)) >= 2]
    for x0, y0, x1, y1 in skip:  # (and a border drawn just outside the box)
        out[max(0, y0 - 2):y1 + 2, max(0, x0 - 2):x1 + 2] = False
    return out, skip


def points(rgb: np.ndarray, mask: np.ndarray) -> list[tuple[Point, str]]:
    """((x, y), colour name) of each small solid disc in the ink, top to bottom; x and y continuous (pixel i spans
    i..i+1, so a pointer at pixel i is at its left edge)."""
    import cv2

    dist = cv2.distanceTransform(np.pad(mask, 1).astype(np.uint8), cv2.DIST_L2, 5)[1:-1, 1:-1]
    core = (dist >= CORE).astype(np.uint8)
    n, lab, stats, _ = cv2.connectedComponentsWithStats(core, connectivity=8)
    names = counting.colour_names(rgb)
    out = []
    for i in range(1, n):
        x, y, w, h, _ = (int(v) for v in stats[i])
        reach = float(dist[lab == i].max())
        if reach < MIN_REACH or max(w, h) + 2 * reach > MAX_DOT or max(w, h) > 2 * min(w, h) + 2:
            continue  # a large solid shape, or a thick bar
        inside = names[lab == i]
        known = inside[inside >= 0]
        colour = counting.COLOURS[int(np.bincount(known).argmax())] if known.size else ""
        ys, xs = np.nonzero((lab == i) & (dist >= reach / 2))  # its inner half: a line joined to it pulls less
        out.append(((float(xs.mean()) + 0.5, float(ys.mean()) + 0.5), colour))  # a pixel's middle
    return sorted(out, key=lambda p: (p[0][1], p[0][0]))


def shapes(mask: np.ndarray) -> list[tuple[np.ndarray, tuple[int, int, int, int]]]:
    """(pixels, box) of the ink's joined pieces at least MIN_SHAPE wide or high, the largest box first."""
    import cv2

    n, lab, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    out = [(lab == i, (int(x), int(y), int(x + w), int(y + h))) for i, (x, y, w, h, _) in enumerate(stats) if i
           and max(w, h) >= MIN_SHAPE]
    return sorted(out, key=lambda s: (s[1][2] - s[1][0]) * (s[1][3] - s[1][1]), reverse=True)


def centre(rgb: np.ndarray, piece: np.ndarray) -> Point:
    """The middle of a drawn piece: its pixels and those next to them (a stroke's faint edges) weighed by how far
    their colour is from the background's, so that an outline's anti-aliasing counts on both sides alike."""
    import cv2

    near = cv2.dilate(piece.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    ys, xs = np.nonzero(near)
    y0, y1, x0, x1 = max(0, ys.min() - 4), ys.max() + 5, max(0, xs.min() - 4), xs.max() + 5
    around = rgb[y0:y1, x0:x1, :3][~near[y0:y1, x0:x1]]  # the background round it
    bg = np.median(around, axis=0) if len(around) else np.full(3, 255.0)
    weight = np.abs(rgb[ys, xs, :3].astype(float) - bg).max(axis=1)
    return float((xs * weight).sum() / weight.sum()) + 0.5, float((ys * weight).sum() / weight.sum()) + 0.5


def joined(mask: np.ndarray, a: Point, b: Point, skip: float = 8.0) -> bool:
    """Whether a drawn line runs from a to b: most samples along the segment (away from the ends) lie on ink, or
    next to it."""
    length = float(np.hypot(b[0] - a[0], b[1] - a[1]))
    if length <= 2 * skip:
        return False
    h, w = mask.shape
    hits = total = 0
    for t in np.linspace(skip / length, 1 - skip / length, 24):
        x, y = int(round(a[0] + t * (b[0] - a[0]))), int(round(a[1] + t * (b[1] - a[1])))
        total += 1
        hits += bool(mask[max(0, y - 1):min(h, y + 2), max(0, x - 1):min(w, x + 2)].any())
    return hits >= JOINED * total


def vertex(mask: np.ndarray, found: list[tuple[Point, str]]) -> int:
    """The index of an angle's vertex among the points: joined to the most others, then marked by a colour."""
    def rank(i: int) -> tuple[int, int]:
        links = sum(joined(mask, found[i][0], found[j][0]) for j in range(len(found)) if j != i)
        return links, int(found[i][1] not in ("black", ""))

    return max(range(len(found)), key=rank)


def free_space(shape: tuple[int, int], skip: list[tuple[int, int, int, int]], figure: list[Point]
               ) -> tuple[float, float, float, float]:
    """(x0, y0, x1, y1) where a point may be placed: between what is left out above and below the figure, MARGIN of
    the width in from each side."""
    h, w = shape
    top = min(p[1] for p in figure)
    bottom = max(p[1] for p in figure)
    y0 = max([b[3] for b in skip if b[3] <= top] + [0])
    y1 = min([b[1] for b in skip if b[1] >= bottom] + [h])
    m = MARGIN * w
    return m, y0 + m / 2, w - m, y1 - m / 2


def along(at: Point, way: Point, length: float, room: tuple[float, float, float, float]) -> Point | None:
    """The point `length` (or less, down to a fifth) from `at` in the direction `way`, inside `room`."""
    norm_ = float(np.hypot(*way))
    if norm_ < 1e-6:
        return None
    ux, uy = way[0] / norm_, way[1] / norm_
    for k in np.linspace(1.0, 0.2, 17):
        x, y = at[0] + ux * length * k, at[1] + uy * length * k
        if room[0] <= x <= room[2] and room[1] <= y <= room[3]:
            return x, y
    return None


Drawn = tuple[np.ndarray, list[tuple[int, int, int, int]], list[tuple[Point, str]]]


def drawing(rgb: np.ndarray, elements: Sequence[Element]) -> Drawn:
    """What a frame has drawn: its ink, the boxes left out of it (`ink`) and its points (`points`)."""
    mask, skip = ink(rgb, elements)
    return mask, skip, points(rgb, mask)


def construct(way: str, rgb: np.ndarray, elements: Sequence[Element], drawn: Drawn | None = None
              ) -> tuple[int, int] | None:
    """The pixel the construction asks for; None when what it needs is not drawn. drawn: the frame's `drawing`,
    when the caller has it already."""
    mask, skip, dots = drawn or drawing(rgb, elements)
    if way == "center":
        found = shapes(mask)
        if not found:
            return None
        return _pixel(centre(rgb, found[0][0]))
    if way == "midpoint":
        if len(dots) < 2:
            return None
        pairs = [(a, b) for i, a in enumerate(dots) for b in dots[i + 1:]]
        a, b = max(pairs, key=lambda p: np.hypot(p[0][0][0] - p[1][0][0], p[0][0][1] - p[1][0][1]))
        return _pixel(((a[0][0] + b[0][0]) / 2, (a[0][1] + b[0][1]) / 2))
    need = 2 if way == "right" else 3
    if len(dots) < need:
        return None
    v = vertex(mask, dots)
    at = dots[v][0]
    arms = [p for i, (p, _) in enumerate(dots) if i != v]
    arms = sorted(arms, key=lambda p: -joined(mask, at, p))[:need - 1]
    vecs = [(p[0] - at[0], p[1] - at[1]) for p in arms]
    lengths = [float(np.hypot(*u)) for u in vecs]
    room = free_space(mask.shape, skip, [p for p, _ in dots])
    if way == "right":
        dx, dy = vecs[0]
        hit = along(at, (-dy, dx), lengths[0], room) or along(at, (dy, -dx), lengths[0], room)
    else:
        units = [(u[0] / n, u[1] / n) for u, n in zip(vecs, lengths)]
        hit = along(at, (units[0][0] + units[1][0], units[0][1] + units[1][1]), min(lengths), room)
    return _pixel(hit) if hit else None


def _pixel(at: Point) -> tuple[int, int]:
    """The pixel a continuous point is clicked at (halves up, not to even)."""
    return int(np.floor(at[0] + 0.5)), int(np.floor(at[1] + 0.5))


def mark_offset(rgb: np.ndarray, elements: Sequence[Element], before: list[Point], at: tuple[int, int]
                ) -> tuple[int, int] | None:
    """Where the page drew its mark for a click at `at`, less `at`: the point drawn since (none of `before`) nearest
    the click, within MAX_DOT; None when no new point is drawn there."""
    mask, _ = ink(rgb, elements)
    new = [p for p, _ in points(rgb, mask) if all(np.hypot(p[0] - b[0], p[1] - b[1]) > 3 for b in before)]
    near = [p for p in new if np.hypot(p[0] - at[0], p[1] - at[1]) <= MAX_DOT]
    if not near:
        return None
    x, y = _pixel(min(near, key=lambda p: np.hypot(p[0] - at[0], p[1] - at[1])))
    return x - at[0], y - at[1]


def trace(way: str, rgb: np.ndarray, elements: Sequence[Element], watch: Any, key: Any) -> Any:
    """The Drag that draws through or around the drawing's point: a vertical or horizontal line (its middle over
    the point's centre, LINE_HALF either side), or a circle (CIRCLE_R, from its right-hand side round to it again),
    kept inside the free space (a circle not under MIN_CIRCLE_R); None when no point is drawn."""
    from omnirt.agents.actions import Drag

    mask, skip, dots = drawing(rgb, elements)
    if not dots:
        return None
    (x, y), _ = dots[0]
    room = free_space(mask.shape, skip, [dots[0][0]])
    if way == "circle":
        r = max(MIN_CIRCLE_R, min(CIRCLE_R, x - room[0], room[2] - x, y - room[1], room[3] - y))
        path = [(x + r * np.cos(a), y + r * np.sin(a)) for a in np.linspace(0.0, 2 * np.pi, CIRCLE_POINTS + 1)]
    elif way == "vertical":
        half = min(LINE_HALF, y - room[1], room[3] - y)
        path = [(x, y - half), (x, y + half)]
    else:
        half = min(LINE_HALF, x - room[0], room[2] - x)
        path = [(x - half, y), (x + half, y)]
    watch.moves[key] = 1
    at = [(max(0, int(np.floor(px + 0.5))), max(0, int(np.floor(py + 0.5)))) for px, py in path]
    return Drag(x=at[0][0], y=at[0][1], to_x=at[-1][0], to_y=at[-1][1], through=at[1:-1] or None)


def decide(step: Any, elements: Sequence[Element], watch: Any, rgb: np.ndarray | None) -> Any:
    """A Click on the constructed point; once made, the mark the page drew for it is looked at, and when it lies
    apart from where the click was aimed (a page whose drawing is offset from its pointer), one Click again moved by
    that offset, so that the mark lands on the point. SKIP (agents/everyday.py's) once done; None when the drawing
    does not show what the construction needs. The clicks are no plan steps: the step is."""
    from omnirt.agents.actions import Click
    from omnirt.agents.everyday import SKIP

    key = ("construct", step.target, step.text)
    if rgb is None:
        return None
    if step.text.startswith("line:") or step.text == "circle":  # through the point or around it: one drag
        return SKIP if key in watch.moves else trace(step.text.removeprefix("line:"), rgb, elements, watch, key)
    if key not in watch.moves:
        drawn = drawing(rgb, elements)  # (once: the click's point and the points drawn before it)
        at = construct(step.text, rgb, elements, drawn)
        if at is None:
            return None
        watch.moves[key] = [at, at, [p for p, _ in drawn[2]]]
        return Click(x=max(0, at[0]), y=max(0, at[1]))
    aim, clicked, before = watch.moves[key]
    off = mark_offset(rgb, elements, before, clicked) if clicked == aim else None
    if off is None or max(abs(off[0]), abs(off[1])) < 1:
        return SKIP
    again = (max(0, aim[0] - off[0]), max(0, aim[1] - off[1]))
    watch.moves[key][1] = again
    return Click(x=again[0], y=again[1])
