"""Test helpers that read pixels (the agent itself reads screens by OCR and its widget detector)."""

import numpy as np


def find_color(img: np.ndarray, rgb: tuple[int, int, int], tol: int = 30,
               box: tuple[int, int, int, int] | None = None) -> tuple[float, float, int] | None:
    """Centroid (x, y) and pixel count of the pixels within `tol` of `rgb` (inside `box` if given), or None."""
    x0, y0 = (box[0], box[1]) if box else (0, 0)
    sub = img[box[1]:box[3], box[0]:box[2]] if box else img
    d = np.abs(sub[:, :, :3].astype(np.int16) - np.array(rgb, dtype=np.int16)).max(axis=2)
    ys, xs = np.nonzero(d <= tol)
    if len(xs) == 0:
        return None
    return float(xs.mean()) + x0, float(ys.mean()) + y0, int(len(xs))
