"""Several options chosen from one list box ("Select Brazil, Mauritania from the scroll list"): each picked in turn,
the later ones with ctrl held (a plain click would replace the selection), the list scrolled to look for one out of
view (down, then once back to its top); and the click with a key held, through the executor. Elements are given
here (no OCR)."""

from __future__ import annotations

from typing import Any

from omnirt.agents.actions import Click, Done, Scroll
from omnirt.agents.elements import Element
from omnirt.agents.executor import Executor, PyAutoGUIBackend
from omnirt.agents.plan import parse_plan
from omnirt.agents.policies import InstructionPolicy

INSTR = "Select Brazil, Mauritania from the scroll list and click Submit."


def test_each_option_is_a_pick_the_later_ones_added_with_ctrl():
    steps, dropped = parse_plan(INSTR)
    assert dropped == [] and [(s.op, s.target, s.text) for s in steps] == [
        ("click", "", ""), ("pick", "Brazil", ""), ("pick", "Mauritania", "ctrl"), ("click", "Submit", "")]


def box(*names: str) -> list[Element]:
    return [Element(f"o{i}", (10, 110 + 20 * i, 80, 125 + 20 * i), "word", n) for i, n in enumerate(names)] + \
        [Element("s", (10, 300, 200, 350), "button", "Submit")]


def test_the_second_option_is_clicked_with_ctrl_held():
    pol, hist = InstructionPolicy(), []
    ui = box("Mayotte", "Brazil", "Mauritania")
    for _ in range(4):
        hist.append(pol.decide(INSTR, ui, hist))
        if isinstance(hist[-1], Done):
            break
    assert hist[:3] == [Click(element="o1"), Click(element="o2", hold=["ctrl"]), Click(element="s")]


def test_an_option_out_of_view_is_scrolled_to_over_the_list_not_clicked_open():
    pol, hist = InstructionPolicy(), []
    hist.append(pol.decide(INSTR, box("Mayotte", "Somalia", "Angola"), hist))
    assert isinstance(hist[0], Scroll) and hist[0].amount == -1 and 10 <= hist[0].x <= 80 and hist[0].y < 300
    later = box("Angola", "Brazil", "Georgia")
    assert pol.decide(INSTR, later, hist) == Click(element="o1")


class _Keys:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def keyDown(self, k: str) -> None:  # noqa: N802 (pyautogui's names)
        self.calls.append(("down", k))

    def keyUp(self, k: str) -> None:  # noqa: N802
        self.calls.append(("up", k))

    def click(self, x: int, y: int, **kw: Any) -> None:
        self.calls.append(("click", x, y))


class _Backend(PyAutoGUIBackend):
    fake = _Keys()
    pg = property(lambda self: self.fake)  # type: ignore[assignment]


def test_the_executor_holds_the_keys_around_the_click_only():
    b = _Backend()
    Executor(policy=None, backend=b)._run(Click(x=5, y=6, hold=["ctrl"]))  # type: ignore[arg-type]
    Executor(policy=None, backend=b)._run(Click(x=7, y=8))  # type: ignore[arg-type]
    assert b.fake.calls == [("down", "ctrl"), ("click", 5, 6), ("up", "ctrl"), ("click", 7, 8)]
