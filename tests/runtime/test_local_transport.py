"""The local transport and `omnirt talk` on a real sound server: a private PulseAudio daemon whose virtual microphone
hears what the test plays into it and whose virtual speaker the test records (tools/pulse.py).

The spoken answer is checked by ear (our Whisper transcribes the recorded speaker), and with the speaker routed back
into the microphone (a loopback module, like a laptop's speaker reaching its own microphone) the assistant must not
answer itself: the echo gate silences its own voice.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import soundfile as sf

from hearing import hear

from omnirt.runtime.frames import AudioFrame
from omnirt.runtime.transports.local import AudioDeviceError, LocalAudio, LocalAudioOptions, abandoned_streams
from omnirt.tools.clips import make_clip, read_audio
from omnirt.tools.pulse import VirtualAudio

needs_pulse = pytest.mark.needs("pulseaudio", "paplay")


class Talk:
    """`python -m omnirt.tools.talk` as a subprocess, its output collected line by line with arrival times."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        # Ctrl-C must reach talk even when the test run itself was started in the background (a shell then
        # starts its children with SIGINT ignored, and Python keeps it ignored).
        self.proc = subprocess.Popen([sys.executable, "-m", "omnirt.tools.talk", *args],
                                     env={**env, "PYTHONUNBUFFERED": "1", "COLUMNS": "250"},
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        self.lines: list[tuple[float, str]] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._changed:
                self.lines.append((time.monotonic(), line.rstrip("\n")))
                self._changed.notify_all()

    @property
    def output(self) -> str:
        return "\n".join(line for _, line in self.lines)

    def wait_for(self, text: str, timeout: float) -> float:
        """Block until a line containing `text` appears; returns when it did."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for t, line in self.lines:
                    if text in line:
                        return t
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    raise AssertionError(f"no {text!r} within {timeout:.0f} s; output:\n{self.output}")
                self._changed.wait(min(left, 0.2))

    def wait(self, timeout: float) -> int:
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.send_signal(signal.SIGUSR1)  # talk dumps every thread's stack (faulthandler): where it hangs
            time.sleep(1.0)
            self.proc.kill()
            self.proc.wait()
            self._reader.join(5)
            raise AssertionError(f"talk did not exit within {timeout:.0f} s; output:\n{self.output}") from None
        self._reader.join(5)
        return rc

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@needs_pulse
@pytest.mark.models
def test_spoken_question_is_answered_through_the_speaker(asr, tmp_path):
    question = make_clip("What is the capital of France?", "piper")
    with VirtualAudio() as va:
        talk = Talk(va.env, "--turns", "1", "--linger-s", "0.5")
        try:
            talk.wait_for("mic ready", 60)
            rec = va.record_speaker(tmp_path / "speaker.wav")
            va.play_into_mic(question)
            rc = talk.wait(60)
            rec.stop()
        finally:
            talk.kill()
    out = talk.output
    assert rc == 0, out
    you = next(line for _, line in talk.lines if line.startswith("you:"))
    assert "capital" in you.lower() and "france" in you.lower(), out
    assert re.search(r"turn 1 latency \(ms\): .*total \d+, heard at the speaker \d+; played \d", out), out
    heard = hear(tmp_path / "speaker.wav", asr)
    assert "paris" in heard, f"the speaker said {heard!r}; output:\n{out}"
    assert "Traceback" not in out and "warning" not in out, out


@needs_pulse
@pytest.mark.models
def test_the_assistant_does_not_answer_its_own_voice(tmp_path):
    """The speaker is looped into the microphone; after the answer the session listens on for 3 s, then Ctrl-C."""
    question = make_clip("What is the capital of France?", "piper")
    with VirtualAudio() as va:
        va.loopback(latency_ms=30)
        talk = Talk(va.env)
        try:
            talk.wait_for("mic ready", 60)
            va.play_into_mic(question)
            talk.wait_for("turn 1 latency", 60)
            time.sleep(3.0)
            talk.proc.send_signal(signal.SIGINT)
            rc = talk.wait(20)
        finally:
            talk.kill()
    out = talk.output
    assert rc == 0 and "Traceback" not in out, out
    assert "[turn 1]" in out and "[turn 2]" not in out, f"the assistant heard itself:\n{out}"
    played = float(re.search(r"turn 1 latency .*; played ([\d.]+) s", out).group(1))
    m = re.search(r"echo gate silenced (\d+) of (\d+) mic frames", out)
    assert m, out
    # the loop really carried the answer into the microphone, and the gate silenced it (32 ms frames)
    assert int(m.group(1)) * 0.032 >= 0.5 * played, out


@needs_pulse
@pytest.mark.models
def test_the_user_can_barge_in_over_the_echo(tmp_path):
    """With the speaker looped into the microphone, the user's voice over the assistant's still gets through the
    echo gate: the answer is cut and the new question heard and answered."""
    long_answer = make_clip("Tell me three facts about the moon.", "piper")
    barge = make_clip("What is the capital of France?", "espeak")
    with VirtualAudio() as va:
        va.loopback(latency_ms=30)
        talk = Talk(va.env, "--turns", "1", "--linger-s", "0.5")
        try:
            talk.wait_for("mic ready", 60)
            va.play_into_mic(long_answer)
            talk.wait_for("assistant:", 60)
            time.sleep(1.0)  # the answer is playing (and looping back into the microphone)
            va.play_into_mic(barge)
            rc = talk.wait(60)
        finally:
            talk.kill()
    out = talk.output
    assert rc == 0, out
    assert "(interrupted after" in out and "[turn 2]" in out, out
    you = [line.lower() for _, line in talk.lines if line.startswith("you:")]
    assert len(you) == 2 and "france" in you[1], out  # heard through the echo
    assert "assistant:" in out.split("[turn 2]")[1], out  # and answered (what, depends on the model)


def heard_until(recording: np.ndarray, clip, window_s: float = 0.25, rate: int = 16000) -> float:
    """Where in `clip` (seconds) the recording's last sound comes from: its last `window_s` of sound, found in the
    clip by normalised cross-correlation. Gaps in the recording (a late callback) do not move it."""
    ref = read_audio(clip, rate)
    end = int(np.flatnonzero(np.abs(recording) > 0.01)[-1]) + 1
    n = int(window_s * rate)
    tail = recording[max(0, end - n):end]
    corr = np.correlate(ref, tail, mode="valid")
    energy = np.sqrt(np.convolve(ref ** 2, np.ones(len(tail)), mode="valid")) + 1e-9
    return (int(np.argmax(corr / energy)) + len(tail)) / rate


@needs_pulse
def test_local_audio_plays_flushes_and_gates_its_own_echo(tmp_path):
    """In-process, no models: reply audio reaches the speaker, flush() cuts it at once, its echo is silenced, and
    the user's voice played into the microphone comes through."""
    reply = make_clip("The weather is nice today, so we are going for a walk in the park.", "espeak")
    user = make_clip("Please turn off the lights in the kitchen before you go to bed.", "flite")
    pcm, rate = sf.read(str(reply), dtype="int16")

    async def session(va: VirtualAudio) -> tuple[list[AudioFrame], LocalAudio, float]:
        frames: list[AudioFrame] = []
        async with LocalAudio(LocalAudioOptions()) as audio:
            async def collect() -> None:
                async for f in audio.frames():
                    frames.append(f)
            task = asyncio.create_task(collect())
            await asyncio.wait_for(audio.ready.wait(), 10)
            step = rate // 50
            for i in range(0, len(pcm), step):
                audio.play(AudioFrame(pcm=pcm[i:i + step], sample_rate=rate, turn=1))
            await asyncio.sleep(1.5)
            dropped = audio.flush()
            await asyncio.sleep(0.3)
            await asyncio.to_thread(va.play_into_mic, user)
            await asyncio.sleep(0.3)
            task.cancel()
        return frames, audio, dropped

    with VirtualAudio() as va:
        va.loopback(latency_ms=30)
        rec = va.record_speaker(tmp_path / "speaker.wav")
        frames, audio, dropped = asyncio.run(session(va))
        rec.stop()
    total = len(pcm) / rate
    played = audio.played_s(1)
    assert 1.2 < played < 1.9 and dropped == pytest.approx(total - played, abs=0.1)
    spk, _ = sf.read(str(tmp_path / "speaker.wav"), dtype="float32")
    assert np.abs(spk).max() > 0.01, "the speaker played nothing"
    # cut at once: the speaker's last sound is the reply where flush() cut it. Judged by content, not by the span
    # of the recording's sound, which a late callback (a gap through PulseAudio) stretches on a busy machine.
    print(f"played {played:.3f} s, the speaker's last sound is the reply at {heard_until(spk, reply):.3f} s; "
          f"{audio.stats()}")
    # nothing after the cut was heard; before it, a callback that came too late (an xrun, counted by PortAudio)
    # may have lost up to one output buffer (50 ms) of what it was handed
    assert played - 0.05 - 0.05 * audio.xruns <= heard_until(spk, reply) <= played + 0.05
    assert audio.stats()["dropped_blocks"] == 0
    # what the pipeline would hear: silence while the reply played (its echo), then the user's voice
    mic = np.concatenate([f.pcm for f in frames]).astype(np.float32) / 32768
    ts = np.array([f.capture_ts for f in frames])
    heard_at = np.array([np.sqrt(np.mean((f.pcm / 32768.0) ** 2)) > 0.003 for f in frames])
    start = audio.first_heard(1)
    during = (ts > start + 0.05) & (ts < start + played)
    assert during.sum() > 30 and not heard_at[during].any(), "the assistant's echo reached the pipeline"
    assert audio.gated_frames >= 0.8 * during.sum()
    assert heard_at[ts > start + played + 0.3].sum() * 0.032 > 1.0, "the user's voice did not come through"
    user_audio = read_audio(user, 16000)
    assert np.sqrt(np.mean(mic[-len(user_audio):] ** 2)) > 0.3 * np.sqrt(np.mean(user_audio ** 2))


def test_missing_audio_device_is_one_line_error(tmp_path):
    env = {**os.environ, "PULSE_SERVER": f"unix:{tmp_path}/nowhere/native", "PYTHONUNBUFFERED": "1"}
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "omnirt.tools.talk", "--turns", "1"], env=env,
                          capture_output=True, text=True, timeout=60)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1 and lines[0].startswith("omnirt: error: ") and "audio device" in lines[0], proc.stderr
    assert "loading models" not in proc.stdout and time.monotonic() - t0 < 20  # fails before any model loads


def test_a_stream_that_never_closes_is_left_not_waited_for():
    """PortAudio's ALSA back end sometimes blocks in abort() for good once the sound server died (seen in CI with
    a busy core): the session must still end."""
    gate = threading.Event()

    class Stuck:
        closed = False

        def abort(self) -> None:
            gate.wait()

        def close(self) -> None:
            self.closed = True

    audio, stuck, fine = LocalAudio(LocalAudioOptions(close_timeout_s=0.2)), Stuck(), Stuck()
    audio._in, audio._out = stuck, None
    before, t0 = abandoned_streams(), time.monotonic()
    audio._close_streams()
    assert time.monotonic() - t0 < 1.0 and abandoned_streams() == before + 1 and not stuck.closed
    gate.set()  # once a stream closes in time, nothing is counted
    audio._in, audio._out = fine, None
    audio._close_streams()
    assert fine.closed and abandoned_streams() == before + 1


@needs_pulse
@pytest.mark.models
def test_a_lost_sound_server_ends_the_session_with_one_line():
    va = VirtualAudio().start()
    try:
        talk = Talk(va.env)
        talk.wait_for("mic ready", 60)
    finally:
        va.stop()
    try:
        rc = talk.wait(30)
    finally:
        talk.kill()
    out = talk.output
    assert rc == 2 and "Traceback" not in out, out
    assert talk.lines[-1][1].startswith("omnirt: error: the microphone"), out  # (PortAudio's own lines before it)


@needs_pulse
def test_unknown_device_name_lists_the_available_ones():
    with VirtualAudio():
        with pytest.raises(AudioDeviceError, match=r"^input audio device 'no-such-mic' not found.*available: "):
            LocalAudio(LocalAudioOptions(input_device="no-such-mic")).check_devices()
        with pytest.raises(ValueError, match="blocksize"):
            LocalAudioOptions(blocksize=960)


def test_a_hold_plays_silence_then_the_reply_goes_on_where_it_stopped():
    """The speaker side alone (no device): the output callback fed by hand, as PortAudio would call it."""
    from types import SimpleNamespace

    from omnirt.runtime.frames import AudioFrame

    audio = LocalAudio(LocalAudioOptions(echo_gate=False, output_rate=16000))
    audio.play(AudioFrame(pcm=np.arange(1, 1601, dtype=np.int16), sample_rate=16000, turn=1))
    t = SimpleNamespace(outputBufferDacTime=0.0, currentTime=0.0)
    status = SimpleNamespace(output_underflow=False)

    def block() -> np.ndarray:
        out = np.zeros((160, 1), np.int16)
        audio._output_callback(out, 160, t, status)
        return out[:, 0]

    assert block()[0] == 1
    audio.hold(True)
    assert not block().any() and audio.played_s(1) == 0.01  # silence, nothing of the reply consumed
    audio.hold(False)
    assert block()[0] == 161 and audio.underruns == 0
    audio.hold(True, max_s=0.0)  # a hold that has run out plays on by itself
    assert block()[0] == 321


def _stamps(blocks: list[tuple[float, bool]], **options) -> list[float]:
    """The microphone side alone: blocks of 20 ms put in the input queue with the arrival-based capture times a
    callback would give them; returns the capture_ts of the frames that come out."""
    async def go() -> list[float]:
        audio = LocalAudio(LocalAudioOptions(echo_gate=False, input_rate=16000, frame_ms=20, **options))
        audio._queue = asyncio.Queue()
        for start, lost in blocks:
            audio._queue.put_nowait((start, np.zeros(320, np.int16), lost))
        audio._queue.put_nowait(None)
        return [f.capture_ts async for f in audio.frames()]

    return asyncio.run(go())


def test_a_late_microphone_callback_does_not_move_the_capture_clock():
    """A callback 150 ms late, then the blocks that piled up behind it all at once: the samples are continuous, so
    the capture times must be too (stamping them late made the echo gate see the echo at a new delay)."""
    on_time = [(i * 0.02, False) for i in range(10)]
    burst = [(0.2 + 0.15 + 0.0001 * i, False) for i in range(8)]  # blocks 10-17 arrive together, 150 ms late
    after = [((18 + i) * 0.02, False) for i in range(10)]
    ts = _stamps(on_time + burst + after)
    assert np.allclose(np.diff(ts), 0.02, atol=1e-3), np.round(np.diff(ts), 4)


def test_lost_microphone_samples_re_anchor_the_capture_clock():
    """After a real gap (every later block as late as the first), or one PortAudio flags as an overflow, the clock
    follows the device again within two blocks."""
    before = [(i * 0.02, False) for i in range(10)]
    gap = [((10 + i) * 0.02 + 0.3, False) for i in range(10)]  # 300 ms of samples never arrived
    ts = _stamps(before + gap)
    assert abs(ts[-1] - (19 * 0.02 + 0.3)) < 1e-3 and abs(ts[11] - (11 * 0.02 + 0.3)) < 1e-3, ts
    flagged = [(i * 0.02, False) for i in range(10)] + [(0.2 + 0.3, True)] + [((11 + i) * 0.02 + 0.3, False)
                                                                            for i in range(5)]
    ts = _stamps(flagged)
    assert abs(ts[10] - 0.5) < 1e-3, ts
