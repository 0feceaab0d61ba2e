"""A private virtual screen with a real browser on it, for tests and headless runs of the agent.

`VirtualDisplay` starts Xvfb on a display number Xvfb picks itself (`-displayfd`, so parallel test modules never
collide) with `-nolisten tcp`. `Browser` starts Chromium with a fresh profile in `--app=` mode, which puts the page at
screen (0, 0) with no tabs or address bar (flags as measured for this harness). Readiness is judged the way the
agent judges everything: from screenshots (`wait_for_pixels`), not from the DOM.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

CHROMIUM_FLAGS = (
    "--no-sandbox", "--test-type", "--no-first-run", "--no-default-browser-check", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-quic", "--disable-gpu", "--password-store=basic",
    "--disable-features=Translate,MediaRouter", "--force-device-scale-factor=1", "--hide-scrollbars",
)


class DisplayError(RuntimeError):
    """Xvfb or the browser could not be started."""


@dataclass
class VirtualDisplay:
    """An Xvfb server of the given size; use as a context manager. `name` is the DISPLAY value (":N")."""

    width: int = 1280
    height: int = 800
    depth: int = 24
    start_timeout: float = 10.0
    name: str = ""
    _proc: subprocess.Popen | None = field(default=None, repr=False)

    def start(self) -> "VirtualDisplay":
        xvfb = shutil.which("Xvfb")
        if xvfb is None:
            raise DisplayError("Xvfb not found: apt-get install -y xvfb")
        rfd, wfd = os.pipe()
        try:
            self._proc = subprocess.Popen(
                [xvfb, "-displayfd", str(wfd), "-screen", "0", f"{self.width}x{self.height}x{self.depth}",
                 "-nolisten", "tcp", "-noreset"],
                pass_fds=(wfd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        finally:
            os.close(wfd)
        deadline = time.monotonic() + self.start_timeout
        buf = b""
        with os.fdopen(rfd, "rb", buffering=0) as r:
            while not buf.endswith(b"\n") and time.monotonic() < deadline:
                chunk = r.read(16)
                if not chunk:
                    break
                buf += chunk
        if not buf.strip().isdigit():
            self.stop()
            raise DisplayError(f"Xvfb did not report a display number within {self.start_timeout:.0f} s")
        self.name = f":{int(buf.strip())}"
        return self

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None

    def env(self) -> dict[str, str]:
        """The current environment with DISPLAY pointing at this screen (for child processes)."""
        return {**os.environ, "DISPLAY": self.name}

    def __enter__(self) -> "VirtualDisplay":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class Browser:
    """Chromium showing `url` in app mode on `display`, sized to (width, height); a fresh profile per launch."""

    display: VirtualDisplay
    url: str
    width: int | None = None
    height: int | None = None
    extra_flags: tuple[str, ...] = ()
    _proc: subprocess.Popen | None = field(default=None, repr=False)
    _profile: str | None = field(default=None, repr=False)

    def start(self) -> "Browser":
        exe = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
        if exe is None:
            raise DisplayError("chromium not found: apt-get install -y chromium")
        self._profile = tempfile.mkdtemp(prefix="omnirt-chromium-")
        w, h = self.width or self.display.width, self.height or self.display.height
        args = [exe, *CHROMIUM_FLAGS, f"--user-data-dir={self._profile}", "--window-position=0,0",
                f"--window-size={w},{h}", *self.extra_flags, f"--app={self.url}"]
        self._proc = subprocess.Popen(args, env=self.display.env(), stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, start_new_session=True)
        return self

    def stop(self) -> None:
        """End the browser's own process group (it was started in a new session: the launcher script and every
        Chromium child share that group id, nothing else does)."""
        if self._proc is not None:
            pgid = self._proc.pid
            _killpg(pgid, signal.SIGTERM)
            try:
                self._proc.wait(5)  # the browser process exits after closing its windows
            except subprocess.TimeoutExpired:
                pass
            _killpg(pgid, signal.SIGKILL)  # renderers, zygotes, a hung browser
            if self._proc.poll() is None:
                self._proc.wait()
        self._proc = None
        if self._profile:
            shutil.rmtree(self._profile, ignore_errors=True)
            self._profile = None

    def __enter__(self) -> "Browser":
        return self if self._proc is not None else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _killpg(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def window_names(display: str) -> list[str]:
    """The titles of every window on X display `display` (xdotool): how harnesses read a page's verdict without
    showing it to the agent, which sees only pixels."""
    env = {**os.environ, "DISPLAY": display}
    ids = subprocess.run(["xdotool", "search", "--name", "."], env=env, capture_output=True, text=True).stdout.split()
    return [subprocess.run(["xdotool", "getwindowname", i], env=env, capture_output=True, text=True).stdout.strip()
            for i in ids]


def page_url(path: str | Path) -> str:
    """file:// URL of a local page."""
    return Path(path).resolve().as_uri()


def wait_for_pixels(grab: Callable[[], np.ndarray], predicate: Callable[[np.ndarray], bool],
                    timeout: float = 10.0, interval: float = 0.02) -> np.ndarray:
    """Poll screenshots (RGB arrays from `grab`) until `predicate` holds; return that screenshot or raise."""
    deadline = time.monotonic() + timeout
    while True:
        img = grab()
        if predicate(img):
            return img
        if time.monotonic() > deadline:
            raise TimeoutError(f"screen did not reach the expected state within {timeout:.1f} s")
        time.sleep(interval)


def color_at(img: np.ndarray, x: int, y: int) -> tuple[int, int, int]:
    """RGB at a pixel, as plain ints."""
    r, g, b = img[y, x, :3]
    return int(r), int(g), int(b)


def near(c: tuple[int, int, int], ref: tuple[int, int, int], tol: int = 12) -> bool:
    """Colors equal within `tol` per channel."""
    return all(abs(a - b) <= tol for a, b in zip(c, ref))


READY_COLOR = (240, 240, 240)  # test pages paint their background this colour once their script ran
PROBE_COLOR = (255, 0, 255)    # ... and a 6x6 probe at the top-right corner this colour once a pointer move arrived


class Desk:
    """Test harness: a private Xvfb, a Screen on it and a pyautogui backend bound to it; `page()` opens a test page
    and returns once it is painted AND takes input (Chromium drops input for ~0.2 s after its first paint, so the
    harness moves the pointer until the page's probe turns magenta)."""

    def __init__(self, width: int = 1280, height: int = 800) -> None:
        from omnirt.agents.executor import PyAutoGUIBackend
        from omnirt.agents.screen import Screen, ScreenOptions

        self._saved_env = {k: os.environ.get(k) for k in ("DISPLAY", "XAUTHORITY")}  # the backend sets both
        self.display = VirtualDisplay(width, height).start()
        try:
            self.screen = Screen(ScreenOptions(display=self.display.name))
            self.backend = PyAutoGUIBackend(self.display.name)
        except Exception:
            self.display.stop()
            raise
        self.width, self.height = width, height

    def close(self) -> None:
        self.screen.close()
        self.display.stop()
        for k, v in self._saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v

    def __enter__(self) -> "Desk":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def grab(self) -> np.ndarray:
        return self.screen.capture().rgb

    def clear(self) -> None:
        """Paint the root window black: without a window manager, a closed window's pixels stay on screen and
        would pass for the next page's ready colour."""
        disp = self.backend.pg.platformModule._display
        root = disp.screen().root
        root.change_attributes(background_pixel=disp.screen().black_pixel)
        root.clear_area(0, 0, 0, 0)
        disp.sync()
        try:
            wait_for_pixels(self.grab, lambda im: not im[::50, ::50].any(), 5.0)
        except TimeoutError:
            im = self.grab()
            ys, xs = np.nonzero(im.any(axis=2))
            raise DisplayError(f"screen not black after closing the browser: {len(xs)} pixels lit, bbox "
                               f"({xs.min()}, {ys.min()}, {xs.max()}, {ys.max()})") from None

    def page(self, path: str | Path, timeout: float = 15.0, ready_at: tuple[int, int] | None = None) -> Browser:
        """Start Chromium on `path` and wait until it is painted and interactive. Caller stops the Browser."""
        self.clear()
        b = Browser(self.display, page_url(path)).start()
        try:
            rx, ry = ready_at or (self.width // 2, self.height - 10)
            wait_for_pixels(self.grab, lambda im: near(color_at(im, rx, ry), READY_COLOR), timeout)
            pg = self.backend.pg
            px, py = self.width - 3, 3
            deadline = time.monotonic() + timeout
            i = 0
            while not near(color_at(self.grab(), px, py), PROBE_COLOR):
                if time.monotonic() > deadline:
                    raise TimeoutError("page never reacted to pointer moves")
                pg.moveTo(self.width // 2 + (i % 2) * 7, self.height - 20)
                i += 1
                time.sleep(0.03)
            # Again: before the page paints, the window may show a toolkit grey close to the ready colour.
            wait_for_pixels(self.grab, lambda im: near(color_at(im, rx, ry), READY_COLOR), timeout)
        except Exception:
            b.stop()
            raise
        return b
