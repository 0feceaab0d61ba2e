"""A search said in one sentence over a form of several fields: "search for surreal movies directed by Baxter from
year 1995" on a form labelled Genre, Director and Year. A person reads each field's label in the sentence and
types what the sentence says there; this module does the same, by words only, so it holds for any form.

Conventions, not pages: a field's label is named in the sentence by a word it shares a stem with ("directed" ~
"Director", "year" ~ "Year"); the value is what follows that word past its connecting words ("by", "from", "is"),
up to the next connecting word or the next word that names another field. The words before the first of those
describe the thing sought ("surreal movies"): with exactly one field left over, it holds them less the last word
(the thing itself, "movies"). A search with no form of several labelled fields is typed into the one field.
"""

from __future__ import annotations

import re
from typing import Sequence

import numpy as np

from omnirt.agents.elements import Element, fold, norm
from omnirt.agents.intents import loose_pick
from omnirt.agents.plan_steps import Step, fill_steps

SEARCH_RE = re.compile(r"^(?:search|look\s+up|query)\s+(?:for\s+)?(.+?)\s*[.!]?$", re.I)
# words that join a label's word to its value, and end a value ("directed by X from year Y")
CONNECT = {"by", "from", "in", "of", "for", "with", "on", "at", "is", "are", "was", "the", "a", "an", "to", "and",
           "whose", "that", "which", "called", "named", "titled", "as", "equal", "equals", "set", ":", "="}
ENDS = {"by", "from", "in", "of", "for", "with", "on", "at", "and", "whose", "that", "which"}
STOP = CONNECT | {"some", "any", "all", "me", "please"}
SUBMITS = "search|find|go|submit|look up"  # the button that sends a search (loose_pick alternatives)


def query(clause: str) -> str | None:
    """'Search for surreal movies directed by Baxter' -> 'surreal movies directed by Baxter'; None: no search."""
    m = SEARCH_RE.match(clause.strip())
    return m.group(1).strip() if m else None


def _stem_match(word: str, label_word: str) -> int:
    """How strongly a sentence word names a label word (0: not at all): the same word, a plural, or a shared stem
    ("directed" ~ "director", "writes" ~ "writer")."""
    if not word or not label_word or word in STOP or label_word in STOP:
        return 0
    if word == label_word or word.rstrip("s") == label_word.rstrip("s"):
        return 100
    p = 0
    while p < min(len(word), len(label_word)) and word[p] == label_word[p]:
        p += 1
    return p if p >= 4 and p >= min(len(word), len(label_word)) - 3 else 0


def assign(text: str, labels: list[str]) -> list[tuple[str, str]]:
    """The (label, value) pairs the sentence `text` says, in the labels' order; [] when it names fewer than one
    label."""
    words = [w for w in re.sub(r"[^\w\s'@.-]", " ", text).split()]
    low = [norm(w) for w in words]
    named: dict[int, tuple[int, int]] = {}  # label index -> (strength, word index)
    for i, label in enumerate(labels):
        for lw in norm(label).split():
            for j, w in enumerate(low):
                s = _stem_match(w, lw)
                if s and s > named.get(i, (0, -1))[0]:
                    named[i] = (s, j)
    claimed: dict[int, int] = {}  # word index -> label index (the strongest claim wins)
    for i, (s, j) in sorted(named.items(), key=lambda kv: -kv[1][0]):
        claimed.setdefault(j, i)
    used, out = set(claimed), {}
    for j, i in claimed.items():
        k = j + 1
        while k < len(low) and low[k] in CONNECT:
            k += 1
        value = []
        while k < len(low) and low[k] not in ENDS and k not in claimed:
            value.append(k)
            k += 1
        if value:
            out[i] = " ".join(words[v] for v in value).strip(" .,")
            used |= set(range(j, value[-1] + 1))
    if not out:
        return []
    left = [i for i in range(len(labels)) if i not in out]
    first = next((k for k in range(len(low)) if k in used or low[k] in ENDS), len(low))
    rest = [words[k] for k in range(first) if low[k] not in STOP]
    if len(left) == 1 and len(rest) > 1:  # the description of the thing sought, less the thing itself
        out[left[0]] = " ".join(rest[:-1]).strip(" .,")
    return [(labels[i], out[i]) for i in sorted(out)]


def field_labels(elements: Sequence[Element], rgb: np.ndarray | None) -> list[str]:
    """Each field's label, one a field in reading order: the grounding's own label for an input, else the text
    nearest it of those that label it by layout (beside it rather than a heading above)."""
    from omnirt.agents.everyday import field_boxes, text_elements
    from omnirt.agents.fields import labelled_field

    fields = field_boxes(elements, rgb)
    boxes = [f[0] for f in fields]
    texts = [(t, labelled_field(t.box, boxes)) for t in text_elements(elements)]
    out = []
    for box, label, _ in fields:
        near = [t for t, b in texts if b == box]
        if not label and near:
            cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
            label = min(near, key=lambda t: abs(t.center[0] - cx) + 2 * abs(t.center[1] - cy)).label
        if label and label not in out:
            out.append(label)
    return out


def steps(text: str, elements: Sequence[Element], rgb: np.ndarray | None) -> list[Step]:
    """The search as the steps a person takes on this screen: each field the sentence names filled with its value
    (several labelled fields), else the whole of it typed into the one field; then its button, else Enter. A
    control that reads the clause itself ("... and search trips" beside a "Search trips" button) is the whole of
    it: the words name the button, not a query."""
    named = fold(f"search {text}")
    if any(e.kind in ("button", "link", "line", "word") and fold(e.label) == named for e in elements):
        return [Step("click", f"search {text}")]
    labels = field_labels(elements, rgb)
    pairs = assign(text, labels) if len(labels) >= 2 else []
    out = fill_steps([f"{label} {value}" for label, value in pairs] if pairs else [text])
    sent = loose_pick(SUBMITS, list(elements)) is not None
    return out + [Step("click", SUBMITS, ["button"], loose=True) if sent else Step("key", text="enter")]
