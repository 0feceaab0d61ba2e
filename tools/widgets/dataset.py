"""Training data for the widget detector: synthetic Chromium screens rendered once and cached, and random crops of
them with their targets.

Screen seeds per split: train seed*10^6 + [0, N), val (threshold choice) seed*10^6 + 800000 + [0, n), test
seed*10^6 + 900000 + [0, n); tests use other seeds still. Training uses 384x192 crops at native resolution
(13 px checkboxes stay 13 px); the detector runs on whole screens.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np

from omnirt.models.widgets import KINDS, STRIDE


CW, CH = 384, 192  # training crop: wide, because wide widgets (text fields, dropdowns) must fit whole
SPLITS = {"train": 0, "val": 800_000, "test": 900_000}


def split_seeds(seed: int, split: str, n: int) -> list[int]:
    base = seed * 1_000_000 + SPLITS[split]
    return list(range(base, base + n))


# ------------------------------------------------------------------ data

class Screens:
    """Rendered screens in memory: rgb arrays and, per screen, boxes (n, 4), kind indices (n,), ok flags (n,)."""

    def __init__(self, path: Path) -> None:
        import cv2

        with np.load(path) as z:
            z = {k: z[k] for k in z.files}  # each NpzFile lookup reads the whole array again
        off, boff, n = z["png_off"], z["box_off"], len(z["seeds"])
        self.seeds = z["seeds"].tolist()
        self.rgb = [cv2.imdecode(z["png"][off[i]:off[i + 1]], cv2.IMREAD_COLOR)[:, :, ::-1].copy() for i in range(n)]
        self.boxes = [z["boxes"][boff[i]:boff[i + 1]] for i in range(n)]
        self.kinds = [z["kinds"][boff[i]:boff[i + 1]] for i in range(n)]
        self.ok = [z["ok"][boff[i]:boff[i + 1]] for i in range(n)]

    def widgets(self, i: int) -> list:
        from omnirt.tools.widgets.render import Widget

        return [Widget(KINDS[k], tuple(float(v) for v in b), bool(o))
                for b, k, o in zip(self.boxes[i], self.kinds[i], self.ok[i])]


def build(seeds: list[int], path: Path, log=print) -> Screens:
    """Render the screens for `seeds` (or reuse the cache at `path`, if it holds exactly these seeds)."""
    import cv2

    from omnirt.tools.widgets.render import Renderer

    if path.is_file() and np.load(path)["seeds"].tolist() == seeds:
        return Screens(path)
    pngs, boxes, kinds, oks, boff, t0 = [], [], [], [], [0], time.monotonic()
    renderer = Renderer()
    try:
        for n, s in enumerate(seeds):
            try:
                sc = renderer.render(s)
            except Exception as e:  # noqa: BLE001 - a crashed or hung browser: start a fresh one, try once more
                log(f"  seed {s}: {e}; restarting chromium")
                renderer.close()
                renderer = Renderer()
                sc = renderer.render(s)
            pngs.append(cv2.imencode(".png", sc.rgb[:, :, ::-1])[1].ravel())
            for w in sc.widgets:
                boxes.append(w.box)
                kinds.append(KINDS.index(w.kind))
                oks.append(w.ok)
            boff.append(len(kinds))
            if (n + 1) % 100 == 0:
                log(f"  rendered {n + 1}/{len(seeds)} screens ({(time.monotonic() - t0) / (n + 1) * 1000:.0f} ms each)")
    finally:
        renderer.close()
    off = np.cumsum([0] + [len(p) for p in pngs])
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, seeds=np.array(seeds), png=np.concatenate(pngs), png_off=off, box_off=np.array(boff),
             boxes=np.array(boxes, np.float32).reshape(-1, 4), kinds=np.array(kinds, np.int8),
             ok=np.array(oks, bool))
    return Screens(path)


def targets(boxes: np.ndarray, kinds: np.ndarray, ok: np.ndarray, ox: int, oy: int, cw: int = CW, ch: int = CH):
    """Training targets for one crop at (ox, oy): heat (K, h, w) with Gaussian peaks at box centres (1 at the
    centre cell), mask (h, w) zero on widgets to ignore, dist (4, h, w) log side distances, dist weight (h, w),
    seg (h, w) the kind of the widget covering each cell, and its weight (h, w): 1 / the widget's cell count, so
    every widget counts once in the kind loss whatever its size (as in the vote that decides a box's kind)."""
    h, w = ch // STRIDE, cw // STRIDE
    heat = np.zeros((len(KINDS), h, w), np.float32)
    mask = np.ones((h, w), np.float32)
    dist = np.zeros((4, h, w), np.float32)
    wt = np.zeros((h, w), np.float32)
    seg = np.zeros((h, w), np.int64)
    sw = np.zeros((h, w), np.float32)
    cx = np.arange(w, dtype=np.float32) * STRIDE + STRIDE / 2
    cy = np.arange(h, dtype=np.float32) * STRIDE + STRIDE / 2
    order = np.argsort(-(boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))  # small boxes win overlaps
    for i in order:
        x0, y0, x1, y1 = boxes[i] - (ox, oy, ox, oy)
        if x1 <= 0 or y1 <= 0 or x0 >= cw or y0 >= ch:
            continue
        inside = x0 >= -0.5 and y0 >= -0.5 and x1 <= cw + 0.5 and y1 <= ch + 0.5
        j0, j1 = max(0, int(x0 // STRIDE)), min(w, int(math.ceil(x1 / STRIDE)))
        i0, i1 = max(0, int(y0 // STRIDE)), min(h, int(math.ceil(y1 / STRIDE)))
        if not ok[i] or not inside:
            mask[i0:i1, j0:j1] = 0
            sw[i0:i1, j0:j1] = 0
            continue
        bw, bh = x1 - x0, y1 - y0
        cj, ci = min(w - 1, int((x0 + x1) / 2 // STRIDE)), min(h - 1, int((y0 + y1) / 2 // STRIDE))
        sx, sy = max(0.8, 0.54 * bw / STRIDE / 6), max(0.8, 0.54 * bh / STRIDE / 6)
        gx = np.exp(-((np.arange(w) - cj) ** 2) / (2 * sx * sx))
        gy = np.exp(-((np.arange(h) - ci) ** 2) / (2 * sy * sy))
        g = (gy[:, None] * gx[None, :]).astype(np.float32)
        np.maximum(heat[kinds[i]], g, out=heat[kinds[i]])
        sl = (slice(i0, i1), slice(j0, j1))
        l, r = cx[None, j0:j1] - x0, x1 - cx[None, j0:j1]
        t, b = cy[i0:i1, None] - y0, y1 - cy[i0:i1, None]
        use = (g[sl] >= 0.3) & (l > 0.5) & (r > 0.5) & (t > 0.5) & (b > 0.5)
        use[min(ci, i1 - 1) - i0, min(cj, j1 - 1) - j0] |= True  # the centre cell always regresses
        d = np.stack(np.broadcast_arrays(l, t, r, b)).clip(0.5, None) / STRIDE
        dist[:, sl[0], sl[1]] = np.where(use, np.log(d), dist[:, sl[0], sl[1]])
        wt[sl] = np.where(use, g[sl], wt[sl])
        cover = (l > 0) & (r > 0) & (t > 0) & (b > 0)
        cover[min(ci, i1 - 1) - i0, min(cj, j1 - 1) - j0] = True
        seg[sl] = np.where(cover, kinds[i], seg[sl])
        sw[sl] = np.where(cover, 1.0 / cover.sum(), sw[sl])
    return heat, mask, dist, wt, seg, sw


def _between(rng: np.random.Generator, lo: float, hi: float) -> int:
    lo, hi = sorted((int(lo), int(hi)))
    return int(rng.integers(lo, hi + 1))


def batch(data: Screens, rng: np.random.Generator, n: int):
    """n random crops (biased towards widgets) with their targets, as float32 arrays."""
    xs, hs, ms, ds, ws, ss, sws = [], [], [], [], [], [], []
    for _ in range(n):
        i = int(rng.integers(len(data.rgb)))
        img, boxes = data.rgb[i], data.boxes[i]
        H, W = img.shape[:2]
        good = np.nonzero(data.ok[i])[0]
        if len(good) and rng.random() < 0.75:  # a crop holding a random widget somewhere inside
            bx = boxes[good[rng.integers(len(good))]]
            ox = _between(rng, bx[2] - CW, min(bx[0], W - CW))
            oy = _between(rng, bx[3] - CH, min(bx[1], H - CH))
        else:
            ox, oy = int(rng.integers(max(1, W - CW + 1))), int(rng.integers(max(1, H - CH + 1)))
        ox, oy = max(0, min(ox, W - CW)), max(0, min(oy, H - CH))
        crop = img[oy:oy + CH, ox:ox + CW]
        if crop.shape[:2] != (CH, CW):
            crop = np.pad(crop, ((0, CH - crop.shape[0]), (0, CW - crop.shape[1]), (0, 0)), mode="edge")
        if rng.random() < 0.2:
            crop = crop[:, :, rng.permutation(3)]
        heat, mask, dist, wt, seg, sw = targets(boxes, data.kinds[i], data.ok[i], ox, oy)
        xs.append(crop.transpose(2, 0, 1))
        hs.append(heat), ms.append(mask[None]), ds.append(dist), ws.append(wt[None]), ss.append(seg), sws.append(sw)
    x = np.stack(xs).astype(np.float32) / 255
    return x, np.stack(hs), np.stack(ms), np.stack(ds), np.stack(ws), np.stack(ss), np.stack(sws)
