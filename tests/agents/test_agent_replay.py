"""`omnirt replay` on hostile run folders (issue 17 row 8): every corrupt folder is one line of error and no traceback,
nothing outside the run folder is read, and the limits come from the replaying command line, never from the recording.

No display is needed: the replays are dry runs, which check every action and every file but act on nothing.
"""

from __future__ import annotations

import io
import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from omnirt.tools.cli import main


def png(w: int = 64, h: int = 40) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((h, w, 3), 200, np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def png_header_only(w: int, h: int) -> bytes:
    """A valid PNG that claims w x h pixels but holds a few bytes of data: a decompression bomb's header."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b""))


def step(i: int, action: dict | None, before: object = None) -> dict:
    obs = {"before": {"png": before, "monitor": [0, 0, 64, 40]}} if before is not None else {}
    return {"index": i, "action": action, "screen_action": action, "observation": obs, "outcome": "executed",
            "reason": "recorded", "timings": {}}


def make_run(root: Path, steps: list, meta: object = None, name: str = "run") -> Path:
    run = root / name
    run.mkdir()
    (run / "steps.jsonl").write_text("".join(json.dumps(s) + "\n" for s in steps))
    if meta is not None:
        (run / "run.json").write_text(json.dumps(meta))
    return run


CLICK = {"action": "click", "x": 10, "y": 10}


def corrupt(kind: str, tmp: Path) -> Path:
    """A run folder broken in one way."""
    run = make_run(tmp, [step(0, CLICK, "step_0000_before.png")], {"region": [0, 0, 64, 40]})
    steps = run / "steps.jsonl"
    shot = run / "step_0000_before.png"
    shot.write_bytes(png())
    outside = tmp / "outside.png"
    outside.write_bytes(png())
    if kind == "line is a list":
        steps.write_text("[1, 2, 3]\n")
    elif kind == "line is a number":
        steps.write_text("42\n")
    elif kind == "line is a string":
        steps.write_text('"step"\n' + json.dumps(step(1, CLICK)) + "\n")
    elif kind == "nested 100k deep":
        steps.write_text("[" * 100_000 + "]" * 100_000 + "\n")
    elif kind == "nested object 100k deep":
        steps.write_text('{"a":' * 100_000 + "1" + "}" * 100_000 + "\n")
    elif kind == "not utf-8":
        steps.write_bytes(b'{"index": "\xff\xfe"}\n')
    elif kind == "huge integer":
        steps.write_text('{"index": ' + "9" * 5000 + "}\n")
    elif kind == "steps.jsonl is a directory":
        steps.unlink()
        steps.mkdir()
    elif kind == "steps.jsonl links outside":
        (tmp / "elsewhere.jsonl").write_text(json.dumps(step(0, CLICK)) + "\n")
        steps.unlink()
        steps.symlink_to(tmp / "elsewhere.jsonl")
    elif kind == "run.json corrupt":
        (run / "run.json").write_text('{"region": [0, 0, ')
    elif kind == "run.json is a list":
        (run / "run.json").write_text("[0, 0, 64, 40]")
    elif kind == "run.json region of strings":
        (run / "run.json").write_text('{"region": ["a", "b", "c", "d"]}')
    elif kind == "run.json is a directory":
        (run / "run.json").unlink()
        (run / "run.json").mkdir()
    elif kind == "garbage png":
        shot.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 100)
    elif kind == "not a png at all":
        shot.write_bytes(b"hello")
    elif kind == "truncated png":
        shot.write_bytes(png()[:60])
    elif kind == "bomb png":
        shot.write_bytes(png_header_only(100_000, 100_000))
    elif kind == "big png under PIL's limit":
        shot.write_bytes(png_header_only(9000, 9000))  # 81 Mpx: PIL opens it without a warning
    elif kind in ("path ../../../../etc/passwd", "absolute path", "path through a symlink", "png is a number",
                  "png links outside", "observation is a list", "screen_action is a list", "action is a string"):
        s = step(0, CLICK, "step_0000_before.png")
        if kind == "path ../../../../etc/passwd":
            s["observation"]["before"]["png"] = "../../../../etc/passwd"
        elif kind == "absolute path":
            s["observation"]["before"]["png"] = str(outside)
        elif kind == "path through a symlink":
            (run / "sub").symlink_to(tmp)
            s["observation"]["before"]["png"] = "sub/outside.png"
        elif kind == "png is a number":
            s["observation"]["before"]["png"] = 7
        elif kind == "png links outside":
            shot.unlink()
            shot.symlink_to(outside)
        elif kind == "observation is a list":
            s["observation"] = ["before"]
        elif kind == "screen_action is a list":
            s["screen_action"] = ["click", 1, 2]
        elif kind == "action is a string":
            s["action"] = "click"
        steps.write_text(json.dumps(s) + "\n")
    else:
        raise AssertionError(kind)
    return run


KINDS = ["line is a list", "line is a number", "line is a string", "nested 100k deep", "nested object 100k deep",
         "not utf-8", "huge integer", "steps.jsonl is a directory", "steps.jsonl links outside", "run.json corrupt",
         "run.json is a list", "run.json region of strings", "run.json is a directory", "garbage png",
         "not a png at all", "truncated png", "bomb png", "big png under PIL's limit", "path ../../../../etc/passwd",
         "absolute path", "path through a symlink", "png is a number", "png links outside", "observation is a list",
         "screen_action is a list", "action is a string"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_corrupt_run_folder_is_one_line_of_error(kind, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("DISPLAY", raising=False)
    run = corrupt(kind, tmp_path)
    opened: list[Path] = []
    real_open = Image.open
    monkeypatch.setattr(Image, "open", lambda fp, *a, **k: opened.append(Path(fp)) or real_open(fp, *a, **k))
    assert main(["replay", str(run), "--dry-run", "--region", "0,0,64,40"]) == 2
    out = capsys.readouterr()
    err = out.err.strip()
    assert err.startswith("omnirt: error: ") and "\n" not in err and "Traceback" not in err, out
    assert len(err) < 400, err
    assert not out.out, out.out  # refused before any step was replayed
    for p in opened:  # nothing outside the run folder was read
        assert p.resolve().is_relative_to(run.resolve()), p


def test_an_intact_run_folder_replays(tmp_path, monkeypatch, capsys):
    """The control: the same folder, unbroken, replays (dry) with exit 0."""
    monkeypatch.delenv("DISPLAY", raising=False)
    run = make_run(tmp_path, [step(0, CLICK, "step_0000_before.png")], {"region": [0, 0, 64, 40]})
    (run / "step_0000_before.png").write_bytes(png())
    assert main(["replay", str(run), "--dry-run", "--region", "0,0,64,40"]) == 0, capsys.readouterr()
    assert "-> dry_run" in capsys.readouterr().out


def test_injected_typing_and_enter_is_not_replayed_as_would_execute(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("DISPLAY", raising=False)
    run = make_run(tmp_path, [step(0, {"action": "type", "text": "rm -rf /"}),
                              step(1, {"action": "hotkey", "keys": ["enter"]}),
                              step(2, {"action": "type", "text": "rm -rf ~\n"}),
                              step(3, {"action": "hotkey", "keys": ["ctrl", "shift", "t"]})])
    assert main(["replay", str(run), "--dry-run"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert "type 'rm -rf /' -> dry_run" in lines[0], lines
    for ln in lines[1:4]:
        assert "-> denied" in ln and "needs confirmation" in ln and "would execute" not in ln, ln
    assert "submits" in lines[1] and "submits" in lines[2]


def test_replay_takes_its_region_from_the_command_line_not_the_recording(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("DISPLAY", raising=False)
    far = {"action": "click", "x": 5000, "y": 5000}
    run = make_run(tmp_path, [step(0, far)], {"region": [0, 0, 10000, 10000]})
    assert main(["replay", str(run), "--dry-run"]) == 1  # no --region and no screen: no pointer action at all
    assert "-> denied (pointer actions are not allowed" in capsys.readouterr().out
    assert main(["replay", str(run), "--dry-run", "--region", "0,0,100,100"]) == 1
    assert "outside the allowed region (0, 0, 100, 100)" in capsys.readouterr().out
    assert main(["replay", str(run), "--dry-run", "--region", "4000,4000,2000,2000"]) == 0
    assert "-> dry_run" in capsys.readouterr().out


def test_replay_has_a_step_and_a_time_limit(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("DISPLAY", raising=False)
    run = make_run(tmp_path, [step(i, CLICK) for i in range(50)])
    assert main(["replay", str(run), "--dry-run", "--region", "0,0,64,40", "--max-steps", "3"]) == 1
    out = capsys.readouterr().out
    assert out.count("-> dry_run") == 3 and "step limit" in out, out
    assert main(["replay", str(run), "--dry-run", "--region", "0,0,64,40", "--max-seconds", "0.3",
                 "--delay", "0.1"]) == 1
    out = capsys.readouterr().out
    assert 1 <= out.count("-> dry_run") < 10 and "time limit" in out, out
    for bad in (["--max-steps", "0"], ["--max-seconds", "-1"], ["--region", "1,2,3"]):
        assert main(["replay", str(run), "--dry-run", *bad]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("omnirt: error: ") and "\n" not in err, err
