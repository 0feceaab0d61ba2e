"""The learned widget detector is on by default in grounding: on a synthetic screenshot it finds what the pixel
heuristics cannot outline (unframed glyph icons such as a close cross, a filled button without a border), both at
device scale 1 and at scale 2 (it reads the crop shrunk to the scale it was trained at); grounding without it does
not find them, and the instruction policy's "close" then has no cross to click. Also: a field whose frame holds
buttons at one end (a spinner's arrows) is grounded as a field, not as a container."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from omnirt.agents.actions import Click
from omnirt.agents.grounding import Grounder, GroundingOptions, load_detector
from omnirt.agents.policies import InstructionPolicy

pytestmark = pytest.mark.models
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
CROSS = (445, 110, 460, 123)  # the list row's close cross (scale 1)
GEAR = (388, 6, 408, 25)
SEND = (10, 150, 90, 180)   # a filled blue button, no border, white text


def page(scale: int = 1) -> np.ndarray:
    """A toolbar of glyph icons, a magnifier, a list row with trailing icons, and a filled button."""
    from PIL import Image, ImageDraw, ImageFont

    if not FONT.is_file():
        pytest.skip(f"{FONT} is missing")
    img = Image.new("RGB", (480, 200), (255, 255, 255))
    d = ImageDraw.Draw(img)
    f, big = ImageFont.truetype(str(FONT), 13), ImageFont.truetype(str(FONT), 18)
    d.rectangle((0, 0, 479, 30), fill=(235, 238, 242))
    for i, glyph in enumerate("\u2715\u2605\u2699\u2630\u270e"):  # cross, star, gear, menu, pencil
        d.text((300 + 30 * i, 5), glyph, font=big, fill=(70, 70, 70))
    d.text((10, 8), "Inbox", font=f, fill=(0, 0, 0))
    d.ellipse((20, 60, 34, 74), outline=(60, 60, 60), width=2)
    d.line((32, 72, 40, 80), fill=(60, 60, 60), width=3)
    d.text((10, 110), "Celestyn  Lorem ipsum", font=f, fill=(0, 0, 0))
    d.text((420, 106), "\u2605", font=big, fill=(120, 120, 120))
    d.text((445, 106), "\u2715", font=big, fill=(120, 120, 120))
    d.rounded_rectangle(SEND, 6, fill=(30, 110, 220))
    d.text((30, 157), "Send", font=f, fill=(255, 255, 255))
    if scale != 1:
        img = img.resize((480 * scale, 200 * scale), Image.LANCZOS)
    return np.asarray(img)


def near(els, kind: str, box, scale: int = 1):
    cx, cy = (box[0] + box[2]) * scale // 2, (box[1] + box[3]) * scale // 2
    return [e for e in els if e.kind == kind and abs(e.center[0] - cx) <= 6 * scale
            and abs(e.center[1] - cy) <= 6 * scale]


@pytest.fixture(scope="module")
def ocr():
    pytest.importorskip("rapidocr")
    if load_detector() is None:
        pytest.skip("models/data/widgets.onnx cannot be loaded")
    return Grounder(GroundingOptions(detector=False)).ocr


@pytest.mark.parametrize("scale", [1, 2])
def test_grounding_uses_the_detector_by_default(ocr, scale):
    on = Grounder(GroundingOptions(scale=scale), ocr=ocr)
    assert on.detector is not None  # nobody asked for it: on by default
    els = on.ground(page(scale))
    assert near(els, "icon", CROSS, scale) and near(els, "icon", GEAR, scale), [(e.kind, e.box) for e in els]
    assert near(els, "button", SEND, scale) and near(els, "button", SEND, scale)[0].label == "Send"
    assert on.stats["detector_ms"] > 0
    off = Grounder(GroundingOptions(scale=scale, detector=False), ocr=ocr)
    assert off.detector is None
    plain = off.ground(page(scale))
    assert not near(plain, "icon", CROSS, scale) and not near(plain, "button", SEND, scale)


def test_close_finds_the_cross_only_with_the_detector(ocr):
    on = Grounder(GroundingOptions(), ocr=ocr)
    els = on.ground(page())
    act = InstructionPolicy().decide("close the dialog", els, [])
    assert isinstance(act, Click), act
    hit = next(e for e in els if e.id == act.element)
    assert hit.kind == "icon" and hit.label.lower() == "x", hit  # one of the two crosses, not a word
    plain = Grounder(GroundingOptions(detector=False), ocr=ocr).ground(page())
    assert not isinstance(InstructionPolicy(patience=0).decide("close the dialog", plain, []), Click)


def test_detections_come_back_in_the_frames_pixels(ocr):
    g = Grounder(GroundingOptions(scale=2), ocr=ocr)
    boxes = [d.box for d in g.detect(page(2))]
    assert any(abs(b[0] - 2 * CROSS[0]) <= 8 and abs(b[3] - 2 * CROSS[3]) <= 8 for b in boxes), boxes


def spinner_page() -> np.ndarray:
    """A number field with spinner arrows inside its frame at the right end (drawn at device scale 2)."""
    from PIL import Image, ImageDraw, ImageFont

    if not FONT.is_file():
        pytest.skip(f"{FONT} is missing")
    img = Image.new("RGB", (320, 280), (255, 255, 255))
    d = ImageDraw.Draw(img)
    f = ImageFont.truetype(str(FONT), 18)
    d.text((11, 12), "Select a value:", font=f, fill=(0, 0, 0))
    d.rounded_rectangle((10, 33, 310, 77), 4, outline=(170, 170, 170), width=2)
    d.line((277, 34, 277, 76), fill=(200, 200, 200), width=2)
    d.polygon([(285, 50), (301, 50), (293, 41)], fill=(90, 90, 90))
    d.polygon([(285, 60), (301, 60), (293, 69)], fill=(90, 90, 90))
    d.text((20, 44), "0", font=f, fill=(0, 0, 0))
    d.rectangle((10, 90, 200, 150), outline=(118, 118, 118), width=2, fill=(239, 239, 239))
    d.text((70, 108), "Submit", font=f, fill=(0, 0, 0))
    return np.asarray(img)


def test_a_field_with_buttons_inside_its_frame_is_still_a_field(ocr):
    """The frame around a spinner's text part and arrows holds them; the text part is a field, not a container
    because the frame's centre lies inside it."""
    els = Grounder(GroundingOptions(scale=2), ocr=ocr).ground(spinner_page())
    fields = [e for e in els if e.kind == "input" and e.value == "0"]
    assert fields and fields[0].label == "Select a value:" and fields[0].box[2] - fields[0].box[0] > 200, els
    act = InstructionPolicy().decide("Select 5 with the spinner and hit Submit.", els, [])
    assert act == Click(element=fields[0].id)
