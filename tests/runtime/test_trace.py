"""Traces: stage spans from the observer, Chrome trace JSON, latency segments that nest and sum."""

import json

import numpy as np

from omnirt.runtime.frames import AudioFrame, Interrupt, SpeechEnded, TextDelta, TextDone, Transcript
from omnirt.runtime.observers import LatencyObserver
from omnirt.runtime.stage import Stage
from omnirt.runtime.testing import run_test
from omnirt.runtime.trace import Span, StageTracer, Trace
import asyncio


class FakeVAD(Stage):
    """Hears the end of speech 300 ms after it happened (the hangover), as the real VAD reports it."""

    async def process(self, frame):
        if isinstance(frame, AudioFrame):
            from omnirt.runtime.clock import now
            await asyncio.sleep(0.01)
            yield SpeechEnded(turn=1, audio=np.zeros(16000, np.float32), audio_start=0, audio_end=1,
                              speech_end_wall=now() - 0.3)
        else:
            yield frame


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
    trace, lat = Trace(), LatencyObserver()
    mic = AudioFrame(pcm=np.zeros(320, np.int16), sample_rate=16000)
    await run_test([FakeVAD(), FakeASR(), FakeThinker(), FakeTalker()], [mic], observers=[StageTracer(trace), lat])
    return trace, lat


async def test_stage_spans_and_latency_segments_nest_and_sum():
    trace, lat = await run_turn()
    tl = lat.turns[1]
    assert tl.speech_end is not None and tl.eos_detected is not None  # seen by the observer, not written here
    assert abs((tl.eos_detected - tl.speech_end) - 0.3) < 0.05  # the VAD's 300 ms is the first segment
    lat.finish(trace)
    names = {s.name for s in trace.spans}
    assert {"FakeVAD", "FakeASR", "FakeThinker", "FakeTalker", "voice-to-voice", "turn"} <= names
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


class RedoVAD(Stage):
    """Sends the utterance at a pause, then hears the user go on: a resume Interrupt and the utterance again."""

    async def process(self, frame):
        if isinstance(frame, AudioFrame):
            from omnirt.runtime.clock import now
            yield SpeechEnded(turn=1, audio=np.zeros(8000, np.float32), audio_start=0, audio_end=0.5,
                              speech_end_wall=now(), speculative=True)
            await asyncio.sleep(0.15)
            yield Interrupt(reason="resume", turn=1)
            yield SpeechEnded(turn=1, audio=np.zeros(16000, np.float32), audio_start=0, audio_end=1,
                              speech_end_wall=now())
        else:
            yield frame


class LateInterruptASR(Stage):
    """Passes an Interrupt on 50 ms late (it waits behind other control work), so the Thinker streams the old
    attempt for a while after the new utterance has left the VAD."""

    async def process(self, frame):
        if isinstance(frame, SpeechEnded):
            await asyncio.sleep(0.06 if frame.speculative else 0.1)
            yield Transcript(text="hi" if frame.speculative else "hi there", turn=frame.turn)
        elif isinstance(frame, Interrupt):
            await asyncio.sleep(0.05)
            yield frame
        else:
            yield frame


class SlowThinker(Stage):
    async def process(self, frame):
        yield frame
        if isinstance(frame, Transcript):
            for w in ["Hello", " there", " again", " and", " again."]:
                await asyncio.sleep(0.03)
                yield TextDelta(text=w, turn=frame.turn)
            yield TextDone(text="...", turn=frame.turn)


async def test_a_redone_turn_is_timed_from_its_own_milestones_not_the_old_attempts():
    lat = LatencyObserver()
    mic = AudioFrame(pcm=np.zeros(320, np.int16), sample_rate=16000)
    out = await run_test([RedoVAD(), LateInterruptASR(), SlowThinker(), FakeTalker()], [mic], observers=[lat])
    assert any(isinstance(f, Transcript) and f.text == "hi there" for f in out)
    stale = [f for f in out if isinstance(f, TextDelta)]
    assert len(stale) > 5  # the old attempt's tokens did come out after the new utterance was sent
    tl = lat.turns[1]
    assert tl.complete
    assert tl.speech_end <= tl.eos_detected <= tl.asr_done <= tl.first_token <= tl.first_audio <= tl.audio_out
    assert tl.asr_done - tl.eos_detected >= 0.09  # the second decode, not the first
    assert all(ms >= 0 for _, ms in tl.segments_ms())
