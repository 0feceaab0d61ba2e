"""The order of a task's parts for the LLM policy: a click on what only the task's last part names ("... and click
Submit") is refused while its earlier part is not done, and where the earlier part names a control not used yet, that
control is the one to click instead (`UseFirst`).

Why a module of its own: agents/llm_policy.py asks the model and reads its answers; this is the one judgement about
the task's text it makes without the model, and it grew with each DEV failure it answered (the 0.5B model clicked
Submit first, pressed login with the password not typed, and, told to tick the boxes the task names first, wrote
"Submit" again on every re-ask; figures in docs/agent-desk.md).
"""

from __future__ import annotations

import re
from typing import Any, Collection, Sequence

from omnirt.agents.actions import InvalidAction
from omnirt.agents.elements import Element, fold, norm
from omnirt.agents.llm_answers import FIELD_KINDS as FIELDS, KIND_PRIORITY, clip, extract_json, ordinal_names

# The last connective of a task: what follows it is the task's last part ("..., then click OK").
LAST_PART = re.compile(r"(,? and then |,? then |,? and |, )(?!.*(?:,? and then |,? then |,? and |, ))", re.I)
QUOTED = re.compile(r'"([^"]{1,100})"')


# The nouns a task uses for a control of one kind ("from the dropdown", "into the textbox"), as `norm` writes them.
KIND_NOUNS = {"dropdown": ("dropdown", "drop down", "list"), "input": ("textbox", "text box", "text field", "field"),
              "textarea": ("textarea", "text area"), "checkbox": ("checkbox", "check box")}


# What to do instead of a step already done: the task's sentence often leaves the form's own submit out ("Check the
# 3rd radio and enter 7 into the 2nd textbox"); with both parts done, the 0.5B model repeated them until refused
# twice and the episode ended unsubmitted (DEV).
NEXT_PART = "do the next part of the task, or submit the form if every part is done"


class NothingDone(InvalidAction):
    """A click on the task's last part before any step was taken. Not held back up front: "I changed my mind,
    cancel it" has no first part to do, and with Cancel out of the grammar the model chose OK."""


class TypeFirst(InvalidAction):
    """A click on the task's last part while a text the task quotes (`text`) was never typed."""

    def __init__(self, text: str, reason: str) -> None:
        super().__init__(reason)
        self.text = text


class UseFirst(InvalidAction):
    """A click on the task's last part while the earlier part names a control (`ident`) no step used yet: that
    control is what to click now. Told so and asked again, the 0.5B model wrote the last part's label again on every
    re-ask until the episode was given up."""

    def __init__(self, ident: int, reason: str) -> None:
        super().__init__(reason)
        self.ident = ident


def in_order(data: dict[str, Any], shown: dict[int, Element], task: str, notes: Sequence[str]) -> None:
    """InvalidAction for a click on what the task's last part names while its earlier part is not done: a control
    the earlier part names was not used yet (UseFirst), or nothing was done yet this episode (no step taken, by either
    policy), or a quoted text of the earlier part was never typed; the label's words are in the last part, not
    before it. `notes`: the steps taken this episode, as the model's history says them."""
    done = [n for n in notes if not n.startswith("(no action")]
    parts = LAST_PART.split(task)
    if data.get("action") != "click" or data.get("id") not in shown or len(parts) < 3:
        return
    if len(re.split(r"[.;:!?]", "".join(parts[:-2]))[-1].split()) <= 1:
        return  # "Find and click X", "Navigate the tree. Find and click X": two verbs of one part, not two parts
    el = shown[data["id"]]
    head, tail = norm("".join(parts[:-2])), norm(parts[-1])
    label = norm(el.label)
    if not (label and f" {label} " in f" {tail} " and f" {label} " not in f" {head} "):
        return
    if not done:
        named_first(data["id"], head, shown, done)
        raise NothingDone(f"first do the first part of the task ({clip(''.join(parts[:-2]).strip())}); "
                          f"'{clip(el.label)}' comes last")
    typed = " ".join(done).lower()
    labels = {fold(e.label) for e in shown.values()}  # a quoted label ('press "Search"') is clicked, not typed
    times = copies(head, shown)
    missing = [q for q in QUOTED.findall("".join(parts[:-2])) if q.strip() and fold(q) not in labels
               and typed.count(f'"{q.lower()}"') + typed.count(f"'{q.lower()}'") < times]
    if missing:
        raise TypeFirst(missing[0], f"first type \"{clip(missing[0])}\" (the task gives it); "
                                    f"'{clip(el.label)}' comes last")
    named_first(data["id"], head, shown, done)


def copies(head: str, shown: dict[int, Element]) -> int:
    """How many times the first part's quoted text is to be typed: "into both fields" twice, "into all / each /
    every field" once per field shown, else once (the 0.5B model typed a password into one of two fields,
    then pressed submit, on DEV)."""
    words = set(head.split())
    if "both" in words:
        return 2
    if words & {"all", "each", "every"}:
        return max(1, sum(1 for e in shown.values() if e.kind in ("input", "textarea")))
    return 1


def named_first(ident: int, head: str, shown: dict[int, Element], done: Sequence[str]) -> None:
    """UseFirst when `head` names a shown control (by its label, or by the place name the model sees, "3rd radio")
    other than `ident` that no step in `done` used yet: the one named first in `head`."""
    used = f" {fold(' '.join(done))} "
    stand_in = ordinal_names(shown)  # "the 3rd radio" names the text-less radio shown as '3rd radio'
    where = f" {fold(head)} "
    named = [(where.find(f" {fold(name)} "), n, name, e) for n, e in shown.items()
             for name in [e.label or stand_in.get(n, "")]
             if n != ident and e.kind not in ("word", "line") and len(fold(name)) > 1
             and f" {fold(name)} " in where and f" {fold(name)} " not in used]
    said = " ".join(done)
    for kind, nouns in KIND_NOUNS.items():
        # "Choose 6 ft from the dropdown": the one control of the kind the first part says, if no step used it
        ofkind = [n for n, e in shown.items() if e.kind == kind]
        at = [where.find(f" {w} ") for w in nouns if f" {w} " in where]
        if len(ofkind) == 1 and at and ofkind[0] != ident:
            n = ofkind[0]
            name = shown[n].label or stand_in.get(n, "")
            if f"'{clip(name)}' {kind}" not in said:
                named.append((min(at), n, name, shown[n]))
    if named:
        _, n, name, e = min(named, key=lambda t: (t[0], t[1]))
        raise UseFirst(n, f"the task names '{clip(name)}' {e.kind} before that and it was not used yet; do that "
                          f"first")


def named_target(data: Any, shown: dict[int, Element], task: str, notes: Sequence[str],
                 held: Collection[int] = ()) -> Any:
    """The answer, its click moved to what the task names when the model clicked something the task does not name
    at all, or something a step already used, while an element the task names is on screen and unused: a control by
    its label or place name ("the 3rd radio"), or any element showing a text the task quotes (not one typed). The
    0.5B model copied its previous step: in a file tree it clicked 'Tora' again with the task's "Emile" shown as
    new; it clicked the field it had just typed into, twice, with "the 3rd radio" never checked (DEV). The one
    named first in the task is taken; none held back or out of order, no field (a click there types nothing)."""
    answer = data
    if isinstance(data, str):
        try:
            data = extract_json(data)
        except InvalidAction:
            return answer
    if not isinstance(data, dict) or data.get("action") != "click":
        return answer
    said, used = f" {fold(task)} ", " ".join(notes)
    stand_in = ordinal_names(shown)

    def name(n: int) -> str:
        return shown[n].label or stand_in.get(n, "")

    def named(text: str) -> bool:
        return len(fold(text)) > 1 and f" {fold(text)} " in said

    def spent(n: int) -> bool:
        return f"'{clip(name(n))}' {shown[n].kind}" in used

    ident = data.get("id", -1)
    if ident not in shown or not spent(ident) and (named(name(ident)) or named(str(data.get("target", "")))):
        return answer  # a number not on screen is refused as it is
    typed = used.lower()
    quoted = {fold(q) for q in QUOTED.findall(task) if f'"{q.lower()}"' not in typed}
    hits = [n for n, e in shown.items() if n != ident and n not in held and e.kind not in FIELDS and not spent(n)
            and (fold(e.label) in quoted or (e.kind not in ("word", "line") and named(name(n))))]
    hits = [n for n in hits if allowed(n, shown, task, notes)]
    if not hits:
        return answer
    n = min(hits, key=lambda n: (said.find(f" {fold(name(n))} "), KIND_PRIORITY.get(shown[n].kind, 0), n))
    return {**data, "target": name(n), "id": n}


def allowed(n: int, shown: dict[int, Element], task: str, notes: Sequence[str]) -> bool:
    """Whether a click on `n` keeps the task's order (`in_order` has nothing against it)."""
    try:
        in_order({"action": "click", "id": n}, shown, task, notes)
    except InvalidAction:
        return False
    return True


def selected_already(data: dict[str, Any], shown: dict[int, Element]) -> None:
    """InvalidAction for a click on a radio button that shows it is selected, by its number or by the name the
    answer gives ("3rd radio" with another number): such a click changes nothing (a radio is not cleared by
    clicking it), and the re-ask leaves it out. The 0.5B model clicked a selected radio again and again until the
    step limit, and once refused, wrote the same name with the next radio's number (DEV)."""
    if data.get("action") != "click" or data.get("id") not in shown:
        return
    names = ordinal_names(shown)
    target = norm(str(data.get("target", "")))
    for n, el in shown.items():
        name = el.label or names.get(n, "")
        if el.kind == "radio" and el.value == "checked" and (n == data["id"] or (target and norm(name) == target)):
            raise InvalidAction(f"'{clip(name)}' radio is selected already; {NEXT_PART}")
