"""Act: run validated actions with the real mouse and keyboard (pyautogui), always through the safety layer.

Order per action: parse (invalid -> rejected with a reason, never executed) -> resolve element ids and map screenshot
pixels to pointer coordinates with the frame the policy saw -> `SafetyPolicy.check` -> execute (or, in dry-run,
record only). An action whose confirmation is still pending (Verdict.CONFIRM) is not performed: its outcome is
needs_confirmation, for the caller to ask the person. Every call returns an `Outcome` with timings; nothing raises
for a bad action.

pyautogui is imported lazily (it raises KeyError without DISPLAY) with PAUSE = 0 (its default sleeps 100 ms after
every call) and FAILSAFE on (pointer in a screen corner aborts). pyautogui binds one X display at import; the backend
re-binds it when asked for another display (a test process may start several Xvfb servers).
"""

from __future__ import annotations

import importlib
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Mapping

from omnirt.agents.actions import (CallUser, Click, Done, DoubleClick, Drag, Hotkey, InvalidAction, RightClick,
                                   Scroll, Type, Wait, parse_action)
from omnirt.agents.safety import SafetyPolicy, Verdict
from omnirt.agents.screen import Screenshot

Status = Literal["executed", "denied", "needs_confirmation", "dry_run", "invalid", "error"]


@dataclass
class Outcome:
    """What happened to one action. action: as the policy gave it (screenshot pixels / element ids);
    screen_action: resolved, in pointer coordinates (what the safety layer judged). timings in ms."""

    status: Status
    reason: str
    action: dict | None = None
    screen_action: dict | None = None
    decision: dict | None = None
    timings: dict[str, float] = field(default_factory=dict)
    started_at: float = 0.0

    @property
    def executed(self) -> bool:
        return self.status == "executed"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _bind_pyautogui(display: str | None, rebind: bool) -> Any:
    """Import pyautogui on `display` (or $DISPLAY) with PAUSE = 0 and FAILSAFE on; `rebind` reconnects it (the
    display name alone does not tell: a new Xvfb may reuse the number of one that is gone)."""
    if display:
        os.environ["DISPLAY"] = display  # pyautogui (and mouseinfo) read it at import time
    elif not os.environ.get("DISPLAY"):
        raise RuntimeError("no DISPLAY: the pyautogui executor needs an X display (or use dry_run)")
    if not os.environ.get("XAUTHORITY") and not os.path.exists(os.path.expanduser("~/.Xauthority")):
        # python-xlib raises without an auth file, where libX11 just connects without a cookie; an empty file makes
        # python-xlib do the same (there is no cookie to offer either way).
        os.environ["XAUTHORITY"] = os.devnull
    fresh = "pyautogui" not in sys.modules
    import pyautogui

    pyautogui.PAUSE = 0
    pyautogui.FAILSAFE = True
    if sys.platform.startswith("linux"):
        x11 = pyautogui.platformModule
        want = display or os.environ["DISPLAY"]
        if not fresh and (rebind or x11._display.get_display_name() != want):
            os.environ["DISPLAY"] = want
            importlib.reload(x11)  # new Xlib connection and keyboard mapping for that display
        w, h = pyautogui.size()
        pyautogui.FAILSAFE_POINTS[:] = [(0, 0), (0, h - 1), (w - 1, 0), (w - 1, h - 1)]
    return pyautogui


_OWNER: "PyAutoGUIBackend | None" = None


class PyAutoGUIBackend:
    """The real input devices. Coordinates are pointer coordinates."""

    def __init__(self, display: str | None = None, drag_steps: int = 8) -> None:
        self.display = display
        self.drag_steps = drag_steps
        self._pg: Any = None

    @property
    def pg(self) -> Any:
        """pyautogui, bound to this backend's display (pyautogui is one global: the last backend used owns it)."""
        global _OWNER
        if self._pg is None or _OWNER is not self:
            self._pg = _bind_pyautogui(self.display, rebind=_OWNER is not None)
            _OWNER = self
        return self._pg

    def size(self) -> tuple[int, int]:
        w, h = self.pg.size()
        return int(w), int(h)

    def click(self, x: int, y: int, button: str = "left", clicks: int = 1) -> None:
        self.pg.click(x, y, clicks=clicks, interval=0.0, button=button)

    def click_holding(self, x: int, y: int, keys: list[str]) -> None:
        """A click with modifier keys held down (released in reverse order, even if the click fails)."""
        for k in keys:
            self.pg.keyDown(k)
        try:
            self.pg.click(x, y, interval=0.0)
        finally:
            for k in reversed(keys):
                self.pg.keyUp(k)

    def drag(self, x0: int, y0: int, x1: int, y1: int, through: list | None = None) -> None:
        """Press, move (straight in drag_steps, or point by point through `through` and on to the end), release."""
        pg = self.pg
        pg.moveTo(x0, y0)
        pg.mouseDown(button="left")
        n = self.drag_steps
        path = [*through, (x1, y1)] if through else \
            [(round(x0 + (x1 - x0) * i / n), round(y0 + (y1 - y0) * i / n)) for i in range(1, n + 1)]
        for px, py in path:
            pg.moveTo(px, py)
            time.sleep(0.005)  # lets the page see intermediate mousemove events
        pg.mouseUp(button="left")

    def type(self, text: str) -> None:
        self.pg.write(text, interval=0.0)

    def hotkey(self, keys: list[str]) -> None:
        self.pg.hotkey(*keys, interval=0.0)

    def scroll(self, amount: int, x: int, y: int) -> None:
        self.pg.scroll(amount, x=x, y=y)


Elements = Mapping[str, tuple[int, int]]  # element id -> its centre in screenshot pixels (from grounding)


class Executor:
    """Runs actions through `policy` on `backend`."""

    def __init__(self, policy: SafetyPolicy, backend: PyAutoGUIBackend | None = None) -> None:
        self.policy = policy
        self.backend = backend if backend is not None else PyAutoGUIBackend()

    # -- coordinates -------------------------------------------------------------------------------------------------
    @staticmethod
    def _point(x: int | None, y: int | None, element: str | None, frame: Screenshot | None,
               elements: Elements) -> tuple[int, int]:
        if element is not None:
            if element not in elements:
                raise InvalidAction(f"unknown element id {element!r}")
            x, y = elements[element]
        assert x is not None and y is not None
        if frame is None:
            return x, y
        try:
            return frame.to_screen(x, y)
        except ValueError as e:
            raise InvalidAction(str(e)) from None

    def resolve(self, action: Any, frame: Screenshot | None, elements: Elements | None = None) -> Any:
        """The action in pointer coordinates, element ids (of `elements`) replaced by points."""
        els = elements or {}
        if isinstance(action, Drag):
            x, y = self._point(action.x, action.y, action.element, frame, els)
            tx, ty = self._point(action.to_x, action.to_y, action.to_element, frame, els)
            via = [self._point(px, py, None, frame, els) for px, py in action.through or []]
            return Drag(x=x, y=y, to_x=tx, to_y=ty, through=via or None)
        if isinstance(action, Click):
            x, y = self._point(action.x, action.y, action.element, frame, els)
            return Click(x=x, y=y, hold=action.hold)
        if isinstance(action, (DoubleClick, RightClick)):
            x, y = self._point(action.x, action.y, action.element, frame, els)
            return type(action)(x=x, y=y)
        if isinstance(action, Scroll):
            x, y = self._point(action.x, action.y, None, frame, els)
            return Scroll(x=x, y=y, amount=action.amount)
        return action

    # -- running -----------------------------------------------------------------------------------------------------
    def _run(self, a: Any) -> None:
        b = self.backend
        if isinstance(a, Click) and a.hold:
            b.click_holding(a.x, a.y, list(a.hold))
        elif isinstance(a, Click):
            b.click(a.x, a.y)
        elif isinstance(a, DoubleClick):
            b.click(a.x, a.y, clicks=2)
        elif isinstance(a, RightClick):
            b.click(a.x, a.y, button="right")
        elif isinstance(a, Drag):
            b.drag(a.x, a.y, a.to_x, a.to_y, *([a.through] if a.through else []))
        elif isinstance(a, Type):
            b.type(a.text)
        elif isinstance(a, Hotkey):
            for _ in range(a.presses or 1):
                b.hotkey(a.keys)
        elif isinstance(a, Scroll):
            b.scroll(a.amount, a.x, a.y)
        elif isinstance(a, Wait):
            time.sleep(a.seconds)
        elif isinstance(a, (Done, CallUser)):
            pass  # ends the step loop / hands over to the user: no input device involved
        else:  # pragma: no cover - the schema admits nothing else
            raise TypeError(f"no executor for {type(a).__name__}")

    def execute(self, action: Any, frame: Screenshot | None = None, elements: Elements | None = None) -> Outcome:
        """Parse, resolve, check, then execute one action. `frame`: the screenshot the policy chose it from
        (None: coordinates are already pointer coordinates); `elements`: what its element ids name in that frame."""
        started = time.time()
        t0 = time.perf_counter()
        timings: dict[str, float] = {}

        def ms(since: float) -> float:
            return round((time.perf_counter() - since) * 1000, 3)

        try:
            parsed = parse_action(action)
            given = parsed.model_dump(exclude_none=True)
            screen = self.resolve(parsed, frame, elements)
        except InvalidAction as e:
            raw = action if isinstance(action, dict) else ({"raw": action} if isinstance(action, str) else None)
            timings["parse_ms"] = ms(t0)
            return Outcome("invalid", e.reason, action=raw, timings=timings, started_at=started)
        timings["parse_ms"] = ms(t0)
        screen_d = screen.model_dump(exclude_none=True)
        t1 = time.perf_counter()
        decision = self.policy.check(screen)
        timings["check_ms"] = ms(t1)
        common = dict(action=given, screen_action=screen_d, decision=decision.as_dict(), started_at=started)
        if not decision.allowed:
            timings["total_ms"] = ms(t0)
            status: Status = "needs_confirmation" if decision.verdict is Verdict.CONFIRM else "denied"
            return Outcome(status, decision.reason, timings=timings, **common)
        if self.policy.dry_run:
            timings["total_ms"] = ms(t0)
            return Outcome("dry_run", f"dry run: would execute ({decision.reason})", timings=timings, **common)
        t2 = time.perf_counter()
        try:
            self._run(screen)
        except Exception as e:  # pyautogui's FailSafeException, a lost X connection, ...
            timings["exec_ms"], timings["total_ms"] = ms(t2), ms(t0)
            return Outcome("error", f"{type(e).__name__}: {e}".splitlines()[0], timings=timings, **common)
        timings["exec_ms"], timings["total_ms"] = ms(t2), ms(t0)
        return Outcome("executed", decision.reason, timings=timings, **common)
