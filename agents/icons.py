"""Icons told by their look: "the star icon", "the trash can", "click send" where the control shows no word.

OCR reads no icon, and the widget detector only says "icon" (when it sees one at all: a light grey glyph at 40 %
opacity it misses). So an icon named in an instruction is found by comparing the silhouettes on the screen with a
small vocabulary of common icon shapes drawn here (a star, a trash can, a close x, arrows left / right / curved back,
a paper plane, a magnifier, a heart, a plus, a menu, a tick, a pencil, a house, a gear, a bell, dots, a person).
Each candidate (an element with no text, or an ink blob no text covers) becomes a silhouette: its ink against the
colour around it, holes filled (an outlined star is a star), cut to its extent, padded square and blurred; the same
is done to each drawn shape. A candidate is the named icon when the named shape is the one it resembles most (or
nearly so); of several such, the most alike is taken. None when the name is no icon of the vocabulary or nothing on
the screen looks like it, so the caller goes on as before.

Nothing here knows a page: the shapes are the conventions of icon sets, drawn from geometry.
"""

from __future__ import annotations

import functools
import re
from typing import Any, Sequence

import numpy as np

SIDE = 32  # silhouettes are compared at this size
NEAR = 0.04  # a candidate whose named shape scores within this of its best shape still counts as that icon
MIN_SCORE = 0.45  # below this likeness a candidate is no such icon at all
MIN_SIDE, MAX_SIDE = 7, 80  # an icon's extent in frame pixels (a letter's dot or a whole panel is none)

# Names people use for an icon -> the shape drawn for it (whole words of the target, longest first).
NAMES: dict[str, tuple[str, ...]] = {
    "star": ("star", "favourite", "favorite", "bookmark star"),
    "trash": ("trash", "trash can", "bin", "garbage", "waste basket", "wastebasket", "delete", "recycle bin"),
    "close": ("close", "x", "×", "cross", "dismiss", "cancel"),
    "forward": ("forward", "right arrow", "arrow right", "arrow pointing right"),
    "reply": ("reply", "curved arrow", "undo"),
    "back": ("back", "left arrow", "arrow left", "arrow pointing left", "previous", "chevron"),
    "send": ("send", "paper plane", "paperplane", "plane"),
    "search": ("search", "magnifier", "magnifying glass", "find", "lens"),
    "heart": ("heart", "like", "love"),
    "plus": ("plus", "add", "new", "create"),
    "menu": ("menu", "hamburger", "hamburger menu"),
    "check": ("check", "check mark", "checkmark", "tick", "done"),
    "edit": ("edit", "pencil", "pen"),
    "home": ("home", "house"),
    "settings": ("settings", "gear", "cog", "preferences"),
    "bell": ("bell", "notifications", "notification", "alerts"),
    "more": ("more", "dots", "ellipsis", "three dots", "kebab"),
    "user": ("user", "person", "profile", "account", "avatar"),
}
_LOOKUP = {name: shape for shape, names in NAMES.items() for name in names}


def shape_named(target: str) -> str | None:
    """'the star icon' -> 'star'; 'Send' -> 'send'; None when the words name no icon of the vocabulary."""
    t = re.sub(r"[^\w×\s]", " ", target.lower())
    t = re.sub(r"\b(?:the|a|an|icon|icons|button|symbol|glyph|sign|image|little|small|grey|gray)\b", " ", t)
    t = " ".join(t.split())
    if not t:
        return None
    if t in _LOOKUP:
        return _LOOKUP[t]
    words = t.split()
    for n in (2, 1):  # "the yellow star" / "star shaped": a name among a few words
        for i in range(len(words) - n + 1):
            hit = _LOOKUP.get(" ".join(words[i:i + n]))
            if hit and len(words) <= 3:
                return hit
    return None


# Names too common in a task's wording to say that an icon is meant ("check the box", "enter x", "add 2 items").
_PLAIN = {"x", "new", "like", "love", "find", "done", "check", "add", "create", "more", "back", "previous", "cancel",
          "home", "user", "account", "profile", "undo", "lens", "pen", "plane", "dismiss", "tick", "notification"}


def shapes_named_in(instruction: str) -> list[str]:
    """The icons a whole instruction names by a word people use for them ("delete it" -> 'trash', "the paper
    plane" -> 'send'), longest names first, none by the plain words of `_PLAIN`."""
    words = re.sub(r"[^\w×\s]", " ", instruction.lower()).split()
    found: list[str] = []
    for n in (3, 2, 1):
        for i in range(len(words) - n + 1):
            name = " ".join(words[i:i + n])
            shape = _LOOKUP.get(name)
            if shape and name not in _PLAIN and shape not in found:
                found.append(shape)
    return found


def _canvas() -> Any:
    return np.zeros((48, 48), np.uint8)


def _poly(img: Any, pts: Sequence[tuple[float, float]]) -> Any:
    import cv2

    cv2.fillPoly(img, [np.round(np.array(pts, np.float32)).astype(np.int32)], 255)
    return img


def _lines(img: Any, pts: Sequence[tuple[int, int]], width: int, closed: bool = False) -> Any:
    import cv2

    cv2.polylines(img, [np.array(pts, np.int32)], closed, 255, width)
    return img


def _star() -> Any:
    pts = []
    for k in range(10):
        r = 22 if k % 2 == 0 else 9
        a = -np.pi / 2 + k * np.pi / 5
        pts.append((24 + r * np.cos(a), 25 + r * np.sin(a)))
    return _poly(_canvas(), pts)


def _trash() -> Any:
    img = _poly(_canvas(), [(10, 14), (38, 14), (35, 45), (13, 45)])
    _poly(img, [(6, 8), (42, 8), (42, 12), (6, 12)])
    return _poly(img, [(19, 3), (29, 3), (29, 8), (19, 8)])


def _shapes() -> dict[str, Any]:
    import cv2

    out: dict[str, Any] = {"star": _star(), "trash": _trash()}
    out["close"] = _lines(_lines(_canvas(), [(8, 8), (40, 40)], 7), [(40, 8), (8, 40)], 7)
    out["forward"] = _poly(_canvas(), [(4, 17), (26, 17), (26, 6), (44, 24), (26, 42), (26, 31), (4, 31)])
    reply = _poly(_canvas(), [(4, 18), (20, 4), (20, 12), (34, 13), (44, 22), (44, 44), (38, 32), (32, 25),
                              (20, 24), (20, 32)])
    out["reply"] = reply
    out["back"] = _lines(_canvas(), [(32, 6), (14, 24), (32, 42)], 7)
    out["send"] = _poly(_canvas(), [(4, 6), (44, 24), (4, 42), (12, 24)])
    search = _canvas()
    cv2.circle(search, (20, 20), 13, 255, 5)
    out["search"] = _lines(search, [(30, 30), (43, 43)], 7)
    heart = _canvas()
    cv2.circle(heart, (15, 17), 10, 255, -1)
    cv2.circle(heart, (33, 17), 10, 255, -1)
    out["heart"] = _poly(heart, [(6, 21), (42, 21), (24, 42)])
    out["plus"] = _lines(_lines(_canvas(), [(24, 6), (24, 42)], 8), [(6, 24), (42, 24)], 8)
    menu = _canvas()
    for y in (10, 24, 38):
        _lines(menu, [(6, y), (42, y)], 6)
    out["menu"] = menu
    out["check"] = _lines(_canvas(), [(6, 26), (18, 38), (42, 10)], 7)
    out["edit"] = _poly(_canvas(), [(6, 36), (34, 8), (40, 14), (12, 42), (5, 43)])
    out["home"] = _poly(_canvas(), [(24, 5), (44, 24), (38, 24), (38, 43), (10, 43), (10, 24), (4, 24)])
    gear = _canvas()
    cv2.circle(gear, (24, 24), 14, 255, -1)
    for k in range(8):
        a = k * np.pi / 4
        _lines(gear, [(24, 24), (int(24 + 20 * np.cos(a)), int(24 + 20 * np.sin(a)))], 7)
    out["settings"] = gear
    bell = _poly(_canvas(), [(24, 5), (34, 12), (36, 30), (42, 37), (6, 37), (12, 30), (14, 12)])
    cv2.circle(bell, (24, 41), 4, 255, -1)
    out["bell"] = bell
    dots = _canvas()
    for x in (8, 24, 40):
        cv2.circle(dots, (x, 24), 5, 255, -1)
    out["more"] = dots
    user = _canvas()
    cv2.circle(user, (24, 14), 9, 255, -1)
    cv2.ellipse(user, (24, 44), (18, 16), 0, 180, 360, 255, -1)
    out["user"] = user
    return out


def silhouette(mask: Any) -> Any | None:
    """An ink mask -> its filled silhouette, cut to its extent, padded square, SIDE x SIDE and blurred (float32,
    0..1); None for no ink."""
    import cv2

    m = (np.asarray(mask) > 0).astype(np.uint8)
    ys, xs = np.nonzero(m)
    if ys.size == 0:
        return None
    m = m[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    h, w = m.shape
    side = max(h, w) + 2
    sq = np.zeros((side, side), np.uint8)
    y0, x0 = (side - h) // 2, (side - w) // 2
    sq[y0:y0 + h, x0:x0 + w] = m
    flood = sq.copy()  # holes: what the border's background cannot reach
    cv2.floodFill(flood, np.zeros((side + 2, side + 2), np.uint8), (0, 0), 2)
    sq[flood == 0] = 1
    out = cv2.resize(sq.astype(np.float32), (SIDE, SIDE), interpolation=cv2.INTER_AREA)
    return cv2.GaussianBlur(out, (0, 0), 1.2)


@functools.lru_cache(maxsize=1)
def _vocabulary() -> dict[str, Any]:
    return {name: silhouette(img) for name, img in _shapes().items()}


def likeness(a: Any, b: Any) -> float:
    """How alike two silhouettes are: overlap over union of the soft masks (1: the same)."""
    return float(np.minimum(a, b).sum() / max(np.maximum(a, b).sum(), 1e-6))


def ink(rgb: Any, box: tuple[int, ...]) -> Any | None:
    """The ink mask of `box`: pixels that differ from the colour around the box (its 2-pixel frame)."""
    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = max(0, box[0] - 2), max(0, box[1] - 2), min(w, box[2] + 2), min(h, box[3] + 2)
    crop = rgb[y0:y1, x0:x1, :3].astype(np.int16)
    if crop.shape[0] < 4 or crop.shape[1] < 4:
        return None
    frame = np.concatenate([crop[0], crop[-1], crop[:, 0], crop[:, -1]])
    bg = np.median(frame, axis=0)
    diff = np.abs(crop - bg).max(axis=2)
    top = int(diff.max())
    if top < 24:
        return None
    return diff > max(24, 0.4 * top)


def scores(rgb: Any, box: tuple[int, ...]) -> dict[str, float]:
    """The likeness of what `box` shows to every shape of the vocabulary ({} when it shows no ink)."""
    mask = ink(rgb, box)
    sil = silhouette(mask) if mask is not None else None
    if sil is None:
        return {}
    return {name: likeness(sil, ref) for name, ref in _vocabulary().items()}


def look_name(rgb: Any, box: tuple[int, ...]) -> str | None:
    """The shape of the vocabulary that `box` shows ('trash', 'star'), when it is alike enough and no other shape
    comes within NEAR of it; None otherwise (a word for an element that has none: agents/llm_policy.py)."""
    s = sorted(scores(rgb, box).items(), key=lambda kv: -kv[1])
    if not s or s[0][1] < MIN_SCORE or (len(s) > 1 and s[1][1] > s[0][1] - NEAR):
        return None
    return s[0][0]


def blobs(rgb: Any, area: tuple[int, ...] | None, covered: Sequence[tuple[int, ...]]) -> list[tuple[int, ...]]:
    """Icon-sized blobs of edges in `area` (the whole frame if None) that no box of `covered` (text) overlaps: icons
    the detector missed. Edges, not ink against one background: a white glyph on a coloured bar is found too (the
    bar's own outline is one blob, too big to be an icon). Parts closer than 3 px are one blob."""
    import cv2

    h, w = rgb.shape[:2]
    ax0, ay0, ax1, ay1 = area if area is not None else (0, 0, w, h)
    crop = np.ascontiguousarray(rgb[ay0:ay1, ax0:ax1, :3])
    if crop.shape[0] < 4 or crop.shape[1] < 4:
        return []
    edges = np.zeros(crop.shape[:2], np.uint8)
    for c in range(3):
        edges |= cv2.Canny(crop[:, :, c], 60, 150)
    joined = cv2.dilate(edges, np.ones((3, 3), np.uint8))
    n, _, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    out = []
    for i in range(1, n):
        x, y, bw, bh, _ = stats[i]
        if not (MIN_SIDE <= bw <= MAX_SIDE and MIN_SIDE <= bh <= MAX_SIDE) or max(bw, bh) > 3 * min(bw, bh):
            continue
        box = (ax0 + int(x), ay0 + int(y), ax0 + int(x + bw), ay0 + int(y + bh))
        if any(box[0] < c[2] and c[0] < box[2] and box[1] < c[3] and c[1] < box[3] for c in covered):
            continue
        out.append(box)
    return out


def best(rgb: Any, shape: str, boxes: Sequence[tuple[int, ...]]) -> tuple[int, ...] | None:
    """Of `boxes`, the one that looks most like `shape` among those whose likeness to it is (nearly) their best;
    None when none does."""
    found = []
    for box in boxes:
        s = scores(rgb, box)
        if not s or s.get(shape, 0.0) < MIN_SCORE or s[shape] < max(s.values()) - NEAR:
            continue
        found.append((s[shape], box))
    return max(found, key=lambda sb: sb[0])[1] if found else None


def _glyph(e: Any) -> bool:
    """An element that may be an icon: an icon or button with no text (or one character), or a word or line of one
    or two characters (OCR reads a paper plane as 'V', a cross as 'x')."""
    text = "".join((e.label or "").split())
    return (e.kind in ("icon", "button") and len(text) <= 1) or (e.kind in ("word", "line") and 0 < len(text) <= 2)


def candidates(elements: Sequence[Any], rgb: Any, area: tuple[int, ...] | None = None) -> list[tuple[int, ...]]:
    """Boxes that may be icons: elements with no text (icons, text-less buttons) or a glyph OCR took for a letter or
    two, and edge blobs no other element covers."""
    boxes = [tuple(e.box) for e in elements if _glyph(e)]
    covered = [tuple(e.box) for e in elements if not _glyph(e)]
    return boxes + [b for b in blobs(rgb, area, covered + boxes)]


def find(shape: str, elements: Sequence[Any], rgb: Any, area: tuple[int, ...] | None = None) -> Any | None:
    """The element (or, for an icon no element holds, an Element made for its box, id 'look') that looks like
    `shape`; None when nothing does."""
    from omnirt.agents.elements import Element

    box = best(rgb, shape, candidates(elements, rgb, area))
    if box is None:
        return None
    held = [e for e in elements if tuple(e.box) == box]
    return held[0] if held else Element("look", box, "icon", "")
