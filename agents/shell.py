"""Files handled at a command line: "Use the terminal below to delete a file ending with the extension .gif",
"remove a file that has no file extension", "delete the file named notes.txt", "run the command "help" in the
terminal". A terminal takes no clicks on its text: a person clicks into it, lists what is there, picks the file the
sentence describes and types the command that removes it.

- The parser's step is `shell` (target: the command, "rm" for a deletion or the command line itself; text: what the
  file must be: "ext:gif", "ext:" for no extension, "name:notes.txt"). The tool named ("use the terminal to ...")
  is dropped by the parser before this module reads the clause.
- The terminal is the largest dark panel in sight (a console draws light text on a dark ground), else the line
  showing a prompt ("user$", "C:\\>").
- The step clicks into it, types `ls` and Enter, then reads the rows the listing printed: those after the last row
  whose command is `ls` (read "Is" as OCR reads it in a console's font), up to the next prompt. Each word there is
  a file name (a line OCR read whole stands for its words); the first that fits is removed with `rm NAME` and
  Enter.
- Each click, typed text and key press is no plan step of its own (the step is); SKIP once the command is sent.

Command-line conventions only (a prompt, `ls`, `rm`), nothing about any page.
"""

from __future__ import annotations

import re
from typing import Any, Sequence

import numpy as np

from omnirt.agents.elements import Element
from omnirt.agents.instruction_text import lines_of

OPS = ("shell",)
DARK = 60  # the largest channel of a console's ground is below this
MIN_PANEL = 80  # pixels: a console is at least this wide and high
LISTING_WAITS = 3  # looks at the screen for the listing after `ls` before giving up
EXTENSION = r"\.?\s?([a-z0-9]+(?:\.[a-z0-9]+)?)"  # OCR may set the dot apart: ". gif"
DELETE_RE = re.compile(
    r"^(?:delete|remove|erase|rm|get\s+rid\s+of)\s+(?:a|an|one|the|any)\s+(?:single\s+)?file\s+(?:"
    rf"(?:that\s+(?:ends?|is\s+ending)|ending)\s+(?:with|in)\s+(?:the\s+)?(?:(?:file\s+)?extension\s+)?{EXTENSION}|"
    rf"(?:with|having|that\s+has|of\s+type)\s+(?:the\s+|an?\s+)?(?:(?:file\s+)?extension\s+{EXTENSION}|"
    r"\.([a-z0-9.]+)\s+(?:file\s+)?extension)|"
    r"(?P<none>(?:that\s+has|with|having)\s+no\s+(?:file\s+)?extension|without\s+(?:an?\s+)?(?:file\s+)?extension)|"
    r"(?:named|called)\s+(?P<name>\S+))$", re.I)
RUN_RE = re.compile(r"^(?:run|execute|type|enter)\s+(?:the\s+)?command\s+(?P<cmd>\S.*?)"
                    r"(?:\s+(?:in|into|at|on)\s+(?:the\s+)?(?:terminal|console|shell|command\s+line|prompt).*)?$", re.I)
NAME_RE = re.compile(r"^[\w][\w.\-]*$")


def step(clause: str) -> tuple[str, str, str] | None:
    """('shell', 'rm', 'ext:gif') for 'delete a file ending with the extension .gif'; ('shell', 'help', '') for
    'run the command help'; None for other clauses."""
    text = " ".join(clause.strip(" .!?").split())
    m = DELETE_RE.match(text)
    if m:
        if m.group("none"):
            return "shell", "rm", "ext:"
        if m.group("name"):
            return "shell", "rm", f"name:{m.group('name').strip(chr(39))}"
        ext = next(g for g in m.groups() if g)
        return "shell", "rm", f"ext:{ext.lower().strip('.')}"
    m = RUN_RE.match(text)
    if m is None or re.search(r"\s(?:into|in|on)\s", m.group("cmd")):  # typed into some other field: not a console's
        return None
    return "shell", m.group("cmd").strip("'\" "), ""


def panel(rgb: Any, elements: Sequence[Element]) -> tuple[int, int, int, int] | None:
    """The console's box: the largest dark component at least MIN_PANEL wide and high, else the row of the
    element that shows a prompt."""
    if rgb is not None:
        from scipy import ndimage

        dark = np.asarray(rgb)[:, :, :3].max(axis=2) < DARK
        labels, n = ndimage.label(dark)
        best = None
        for sl in ndimage.find_objects(labels):
            if sl is None:
                continue
            h, w = sl[0].stop - sl[0].start, sl[1].stop - sl[1].start
            if h >= MIN_PANEL and w >= MIN_PANEL and (best is None or h * w > best[0]):
                best = (h * w, (sl[1].start, sl[0].start, sl[1].stop, sl[0].stop))
        if best is not None:
            return best[1]
    prompts = [e for e in elements if e.label and re.search(r"\w[$>#]$|\w[$>#]\s", e.label)]
    return prompts[-1].box if prompts else None


def rows(elements: Sequence[Element], box: tuple[int, int, int, int]) -> list[str]:
    """The text inside `box`, one string a row, top to bottom: its words grouped into lines as any text's are
    (agents/instruction_text.lines_of), a line OCR read whole standing for the words it holds."""
    inside = [e for e in elements if e.label and box[0] <= e.center[0] < box[2] and box[1] <= e.center[1] < box[3]]
    runs = [e for e in inside if e.kind != "word"]
    inside = runs + [e for e in inside if e.kind == "word" and not any(
        r.box[0] <= e.center[0] <= r.box[2] and r.box[1] <= e.center[1] <= r.box[3] for r in runs)]
    return [" ".join(e.label for e in line) for line in lines_of(inside)]


def spelled(command: str) -> str:
    """A pattern for a command as OCR may read it in a console's font: l as I, 1 or |, o as 0."""
    return "".join({"l": "[lI1|]", "o": "[o0O]"}.get(c, re.escape(c)) for c in command)


def listing(lines: Sequence[str], command: str = "ls") -> list[str] | None:
    """The words printed by the last `command` row: the rows after it up to the next prompt (a row that begins as
    the command's row did, however OCR spelled the prompt, or that shows a prompt sign); None when no row shows the
    command yet."""
    at, prompt = None, ""
    for i, line in enumerate(lines):
        m = re.search(rf"(?:^|(?<=[$>#\s])){spelled(command)}\s*$", line.strip())
        if m:
            at, prompt = i, line.split()[0] if m.start() > 0 else ""
    if at is None:
        return None
    words: list[str] = []
    for line in lines[at + 1:]:
        if prompt and line.strip().startswith(prompt) or re.search(r"\w[$>#](?:\s|$)", line):
            break
        words += line.split()
    return words


def pick(words: Sequence[str], want: str) -> str | None:
    """The first file name of a listing that fits: 'ext:gif' (a name ending in .gif), 'ext:' (a name with no dot),
    'name:x' (that name). A comma OCR read for a dot is read as the dot."""
    names = [w.replace(",", ".").strip(".") for w in words]
    names = [n for n in names if NAME_RE.match(n)]
    kind, _, value = want.partition(":")
    for n in names:
        if kind == "name" and n.lower() == value.lower():
            return n
        if kind == "ext" and value and n.lower().endswith("." + value) and len(n) > len(value) + 1:
            return n
        if kind == "ext" and not value and "." not in n:
            return n
    return None


def decide(step: Any, elements: Sequence[Element], watch: Any, rgb: Any) -> Any:
    """The next action of a shell step: a Click into the console, the typed command and its Enter, the look at
    the listing (a Wait while it is not shown), SKIP (agents/everyday.py's) once the command is sent; None while
    no console is in sight; a failed Done when no listed file fits."""
    from omnirt.agents.actions import Click, Done, Hotkey, Type, Wait
    from omnirt.agents.everyday import SKIP

    state = watch.moves.setdefault("shell", {"phase": "open", "box": None, "looks": 0})
    phase = state["phase"]
    if phase == "open":
        box = panel(rgb, elements)
        if box is None:
            return None
        state.update(box=box, phase="list" if step.target == "rm" else "run")
        return Click(x=(box[0] + box[2]) // 2, y=(box[1] + box[3]) // 2)
    if phase in ("list", "run"):
        state["phase"] = "listed" if phase == "list" else "sent"
        return Type(text="ls" if phase == "list" else step.target)
    if phase in ("listed", "sent", "removing"):
        state["phase"] = {"listed": "read", "sent": "done", "removing": "done"}[phase]
        return Hotkey(keys=["enter"])
    if phase == "read":
        words = listing(rows(elements, state["box"]))
        name = pick(words or [], step.text)
        if name is None:
            state["looks"] += 1
            if state["looks"] <= LISTING_WAITS:
                return Wait(seconds=0.2)
            return Done(success=False, summary=f"no file in the listing fits {step.text!r}: {words}")
        state["phase"] = "removing"
        return Type(text=f"rm {name}")
    return SKIP
