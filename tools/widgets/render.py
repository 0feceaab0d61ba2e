"""Synthetic screens: a page from synth.py shown in real headless Chromium, with its widgets read over DevTools.

`Renderer` keeps one headless Chromium (device scale 1) and one tab. For each page it sets the viewport, loads the
HTML, waits for fonts and two frames, reads every widget's box with COLLECT and takes a screenshot. The kind of each
box comes from the DOM's own semantics (tag, input type, ARIA role, an image's size), never from the generator.
Boxes that are clipped, covered or split over lines come back with ok=False: training ignores them and evaluation
neither rewards nor blames detections on them.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass

import numpy as np

from omnirt.agents.devtools import DevTools
from omnirt.tools.widgets.synth import Page, page

# Reads every widget's box; the kind comes from the element's tag, type and role.
COLLECT = r"""(() => {
const W = innerWidth, H = innerHeight, out = [];
const TEXT = ['text', 'password', 'email', 'search', 'number', 'tel', 'url'];
const ROLES = {button: 'button', link: 'link', slider: 'slider', checkbox: 'checkbox', radio: 'radio', img: 'icon'};
function kind(e) {
  const t = e.tagName.toLowerCase();
  if (t === 'input') {
    const ty = (e.getAttribute('type') || 'text').toLowerCase();
    if (ty === 'checkbox' || ty === 'radio') return ty;
    if (ty === 'range') return 'slider';
    if (['submit', 'button', 'reset'].includes(ty)) return 'button';
    return TEXT.includes(ty) ? 'text field' : null;
  }
  if (t === 'textarea') return 'text field';
  if (t === 'select') return e.multiple ? null : 'dropdown';
  if (t === 'button') return 'button';
  if (t === 'a' && e.hasAttribute('href')) return 'link';
  const role = ROLES[e.getAttribute('role')] || (t === 'img' ? 'icon' : null);
  if (role !== 'icon') return role;
  const r = e.getBoundingClientRect();  // an image is an icon while small; a picture is not a widget
  return Math.max(r.width, r.height) <= 48 ? 'icon' : null;
}
const SEL = 'input,textarea,select,button,a[href],img,[role]';
for (const e of document.querySelectorAll(SEL)) {
  const k = kind(e);
  if (!k || (e.parentElement && e.parentElement.closest(SEL))) continue;
  const rs = e.getClientRects(), r = e.getBoundingClientRect();
  if (!rs.length || r.width < 1 || r.height < 1) continue;
  const x0 = Math.max(0, r.left), y0 = Math.max(0, r.top), x1 = Math.min(W, r.right), y1 = Math.min(H, r.bottom);
  if (x1 <= x0 || y1 <= y0) continue;
  let ok = rs.length === 1 && (x1 - x0) * (y1 - y0) >= 0.8 * r.width * r.height && r.width >= 4 && r.height >= 4;
  if (ok) {  // on top and not clipped: the centre and four points near the corners all hit the element
    const dx = Math.min(2, r.width / 4), dy = Math.min(2, r.height / 4);
    for (const [x, y] of [[(x0 + x1) / 2, (y0 + y1) / 2], [x0 + dx, y0 + dy], [x1 - dx, y0 + dy], [x0 + dx, y1 - dy],
                          [x1 - dx, y1 - dy]]) {
      const el = document.elementFromPoint(x, y);
      if (!el || !e.contains(el)) { ok = false; break; }
    }
  }
  out.push([k, r.left, r.top, r.right, r.bottom, ok]);
}
return JSON.stringify(out);
})()"""

SETTLE = "document.fonts.ready.then(() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r))))"


@dataclass(frozen=True)
class Widget:
    """One element the DOM calls a widget. kind: one of synth.KINDS."""

    kind: str
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in CSS px = screen px at device scale 1
    ok: bool  # fully visible, one rectangle, on top: a fair target


@dataclass(frozen=True)
class Screen:
    """A rendered page: the screenshot and every widget on it."""

    seed: int
    rgb: np.ndarray  # (H, W, 3) uint8
    widgets: tuple[Widget, ...]


class Renderer:
    """One headless Chromium, one tab; `render(seed)` -> Screen. Use as a context manager (ends its processes)."""

    def __init__(self) -> None:
        from omnirt.agents.display import CHROMIUM_FLAGS

        exe = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
        if exe is None:
            raise RuntimeError("chromium not found: apt-get install -y chromium")
        self._profile = tempfile.mkdtemp(prefix="omnirt-widgets-")
        self._proc = subprocess.Popen(
            [exe, "--headless=new", *CHROMIUM_FLAGS, f"--user-data-dir={self._profile}", "--remote-debugging-port=0",
             "--remote-debugging-address=127.0.0.1", "--font-render-hinting=none", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        self._devtools: DevTools | None = None
        try:
            self._devtools = DevTools(timeout=20.0, profile=self._profile, proc=self._proc)
            self._devtools.call("Page.enable")
        except BaseException:
            self.close()
            raise

    def _render(self, pg: Page) -> tuple[np.ndarray, list[Widget]]:
        import cv2

        dt = self._devtools
        assert dt is not None
        dt.call("Emulation.setDeviceMetricsOverride", width=pg.width, height=pg.height, deviceScaleFactor=1,
                mobile=False)
        url = "data:text/html;base64," + base64.b64encode(pg.html.encode()).decode()
        dt.call("Page.navigate", wait_event="Page.loadEventFired", url=url)
        dt.eval(SETTLE)
        raw = json.loads(dt.eval(COLLECT, await_promise=False))
        shot = dt.call("Page.captureScreenshot", format="png")
        img = cv2.imdecode(np.frombuffer(base64.b64decode(shot["data"]), np.uint8), cv2.IMREAD_COLOR)
        if img is None or img.shape[:2] != (pg.height, pg.width):
            raise RuntimeError(f"screenshot has shape {None if img is None else img.shape}, "
                               f"expected {(pg.height, pg.width)}")
        return img[:, :, ::-1].copy(), [Widget(k, (x0, y0, x1, y1), bool(ok)) for k, x0, y0, x1, y1, ok in raw]

    def render_page(self, pg: Page, seed: int = -1) -> Screen:
        rgb, widgets = self._render(pg)
        return Screen(seed, rgb, tuple(widgets))

    def render(self, seed: int) -> Screen:
        return self.render_page(page(seed), seed)

    def close(self) -> None:
        if self._devtools is not None:
            self._devtools.close()
            self._devtools = None
        if self._proc.poll() is None:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(self._proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self._proc.wait(3)
                    break
                except subprocess.TimeoutExpired:
                    continue
        try:  # children (renderers, zygotes) share the group; make sure none outlives the browser
            os.killpg(self._proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self) -> "Renderer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
