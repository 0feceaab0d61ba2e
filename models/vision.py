"""The vision slot: what fills the Thinker's eyes. Today printed text read by OCR; an ONNX vision tower that embeds
images for a multimodal Thinker can take the same place later (the runtime only asks for `describe(image)`)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np

from .ocr import OCR, OCROptions


@dataclass(frozen=True)
class OCRDescriberOptions:
    """ocr: the OCR knobs (see models/ocr.py). max_chars: longer text is cut (it all goes into the prompt)."""

    ocr: OCROptions = field(default_factory=OCROptions)
    max_chars: int = 400


class OCRDescriber:
    """Describes an image by the text printed in it, line by line in reading order."""

    def __init__(self, options: OCRDescriberOptions = OCRDescriberOptions()) -> None:
        self.options = options
        self.ocr = OCR.load(options.ocr)
        self._lock = threading.Lock()  # sessions share one OCR, which is not safe to run twice at once

    def describe(self, image: np.ndarray) -> str:
        with self._lock:
            words = self.ocr.read(image)
        lines: dict[int, list] = {}
        for w in words:
            lines.setdefault(w.line, []).append(w)
        ordered = sorted(lines.values(), key=lambda ws: (min(w.box[1] for w in ws), min(w.box[0] for w in ws)))
        text = "\n".join(" ".join(w.text for w in sorted(ws, key=lambda w: w.box[0])) for ws in ordered)
        return text[: self.options.max_chars]
