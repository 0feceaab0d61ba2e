"""Things moved with the pointer: "Drag the item down", "Drag the smaller box so that it is completely inside the
larger box", "Drag all circles into the black box", "move the red square onto the blue one", "drag "Apples" to
"Fruit"". A person presses on the thing, moves and lets go; no label grounds a drawn shape, so what is moved, and
where to, are found by how the page is drawn (agents/counting.py's objects) or, for words, by OCR.

- The parser's step is `drag` (target: what is moved, text: "dir:up|down|left|right" or where it goes). Only
  clauses that say a drag: the verb drag (or move / put / place / drop with a thing to move, "the item", "all
  circles", a quoted text), then a direction or a place (into, onto, inside, to, over ...). A slider ("drag the
  slider to 5") is agents/sliding.py's, a text's piece ("drag across the 2nd line") agents/selecting.py's.
- Objects are the coloured blobs drawn on the page's background (solid shapes and glyphs; a glyph inside a shape is
  its label, not a thing of its own) and outlines: a large ring with nothing solid of its colour inside it (an
  outlined box, the frame of a drop area) is a container, the first choice for where things go ("the black box").
  Words are the OCR'd text on the page, for a thing named by its text.
- A description is read by words: colour, kind (circle, triangle, rectangle / square / box, shape), size
  (small / large and -er / -est: the least or greatest of the matching), place (left / right / top / bottom and
  -most, upper / lower), "all" or a plural for every match; "item", "object", "thing", "shape", "it" match any one.
  A container is described the same way; what is moved is never its own destination.
- Each match is dragged from its centre to the place's centre (several are set side by side along the place's middle,
  so that none covers another), or by its own size (at least MIN_STEP px) in the direction said, kept inside the
  frame. The places are taken from the first screen seen: a thing already dropped is not picked up again.

Nothing here knows any page: English descriptions and the way shapes and frames are drawn.
"""

from __future__ import annotations

import re
from typing import Any, Sequence

import numpy as np

from omnirt.agents import counting
from omnirt.agents.elements import Element, norm

OPS = ("drag",)
MIN_STEP = 30  # pixels: the least a thing is moved for "drag it down"
HOLLOW = 0.35  # an outline fills less of its box than this
PLACES = ("into", "onto", "inside of", "inside", "in", "to", "on top of", "on", "over", "within", "toward", "towards")
DIRS = {"up": "up", "upwards": "up", "upward": "up", "down": "down", "downwards": "down", "downward": "down",
        "left": "left", "leftwards": "left", "right": "right", "rightwards": "right"}
THINGS = ("item", "object", "thing", "shape", "it", "them", "one", "box", "square", "rectangle", "circle", "dot",
          "triangle", "block", "piece", "cube", "ball", "card", "tile", "token", "icon", "image", "picture")
WIDGETS = ("slider", "knob", "wheel", "picker", "scrollbar", "scroll bar", "text", "paragraph", "line", "word")
_PLACE = "|".join(re.escape(p).replace(r"\ ", r"\s+") for p in sorted(PLACES, key=len, reverse=True))
DRAG_RE = re.compile(
    r"^(?P<verb>drag|move|put|place|drop|slide)\s+(?P<what>.+?)\s+(?:"
    r"(?:(?:all\s+the\s+way\s+|a\s+(?:little|bit)\s+|some\s+)?(?:to\s+the\s+|towards?\s+the\s+)?"
    r"(?P<dir>upwards?|downwards?|leftwards|rightwards|up|down|left|right)(?:\s+(?:a\s+(?:little|bit)|side))?)"
    r"|(?:(?:so\s+(?:that\s+)?(?:it|they)\s+(?:is|are|lies?|sits?)\s+)?(?:completely\s+|fully\s+|entirely\s+|"
    rf"all\s+the\s+way\s+)?(?:{_PLACE})\s+(?P<dest>.+)))$", re.I)
REST_RE = re.compile(  # "... and everything else into the right box": what an earlier drag left, into a place
    rf"^(?:and\s+)?(?:then\s+)?(?P<what>everything\s+else|all\s+else|the\s+rest(?:\s+of\s+them)?|(?:all\s+)?(?:the\s+)?"
    rf"others|(?:all\s+)?(?:the\s+)?other\s+\w+)\s+(?:goes\s+|go\s+)?(?:{_PLACE})\s+(?P<dest>.+)$", re.I)
SIZE_WORDS = {"small": "min", "smaller": "min", "smallest": "min", "little": "min", "tiny": "min", "large": "max",
              "larger": "max", "largest": "max", "big": "max", "bigger": "max", "biggest": "max", "huge": "max"}
PLACE_WORDS = {"left": (0, "min"), "leftmost": (0, "min"), "right": (0, "max"), "rightmost": (0, "max"),
               "top": (1, "min"), "topmost": (1, "min"), "upper": (1, "min"), "bottom": (1, "max"),
               "lower": (1, "max"), "bottommost": (1, "max")}
CONTAINER_WORDS = ("box", "square", "rectangle", "container", "area", "zone", "region", "frame", "target", "bin",
                   "basket", "slot", "space", "outline")


def step(clause: str) -> tuple[str, str, str] | None:
    """('drag', 'the item', 'dir:down') for 'Drag the item down'; ('drag', 'all circles', 'the black box') for
    'Drag all circles into the black box'; None for any other clause."""
    text = " ".join(clause.strip(" .!?").split())
    rest = REST_RE.match(text)
    if rest:  # (no verb: it carries over from the drag before it)
        return "drag", "rest:" + rest.group("what"), re.sub(r"^(?:the|a|an)\s+", "", rest.group("dest"), flags=re.I)
    m = DRAG_RE.match(text)
    if m is None:
        return None
    what = re.sub(r"^(?:the|a|an)\s+", "", m.group("what"), flags=re.I)
    low = what.lower()
    if any(re.search(rf"\b{w}s?\b", low) for w in WIDGETS) and "QUOTE" not in what and '"' not in what:
        return None  # a slider's knob or a piece of text: another module's
    thingy = any(re.search(rf"\b{w}(?:e?s)?\b", low) for w in THINGS) or '"' in what or "QUOTE" in what
    if m.group("verb").lower() != "drag" and not thingy:
        return None  # "move to the next field", "put the order through": no thing to move
    if m.group("dir"):
        return "drag", what, f"dir:{DIRS[m.group('dir').lower()]}"
    dest = re.sub(r"^(?:the|a|an)\s+", "", m.group("dest").strip(), flags=re.I)
    if re.fullmatch(r"[-+]?\d+(?:\.\d+)?%?", dest):
        return None  # "drag the knob to 5": a value, not a place
    return "drag", what, dest


def _words(text: str) -> list[str]:
    return [counting.singular(w.lower()) for w in re.findall(r"[\w']+", text)]


def plural(text: str) -> bool:
    """Whether a description asks for every match: "all circles", "every red item", "the triangles"."""
    raw = [w.lower() for w in re.findall(r"[\w']+", text)]
    return bool(raw) and (raw[0] in ("all", "every", "each", "both") or
                          any(w != counting.singular(w) and counting.singular(w) in THINGS + tuple(counting.KINDS)
                              for w in raw))


def _outline_kind(rgb: np.ndarray, b: counting.Blob) -> str:
    """The shape an outline draws (rectangle, circle, triangle): its ring with the hole inside filled, read as a
    solid shape is (a white circle with a black stroke is a circle, not a glyph)."""
    import cv2

    x0, y0, x1, y1 = b.box
    ring = (counting.colour_names(rgb[y0:y1, x0:x1]) == counting.COLOURS.index(b.colour)).astype(np.uint8)
    outside = np.pad(ring, 1).copy()
    mask = np.zeros((outside.shape[0] + 2, outside.shape[1] + 2), np.uint8)
    cv2.floodFill(outside, mask, (0, 0), 2)
    return counting._kind((outside[1:-1, 1:-1] != 2).astype(np.uint8))


def objects(rgb: np.ndarray, elements: Sequence[Element]) -> list[tuple[counting.Blob, bool]]:
    """(blob, hollow) for what is drawn on the page: solid shapes, glyphs that are no shape's label, outlines (with
    the kind of shape they draw)."""
    # A text-less "button" or one-letter one is the detector's box round a drawn shape (a box with "s" on it), not a
    # control: only controls with words keep what lies inside them out.
    blobs = counting.find_blobs(rgb, [e for e in elements if len(norm(e.label)) >= 2])
    out = []
    for b in blobs:
        w, h = b.box[2] - b.box[0], b.box[3] - b.box[1]
        hollow = b.kind == "glyph" and min(w, h) >= 16 and b.area < HOLLOW * w * h
        inside_solid = any(o is not b and o.kind != "glyph" and counting._inside(b.box, o.box, 0) for o in blobs)
        if b.kind == "glyph" and not hollow and inside_solid:
            continue  # a shape's own label ("s" on the small box)
        out.append((counting.Blob(b.box, b.area, b.colour, _outline_kind(rgb, b)) if hollow else b, hollow))
    return out


def _fits(words: list[str], b: counting.Blob, hollow: bool, kind: bool = True) -> bool:
    """Whether an object fits a description's colour and (kind: also its) kind words."""
    colours = [counting.SYNONYMS.get(w, w) for w in words if w in counting.COLOURS or w in counting.SYNONYMS]
    if colours and b.colour not in colours:
        return False
    if b.kind == "glyph":
        return any(w in ("letter", "character", "glyph", "digit", "number") for w in words)
    kinds = [counting.KINDS[w] for w in words if w in counting.KINDS and counting.KINDS[w] != "shape"] if kind else []
    return not kinds or b.kind in kinds or (hollow and b.kind == "rectangle" and any(w in CONTAINER_WORDS
                                                                                    for w in words))


def pick(text: str, found: list[tuple[counting.Blob, bool]], place: bool = False) -> list[counting.Blob]:
    """The objects a description names, best first (every match when it is plural). place: a destination, where
    an outline (a container) comes before a solid shape."""
    words = _words(text)
    pool = [(b, h) for b, h in found if _fits(words, b, h)]
    if not pool and not plural(text):  # "the larger box" partly covered by the smaller one is no clean rectangle
        pool = [(b, h) for b, h in found if _fits(words, b, h, kind=False)]
    if place and any(h for _, h in pool):
        pool = [(b, h) for b, h in pool if h]
    elif not place:
        pool = [(b, h) for b, h in pool if not h] or pool
    hits = [b for b, _ in pool]
    for w in words:
        if w in SIZE_WORDS and len(hits) > 1:
            side = (min if SIZE_WORDS[w] == "min" else max)(b.area for b in hits)
            hits = [b for b in hits if b.area == side]
        if w in PLACE_WORDS and len(hits) > 1:
            axis, way = PLACE_WORDS[w]
            at = (min if way == "min" else max)((b.box[axis] + b.box[axis + 2]) / 2 for b in hits)
            hits = [b for b in hits if (b.box[axis] + b.box[axis + 2]) / 2 == at]
    return hits if plural(text) or place else hits[:1]


def left_over(text: str, found: list[tuple[counting.Blob, bool]]) -> list[tuple[int, int, int, int]]:
    """"everything else", "the other circles": the shapes (of the kind named, if any) that lie in no container yet,
    after the drags before this step put theirs in place."""
    frames = [b.box for b, h in found if h]
    words = _words(text)
    return [b.box for b, h in found if not h and _fits(words, b, h) and
            not any(f[0] < _centre(b.box)[0] < f[2] and f[1] < _centre(b.box)[1] < f[3] for f in frames)]


def _centre(box: Sequence[float]) -> tuple[int, int]:
    return round((box[0] + box[2]) / 2), round((box[1] + box[3]) / 2)


def _labelled(text: str, elements: Sequence[Element]) -> Element | None:
    """The element whose text is the description's quoted (or whole) text: a thing named by its words."""
    q = re.search(r'"([^"]+)"', text)
    want = norm(q.group(1) if q else text)
    hits = [e for e in elements if e.label and norm(e.label) == want]
    return hits[0] if hits else None


def moves(step: Any, elements: Sequence[Element], rgb: np.ndarray | None, outside: bool = False
          ) -> list[tuple[int, int, int, int]] | None:
    """(x, y, to_x, to_y) for each thing the step moves; [] when "all X" finds none (nothing to do); None when what
    is moved, or where to, is not in sight. outside: only the things whose centre is not in their place yet."""
    found = objects(rgb, elements) if rgb is not None else []
    word = _labelled(step.target, elements)
    things = [word.box] if word is not None else [b.box for b in pick(step.target, found)] \
        if not step.target.startswith("rest:") else left_over(step.target[5:], found)
    if not things:
        return [] if (plural(step.target) or step.target.startswith("rest:")) and rgb is not None else None
    height, width = (rgb.shape[0], rgb.shape[1]) if rgb is not None else (100_000, 100_000)
    if step.text.startswith("dir:"):
        dx, dy = {"up": (0, -1), "down": (0, 1), "left": (-1, 0), "right": (1, 0)}[step.text[4:]]
        out = []
        for box in things:
            (x, y), side = _centre(box), max(MIN_STEP, box[2] - box[0], box[3] - box[1])
            out.append((x, y, min(max(x + dx * side, 1), width - 2), min(max(y + dy * side, 1), height - 2)))
        return out
    spot = _labelled(step.text, elements)
    places = [spot.box] if spot is not None else \
        [b.box for b in pick(step.text, [(b, h) for b, h in found if b.box not in things], place=True)]
    if not places:
        return None
    box = places[0]
    cx, cy = _centre(box)
    if outside:
        things = [t for t in things if not (box[0] < _centre(t)[0] < box[2] and box[1] < _centre(t)[1] < box[3])]
        if not things:
            return []
    n, span = len(things), (box[2] - box[0]) * 0.6
    widest = max(t[2] - t[0] for t in things)
    spread = n > 1 and span / n >= widest * 0.8
    out = []
    for i, t in enumerate(things):
        x = round(cx - span / 2 + span * (i + 0.5) / n) if spread else cx
        out.append((*_centre(t), x, cy))
    return out


def decide(step: Any, elements: Sequence[Element], watch: Any, rgb: np.ndarray | None) -> Any:
    """The next Drag of the step, SKIP (agents/everyday.py's) once every thing is moved, None when the things or
    their place are not in sight. "All X into Y" and "everything else" are looked at again before each drag: the
    next thing is one not in its place yet (a shape the page drew late, or a drop that missed, is still moved; at
    most twice the first count and two more). One thing, or a direction, is worked out on the step's first screen
    (a box already half over its place is still moved), and kept in watch.moves with how many drags were made."""
    from omnirt.agents.actions import Drag
    from omnirt.agents.everyday import SKIP

    key = (step.target, step.text)
    many = (plural(step.target) or step.target.startswith("rest:")) and not step.text.startswith("dir:")
    if key not in watch.moves or many:
        found = moves(step, elements, rgb, outside=many)
        if found is None:
            return None if key not in watch.moves else SKIP
        prev = watch.moves.get(key)
        watch.moves[key] = [found, 0] if not many else [found, prev[1] if prev else 0, prev[2] if prev else len(found)]
    todo, made = watch.moves[key][:2]
    if not many and made >= len(todo) or many and (not todo or made >= 2 * watch.moves[key][2] + 2):
        return SKIP
    watch.moves[key][1] += 1
    x, y, tx, ty = todo[0 if many else made]
    return Drag(x=x, y=y, to_x=tx, to_y=ty)
