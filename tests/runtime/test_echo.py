"""The echo gate on real speech: the assistant's voice (Piper) played back into the microphone with a delay, an
attenuation and noise must be silenced; the user's voice (eSpeak NG), alone or over that echo, must pass."""

import numpy as np
import pytest

from omnirt.runtime.echo import EchoGate, EchoOptions
from omnirt.tools.clips import make_clip, read_audio

pytestmark = pytest.mark.models  # the assistant's voice is rendered by Piper
R = 16000
B = 512  # microphone block (32 ms)
RB = 441  # reference block: the speaker's callbacks need not line up with the microphone's


@pytest.fixture(scope="module")
def assistant() -> np.ndarray:
    return read_audio(make_clip("The capital of France is Paris. It is a beautiful city on the river Seine.", "piper"))


@pytest.fixture(scope="module")
def user() -> np.ndarray:
    return read_audio(make_clip("Stop, wait a moment please, I have another question.", "espeak"))


def delayed(x: np.ndarray, ms: float, gain: float) -> np.ndarray:
    d = int(ms * R / 1000)
    return np.concatenate([np.zeros(d, np.float32), x])[:len(x)] * gain


def noise(n: int, dbfs: float, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 10 ** (dbfs / 20), n).astype(np.float32)


def gate_stream(mic: np.ndarray, ref: np.ndarray, ref_offset_s: float = 0.0, options: EchoOptions = EchoOptions()):
    """Feed the reference in its own blocks ahead of the microphone (as a speaker callback runs ahead of capture);
    return the gated microphone signal and the decisions."""
    gate = EchoGate(options)
    out, decisions, fed = np.zeros_like(mic), [], 0
    for i in range(0, len(mic) - B + 1, B):
        while fed < min(i + 2 * B, len(ref)):
            gate.reference(ref[fed:fed + RB], fed / R + ref_offset_s)
            fed += RB
        out[i:i + B] = gate.process(mic[i:i + B], i / R)
        decisions.append(gate.last)
    tail = len(mic) - len(mic) % B
    out[tail:] = gate.process(mic[tail:], tail / R)
    return out, decisions, gate


def speech_blocks(x: np.ndarray, dbfs: float = -40.0) -> list[int]:
    return [i for i in range(0, len(x) - B + 1, B) if 10 * np.log10(np.mean(x[i:i + B] ** 2) + 1e-20) > dbfs]


def test_pure_echo_is_silenced_and_the_path_is_learnt(assistant):
    echo = delayed(assistant, 40, 0.4)
    mic = echo + noise(len(echo), -60)
    out, decisions, gate = gate_stream(mic, assistant)
    assert np.sum(out ** 2) < 1e-3 * np.sum(mic ** 2)
    coherent = [d for d in decisions if d.reason == "coherent"]
    assert len(coherent) > len(speech_blocks(echo)) // 2
    assert np.median([d.delay_ms for d in coherent]) == pytest.approx(40, abs=1)
    assert gate.gain == pytest.approx(0.4, rel=0.05)


@pytest.mark.parametrize("delay_ms,gain,noise_db,ref_offset_ms", [
    (0, 1.0, -70, 0), (150, 0.7, -50, 0), (280, 0.2, -65, 0),
    (40, 0.5, -60, 12),  # the speaker's timestamps 12 ms late: the echo seems to come before it was played
])
def test_echo_is_silenced_over_the_delay_range(assistant, delay_ms, gain, noise_db, ref_offset_ms):
    echo = delayed(assistant, delay_ms, gain)
    mic = echo + noise(len(echo), noise_db)
    out, _, _ = gate_stream(mic, assistant, ref_offset_s=ref_offset_ms / 1000)
    assert np.sum(out ** 2) < 1e-3 * np.sum(echo ** 2)


def test_echo_beyond_the_delay_range_is_not_recognised(assistant):
    """The gate is not a mute button: an echo it cannot align with the reference is let through."""
    echo = delayed(assistant, 600, 0.5)
    out, decisions, _ = gate_stream(echo + noise(len(echo), -60), assistant)
    assert not any(d.reason == "coherent" for d in decisions)


def test_user_speech_alone_passes_untouched(user):
    mic = user + noise(len(user), -60)
    out, decisions, gate = gate_stream(mic, np.zeros_like(user))
    assert np.array_equal(out, mic)
    assert {d.reason for d in decisions} <= {"no reference", "silence"}
    assert gate.gated == 0


def test_user_can_barge_in_over_the_echo(assistant, user):
    echo = delayed(assistant, 40, 0.5)
    start = R  # the user starts one second into the assistant's answer
    u = np.zeros_like(echo)
    n = min(len(user), len(echo) - start)
    u[start:start + n] = user[:n]
    mic = echo + u + noise(len(echo), -60)
    out, decisions, _ = gate_stream(mic, assistant)
    blocks = [i // B for i in speech_blocks(u)]
    passed = [not decisions[k].echo for k in blocks]
    assert np.mean(passed) >= 0.8, f"only {np.mean(passed):.0%} of the user's speech passed"
    first_heard = next(k for k, d in enumerate(decisions) if d.reason == "speech")
    assert first_heard - blocks[0] <= 2, "the barge-in was heard more than 64 ms after the user began"
    before = [d for d in decisions[:start // B] if d.reason not in ("silence", "no reference")]
    assert before and all(d.echo for d in before), "the echo before the user spoke leaked"


def test_silence_stays_silence(assistant):
    zeros = np.zeros(R, np.float32)
    out, decisions, _ = gate_stream(zeros, assistant[:R])
    assert not out.any()
    quiet = noise(R, -70)
    out, decisions, _ = gate_stream(quiet, np.zeros(R, np.float32))
    assert np.array_equal(out, quiet) and {d.reason for d in decisions} == {"silence"}


def test_int16_blocks_keep_their_dtype_and_a_gap_in_the_reference_is_silence(assistant):
    gate = EchoGate()
    speech = assistant[R // 2:]  # past the leading silence
    pcm = (speech[:B] * 32767).astype(np.int16)
    gate.reference(pcm, 0.0)
    gate.reference(pcm, 1.0)  # 1 s later: the gap between is silence played
    block = (delayed(speech[:2 * B], 10, 0.5)[:B] * 32767).astype(np.int16)
    out = gate.process(block, 1.0 + 10 / 1000)
    assert out.dtype == np.int16 and gate.last.echo and not out.any()
    # the same block half a second after the first reference: only silence was played within 300 ms
    gate2 = EchoGate()
    gate2.reference(pcm, 0.0)
    gate2.reference(np.zeros(R, np.int16), B / R)
    assert np.array_equal(gate2.process(block, 0.7), block) and gate2.last.reason == "no reference"


def test_options_are_checked():
    with pytest.raises(ValueError):
        EchoOptions(max_delay_ms=2000, history_ms=1000)
    with pytest.raises(ValueError):
        EchoOptions(echo_coherence=1.5)


def test_one_block_that_resembles_another_part_of_the_reply_is_not_taken_for_the_path():
    """Speech repeats itself (the same vowel twice): a block of an echo beyond the delay range can match another part
    of the reply inside it. One such match must neither be learnt as the path nor mute the block."""
    ref = np.random.default_rng(1).normal(0, 0.1, 2 * R).astype(np.float32)
    m = 20 * B  # the microphone block that will hear the repeated part
    first, again = m - 600 * R // 1000, m - 200 * R // 1000
    ref[again:again + B] = ref[first:first + B]  # heard 600 ms late, it equals what was played 200 ms before it
    _, decisions, _ = gate_stream(delayed(ref, 600, 0.5), ref)
    assert decisions[20].coherence > 0.99  # the chance match is there ...
    assert not any(d.reason == "coherent" for d in decisions)  # ... and not taken for the echo path


@pytest.mark.parametrize("gap_ms, at_s", [(10, 1.2), (30, 1.5), (30, 2.5), (100, 1.2), (100, 2.5)])
def test_a_gap_in_playback_lets_at_most_one_block_of_echo_through(assistant, gap_ms, at_s):
    """A speaker callback that comes too late (an underflow) plays a gap the reference does not show: from then on
    the echo arrives later than the learnt delay. The gate must find the new delay without holding itself open on
    the block that straddles the change (on a busy machine that hold let a quarter second of echo through, and the
    assistant answered its own voice)."""
    j, g = int(at_s * R), int(gap_ms * R / 1000)
    played = np.concatenate([assistant[:j], np.zeros(g, np.float32), assistant[j:]])[:len(assistant)]
    mic = delayed(played, 40, 0.5) + noise(len(assistant), -60)
    _, decisions, _ = gate_stream(mic, assistant)
    leaked = [(k, d.reason) for k, d in enumerate(decisions)
              if k >= j // B and not d.echo and d.reason not in ("silence", "no reference")]
    assert len(leaked) <= 1, leaked
