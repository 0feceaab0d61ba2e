"""Looking through a page's containers for a target none of them shows yet: "switch between the tabs to find and
click on the link X", "expand the sections below, to find and click X". A person opens each tab or section in turn
until the target shows, then clicks it; the instruction policy (agents/policies.py) does the same with the
openers found here.

Conventions, not pages: the sentence names the containers by a plural noun ("the tabs", "the sections"); each one's
opener is a short text whose first word is that noun, singular ("Tab #2", "Section 3"), one per place on the screen,
opened in reading order (tabs that do not say so are the words of the topmost row, a strip of a few short ones);
the target counts as shown only when a word of the kind asked for is spelled exactly so (a link asked for is no plain
word that happens to read the same), alone or among the words of a longer one (links side by side are read as one).
"""

from __future__ import annotations

import re
from typing import Sequence

from omnirt.agents.elements import Element, fold, norm

EXPLORE_RE = re.compile(
    r"^(?:switch|go|move|flip|look|browse|cycle|navigate|expand|open|check|search|click|try)\s+"
    r"(?:(?:between|through|among|across|in|into|on)\s+)?(?:all\s+|each\s+of\s+)?(?:the\s+)?(?:different\s+)?"
    r"([a-z]+s)\b(?:\s+(?:below|above|on\s+the\s+page|here))?\s*,?\s*"
    r"(?:(?:in\s+order\s+)?to\s+(?:find|locate|look\s+for|search\s+for|see|reach|get\s+to))?\s*$", re.I)
TEXT_KINDS = ("link", "word", "button")


def containers(clause: str) -> str:
    """'Switch between the tabs to find' -> 'tab'; 'Expand the sections below, to find' -> 'section'; '' when the
    clause is no such look through containers (it must say a set: a plural, and why: "to find" or "between")."""
    m = EXPLORE_RE.match(clause.strip())
    if not m or not re.search(r"\b(?:to\s+(?:find|locate|look|search|see|reach|get)|between|through|among|across)\b",
                                clause, re.I):
        return ""
    noun = m.group(1).lower()
    return noun[:-2] if noun.endswith(("ches", "shes", "xes")) else noun[:-1]


def openers(noun: str, elements: Sequence[Element]) -> list[Element]:
    """The containers' openers in reading order: texts whose first word is the noun, one per place (a word and the
    line holding it are one opener: the word is kept)."""
    hits = [e for e in elements if e.kind in TEXT_KINDS and e.label and
            (norm(e.label).split() or [""])[0] in (noun, noun + "s")]
    out: list[Element] = []
    for e in sorted(hits, key=lambda e: (e.box[1] // 8, e.box[0])):
        if not any(abs(e.center[0] - o.center[0]) < 12 and abs(e.center[1] - o.center[1]) < 8 for o in out):
            out.append(e)
    return out or (_strip(elements) if noun == "tab" else [])


def _strip(elements: Sequence[Element]) -> list[Element]:
    """Tabs that do not say "tab" ("1 2 3", "Profile Billing"): the topmost row of texts, a few short words, each
    word a tab (a strip read as one button is cut into its words)."""
    texts = [e for e in elements if e.kind in TEXT_KINDS and e.label]
    if not texts:
        return []
    top = min(texts, key=lambda e: e.box[1])
    row = sorted((e for e in texts if abs(e.center[1] - top.center[1]) <= 6), key=lambda e: e.box[0])
    spans = [s for e in row for s in _words(e)]
    spans = [s for i, s in enumerate(spans) if not any(abs(s.center[0] - o.center[0]) < 6 for o in spans[:i])]
    ok = 2 <= len(spans) <= 8 and all(len(s.label) <= 12 for s in spans)
    return spans if ok else []


def _words(e: Element) -> list[Element]:
    """Each word of an element, as a 'span' over its share of the element's width (the element itself if one)."""
    words = e.label.split()
    if len(words) == 1:
        return [e]
    return [_share(e, i, 1) for i in range(len(words))]


def _share(e: Element, at: int, k: int) -> Element:
    """Words at..at+k of an element, as a 'span' over their share of its width (characters counted)."""
    words = e.label.split()
    lens = [len(w) + 1 for w in words]  # characters up to each word, spaces counted
    total = sum(lens)
    x0 = e.box[0] + (e.box[2] - e.box[0]) * sum(lens[:at]) / total
    x1 = e.box[0] + (e.box[2] - e.box[0]) * (sum(lens[:at + k]) - 1) / total
    return Element(e.id, (int(x0), e.box[1], int(x1), e.box[3]), "span", " ".join(words[at:at + k]), e.ink, e.line)


def find(target: str, kinds: Sequence[str] | None, elements: Sequence[Element]) -> Element | None:
    """The target in sight as asked: an element of the first kind asked for spelled exactly so, else its words
    inside a longer one of that kind (links side by side read as one), as a 'span' over those words' share of it."""
    want = (kinds or [None])[0]
    t = fold(target).split()
    pool = [e for e in elements if e.label and (want is None or e.kind == want)]
    exact = [e for e in pool if fold(e.label).split() == t]
    if exact or not t:
        return exact[0] if exact else None
    for e in pool:
        words = fold(e.label).split()
        at = next((i for i in range(len(words) - len(t) + 1) if words[i:i + len(t)] == t), None)
        if at is not None and len(words) > len(t) and len(words) == len(e.label.split()):
            return _share(e, at, len(t))
    return None
