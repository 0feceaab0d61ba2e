"""The vision slot: what fills the Thinker's eyes. Today printed text read by OCR; an ONNX vision tower that embeds
images for a multimodal Thinker can take the same place later (the runtime only asks for `describe(image)`).

`omnirt serve` describes the camera in a worker process at the lowest CPU priority (models/worker.py): OCR in the
server's own threads took the cores that VAD, ASR, the Thinker and the Talker need at the moment they need them
(a turn answered much later with a camera sending than without one), and neither the GIL nor onnxruntime's and
OpenCV's thread pools can be made to yield inside one process. A process whose every thread is SCHED_IDLE (nice 19
where that is refused) runs only on CPU time that nothing else wants, so the voice path never waits for it; the
description just comes later while a turn is busy. A turn that asks about the view and cannot wait for that is
served by a second worker at normal priority (CameraDescriber).
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from .ocr import OCR, OCROptions
from .worker import VisionUnavailable, WorkerDescriber


@dataclass(frozen=True)
class OCRDescriberOptions:
    """ocr: the OCR knobs (see models/ocr.py); det_side 480 reads a camera frame at its own size, where rapidocr's
        default (736) would first upscale a 640x480 frame and cost twice as much for text held up to be read; one
        thread, because more would spin-wait for each other at the lowest priority and cost more CPU in all.
    max_chars: longer text is cut (it all goes into the prompt).
    max_side: larger frames are shrunk to this longest side first (a VGA webcam's; printed text held up to the
        camera stays readable, and an HD camera's frame costs no more than a VGA one)."""

    ocr: OCROptions = field(default_factory=lambda: OCROptions(det_side=480, intra_threads=1))
    max_chars: int = 400
    max_side: int = 640


class OCRDescriber:
    """Describes an image by the text printed in it, line by line in reading order."""

    def __init__(self, options: OCRDescriberOptions = OCRDescriberOptions()) -> None:
        self.options = options
        self.ocr = OCR.load(options.ocr)
        self._lock = threading.Lock()  # sessions share one OCR, which is not safe to run twice at once

    def describe(self, image: np.ndarray) -> str:
        image = shrink(image, self.options.max_side)
        with self._lock:
            words = self.ocr.read(image)
        lines: dict[int, list] = {}
        for w in words:
            lines.setdefault(w.line, []).append(w)
        ordered = sorted(lines.values(), key=lambda ws: (min(w.box[1] for w in ws), min(w.box[0] for w in ws)))
        text = "\n".join(" ".join(w.text for w in sorted(ws, key=lambda w: w.box[0])) for ws in ordered)
        return text[: self.options.max_chars]


def shrink(image: np.ndarray, max_side: int) -> np.ndarray:
    """image with its longest side at most max_side (area-averaged, so print stays legible)."""
    h, w = image.shape[:2]
    if max_side <= 0 or max(h, w) <= max_side:
        return image
    import cv2

    f = max_side / max(h, w)
    return cv2.resize(image, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)


def camera_describer(**options: Any) -> "CameraDescriber":
    """What `omnirt serve` reads the camera with: OCRDescriber (these OCRDescriberOptions) in worker processes."""
    return CameraDescriber(functools.partial(OCRDescriber, OCRDescriberOptions(**options)))


class CameraDescriber:
    """Two workers of one describer. The background reading (`describe`) runs in one at the lowest priority, and so
    may fall far behind on a machine kept busy; a turn that waits for the camera (`describe_now`, see
    runtime/vision.py look) is served by the other, at the voice path's own priority: the user is waiting for
    exactly that, and a process at the lowest priority can never be raised again without privileges. Idle, that
    second worker costs memory only."""

    def __init__(self, factory: Callable[[], Any], **worker: Any) -> None:
        self.background = WorkerDescriber(factory, **worker)
        self.foreground = WorkerDescriber(factory, idle=False, **worker)

    def describe(self, image: np.ndarray) -> str:
        return self.background.describe(image)

    def describe_now(self, image: np.ndarray) -> str:
        return self.foreground.describe(image)

    @property
    def last_cost_s(self) -> float | None:
        return self.background.last_cost_s

    def pause(self) -> None:
        self.background.pause()

    def resume(self) -> None:
        self.background.resume()

    def close(self) -> None:
        self.background.close()
        self.foreground.close()


__all__ = ["CameraDescriber", "OCRDescriber", "OCRDescriberOptions", "VisionUnavailable", "WorkerDescriber",
           "camera_describer", "shrink"]
