"""The typed action schema a policy emits: a pydantic v2 discriminated union on the field "action".

Coordinates are screenshot pixels of the frame the policy saw (ints >= 0), or an element id from grounding
(`element`); the executor maps them to pointer coordinates. Keys are pyautogui key names (KEYBOARD_KEYS), read from
pyautogui's own source, so the schema works without a display (importing pyautogui needs one). Anything invalid
raises `InvalidAction` whose `reason` is one line a policy can read and correct.

`python -m omnirt.agents.actions > schema.json` writes the JSON schema.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import json
import string
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator, model_validator

MAX_TEXT = 1000
MAX_NOTE = 500
MAX_SCROLL = 50
MAX_THROUGH = 200  # points a drag passes through
Coord = Annotated[int, Field(ge=0, le=100_000)]
MAX_WAIT_S = 30.0
MAX_KEYS = 5
MAX_PRESSES = 20  # one hotkey action repeated at most so often
ELEMENT_PATTERN = r"^[A-Za-z0-9_\-:.#]{1,64}$"


@functools.lru_cache(maxsize=1)
def keyboard_keys() -> frozenset[str]:
    """pyautogui.KEYBOARD_KEYS, parsed from pyautogui/__init__.py (the literal list KEY_NAMES) without importing it."""
    spec = importlib.util.find_spec("pyautogui")
    if spec is None or spec.origin is None:
        raise ImportError("pyautogui is not installed: pip install pyautogui")
    with open(spec.origin, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "KEY_NAMES" for t in node.targets):
            return frozenset(ast.literal_eval(node.value))
    raise ImportError("KEY_NAMES not found in pyautogui's source")


class InvalidAction(ValueError):
    """An action that does not fit the schema. `reason` is a single line."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Target(_Base):
    """A point: x and y (screenshot pixels), or an element id."""

    x: Annotated[int, Field(ge=0, le=100_000, strict=True)] | None = None
    y: Annotated[int, Field(ge=0, le=100_000, strict=True)] | None = None
    element: Annotated[str, Field(pattern=ELEMENT_PATTERN)] | None = None

    @model_validator(mode="after")
    def _one_target(self) -> "_Target":
        has_xy = self.x is not None and self.y is not None
        if (self.x is None) != (self.y is None):
            raise ValueError("give both x and y")
        if has_xy == (self.element is not None):
            raise ValueError("give either x and y or element, not both or neither")
        return self


class Click(_Target):
    """hold: modifier keys held down during the click (None: none); ctrl adds an option to a multiple selection
    instead of replacing it."""

    action: Literal["click"] = "click"
    hold: list[Literal["ctrl", "shift", "command"]] | None = None


class DoubleClick(_Target):
    action: Literal["double_click"] = "double_click"


class RightClick(_Target):
    action: Literal["right_click"] = "right_click"


class Drag(_Target):
    """Press at (x, y) or element, move to (to_x, to_y) or to_element, release. through: points the pointer passes
    on the way, in order (a curve drawn with the pointer is a run of short straight moves)."""

    action: Literal["drag"] = "drag"
    to_x: Annotated[int, Field(ge=0, le=100_000, strict=True)] | None = None
    to_y: Annotated[int, Field(ge=0, le=100_000, strict=True)] | None = None
    to_element: Annotated[str, Field(pattern=ELEMENT_PATTERN)] | None = None
    through: Annotated[list[tuple[Coord, Coord]], Field(max_length=MAX_THROUGH)] | None = None

    @model_validator(mode="after")
    def _one_end(self) -> "Drag":
        if (self.to_x is None) != (self.to_y is None):
            raise ValueError("give both to_x and to_y")
        if (self.to_x is not None) == (self.to_element is not None):
            raise ValueError("give either to_x and to_y or to_element, not both or neither")
        return self


class Type(_Base):
    """Type text with the keyboard (each character must be a pyautogui key)."""

    action: Literal["type"] = "type"
    text: Annotated[str, Field(min_length=1, max_length=MAX_TEXT)]

    @field_validator("text")
    @classmethod
    def _typeable(cls, v: str) -> str:
        keys = keyboard_keys()
        for i, ch in enumerate(v):
            if ch not in keys and ch not in string.ascii_uppercase:  # pyautogui types A-Z with shift
                raise ValueError(f"character {ch!r} at index {i} cannot be typed (not a pyautogui key)")
        return v


class Hotkey(_Base):
    """Press keys together (modifiers first), e.g. ["ctrl", "a"]; a single key is a plain press. presses: how many
    times in a row (a spinner set by its arrow keys; None: once)."""

    action: Literal["hotkey"] = "hotkey"
    keys: Annotated[list[str], Field(min_length=1, max_length=MAX_KEYS)]
    presses: Annotated[int, Field(ge=1, le=MAX_PRESSES, strict=True)] | None = None

    @field_validator("keys", mode="before")
    @classmethod
    def _split(cls, v: Any) -> Any:
        if isinstance(v, str):  # "ctrl+shift+t" is accepted as a convenience
            v = [k for k in v.split("+")] if v != "+" else ["+"]
        return v

    @field_validator("keys")
    @classmethod
    def _known(cls, v: list[str]) -> list[str]:
        keys = keyboard_keys()
        out = []
        for k in v:
            k2 = k.strip().lower() if len(k) > 1 or k in string.ascii_uppercase else k
            if k2 not in keys:
                raise ValueError(f"unknown key {k!r} (use pyautogui key names, e.g. 'ctrl', 'enter', 'f5')")
            out.append(k2)
        if len(set(out)) != len(out):
            raise ValueError("a key is repeated")
        return out


class Scroll(_Base):
    """Scroll `amount` clicks at (x, y) (positive: up). A point is required: the safety layer checks it."""

    action: Literal["scroll"] = "scroll"
    x: Annotated[int, Field(ge=0, le=100_000, strict=True)]
    y: Annotated[int, Field(ge=0, le=100_000, strict=True)]
    amount: Annotated[int, Field(ge=-MAX_SCROLL, le=MAX_SCROLL, strict=True)]

    @field_validator("amount")
    @classmethod
    def _nonzero(cls, v: int) -> int:
        if v == 0:
            raise ValueError("scroll amount must not be 0")
        return v


class Wait(_Base):
    action: Literal["wait"] = "wait"
    seconds: Annotated[float, Field(gt=0, le=MAX_WAIT_S)]


class Done(_Base):
    """The task is finished (or given up: success false)."""

    action: Literal["done"] = "done"
    success: bool = True
    summary: Annotated[str, Field(max_length=MAX_NOTE)] = ""


class CallUser(_Base):
    """Stop and ask the user something."""

    action: Literal["call_user"] = "call_user"
    question: Annotated[str, Field(min_length=1, max_length=MAX_NOTE)]


Action = Annotated[Union[Click, DoubleClick, RightClick, Drag, Type, Hotkey, Scroll, Wait, Done, CallUser],
                   Field(discriminator="action")]
POINTER_ACTIONS = (Click, DoubleClick, RightClick, Drag, Scroll)
ACTION_NAMES = ("click", "double_click", "right_click", "drag", "type", "hotkey", "scroll", "wait", "done",
                "call_user")
_ADAPTER: TypeAdapter = TypeAdapter(Action)


def _reason(err: ValidationError, data: Any) -> str:
    """One line from pydantic's errors: '<action>: <field>: <message>' for the first error (+ count of others)."""
    errs = err.errors(include_url=False)
    e = errs[0]
    loc = [str(p) for p in e["loc"]]
    if loc and isinstance(data, dict) and loc[0] == data.get("action"):
        loc = loc[1:]
    msg = e["msg"].removeprefix("Value error, ")
    if e["type"] == "union_tag_invalid":
        msg = f"unknown action {repr(data.get('action'))[:60]}; expected one of {', '.join(ACTION_NAMES)}"
    elif e["type"] == "union_tag_not_found":
        msg = f"missing field 'action'; expected one of {', '.join(ACTION_NAMES)}"
    elif e["type"] == "extra_forbidden":
        msg = "unexpected field"
    head = f"{data.get('action')}: " if isinstance(data, dict) and data.get("action") in ACTION_NAMES else ""
    where = f"{'.'.join(loc)}: " if loc else ""
    more = f" (+{len(errs) - 1} more)" if len(errs) > 1 else ""
    return " ".join(f"{head}{where}{msg}{more}".split())[:300]  # the policy reads it: never the whole input


def parse_action(data: str | bytes | dict | BaseModel) -> Any:
    """JSON text, a dict or an action model -> a validated action; raises InvalidAction(reason) otherwise."""
    if isinstance(data, BaseModel):
        data = data.model_dump()
    if isinstance(data, (str, bytes)):
        try:
            data = json.loads(data)
        except json.JSONDecodeError as e:
            raise InvalidAction(f"not valid JSON: {e.msg} at position {e.pos}") from None
        except (UnicodeDecodeError, RecursionError) as e:
            raise InvalidAction(f"not valid JSON ({type(e).__name__})") from None
    if not isinstance(data, dict):
        raise InvalidAction(f"an action must be a JSON object, got {type(data).__name__}")
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as e:
        raise InvalidAction(_reason(e, data)) from None


def action_json_schema() -> dict[str, Any]:
    """The JSON schema of `Action` (for constrained decoding or a policy's prompt)."""
    return _ADAPTER.json_schema()


def action_to_json(action: Any) -> str:
    """Compact JSON of an action, without unset optional fields."""
    return action.model_dump_json(exclude_none=True)


if __name__ == "__main__":
    print(json.dumps(action_json_schema(), indent=2))
