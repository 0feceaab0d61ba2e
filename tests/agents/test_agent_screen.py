"""Observe: pixel <-> pointer mapping on real Xvfb screens of two sizes, and tile-based change detection."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import numpy as np
import pytest

from omnirt.agents.actions import keyboard_keys
from omnirt.agents.display import Desk
from screen_helpers import find_color
from omnirt.agents.executor import Executor
from omnirt.agents.safety import SafetyPolicy
from omnirt.agents.screen import Screenshot, Monitor, changed_tiles, expect_change, tile_diff

PAGES = Path(__file__).parents[1] / "data" / "agent"
RED, BLUE, GREEN, YELLOW = (255, 0, 0), (0, 0, 255), (0, 160, 0), (255, 208, 0)
needs_x = pytest.mark.needs("Xvfb", "chromium")


def wait_dot(desk: Desk, before: np.ndarray, color=GREEN, timeout: float = 3.0) -> tuple[tuple[float, float], float]:
    """Wait for the screen to change and show `color` (default: the one green pixel the page paints exactly where
    the button went up; the 5x5 red square is clipped at the edges); return its centroid and the wait in ms."""
    t0 = time.perf_counter()
    ms = None
    while time.perf_counter() - t0 < timeout:
        img = desk.grab()
        if ms is None and expect_change(before, img):
            ms = (time.perf_counter() - t0) * 1000  # first changed screenshot: the click-to-screen latency
        if ms is not None:
            hit = find_color(img, color, tol=40, box=(0, 0, desk.width - 8, desk.height))  # skip the input probe
            if hit:
                return (hit[0], hit[1]), ms
        time.sleep(0.001)
    raise AssertionError(f"no {color} dot appeared within {timeout} s")


@pytest.fixture(scope="module", params=[(1280, 800), (1920, 1080)], ids=["1280x800", "1920x1080"])
def dot_desk(request):
    desk = Desk(*request.param)
    try:
        with desk.page(PAGES / "dot.html"):
            yield desk
    finally:
        desk.close()


@needs_x
def test_click_lands_on_the_screenshot_pixel(dot_desk: Desk) -> None:
    desk = dot_desk
    w, h = desk.width, desk.height
    mons = desk.screen.monitors()
    assert (mons[0].width, mons[0].height) == (w, h) and len(mons) >= 2
    assert desk.backend.size() == (w, h)  # pyautogui bound to this display (re-bound for the second size)
    per_monitor = desk.screen.capture_all()
    assert len(per_monitor) == len(mons) - 1 and per_monitor[0].size == (w, h)
    ex = Executor(SafetyPolicy(allowed_region=(0, 0, w, h)), desk.backend)
    lat = []
    for px, py in [(1, h // 2), (w // 3, 7), (w - 30, h - 2), (w // 2 + 13, h // 2 - 11), (5, 5)]:
        frame = desk.screen.capture()
        assert frame.size == (w, h) and frame.to_screen(px, py) == (px, py)
        out = ex.execute({"action": "click", "x": px, "y": py}, frame)
        assert out.status == "executed", out.reason
        (cx, cy), ms = wait_dot(desk, frame.rgb)
        lat.append(out.timings["exec_ms"] + ms)  # pyautogui call + wait for the first changed screenshot
        assert (cx, cy) == (px, py), f"clicked screenshot pixel {(px, py)}, page saw {(cx, cy)}"
    print(f"\n{w}x{h}: click->screen latency median {statistics.median(lat):.1f} ms, max {max(lat):.1f} ms")


@needs_x
def test_downscaled_frame_maps_back_exactly(dot_desk: Desk) -> None:
    """The policy sees a 640-wide screenshot; a click on one of its pixels lands inside that pixel's footprint."""
    desk = dot_desk
    ex = Executor(SafetyPolicy(allowed_region=(0, 0, desk.width, desk.height)), desk.backend)
    for px, py in [(100, 50), (321, 200), (600, 340)]:
        before = desk.grab()
        small = desk.screen.capture(max_width=640)
        assert small.size[0] == 640 and small.scale_x == desk.width / 640
        out = ex.execute({"action": "click", "x": px, "y": py}, small)
        assert out.status == "executed"
        (cx, cy), _ = wait_dot(desk, before)
        assert small.from_screen(int(cx), int(cy)) == (px, py)
        assert px * small.scale_x <= cx < (px + 1) * small.scale_x
        assert py * small.scale_y <= cy < (py + 1) * small.scale_y


@needs_x
def test_region_frame_with_offset(dot_desk: Desk) -> None:
    """A frame of a sub-rectangle (like a second monitor at an offset): pixel (10, 20) is pointer (x0+10, y0+20)."""
    desk = dot_desk
    ex = Executor(SafetyPolicy(allowed_region=(0, 0, desk.width, desk.height)), desk.backend)
    region = (300, 200, 800, 600)
    frame = desk.screen.capture(region=region)
    assert frame.size == (500, 400) and frame.monitor.left == 300 and frame.monitor.top == 200
    before = desk.grab()
    assert ex.execute({"action": "click", "x": 10, "y": 20}, frame).status == "executed"
    (cx, cy), _ = wait_dot(desk, before)
    assert (cx, cy) == (310, 220)
    # The region's own pixels show the dot at (10, 20).
    hit = find_color(desk.screen.capture(region=region).rgb, RED, tol=40)
    assert hit is not None and hit[:2] == (10.0, 20.0)
    # A pixel outside the frame is rejected before anything moves.
    out = ex.execute({"action": "click", "x": 500, "y": 10}, frame)
    assert out.status == "invalid" and "outside" in out.reason


@needs_x
def test_keyboard_keys_match_pyautogui(dot_desk: Desk) -> None:
    assert keyboard_keys() == frozenset(dot_desk.backend.pg.KEYBOARD_KEYS)


@needs_x
def test_capture_speed(dot_desk: Desk) -> None:
    times = [dot_desk.screen.capture().capture_ms for _ in range(20)]
    med = statistics.median(times)
    print(f"\n{dot_desk.width}x{dot_desk.height}: mss capture median {med:.2f} ms")
    assert med < 100


def test_mapping_with_pointer_scale_and_offsets() -> None:
    """HiDPI-like capture (2 image pixels per pointer unit) on a second monitor at x=1920."""
    rgb = np.zeros((2160, 3840, 3), np.uint8)
    f = Screenshot(rgb, Monitor(2, 1920, 0, 1920, 1080), 0.5, 0.5, 0.0, 0.0)
    assert f.to_screen(0, 0) == (1920, 0)
    assert f.to_screen(3839, 2159) == (1920 + 1919, 1079)
    assert f.from_screen(1920 + 100, 50) == (200, 100)
    f2 = Screenshot(np.zeros((400, 640, 3), np.uint8), Monitor(1, -1280, 0, 1280, 800), 2.0, 2.0, 0.0, 0.0)
    assert f2.to_screen(0, 0) == (-1279, 1) and f2.to_screen(639, 399) == (-1, 799)
    for px, py in [(0, 0), (17, 3), (639, 399)]:
        assert f2.from_screen(*f2.to_screen(px, py)) == (px, py)
    with pytest.raises(ValueError):
        f2.to_screen(640, 0)
    with pytest.raises(ValueError):
        f2.from_screen(5, 5)


def test_tile_diff_regions_and_speed() -> None:
    rng = np.random.default_rng(1)
    a = rng.integers(0, 256, (800, 1280, 3), dtype=np.uint8)
    b = a.copy()
    b[100:140, 200:260, 1] ^= 1        # tiles x 6..8, y 3..4 -> one region
    b[799, 1279, 2] ^= 255             # the last (partial-free) corner tile
    b[500:501, 0:70] ^= 7              # three tiles in a row
    d = tile_diff(a, b)
    assert sorted(d.regions) == sorted([(192, 96, 288, 160), (1248, 768, 1280, 800), (0, 480, 96, 512)])
    assert d.mask.shape == (25, 40) and d.mask.sum() == 3 * 2 + 1 + 3
    assert not tile_diff(a, a.copy()).changed
    assert not expect_change(a, b, region=(600, 0, 1200, 400))  # nothing changed in that region
    assert expect_change(a, b, region=(210, 110, 220, 120))
    c = a.copy()
    c[10, 10] = np.minimum(c[10, 10].astype(int) + 5, 255)  # small change, below a threshold of 8
    assert tile_diff(a, c).changed and not tile_diff(a, c, threshold=8).changed
    odd = rng.integers(0, 256, (50, 70, 3), dtype=np.uint8)  # partial edge tiles
    odd2 = odd.copy()
    odd2[49, 69] ^= 1
    assert tile_diff(odd, odd2).regions == [(64, 32, 70, 50)]
    for fn, limit in ((lambda: changed_tiles(a, b), 15.0), (lambda: tile_diff(a, b), 20.0)):
        fn()
        t0 = time.perf_counter()
        for _ in range(20):
            fn()
        ms = (time.perf_counter() - t0) / 20 * 1000
        print(f"\ntile diff 1280x800: {ms:.2f} ms")
        assert ms < limit
