"""The page's transcript on event fixtures, in Chromium without a server: what it shows when events of one turn
arrive after a later turn's (runtime/transports/web/app.js keeps a line per turn and forgets withdrawn turns)."""

import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from omnirt.tools.chromium import close_page, open_page

pytestmark = [pytest.mark.needs("chromium")]

PAGE = (Path(__file__).resolve().parents[2] / "runtime" / "transports" / "web" / "index.html").as_uri()

# The user paused after a question and went on: the pause released turn 1, whose final transcript and answer were
# still on their way when turn 2 announced that it joins it (the order seen once in a stock Chromium e2e run).
LATE_FINAL_AFTER_REJOIN = [
    {"type": "user", "text": "What is the capital", "final": False, "turn": 1},
    {"type": "assistant_delta", "text": "The capital", "turn": 1},
    {"type": "rejoin", "turn": 2, "joins": 1},
    {"type": "user", "text": "What is the capital of France?", "final": True, "turn": 1},
    {"type": "assistant_done", "text": "The capital of France is Paris.", "turn": 1},
    {"type": "user", "text": "What is the capital of France? And of", "final": False, "turn": 2},
    {"type": "status", "state": "thinking", "turn": 1},
    {"type": "user", "text": "What is the capital of France? And of Germany?", "final": True, "turn": 2},
    {"type": "assistant_delta", "text": "Paris, and ", "turn": 2},
    {"type": "assistant_done", "text": "Paris, and Berlin.", "turn": 2},
]

# Two turns whose events interleave: the user spoke over the first answer, and its last text came after the
# second turn's words.
INTERLEAVED = [
    {"type": "user", "text": "Hello.", "final": True, "turn": 1},
    {"type": "assistant_delta", "text": "Hi", "turn": 1},
    {"type": "user", "text": "What time", "final": False, "turn": 2},
    {"type": "user", "text": "What time is it?", "final": True, "turn": 2},
    {"type": "assistant_done", "text": "Hi there.", "turn": 1},
    {"type": "assistant_done", "text": "I cannot see a clock.", "turn": 2},
]

SHOWN = """JSON.stringify([...document.querySelectorAll('#transcript .line')].map(
  (e) => [e.classList.contains('user') ? 'user' : 'assistant', e.textContent, e.classList.contains('partial')]))"""


async def shown_after(events: list[dict], tmp_path) -> list[list]:
    wav = tmp_path / "quiet.wav"
    sf.write(str(wav), np.zeros(4800, np.int16), 48000, subtype="PCM_16")
    proc, http, ws, page = await open_page(PAGE, wav, tempfile.mkdtemp(dir=tmp_path))
    try:
        for event in events:
            await page.eval(f"onEvent({json.dumps(event)})")
        return json.loads(await page.eval(SHOWN))
    finally:
        await close_page(proc, http, ws)


async def test_a_withdrawn_turns_late_transcript_and_answer_stay_off_the_page(tmp_path):
    shown = await shown_after(LATE_FINAL_AFTER_REJOIN, tmp_path)
    assert shown == [["user", "What is the capital of France? And of Germany?", False],
                     ["assistant", "Paris, and Berlin.", False]], shown


async def test_interleaved_turns_keep_each_its_own_lines(tmp_path):
    shown = await shown_after(INTERLEAVED, tmp_path)
    assert shown == [["user", "Hello.", False], ["assistant", "Hi there.", False],
                     ["user", "What time is it?", False], ["assistant", "I cannot see a clock.", False]], shown
