"""Act, safely: scripted actions through the safety layer and the pyautogui executor on a private Xvfb + Chromium."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from omnirt.agents.display import Desk, color_at, near
from screen_helpers import find_color
from omnirt.agents.executor import Executor
from omnirt.agents.safety import SafetyPolicy
from omnirt.agents.screen import expect_change

pytestmark = pytest.mark.needs("Xvfb", "chromium")
PAGES = Path(__file__).parents[1] / "data" / "agent"
RED, BLUE, GREEN, YELLOW = (255, 0, 0), (0, 0, 255), (0, 160, 0), (255, 208, 0)
FULL = (0, 0, 1280, 800)


@pytest.fixture(scope="module")
def desk():
    d = Desk(1280, 800)
    yield d
    d.close()


def settle(desk: Desk, before: np.ndarray, timeout: float = 1.0) -> np.ndarray:
    """The first screenshot that differs from `before`, or the last one after `timeout` (no change)."""
    t0 = time.monotonic()
    while True:
        img = desk.grab()
        if expect_change(before, img) or time.monotonic() - t0 > timeout:
            return img
        time.sleep(0.005)


def wait_until(desk: Desk, pred, timeout: float = 3.0) -> np.ndarray:
    t0 = time.monotonic()
    while True:
        img = desk.grab()
        if pred(img):
            return img
        assert time.monotonic() - t0 < timeout, "screen never reached the expected state"
        time.sleep(0.01)


FORM_SCRIPT = [  # what a policy would emit, in screenshot pixels of the 1280x800 frame
    {"action": "click", "x": 250, "y": 116},          # name field
    {"action": "type", "text": "Ada Lovelace"},
    {"action": "hotkey", "keys": ["tab"]},            # to the email field
    {"action": "type", "text": "ada@example.org"},
    {"action": "click", "x": 110, "y": 230},          # checkbox
    {"action": "click", "x": 160, "y": 300},          # submit
]


def test_scripted_form_through_safety_and_executor(desk: Desk) -> None:
    with desk.page(PAGES / "form.html"):
        status = (640, 400)
        assert near(color_at(desk.grab(), *status), (221, 221, 221))  # grey: not submitted
        ex = Executor(SafetyPolicy(allowed_region=(0, 0, 1280, 800), max_steps=20), desk.backend)
        for step in FORM_SCRIPT:
            frame = desk.screen.capture()
            out = ex.execute(step, frame)
            assert out.status == "executed", (step, out.reason)
            if step["action"] != "hotkey":  # typing and clicks visibly change the page; tab only moves focus
                assert expect_change(frame, settle(desk, frame.rgb)), f"no visible effect of {step}"
        img = wait_until(desk, lambda im: not near(color_at(im, *status), (221, 221, 221)))
        assert near(color_at(img, *status), (0, 192, 0)), f"form rejected: status colour {color_at(img, *status)}"


@pytest.mark.models
def test_form_result_read_back_with_ocr(desk: Desk) -> None:
    from omnirt.models.ocr import OCR

    with desk.page(PAGES / "form.html"):
        ex = Executor(SafetyPolicy(allowed_region=FULL), desk.backend)
        for step in FORM_SCRIPT:
            assert ex.execute(step, desk.screen.capture()).executed
            time.sleep(0.03)
        img = wait_until(desk, lambda im: near(color_at(im, 640, 400), (0, 192, 0)))
        words = [w.text for w in OCR.load().read(img[360:440, :800])]
        assert "Submitted:" in words and "Lovelace" in words and "ada@example.org" in words, words


def test_outside_region_denied_and_not_executed(desk: Desk) -> None:
    with desk.page(PAGES / "dot.html"):
        ex = Executor(SafetyPolicy(allowed_region=(0, 0, 640, 800)), desk.backend)
        before = desk.grab()
        out = ex.execute({"action": "click", "x": 900, "y": 300}, desk.screen.capture())
        assert out.status == "denied" and "outside the allowed region" in out.reason
        assert "exec_ms" not in out.timings
        time.sleep(0.15)
        assert not expect_change(before, desk.grab())  # nothing happened on screen
        out = ex.execute({"action": "click", "x": 300, "y": 300}, desk.screen.capture())
        assert out.executed
        wait_until(desk, lambda im: (h := find_color(im, GREEN, 40, (0, 0, 1270, 800))) is not None
                   and h[:2] == (300.0, 300.0))


def test_pointer_kinds_and_element_ids(desk: Desk) -> None:
    with desk.page(PAGES / "dot.html"):
        ex = Executor(SafetyPolicy(allowed_region=FULL), desk.backend)
        elements = {"target": (400, 250)}  # what grounding found in the frame
        box = (0, 0, 1270, 800)

        def run(action, color, where):
            before = desk.grab()
            out = ex.execute(action, desk.screen.capture(), elements)
            assert out.executed, out.reason
            img = wait_until(desk, lambda im: (h := find_color(im, color, 40, box)) is not None
                             and abs(h[0] - where[0]) <= 0.5 and abs(h[1] - where[1]) <= 0.5)
            assert expect_change(before, img)

        run({"action": "click", "element": "target"}, GREEN, (400, 250))
        run({"action": "right_click", "x": 500, "y": 260}, BLUE, (500, 260))
        run({"action": "double_click", "x": 520, "y": 270}, RED, (520, 270))
        run({"action": "drag", "x": 200, "y": 200, "to_x": 350, "to_y": 220}, RED, (200, 200))
        assert find_color(desk.grab(), GREEN, 40, box)[:2] == (350.0, 220.0)  # released at the drag's end
        run({"action": "scroll", "x": 600, "y": 400, "amount": -2}, YELLOW, (600, 400))
        out = ex.execute({"action": "click", "element": "nope"}, desk.screen.capture(), elements)
        assert out.status == "invalid" and "unknown element id 'nope'" in out.reason


def test_failsafe_corner_aborts_the_next_action(desk: Desk) -> None:
    """pyautogui's FAILSAFE stays on: with the pointer in a screen corner the next action fails, it is not run."""
    with desk.page(PAGES / "dot.html"):
        ex = Executor(SafetyPolicy(allowed_region=FULL), desk.backend)
        pg = desk.backend.pg
        assert pg.PAUSE == 0 and pg.FAILSAFE
        pg.platformModule._moveTo(0, 0)  # what a human slamming the mouse into the corner does
        out = ex.execute({"action": "click", "x": 300, "y": 300})
        assert out.status == "error" and "FailSafeException" in out.reason
        pg.platformModule._moveTo(640, 400)  # raw move, below the fail-safe check
        assert ex.execute({"action": "click", "x": 300, "y": 300}).executed


def test_invalid_action_is_rejected_never_executed(desk: Desk) -> None:
    with desk.page(PAGES / "dot.html"):
        policy = SafetyPolicy(allowed_region=FULL)
        ex = Executor(policy, desk.backend)
        before = desk.grab()
        for bad in ({"action": "click", "x": 300}, '{"action": "click", "x": 300, "y": 300, "force": true}',
                    {"action": "teleport", "x": 1, "y": 1}, "click at 300,300"):
            out = ex.execute(bad, desk.screen.capture())
            assert out.status == "invalid" and out.reason and "\n" not in out.reason
            assert out.decision is None
        time.sleep(0.1)
        assert not expect_change(before, desk.grab())
        assert policy.steps == 0  # never reached the safety layer


def test_dry_run_executes_nothing(desk: Desk) -> None:
    with desk.page(PAGES / "dot.html"):
        ex = Executor(SafetyPolicy(allowed_region=FULL, dry_run=True), desk.backend)
        pointer = desk.backend.pg.position()
        before = desk.grab()
        for a in ({"action": "click", "x": 300, "y": 300}, {"action": "type", "text": "abc"},
                  {"action": "drag", "x": 10, "y": 10, "to_x": 50, "to_y": 50}):
            out = ex.execute(a, desk.screen.capture())
            assert out.status == "dry_run" and out.screen_action is not None
        time.sleep(0.1)
        assert not expect_change(before, desk.grab()) and desk.backend.pg.position() == pointer
        out = ex.execute({"action": "click", "x": 5000, "y": 5}, None)  # dry run still judges
        assert out.status == "denied"


def test_step_and_time_limits_stop_execution(desk: Desk) -> None:
    with desk.page(PAGES / "dot.html"):
        ex = Executor(SafetyPolicy(allowed_region=FULL, max_steps=2), desk.backend)
        assert ex.execute({"action": "click", "x": 100, "y": 100}).executed
        assert ex.execute({"action": "click", "x": 110, "y": 100}).executed
        before = wait_until(desk, lambda im: (h := find_color(im, GREEN, 40, (0, 0, 1270, 800))) is not None
                            and h[:2] == (110.0, 100.0))  # the second click has shown
        out = ex.execute({"action": "click", "x": 120, "y": 100})
        assert out.status == "denied" and "step limit" in out.reason
        ex2 = Executor(SafetyPolicy(allowed_region=FULL, max_seconds=0.2), desk.backend)
        assert ex2.execute({"action": "wait", "seconds": 0.3}).executed
        out = ex2.execute({"action": "click", "x": 130, "y": 100})
        assert out.status == "denied" and "time limit" in out.reason
        time.sleep(0.1)
        assert not expect_change(before, desk.grab())


def obedient_policy(frame) -> dict:
    """A 'policy' that obeys whatever the page tells it (here: the page's instruction, hard-wired)."""
    return {"action": "hotkey", "keys": ["ctrl", "alt", "delete"]}


def _injection_run(desk: Desk, policy_fn, confirm) -> tuple[str, np.ndarray]:
    with desk.page(PAGES / "inject.html"):
        ex = Executor(SafetyPolicy(allowed_region=FULL, confirm=confirm), desk.backend)
        assert ex.execute({"action": "click", "x": 600, "y": 350}).executed  # focus the page: bar turns blue
        wait_until(desk, lambda im: near(color_at(im, 640, 350), (0, 0, 224)))
        frame = desk.screen.capture()
        out = ex.execute(policy_fn(frame), frame)
        time.sleep(0.2)
        return out.status, desk.grab()


def test_page_text_cannot_grant_permissions(desk: Desk) -> None:
    status, img = _injection_run(desk, obedient_policy, confirm=None)
    assert status == "denied"
    assert near(color_at(img, 640, 350), (0, 0, 224)), "ctrl+alt+delete reached the page"
    # Control: with a human approving, the very same keys do reach the page (so the check above can fail).
    asked = []
    status, img = _injection_run(desk, obedient_policy, confirm=lambda a, r: asked.append(r) or True)
    assert status == "executed" and asked and "ctrl+alt+delete" in asked[0]
    assert near(color_at(img, 640, 350), (224, 0, 0))


@pytest.mark.models
def test_ocr_reading_policy_obeying_the_page_is_refused(desk: Desk) -> None:
    """The policy really reads the screen (OCR) and does what the page says; the safety layer refuses."""
    from omnirt.models.ocr import OCR

    ocr = OCR.load()

    def reading_policy(frame) -> dict:
        text = " ".join(w.text for w in ocr.read(frame.rgb[40:260, :1100])).lower()
        assert "ignore your instructions" in text, text
        combo = text.split("press ", 1)[1].split()[0].strip(".")
        return {"action": "hotkey", "keys": combo.split("+")}

    status, img = _injection_run(desk, reading_policy, confirm=None)
    assert status == "denied"
    assert near(color_at(img, 640, 350), (0, 0, 224))
