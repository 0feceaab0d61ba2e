"""OCR: rendered UI text comes back as single words whose boxes sit on the known word positions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from omnirt.models.ocr import OCR, OCROptions, Word, split_line_box

pytestmark = pytest.mark.models
PIL = pytest.importorskip("PIL")
from PIL import Image, ImageDraw, ImageFont  # noqa: E402

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
LINES = [(100, 100, "Submit order"), (600, 100, "Cancel"), (100, 300, "Email address"),
         (420, 520, "Open the settings page now")]


def _font(size: int):
    return ImageFont.truetype(str(FONT), size) if FONT.is_file() else ImageFont.load_default(size=size)


def render(size: tuple[int, int], lines, font_size: int, button: tuple | None = None
           ) -> tuple[np.ndarray, list[tuple[str, tuple]]]:
    """An RGB screen with text (and optionally a dark button with light text), and each word's true ink box."""
    img = Image.new("RGB", size, (246, 246, 246))
    draw, font = ImageDraw.Draw(img), _font(font_size)
    truth = []
    if button:
        x, y, text = button
        draw.rounded_rectangle((x - 24, y - 14, x + 24 + draw.textlength(text, font=font), y + font_size + 16),
                               radius=6, fill=(30, 90, 200))
        lines = [*lines, (x, y, text)]
    for x, y, text in lines:
        fill = (250, 250, 250) if button and text == button[2] else (20, 20, 30)
        draw.text((x, y), text, font=font, fill=fill)
        pos = 0
        for word in text.split():
            start = text.index(word, pos)
            dx = draw.textlength(text[:start], font=font)
            truth.append((word, draw.textbbox((x + dx, y), word, font=font)))
            pos = start + len(word)
    return np.asarray(img), truth


def iou(a, b) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def inside(point, box, pad: int = 2) -> bool:
    return box[0] - pad <= point[0] <= box[2] + pad and box[1] - pad <= point[1] <= box[3] + pad


def check_words(words: list[Word], truth) -> None:
    assert [w.text for w in words] == [t for t, _ in truth]
    for w, (text, box) in zip(words, truth):
        assert inside(w.center, box), (w, box)
        assert iou(w.box, box) > 0.4, (w, box, iou(w.box, box))
        assert 0.5 <= w.confidence <= 1.0
    boxes = [w.box for w in words]
    assert len(set(boxes)) == len(boxes)  # every word its own box
    for i, a in enumerate(boxes):  # and neighbouring words barely overlap
        assert all(iou(a, b) < 0.1 for b in boxes[i + 1:])


@pytest.fixture(scope="module")
def ocr() -> OCR:
    return OCR.load()


@pytest.fixture(scope="module")
def screen():
    return render((1280, 800), LINES, 22, button=(1000, 700, "Next"))


def test_words_with_boxes(ocr, screen):
    image, truth = screen
    words = ocr.read(image)
    check_words(words, truth)
    assert [w.line for w in words] == [0, 0, 1, 2, 2, 3, 3, 3, 3, 3, 4]
    assert OCR.load() is ocr


def test_uses_bundled_models(ocr):
    """rapidocr must never download: every model path points at the files inside the installed package."""
    import rapidocr

    bundled = Path(rapidocr.__file__).parent / "models"
    cfg = ocr._engine.cfg
    for section in ("Det", "Rec", "Cls"):
        path = Path(cfg[section].model_path)
        assert path.parent == bundled and path.is_file()


def test_scale_maps_boxes_back_to_input_pixels():
    image, truth = render((480, 120), [(12, 20, "Email address"), (250, 60, "Next page")], 11)
    words = OCR.load(OCROptions(scale=2.0)).read(image)
    check_words(words, truth)
    assert all(w.box[2] <= 480 and w.box[3] <= 120 for w in words)


def test_empty_image_gives_no_words(ocr):
    assert ocr.read(np.full((400, 640, 3), 255, np.uint8)) == []
    assert ocr.read(np.zeros((0, 0, 3), np.uint8)) == []


def test_bad_input_raises(ocr):
    for bad in (np.zeros((40, 40), np.uint8), np.zeros((40, 40, 3), np.float32), np.zeros((40, 40, 4), np.uint8),
                [[0, 0, 0]]):
        with pytest.raises(ValueError):
            ocr.read(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        OCR(OCROptions(scale=0))


def test_split_line_box_fallback(screen):
    """The fallback splitter alone: a line box plus its text gives one box per word on the right ink."""
    image, truth = screen
    gray = image.mean(axis=2)
    line = [b for t, b in truth[5:10]]  # "Open the settings page now"
    rect = (line[0][0] - 6, min(b[1] for b in line) - 5, line[-1][2] + 6, max(b[3] for b in line) + 5)
    got = split_line_box(gray, LINES[3][2], rect)
    assert [t for t, _ in got] == LINES[3][2].split()
    for (_, box), (_, want) in zip(got, truth[5:10]):
        assert iou(box, want) > 0.6, (box, want)
