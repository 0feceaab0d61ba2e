"""The typed action schema: every action parses, every malformed one is rejected with a one-line reason."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from omnirt.agents.actions import (ACTION_NAMES, CallUser, Click, Done, Drag, Hotkey, InvalidAction, Scroll, Type,
                                   Wait, action_json_schema, action_to_json, parse_action)

VALID = [
    ({"action": "click", "x": 10, "y": 20}, Click),
    ({"action": "click", "element": "e12"}, Click),
    ({"action": "double_click", "x": 0, "y": 0}, object),
    ({"action": "right_click", "element": "btn-ok"}, object),
    ({"action": "drag", "x": 1, "y": 2, "to_x": 30, "to_y": 40}, Drag),
    ({"action": "drag", "element": "a", "to_element": "b"}, Drag),
    ({"action": "type", "text": "Hello, World! 123\n"}, Type),
    ({"action": "hotkey", "keys": ["ctrl", "a"]}, Hotkey),
    ({"action": "hotkey", "keys": "ctrl+shift+T"}, Hotkey),
    ({"action": "scroll", "x": 5, "y": 5, "amount": -3}, Scroll),
    ({"action": "wait", "seconds": 0.5}, Wait),
    ({"action": "done"}, Done),
    ({"action": "call_user", "question": "Which account?"}, CallUser),
]


@pytest.mark.parametrize("data,cls", VALID, ids=[f"{d['action']}-{i}" for i, (d, _) in enumerate(VALID)])
def test_valid_actions_parse_and_round_trip(data, cls) -> None:
    a = parse_action(data)
    assert a.action == data["action"]
    if cls is not object:
        assert isinstance(a, cls)
    assert parse_action(action_to_json(a)) == a  # JSON text in, same action out
    assert parse_action(a) == a


def test_hotkey_normalises_key_names() -> None:
    assert parse_action({"action": "hotkey", "keys": "ctrl+shift+T"}).keys == ["ctrl", "shift", "t"]
    assert parse_action({"action": "hotkey", "keys": ["Enter"]}).keys == ["enter"]


INVALID = [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "must be a JSON object"),
    ({"x": 1, "y": 2}, "missing field 'action'"),
    ({"action": "tap", "x": 1, "y": 2}, "unknown action 'tap'"),
    ({"action": "click"}, "either x and y or element"),
    ({"action": "click", "x": 5}, "both x and y"),
    ({"action": "click", "x": 5, "y": 5, "element": "e1"}, "not both"),
    ({"action": "click", "x": -1, "y": 5}, "x: Input should be greater than or equal to 0"),
    ({"action": "click", "x": 1.5, "y": 5}, "x: Input should be a valid integer"),
    ({"action": "click", "x": "10", "y": 5}, "x: Input should be a valid integer"),
    ({"action": "click", "x": 1, "y": 2, "button": "left"}, "button: unexpected field"),
    ({"action": "click", "element": "a b"}, "element: String should match pattern"),
    ({"action": "drag", "x": 1, "y": 2}, "to_x and to_y or to_element"),
    ({"action": "type", "text": ""}, "text: String should have at least 1 character"),
    ({"action": "type", "text": "x" * 1001}, "at most 1000 characters"),
    ({"action": "type", "text": "caf\u00e9"}, "cannot be typed"),
    ({"action": "hotkey", "keys": ["ctrl", "banana"]}, "unknown key 'banana'"),
    ({"action": "hotkey", "keys": []}, "keys: List should have at least 1 item"),
    ({"action": "hotkey", "keys": ["a", "a"]}, "repeated"),
    ({"action": "hotkey", "keys": ["a", "b", "c", "d", "e", "f"]}, "at most 5 items"),
    ({"action": "scroll", "x": 1, "y": 1, "amount": 0}, "must not be 0"),
    ({"action": "scroll", "x": 1, "y": 1, "amount": 500}, "amount: Input should be less than or equal to 50"),
    ({"action": "scroll", "amount": 3}, "x: Field required"),
    ({"action": "wait", "seconds": 0}, "seconds: Input should be greater than 0"),
    ({"action": "wait", "seconds": 3600}, "seconds: Input should be less than or equal to 30"),
    ({"action": "call_user", "question": ""}, "question"),
    ({"action": "done", "summary": "s" * 501}, "summary"),
]


@pytest.mark.parametrize("data,expect", INVALID, ids=[str(i) for i in range(len(INVALID))])
def test_invalid_actions_give_one_line_reasons(data, expect) -> None:
    with pytest.raises(InvalidAction) as ei:
        parse_action(data)
    reason = ei.value.reason
    assert expect in reason, reason
    assert "\n" not in reason and len(reason) < 200
    if isinstance(data, dict) and data.get("action") in ACTION_NAMES:
        assert reason.startswith(data["action"] + ":")  # the policy learns which action was wrong


def test_json_schema_lists_every_action() -> None:
    schema = action_json_schema()
    mapping = schema["discriminator"]["mapping"]
    assert set(mapping) == set(ACTION_NAMES)
    click = schema["$defs"]["Click"]["properties"]
    assert click["x"]["anyOf"][0]["minimum"] == 0
    assert schema["$defs"]["Type"]["properties"]["text"]["maxLength"] == 1000
    assert schema["$defs"]["Wait"]["properties"]["seconds"]["maximum"] == 30
    out = subprocess.run([sys.executable, "-m", "omnirt.agents.actions"], capture_output=True, text=True, timeout=60,
                         env={"PATH": "/usr/bin:/bin"})  # no DISPLAY: the schema must not need pyautogui's import
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == schema
