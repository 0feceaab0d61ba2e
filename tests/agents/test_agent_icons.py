"""Icons told by their look (agents/icons.py) and replying to / forwarding a message (agents/messages.py), on drawn
screens: no browser, no OCR."""

from __future__ import annotations

import numpy as np
import pytest

from omnirt.agents import icons, messages
from omnirt.agents.elements import Element
from omnirt.agents.plan import parse_plan
from omnirt.agents.policies import InstructionPolicy

cv2 = pytest.importorskip("cv2")


def _star(img, cx, cy, r, colour, filled=True):
    pts = []
    for k in range(10):
        rr = r if k % 2 == 0 else r * 0.42
        a = -np.pi / 2 + k * np.pi / 5
        pts.append((cx + rr * np.cos(a), cy + rr * np.sin(a)))
    pts = np.round(np.array(pts)).astype(np.int32)
    if filled:
        cv2.fillPoly(img, [pts], colour)
    else:
        cv2.polylines(img, [pts], True, colour, 2)


def _trash(img, x, y, s, colour):
    cv2.rectangle(img, (x, y), (x + s, y + 2), colour, -1)  # lid
    cv2.rectangle(img, (x + s // 2 - 2, y - 2), (x + s // 2 + 2, y), colour, -1)  # handle
    body = np.array([(x + 2, y + 4), (x + s - 2, y + 4), (x + s - 3, y + int(1.3 * s)), (x + 3, y + int(1.3 * s))])
    cv2.fillPoly(img, [body], colour)


def _row_screen():
    """A list row: a name, then an outlined grey star and a trash can right of it; the rule above the row crosses
    the band its controls are looked for in (it is no control)."""
    img = np.full((60, 240, 3), 255, np.uint8)
    img[12] = (200, 200, 200)
    cv2.putText(img, "Ann", (8, 34), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 2)
    _star(img, 170, 30, 10, (150, 150, 150), filled=False)
    _trash(img, 200, 19, 16, (120, 120, 120))
    name = Element("e0", (6, 10, 50, 40), "word", "Ann")
    return img, [name]


def test_shape_named_reads_icon_names_and_not_other_words():
    assert icons.shape_named("the star icon") == "star"
    assert icons.shape_named("trash can") == "trash"
    assert icons.shape_named("Send") == "send"
    assert icons.shape_named("magnifying glass") == "search"
    assert icons.shape_named("Submit") is None
    assert icons.shape_named("the blue ONE") is None


@pytest.mark.parametrize("draw,shape", [
    (lambda im: _star(im, 30, 30, 14, (40, 40, 40)), "star"),
    (lambda im: _star(im, 30, 30, 9, (140, 140, 140), filled=False), "star"),
    (lambda im: _trash(im, 20, 14, 20, (60, 60, 60)), "trash"),
    (lambda im: cv2.polylines(im, [np.array([(38, 14), (22, 30), (38, 46)])], False, (60, 60, 60), 5), "back"),
    (lambda im: cv2.fillPoly(im, [np.array([(14, 16), (48, 30), (14, 44), (20, 30)])], (120, 120, 120)), "send"),
])
def test_a_drawn_icon_looks_most_like_its_shape(draw, shape):
    img = np.full((60, 60, 3), 255, np.uint8)
    draw(img)
    s = icons.scores(img, (8, 8, 52, 52))
    assert max(s, key=s.get) == shape, sorted(s.items(), key=lambda kv: -kv[1])[:3]


def test_white_icons_on_a_coloured_bar_are_found_as_blobs():
    img = np.full((80, 200, 3), 255, np.uint8)
    img[0:40] = (37, 37, 249)
    _star(img, 150, 20, 11, (255, 255, 255))
    _trash(img, 172, 9, 14, (255, 255, 255))
    assert icons.find("star", [], img).box[0] in range(136, 142)
    assert icons.find("trash", [], img).box[0] in range(168, 176)


def test_a_row_control_named_by_its_icon_is_told_by_its_look():
    img, els = _row_screen()
    steps, dropped = parse_plan("Find the email by Ann and click the star icon to mark it as important.")
    assert not dropped and steps[0].op == "row" and steps[0].look == "star"
    pol = InstructionPolicy()
    pol.see(img)
    act = pol.decide("Find the email by Ann and click the star icon to mark it as important.", els, [])
    assert 158 <= act.x <= 182  # the star, not the trash can beside it
    pol = InstructionPolicy()
    pol.see(img)
    act = pol.decide("Find the email by Ann and click the trash icon to delete it.", els, [])
    assert act.x > 195


def test_click_by_an_icon_name_prefers_the_look_to_a_word_spelled_alike():
    img, els = _row_screen()
    els = [*els, Element("e1", (60, 18, 100, 40), "word", "Sand")]
    pol = InstructionPolicy()
    pol.see(img)
    act = pol.decide("Click the star.", els, [])
    assert act.x is not None and 158 <= act.x <= 182


def test_reply_and_forward_are_read_as_their_steps():
    steps, dropped = parse_plan('Find the email by Ann Lee and reply to them with the text "See you, Bo.".')
    assert not dropped
    assert [(s.op, s.target, s.text) for s in steps] == [
        ("click", "Ann Lee", ""), ("click", "reply", ""), ("body", "", ""), ("type", "", "See you, Bo."),
        ("click", "send", "")]
    steps, dropped = parse_plan("Forward that email to Kim.")
    assert not dropped
    assert [(s.op, s.target, s.text) for s in steps] == [
        ("click", "forward", ""), ("focus", "to", ""), ("type", "", "Kim"), ("click", "send", "")]
    assert messages.request("reply", "to all") is None
    assert messages.request("forward", "the slide") is None


def test_a_field_without_a_frame_is_right_of_its_label():
    img = np.full((80, 300, 3), 255, np.uint8)
    cv2.putText(img, "to:", (8, 26), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1)
    cv2.putText(img, "subject: Hi", (8, 60), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1)
    els = [Element("e0", (6, 14, 30, 30), "word", "to:"), Element("e1", (6, 48, 70, 64), "word", "subject:"),
           Element("e2", (76, 48, 100, 64), "word", "Hi")]
    x, y = messages.beside_label("to", els, img)
    assert x > 30 and 14 <= y <= 30
    assert messages.beside_label("subject", els, img) is None  # words follow it: no field there


@pytest.mark.parametrize("instruction", [
    "Send Bo the email you got from Ann.", "Go to the email by Ann. Send it to Bo.", "Forward the mail by Ann to Bo.",
    "Please find the message by Ann, then send it to Bo.", "Forward to Bo the email from Ann.",
    "Give Bo the message you received from Ann,", "Forward Bo the message Ann sent you.",
    "Search for the mail Ann sent you and send it to Bo.", "Find the email by Ann and send it on to Bo.",
    "I'd like to email Bo the email I got from Ann.", "The mail by Ann should be forwarded to Bo.",
    "I want the mail by Ann to be sent to Bo.", "Look for the email from Ann and forward to Bo."])
def test_a_forward_worded_freely_is_the_same_steps(instruction):
    steps, dropped = parse_plan(instruction)
    assert not dropped
    assert [(s.op, s.target or s.text) for s in steps] == [
        ("click", "Ann"), ("click", "forward"), ("focus", "to"), ("type", "Bo"), ("click", "send")]


def test_a_reply_or_a_row_action_worded_freely():
    steps, dropped = parse_plan('Will you respond to Ann\'s email and tell her that it "Fine, thanks."?')
    assert not dropped and [(s.op, s.target or s.text) for s in steps] == [
        ("click", "Ann"), ("click", "reply"), ("body", ""), ("type", "Fine, thanks."), ("click", "send")]
    for instruction in ("Locate Ann's email and delete it.", "Delete the email Ann sent me."):
        steps, dropped = parse_plan(instruction)
        assert not dropped and (steps[0].op, steps[0].target, steps[0].text) == ("row", "Ann", "delete")
    assert parse_plan("Find the email by Ann and reply to it.") == ([], [(0, "reply to it")])  # no text said
    assert messages.reference("the document") is None and messages.reference("it") == ""
    assert messages.request("send", "the report as PDF") is None
