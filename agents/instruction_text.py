"""Reading an instruction shown in a fixed-height strip, whose text may not fit in it.

A page that shows its task in a box of fixed height (MiniWoB's query strip is 50 CSS px: four lines) lets a longer
text run on below the box, over the content under it. Read only inside the box, such an instruction loses its end
("... and press Submit" never reaches the policy), and every later step works from half a command. So when the box
is full (no room for one more line below its last one) and its last line does not end a sentence, the lines below
it are read as well, for as long as they continue its line grid: same line height, the next line's place, starting
at the same left margin; the first line that ends a sentence ends the instruction.

Text below the box lies over the page, so what is read there is kept once per instruction (keyed by the box's own
text): the first look comes before the agent changed anything under it, and a later look (after a field was filled
in) cannot turn the instruction into another one halfway through the episode.
"""

from __future__ import annotations

import re
import statistics
from typing import Any, Callable, Sequence

from omnirt.agents.elements import norm
from omnirt.agents.screen import Box, Screenshot

NUMBER_RE = re.compile(r"[-\u2212]?\d+(?:\.\d+)?")  # a number as written, its sign kept
END_RE = re.compile(r"[.!?][\"'\u201d)\]]*$")  # a sentence end, perhaps inside closing quotes or brackets
MAX_MORE = 4  # lines read below the box at most


def instruction_key(instruction: str) -> tuple[str, tuple[str, ...]]:
    """What tells two instructions apart for the policy's plan cache: the normalised words (so that OCR's jitter on
    punctuation does not re-plan an episode halfway), and every number with its sign, which normalising drops: "the
    point (1,-1)" and "the point (-1,1)" normalise alike but ask for different points (the cache gave one the
    other's plan, a grid point with its signs flipped: 8 of 20 seeds in one DEV look)."""
    return norm(instruction), tuple(m.replace("\u2212", "-") for m in NUMBER_RE.findall(instruction))


def lines_of(words: Sequence[Any]) -> list[list[Any]]:
    """Words grouped into text lines by their vertical centres (a word joins a line whose centre it is within half
    a word height of), top to bottom, each line left to right."""
    out: list[list[Any]] = []
    for w in sorted(words, key=lambda w: (w.box[1] + w.box[3]) / 2):
        cy, h = (w.box[1] + w.box[3]) / 2, w.box[3] - w.box[1]
        for line in out:
            ly = statistics.median((v.box[1] + v.box[3]) / 2 for v in line)
            if abs(ly - cy) <= h / 2:
                line.append(w)
                break
        else:
            out.append([w])
    return [sorted(line, key=lambda w: w.box[0]) for line in out]


def _geometry(lines: list[list[Any]]) -> tuple[float, float, float, float]:
    """(centre of the last line, line pitch, word height, left margin) of a block of lines."""
    centres = [statistics.median((w.box[1] + w.box[3]) / 2 for w in line) for line in lines]
    height = statistics.median(w.box[3] - w.box[1] for line in lines for w in line)
    pitch = statistics.median(b - a for a, b in zip(centres, centres[1:])) if len(centres) > 1 else 1.25 * height
    left = statistics.median(line[0].box[0] for line in lines)
    return centres[-1], pitch, height, left


def runs_on(words: Sequence[Any], box_height: int) -> bool:
    """Whether text read in a box of `box_height` pixels may go on below it: the box has no room for another line
    under its last one, and that last line does not end a sentence."""
    lines = lines_of(words)
    if len(lines) < 2:
        return False
    last, pitch, height, _ = _geometry(lines)
    full = last + pitch + height / 2 > box_height
    return full and not END_RE.search(lines[-1][-1].text)


def continuation(inside: Sequence[Any], below: Sequence[Any], offset: float) -> list[Any]:
    """The words of `below` (read in a crop starting `offset` pixels below the top of the box that `inside` was
    read in) that continue the line grid of `inside`: each next line at its place (within a quarter pitch), as tall
    (within a third), starting at the same left margin (within a word height); stops at a gap or a sentence end."""
    lines = lines_of(inside)
    last, pitch, height, left = _geometry(lines)
    more = lines_of(below)
    out: list[Any] = []
    for k in range(1, MAX_MORE + 1):
        want = last + k * pitch - offset
        line = next((ln for ln in more if abs(statistics.median((w.box[1] + w.box[3]) / 2 for w in ln) - want)
                     <= pitch / 4), None)
        if line is None or abs(line[0].box[0] - left) > height:
            break
        if abs(statistics.median(w.box[3] - w.box[1] for w in line) - height) > height / 3:
            break
        out += line
        if END_RE.search(line[-1].text):
            break
    return out


def strip_reader(read_words: Callable[[Screenshot, Box, str], list[Any]], box: Box,
                 limit: int) -> Callable[[Screenshot], str]:
    """`frame -> instruction` for text shown in `box` of each frame, read on below the box (down to `limit`, a frame
    row) when it runs on. read_words: `(frame, box, region) -> words` with boxes in that crop's pixels (e.g.
    `Grounder.text_words`)."""
    seen: dict[str, str] = {}

    def read(frame: Screenshot) -> str:
        words = read_words(frame, box, "query")
        text = " ".join(w.text for w in words)
        if text in seen:
            return seen[text]
        full = text
        x0, y0, x1, y1 = box
        if runs_on(words, y1 - y0) and limit > y1:
            _, pitch, height, _ = _geometry(lines_of(words))
            top = max(y0, int(y1 - height))  # from just above the box's edge: a line may straddle it
            bottom = min(limit, int(y1 + MAX_MORE * pitch + height))
            more = continuation(words, read_words(frame, (x0, top, x1, bottom), "query-more"), top - y0)
            full = " ".join([text, *(w.text for w in more)])
        seen[text] = full
        return full

    return read
