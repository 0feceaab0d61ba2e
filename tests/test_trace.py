"""Traces: stage spans from the observer, Chrome trace JSON, latency segments that nest and sum."""

import json

import numpy as np

from omnirt.runtime.frames import AudioFrame, SpeechEnded, TextDelta, TextDone, Transcript
from omnirt.runtime.observers import LatencyObserver
from omnirt.runtime.stage import Stage
from omnirt.runtime.testing import run_test
from omnirt.runtime.trace import Span, StageTracer, Trace
import asyncio


class FakeASR(Stage):
    async def process(self, frame):
        if isinstance(frame, SpeechEnded):
            await asyncio.sleep(0.02)
            yield Transcript(text="hi", turn=frame.turn)
        else:
            yield frame


class FakeThinker(Stage):
    async def process(self, frame):
        yield frame
        if isinstance(frame, Transcript):
            for w in ["Hello", " there."]:
                await asyncio.sleep(0.01)
                yield TextDelta(text=w, turn=frame.turn)
            yield TextDone(text="Hello there.", turn=frame.turn)


class FakeTalker(Stage):
    async def process(self, frame):
        yield frame
        if isinstance(frame, TextDelta):
            await asyncio.sleep(0.01)
            yield AudioFrame(pcm=np.zeros(160, np.int16), sample_rate=16000, turn=frame.turn)


async def run_turn():
    from omnirt.runtime.clock import now
    trace, lat = Trace(), LatencyObserver()
    t = now()
    src = SpeechEnded(turn=1, audio=np.zeros(16000, np.float32), audio_start=0, audio_end=1, speech_end_wall=t - 0.3)
    await run_test([FakeASR(), FakeThinker(), FakeTalker()], [src], observers=[StageTracer(trace), lat])
    lat.latency_src = src
    return trace, lat


async def test_stage_spans_and_latency_segments_nest_and_sum():
    trace, lat = await run_turn()
    tl = lat.turns[1]
    assert tl.complete is False or tl.eos_detected is None  # SpeechEnded came from outside the pipeline here
    tl.speech_end, tl.eos_detected = tl.asr_done - 0.5, tl.asr_done - 0.05
    lat.finish(trace)
    names = {s.name for s in trace.spans}
    assert {"FakeASR", "FakeThinker", "FakeTalker", "voice-to-voice", "turn"} <= names
    v2v = trace.find("voice-to-voice", 1)
    segs = [s for s in trace.spans if s.track == "latency" and s.name != "voice-to-voice"]
    assert len(segs) == 5  # eos, ASR, Thinker, Talker, held for commit
    assert all(v2v.contains(s) for s in segs)
    assert abs(sum(s.duration for s in segs) - v2v.duration) < 1e-9
    for a, b in zip(segs, segs[1:]):
        assert abs(a.end - b.start) < 1e-9  # consecutive, no gaps or overlaps
    turn = trace.find("turn", 1)
    assert all(turn.contains(s) for s in trace.for_turn(1) if s.track != "latency")
    asr = trace.find("FakeASR", 1)
    assert asr.first is not None and asr.start <= asr.first <= asr.end
    assert asr.duration >= 0.02


async def test_chrome_trace_json_is_valid(tmp_path):
    trace, lat = await run_turn()
    lat.finish(trace)
    path = trace.to_chrome_json(tmp_path / "t.json")
    data = json.loads(path.read_text())
    events = data["traceEvents"]
    complete = [e for e in events if e["ph"] == "X"]
    assert complete and all(isinstance(e["ts"], float) and e["dur"] >= 0 for e in complete)
    assert {e["args"]["name"] for e in events if e["ph"] == "M" and e["name"] == "thread_name"} >= {"FakeASR"}
    lines = trace.to_jsonl(tmp_path / "t.jsonl").read_text().splitlines()
    assert len(lines) == len(trace.spans) and all(json.loads(l)["duration"] >= 0 for l in lines)


def test_span_contains():
    a, b = Span("a", "x", 0.0, 1.0), Span("b", "x", 0.2, 0.9)
    assert a.contains(b) and not b.contains(a)
