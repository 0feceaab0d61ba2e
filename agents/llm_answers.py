"""Reading an LLM policy's answer: its JSON -> the typed actions to run, or InvalidAction with a reason the model is
told when it is asked again.

A small model often writes the right target text but copies the wrong mark number, so the answer's own words decide
which element it means (`naming`): the number stands only when its element names the target as well as any other.
Typing goes into the field carrying the target's text; a target no element shows is rejected rather than guessed.
"""

from __future__ import annotations

import json
import re
from typing import Any, Collection, Sequence

from omnirt.agents.actions import MAX_TEXT, Click, Done, Hotkey, InvalidAction, parse_action
from omnirt.agents.elements import Element, fold, norm
from omnirt.agents.fields import focus_point

LLM_KEYS = ("enter", "tab", "escape", "backspace", "space", "up", "down")
# Kinds the model is most likely to need survive the element cap: controls (any kind not listed) before links
# before text lines before single words.
KIND_PRIORITY = {"link": 1, "line": 2, "word": 3}
FIELD_KINDS = ("input", "textarea")
MAX_LABEL = 40
# Words a model uses for an element's kind ("the textbox", "the expander"): a target that only names the kind of the
# element it points at names that element, whatever its label.
KIND_WORDS = {"input": {"input", "textbox", "text", "box", "field", "textfield"},
              "textarea": {"textarea", "text", "area", "box", "field"}, "button": {"button"},
              "checkbox": {"checkbox", "check", "box"}, "radio": {"radio", "button", "option"},
              "expander": {"expander", "folder", "toggle"}, "link": {"link"}, "icon": {"icon"},
              "dropdown": {"dropdown", "drop", "down", "list", "select"}}
_ORD = {1: "1st", 2: "2nd", 3: "3rd"}
LIKE_MEANING = ("checkbox", "radio")  # options whose label is a choice among words, not a command


def ordinal_names(shown: dict[int, Element]) -> dict[int, str]:
    """A name for each element without text, by its place among the shown elements of its kind in reading order
    ("3rd input"): instructions count fields and buttons ("the 2nd textbox"), and a model copies a name it sees far
    better than it counts lines. Elements with text keep it."""
    def key(n: int) -> tuple[int, int]:
        cx, cy = shown[n].center
        return cy // 12, cx

    out: dict[int, str] = {}
    seen: dict[str, int] = {}
    for n in sorted(shown, key=key):
        kind = shown[n].kind
        seen[kind] = seen.get(kind, 0) + 1
        if not shown[n].label.strip() and kind not in ("word", "line"):
            k = seen[kind]
            out[n] = f"{_ORD.get(k, f'{k}th')} {kind}"
    return out


def names_kind(target: str, el: Element) -> bool:
    """Whether `target` says only what kind of thing `el` is ("textbox" for an input, "expander")."""
    words = set(norm(target).split())
    return bool(words) and words <= KIND_WORDS.get(el.kind, {el.kind}) | {el.kind, "the", "a"}


class NotShown(InvalidAction):
    """The answer names a target that no element on screen shows (it may be out of view: the policy scrolls)."""


def mark_numbers(elements: Sequence[Element]) -> dict[int, Element]:
    """Mark number -> element: the digits of ids like 'e12' (what a set-of-marks image shows), else the position."""
    nums = [re.fullmatch(r"[A-Za-z_]*(\d+)", e.id) for e in elements]
    if all(nums) and len({int(m.group(1)) for m in nums if m}) == len(elements):
        return {int(m.group(1)): e for m, e in zip(nums, elements) if m}
    return dict(enumerate(elements))


def clip(text: str) -> str:
    return text if len(text) <= MAX_LABEL else text[:MAX_LABEL - 3] + "..."



def extract_json(text: str) -> Any:
    """The first JSON object in a model's answer (servers without constrained decoding add prose or fences)."""
    text = text.strip()
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    start = text.find("{")
    if start < 0:
        raise InvalidAction(f"no JSON object in the answer: {text[:80]!r}")
    try:
        return json.JSONDecoder().raw_decode(text[start:])[0]
    except json.JSONDecodeError as e:
        raise InvalidAction(f"not valid JSON: {e.msg} at position {e.pos}") from None


def naming(target: str, label: str) -> int:
    """How well an element's text is the text the model named: 3 the same, 2 a close spelling (OCR confuses l/I,
    0/O), 1 one within the other ("Submit" for "Submit button"; a longer label only by one word), 0 not at all."""
    from rapidfuzz import fuzz

    t, lab = norm(target), norm(label)
    if not t or not lab:
        return 0
    if t == lab:
        return 3
    if fuzz.ratio(t, lab) >= 80:
        return 2
    tw, lw = t.split(), lab.split()
    return int(set(lw) <= set(tw) or (set(tw) <= set(lw) and len(lw) <= len(tw) + 1))


def _reconcile(ident: int, target: str, action: str, shown: dict[int, Element],
               elements: Sequence[Element] = (), banned: Collection[tuple[str, int]] = ()) -> tuple[int, Element]:
    """The element the answer means. A small model often writes the right target text but copies the wrong number,
    so its own words decide: the id stands when its element names the target as well as any other (or shows
    nothing to compare); else the element that names it best (controls first), or the words of one line that spell
    it (grounding's span); typing goes into the field carrying that text. An id whose element shows other text
    while nothing on screen shows the target is rejected (InvalidAction) rather than guessed. `banned` (action, id)
    pairs are never chosen for the model (it was just told not to repeat them)."""
    el = shown[ident]
    # Place names as the model saw them: counted among all the marks shown, banned ones too ("3rd radio" stays the
    # third radio; counted without a banned one, the fourth took its name)
    names = ordinal_names(shown)
    done_here = [e for n, e in shown.items() if (action, n) in banned
                 and max(naming(target, e.label), naming(target, names.get(n, ""))) == 3]
    # The grammar left this one element to click: the words are the model's wish for what it may not do again
    # ("click 'Mayotte' dropdown", target 'Dropdown', id of Submit, on DEV); the number is its only choice.
    only = [n for n in shown if (action, n) not in banned] == [ident]
    shown = {n: e for n, e in shown.items() if (action, n) not in banned or n == ident}
    if action == "type":
        return _field_named(ident, target, shown)
    if not target.strip():
        return ident, el
    named = _element_named(ident, target, shown, elements, names)
    if named is not None:
        return named
    if done_here or (only and banned):
        # The target names what was already done on this screen and the model's number points elsewhere: with its
        # first choice ruled out (the grammar leaves it out), the number is its next one; the words were copied from
        # the step before. Rejecting it cost a re-ask that answered the same (DEV, 0.5B: every time).
        return ident, el
    if el.kind in LIKE_MEANING:
        # Nothing on screen shows the target, and the number is a box or radio of a list of choices: the model wrote
        # the task's word and chose the option of like meaning ("depraved" for the 'evil' box, on DEV); a re-ask
        # answered the same target with another number.
        return ident, el
    raise NotShown(f"element id={ident} shows '{clip(el.label)}', not '{clip(target)}', and no element "
                   f"shows '{clip(target)}'")


def _field_named(ident: int, target: str, shown: dict[int, Element]) -> tuple[int, Element]:
    """Where to type: the model's own field if its label fits the target (or it has none, or no field fits), else
    the field that names the target best, else a field named like the model's element."""
    el = shown[ident]
    fields = sorted((n for n, e in shown.items() if e.kind in FIELD_KINDS and naming(target, e.label)),
                    key=lambda n: (-naming(target, shown[n].label), n))
    if el.kind in FIELD_KINDS and (not el.label or naming(target, el.label) or not fields):
        return ident, el
    if fields:
        return fields[0], shown[fields[0]]
    near = [n for n, e in shown.items() if e.kind in FIELD_KINDS and el.label and naming(el.label, e.label)]
    return (near[0], shown[near[0]]) if near else (ident, el)


def _element_named(ident: int, target: str, shown: dict[int, Element], elements: Sequence[Element],
                   stand_in: dict[int, str] | None = None) -> tuple[int, Element] | None:
    """What to click: the model's id if its element names the target as well as any other; else the words of one
    line that spell a several-word target; else the element naming it best. None: no element names it.
    `stand_in`: the place names the model was shown (default: counted among `shown`)."""
    el = shown[ident]
    stand_in = ordinal_names(shown) if stand_in is None else stand_in
    score = {n: max(naming(target, e.label), naming(target, stand_in.get(n, ""))) for n, e in shown.items()}
    best = max(score.values())
    if score[ident] >= best and (score[ident] or not el.label or names_kind(target, el)):
        return ident, el
    if best < 3 and len(norm(target).split()) > 1:
        from omnirt.agents.grounding import match

        hit = match(target, elements or list(shown.values()), min_ratio=101)  # exact or a span, no fuzzy
        if hit is not None and hit.kind == "span":
            num = next((n for n, e in mark_numbers(elements).items() if e.id == hit.id), ident) if elements \
                else ident
            return num, hit
    if best:
        # ties: a control before text, then the one numbered nearest the model's own id (noisy, not random)
        n = min((n for n in shown if score[n] == best), key=lambda n: (KIND_PRIORITY.get(shown[n].kind, 0) > 0,
                                                                        abs(n - ident), n))
        return n, shown[n]
    return None


def to_actions(answer: str | dict, shown: dict[int, Element], elements: Sequence[Element] = (),
               banned: Collection[tuple[str, int]] = ()) -> tuple[list[Any], str, dict[str, Any]]:
    """An LLM answer -> (typed actions to run in order, a note for the history, the answer as understood);
    InvalidAction(reason) when it does not fit: unknown action, an id not on screen, missing or untypeable text,
    unexpected fields. "step" and "target" are optional (servers without constrained decoding may drop them).
    `elements`: everything grounded (shown or not), where the words of a multi-word target are looked for."""
    data = extract_json(answer) if isinstance(answer, str) else dict(answer)
    if not isinstance(data, dict):
        raise InvalidAction(f"the answer must be a JSON object, got {type(data).__name__}")
    name = data.get("action")
    fields = {"click": {"id"}, "type": {"id", "text"}, "key": {"key"}, "done": set()}
    if name not in fields:
        raise InvalidAction(f"unknown action {name!r}; use one of {', '.join(fields)}")
    extra = set(data) - fields[name] - {"action", "step", "target"}
    if extra:
        raise InvalidAction(f"{name}: unexpected field(s) {', '.join(sorted(map(str, extra)))}")
    if name == "done":
        return [Done(success=True, summary="the model says the task is complete")], "done", data
    if name == "key":
        key = data.get("key")
        if key not in LLM_KEYS:
            raise InvalidAction(f"key: {key!r} is not one of {', '.join(LLM_KEYS)}")
        return [Hotkey(keys=[key])], f"pressed {key}", data
    ident = data.get("id")
    if isinstance(ident, str) and ident.strip().lstrip("e").isdigit():
        ident = int(ident.strip().lstrip("e"))
    if not isinstance(ident, int) or isinstance(ident, bool):
        raise InvalidAction(f"{name}: id must be an element number, got {ident!r}")
    if ident not in shown:
        raise InvalidAction(f"{name}: there is no element with id={ident} on screen")
    text = data.get("text")
    if name == "type" and (not isinstance(text, str) or not text):
        raise InvalidAction("type: missing 'text' (the text to type)")
    target = data.get("target")
    el = shown[ident]
    if isinstance(target, str):
        ident, el = _reconcile(ident, target, name, shown, elements, banned)
    data = {**data, "id": ident}
    # Typing starts at a segmented date/time field's first segment (its centre is the day: "10/20/2017" typed
    # there gave "mm/dd/202017" on DEV), as the instruction policy does.
    x, y = focus_point(el.box, el.value or el.label) if name == "type" else el.center
    click = Click(x=x, y=y)
    what = f"'{clip(el.label or ordinal_names(shown).get(ident, ''))}' {el.kind}"  # as the model saw it named
    if name == "click":
        return [click], f"clicked {what}", data
    if len(text) > MAX_TEXT:
        raise InvalidAction(f"type: text longer than {MAX_TEXT} characters")
    typed = parse_action({"action": "type", "text": text})  # InvalidAction: a character no key types
    return [click, typed], f"typed {json.dumps(text)} into {what}", data


def refused(text: str, shown: dict[int, Element]) -> set[tuple[str, Any]]:
    """The (action, id) of a rejected answer, left out of the re-ask's schema: asked again with the reason, the 0.5B
    model answered the same in nearly every case on DEV, so the grammar now makes it choose something else."""
    try:
        data = extract_json(text)
    except InvalidAction:
        return set()
    ident = data.get("id") if isinstance(data, dict) else None
    if isinstance(ident, int) and not isinstance(ident, bool) and ident in shown:
        return {(str(data.get("action")), ident)}
    if isinstance(data, dict) and data.get("action") == "key" and data.get("key") in LLM_KEYS:
        return {("key", data["key"])}  # llm_schema leaves the key out of the re-ask as it does an id
    return set()


def names_held(text: str, shown: dict[int, Element], held: dict[int, str]) -> str:
    """The reason a held-back element is held when the answer's target is its text ('' otherwise)."""
    try:
        target = fold(str(extract_json(text).get("target", "")))
    except (InvalidAction, AttributeError):
        return ""
    return next((why for n, why in held.items() if target and fold(shown[n].label) == target), "")
