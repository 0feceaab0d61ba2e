"""A drag along a path (agents/actions.py Drag.through): the schema keeps the points, the executor maps them to
pointer coordinates, the safety layer checks each, and the backend moves the pointer through them in order
between its press and release (a fake pyautogui records the calls)."""

from __future__ import annotations

import pytest

from omnirt.agents.actions import Drag, InvalidAction, parse_action
from omnirt.agents.executor import PyAutoGUIBackend
from omnirt.agents.safety import SafetyPolicy


class FakePG:
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def moveTo(self, x, y):  # noqa: N802  (pyautogui's name)
        self.calls.append(("move", x, y))

    def mouseDown(self, button):  # noqa: N802
        self.calls.append(("down",))

    def mouseUp(self, button):  # noqa: N802
        self.calls.append(("up",))


def test_the_points_a_drag_passes_are_kept_and_bounded():
    d = parse_action({"action": "drag", "x": 1, "y": 2, "to_x": 3, "to_y": 4, "through": [[5, 6], [7, 8]]})
    assert d.through == [(5, 6), (7, 8)]
    with pytest.raises(InvalidAction):
        parse_action({"action": "drag", "x": 1, "y": 2, "to_x": 3, "to_y": 4, "through": [[-5, 6]]})


def test_the_backend_moves_through_the_points_between_press_and_release(monkeypatch):
    pg = [FakePG()]
    monkeypatch.setattr(PyAutoGUIBackend, "pg", property(lambda self: pg[-1]))
    b = PyAutoGUIBackend()
    b.drag(10, 10, 40, 10, [(20, 15), (30, 15)])
    assert pg[-1].calls == [("move", 10, 10), ("down",), ("move", 20, 15), ("move", 30, 15), ("move", 40, 10),
                            ("up",)]
    pg.append(FakePG())
    b.drag(0, 0, 80, 0)  # straight: drag_steps moves
    assert len([c for c in pg[-1].calls if c[0] == "move"]) == 1 + b.drag_steps


def test_every_point_of_the_path_must_lie_in_the_allowed_region():
    safety = SafetyPolicy(allowed_region=(0, 0, 100, 100))
    assert safety.judge(Drag(x=10, y=10, to_x=20, to_y=20, through=[(50, 50)])).allowed
    assert not safety.judge(Drag(x=10, y=10, to_x=20, to_y=20, through=[(150, 50)])).allowed
