"""The scripted WebRTC client's camera (tools/rtc_client.py): frames like a user's webcam, sent in real time.

Why not a flat test pattern: a server that skips unchanged frames, or whose vision costs depend on the picture,
would then be measured cheaper than a user's camera makes it; these frames change every time, as a real camera's do.
"""

from __future__ import annotations

import asyncio
import fractions
from pathlib import Path
from typing import Any

import numpy as np
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

from ..runtime.clock import now

HELD_TEXTS = ("FRESH BREAD", "OPEN SESAME", "NO PARKING", "EXIT ONLY")
# The frame rate the page asks a browser's camera for (runtime/transports/web/app.js, `ideal`), and so what a
# client standing in for a user's browser sends.
PAGE_CAMERA_FPS = 5.0


class Webcam:
    """Frames like a webcam's pointed at a room while someone holds up a printed card: a blotchy background,
    sensor noise that differs in every frame, a hand's wobble of a few pixels, and a new card every `hold_s`
    (HELD_TEXTS). Every frame really changes, so nothing downstream can skip it as unchanged, as with a real
    camera; a flat test pattern would cost the server far less than a user's camera does."""

    def __init__(self, size: tuple[int, int] = (640, 480), fps: float = PAGE_CAMERA_FPS, hold_s: float = 4.0,
                 texts: tuple[str, ...] = HELD_TEXTS, seed: int = 0) -> None:
        from PIL import Image, ImageDraw, ImageFont

        self.size, self.fps, self.hold_s = size, fps, hold_s
        w, h = size
        rng = np.random.default_rng(seed)
        import cv2

        coarse = rng.uniform(60, 190, (6, 8, 3)).astype(np.float32)  # a room: large soft patches of colour
        self._room = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC).clip(0, 255).astype(np.int16)
        self._noise = [rng.normal(0, 7, (h, w, 3)).astype(np.int16) for _ in range(5)]
        try:
            font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf", max(10, w // 14))
        except OSError:
            font = ImageFont.load_default(size=max(10, w // 14))
        self._cards = []
        for text in texts:
            card = Image.new("RGB", (w * 4 // 5, h // 3), (235, 232, 220))
            ImageDraw.Draw(card).text((w // 2 * 4 // 5, h // 6), text, fill=(20, 20, 25), font=font, anchor="mm")
            self._cards.append(np.asarray(card).astype(np.int16))

    def frame(self, n: int) -> np.ndarray:
        """Frame n (RGB uint8 [h, w, 3])."""
        w, h = self.size
        img = self._room.copy()
        card = self._cards[int(n / self.fps / self.hold_s) % len(self._cards)]
        ch, cw = card.shape[:2]
        x = (w - cw) // 2 + int(4 * np.sin(n * 0.7))
        y = (h - ch) // 2 + int(3 * np.cos(n * 0.5))
        img[y:y + ch, x:x + cw] = card
        img += self._noise[n % len(self._noise)]
        return np.clip(img, 0, 255).astype(np.uint8)

    def write_y4m(self, path: Path, seconds: float) -> Path:
        """The frames as a Y4M file (4:2:0), which Chromium loops as its fake camera
        (--use-file-for-fake-video-capture)."""
        w, h = self.size
        with Path(path).open("wb") as f:
            f.write(f"YUV4MPEG2 W{w} H{h} F{round(self.fps)}:1 Ip A1:1 C420jpeg\n".encode())
            for n in range(round(seconds * self.fps)):
                rgb = self.frame(n).astype(np.float32)
                r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
                y = 0.299 * r + 0.587 * g + 0.114 * b
                u, v = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b, 128 + 0.5 * r - 0.418688 * g - 0.081312 * b
                sub = lambda c: c.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))  # noqa: E731
                f.write(b"FRAME\n" + b"".join(np.clip(c, 0, 255).astype(np.uint8).tobytes()
                                               for c in (y, sub(u), sub(v))))
        return Path(path)


class CameraTrack(MediaStreamTrack):
    """The client's camera: a Webcam's frames in real time (320x240 at 10 fps unless given)."""

    kind = "video"

    def __init__(self, webcam: Webcam | None = None) -> None:
        super().__init__()
        self.webcam = webcam or Webcam((320, 240), 10.0)
        self._n = 0
        self._start: float | None = None

    async def recv(self) -> Any:
        import av

        if self.readyState != "live":
            raise MediaStreamError
        self._start = self._start or now()
        self._n += 1
        await asyncio.sleep(max(0.0, self._start + self._n / self.webcam.fps - now()))
        frame = av.VideoFrame.from_ndarray(self.webcam.frame(self._n), format="rgb24")
        frame.pts, frame.time_base = round(self._n * 90000 / self.webcam.fps), fractions.Fraction(1, 90000)
        return frame
