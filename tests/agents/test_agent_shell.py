"""Files handled at a command line (agents/shell.py): the sentence read into a shell step, the console found as the
largest dark panel, the listing read from the rows after the `ls` row, the file that fits picked, and the policy's
click, `ls`, Enter, `rm NAME`, Enter, none of them a plan step of its own. Screens are drawn with numpy; the
elements are what OCR would give."""

from __future__ import annotations

import numpy as np
import pytest

from omnirt.agents import shell
from omnirt.agents.actions import Click, Done, Hotkey, Type, Wait
from omnirt.agents.elements import Element
from omnirt.agents.policies import InstructionPolicy
from omnirt.agents.shell import listing, pick, rows, step

BOX = (10, 60, 310, 360)


def frame() -> np.ndarray:
    rgb = np.full((420, 320, 3), 255, np.uint8)
    rgb[BOX[1]:BOX[3], BOX[0]:BOX[2]] = 0
    rgb[BOX[1]:BOX[1] + 20, BOX[0]:BOX[2]] = 201  # the grey title bar
    return rgb


def line(i: int, y: int, text: str, x: int = 16) -> Element:
    return Element(f"w{i}", (x, y, x + 8 * len(text), y + 14), "line", text)


BEFORE = [line(0, 90, "Welcome! Type help for a list of available commands."), line(1, 110, "Last login: Mon Dec 07"),
          line(2, 130, "user$")]
AFTER = BEFORE[:2] + [line(2, 130, "user$ ls"), line(3, 150, "bash.sh code flowers.gif"), line(4, 170, "pizza.tar.gz"),
                      line(5, 190, "user$")]


@pytest.mark.parametrize("clause,want", [
    ("delete a file ending with the extension .gif", ("shell", "rm", "ext:gif")),
    ("delete a file ending with the extension . gif", ("shell", "rm", "ext:gif")),
    ("remove a file that has no file extension", ("shell", "rm", "ext:")),
    ("delete the file named notes.txt", ("shell", "rm", "name:notes.txt")),
    ("remove a file with a .py extension", ("shell", "rm", "ext:py")),
    ("delete a file ending with the extension .tar.gz", ("shell", "rm", "ext:tar.gz")),
    ("run the command help in the terminal", ("shell", "help", "")),
])
def test_a_file_command_is_a_shell_step(clause, want):
    assert step(clause) == want


@pytest.mark.parametrize("clause", ["delete the row for Bob Martin", "remove the item", "click the file menu",
                                    "Delete the email from Ann", 'enter the command "ls" into the text box'])
def test_other_clauses_are_no_shell_step(clause):
    assert step(clause) is None


def test_the_console_is_the_largest_dark_panel():
    assert shell.panel(frame(), []) == (BOX[0], BOX[1] + 20, BOX[2], BOX[3])


def test_the_listing_is_the_rows_after_the_ls_row_up_to_the_next_prompt():
    lines = rows(AFTER, BOX)
    assert lines[2] == "user$ ls" and listing(lines) == ["bash.sh", "code", "flowers.gif", "pizza.tar.gz"]
    assert listing(rows(BEFORE, BOX)) is None


@pytest.mark.parametrize("want,name", [("ext:gif", "flowers.gif"), ("ext:", "code"), ("ext:gz", "pizza.tar.gz"),
                                       ("ext:tar.gz", "pizza.tar.gz"), ("name:bash.sh", "bash.sh"), ("ext:png", None)])
def test_the_file_that_fits(want, name):
    assert pick(["bash.sh", "code", "flowers,gif", "pizza.tar.gz"], want) == name


def test_the_policy_lists_the_files_then_removes_the_one_that_fits():
    task = "Use the terminal below to delete a file ending with the extension .gif"
    pol, history = InstructionPolicy(), []

    def act(elements):
        pol.see(frame())
        a = pol.decide(task, elements, history)
        history.append(a)
        if not isinstance(a, Wait):
            pol.observe(a, True)
        return a

    x, y = (BOX[0] + BOX[2]) // 2, (BOX[1] + 20 + BOX[3]) // 2
    assert act(BEFORE) == Click(x=x, y=y)
    assert act(BEFORE) == Type(text="ls")
    assert act(BEFORE) == Hotkey(keys=["enter"])
    assert act(BEFORE) == Wait(seconds=0.2)  # the listing has not shown yet
    assert act(AFTER) == Type(text="rm flowers.gif")
    assert act(AFTER) == Hotkey(keys=["enter"])
    done = act(AFTER)
    assert isinstance(done, Done) and done.success


def test_no_file_that_fits_is_a_failed_step():
    pol, history = InstructionPolicy(), []
    task = "delete a file ending with the extension .png"
    for _ in range(3):
        history.append(pol.decide(task, AFTER, history) if pol.see(frame()) is None else None)
    acts = [pol.decide(task, AFTER, history)]
    assert acts[0] == Wait(seconds=0.2)
    for _ in range(shell.LISTING_WAITS):
        history.append(acts[-1])
        acts.append(pol.decide(task, AFTER, history))
    assert isinstance(acts[-1], Done) and not acts[-1].success


def test_a_prompt_ocr_misspelled_still_bounds_the_listing():
    lines = ["Last login: Mon Dec 07", "users ls", "bash.sh code", "users I"]
    assert listing(lines) == ["bash.sh", "code"]


def test_a_line_read_whole_stands_for_its_words_and_ls_read_as_is():
    els = [line(0, 110, "Last login: Mon Dec 07 2026"), line(1, 130, "user$ Is"), line(2, 130, "user$"),
           Element("w3", (70, 132, 86, 144), "word", "Is"),
           Element("k", (16, 150, 300, 184), "link", "bash.zip mountains mozilla.zip nintendo.png"),
           line(4, 168, "script.py", x=150), line(5, 194, "user$")]
    els[2] = Element("w2", (16, 132, 50, 144), "word", "user$")
    assert listing(rows(els, BOX)) == ["bash.zip", "mountains", "mozilla.zip", "nintendo.png", "script.py"]


def test_what_a_reading_step_does_aside_is_its_clicks_keys_drags_scrolls_and_a_consoles_typing():
    """readings.aside is the test agents/policies.py made inline: the same answer for every op and action kind."""
    from types import SimpleNamespace

    from omnirt.agents import readings
    from omnirt.agents.actions import Drag, Scroll

    acts = [Click(x=1, y=1), Hotkey(keys=["enter"]), Drag(x=1, y=1, to_x=5, to_y=5), Scroll(x=1, y=1, amount=-1),
            Type(text="ls"), Wait(seconds=0.2), None]
    for op in (*readings.OPS, "best", "click", "type"):
        for act in acts:
            old = (Click, Hotkey, Drag, Scroll) + ((Type,) if op in shell.OPS else ())
            want = isinstance(act, old) and op in readings.ASIDE_OPS
            assert readings.aside(SimpleNamespace(op=op), act) == want, (op, act)
    assert readings.aside(SimpleNamespace(op="shell"), Type(text="rm a.py"))
    assert not readings.aside(SimpleNamespace(op="best"), Click(x=1, y=1))
