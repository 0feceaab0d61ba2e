"""The Talker backends (Piper, espeak-ng): real audio, streaming per sentence, and a round trip through Whisper."""

from __future__ import annotations

import re
import threading
import time

import numpy as np
import pytest

from omnirt.models import assets
from omnirt.models.espeak import EspeakOptions, EspeakTalker, split_sentences
from omnirt.models.piper import PiperOptions, PiperTalker

SENTENCE = "The capital of France is Paris."
THREE = ("The capital of France is Paris. It is a large and beautiful city on the river Seine. "
         "Millions of people from all over the world visit it every single year.")


@pytest.fixture(scope="module")
def piper() -> PiperTalker:
    return PiperTalker.load()


@pytest.fixture(scope="module")
def espeak() -> EspeakTalker:
    return EspeakTalker.load()


@pytest.fixture(scope="module")
def whisper():
    faster_whisper = pytest.importorskip("faster_whisper")
    return faster_whisper.WhisperModel(str(assets.require("whisper-base-ct2")), device="cpu", compute_type="int8",
                                       cpu_threads=2)


def _transcribe(whisper, audio: np.ndarray, rate: int) -> str:
    import soxr

    pcm = soxr.resample(audio.astype(np.float32) / 32768.0, rate, 16000)
    segments, _ = whisper.transcribe(pcm, language="en", beam_size=1, vad_filter=False)
    return " ".join(s.text for s in segments)


def _timed(talker, text: str) -> tuple[list[np.ndarray], list[float], float]:
    """Chunks, the time each arrived, and the total time."""
    t0 = time.perf_counter()
    chunks, arrivals = [], []
    for c in talker.stream(text):
        arrivals.append(time.perf_counter() - t0)
        chunks.append(c)
    return chunks, arrivals, time.perf_counter() - t0


def _check_speech(chunks: list[np.ndarray], rate: int, words: int) -> np.ndarray:
    assert chunks and all(c.dtype == np.int16 and c.ndim == 1 and c.size for c in chunks)
    audio = np.concatenate(chunks)
    seconds = audio.size / rate
    assert 0.15 * words <= seconds <= 1.0 * words, f"{seconds:.2f} s for {words} words"
    rms = float(np.sqrt(np.mean(audio.astype(np.float64) ** 2)))
    assert rms > 500, f"near-silent audio (rms {rms:.0f})"
    return audio


def _report(name: str, talker, chunks, arrivals, total) -> None:
    seconds = sum(c.size for c in chunks) / talker.sample_rate
    print(f"\n[{name}] first chunk {arrivals[0] * 1000:.1f} ms, total {total * 1000:.1f} ms for {seconds:.2f} s of "
          f"audio in {len(chunks)} chunks, RTF {total / seconds:.4f}")


# ---------------------------------------------------------------- Piper

@pytest.mark.models
def test_piper_streams_within_each_sentence_first_sound_early(piper: PiperTalker) -> None:
    assert piper.sample_rate == 22050
    list(piper.stream("Warm up."))
    chunks, arrivals, total = _timed(piper, THREE)
    _report("piper", piper, chunks, arrivals, total)
    _check_speech(chunks, piper.sample_rate, len(THREE.split()))
    assert len(chunks) > 6  # three sentences of several stretches each
    first = piper.split.options.first_frames * piper.split.hop
    assert chunks[0].size == first
    assert arrivals[0] < 0.25 * total  # the first sound is out long before the rest is synthesized


@pytest.mark.models
def test_piper_whole_sentences_one_chunk_each() -> None:
    whole = PiperTalker.load(PiperOptions(stream=None))
    assert whole.split is None
    chunks, arrivals, total = _timed(whole, THREE)
    _report("piper, whole sentences", whole, chunks, arrivals, total)
    _check_speech(chunks, whole.sample_rate, len(THREE.split()))
    assert len(chunks) == 3
    assert arrivals[0] < 0.6 * total


@pytest.mark.models
def test_piper_round_trip_through_whisper(piper: PiperTalker, whisper) -> None:
    audio = _check_speech(list(piper.stream(SENTENCE)), piper.sample_rate, 6)
    text = _transcribe(whisper, audio, piper.sample_rate)
    print(f"\n[piper] whisper heard {text!r}")
    assert "paris" in text.lower()


@pytest.mark.models
def test_piper_options_change_the_audio(piper: PiperTalker) -> None:
    slow = PiperTalker.load(PiperOptions(length_scale=1.5, noise_scale=0.0, noise_w_scale=0.0))
    fast = PiperTalker.load(PiperOptions(length_scale=0.75, noise_scale=0.0, noise_w_scale=0.0))
    assert slow.synthesize(SENTENCE).size > 1.5 * fast.synthesize(SENTENCE).size


@pytest.mark.models
def test_piper_blank_and_bad_text(piper: PiperTalker) -> None:
    assert list(piper.stream("")) == [] and list(piper.stream("  \n\t ")) == []
    with pytest.raises(ValueError):
        piper.stream(None)  # type: ignore[arg-type]


def test_piper_bad_options() -> None:
    with pytest.raises(ValueError):
        PiperOptions(length_scale=0)


def test_piper_missing_voice_names_the_fix(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("OMNIRT_MODEL_DIR", str(tmp_path))
    with pytest.raises(assets.ModelMissingError, match="omnirt models install"):
        PiperTalker.load(PiperOptions(volume=0.5))  # options no other test loads: not cached


# ---------------------------------------------------------------- espeak-ng

def test_espeak_streams_speech_per_sentence(espeak: EspeakTalker) -> None:
    chunks, arrivals, total = _timed(espeak, THREE)
    _report("espeak", espeak, chunks, arrivals, total)
    _check_speech(chunks, espeak.sample_rate, len(THREE.split()))
    assert len(chunks) == 3
    assert total < 0.5  # hundreds of times faster than real time


def test_espeak_blank_bad_text_and_unknown_voice(espeak: EspeakTalker) -> None:
    assert list(espeak.stream("")) == [] and list(espeak.stream(" \n ")) == []
    with pytest.raises(ValueError):
        espeak.stream(b"bytes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown espeak-ng voice"):
        EspeakTalker.load(EspeakOptions(voice="no-such-voice"))
    with pytest.raises(ValueError):
        EspeakOptions(rate=10)


def test_espeak_options_and_concurrent_use_stay_separate(espeak: EspeakTalker) -> None:
    """Two Talkers with different settings, driven from threads at once, each sound as when driven alone."""
    slow = EspeakTalker.load(EspeakOptions(rate=120))
    alone = {id(t): t.synthesize(THREE) for t in (espeak, slow)}
    assert alone[id(slow)].size > 1.2 * alone[id(espeak)].size
    together: dict[int, list[np.ndarray]] = {id(espeak): [], id(slow): []}

    def speak(t: EspeakTalker) -> None:
        for _ in range(3):
            together[id(t)].append(t.synthesize(THREE))

    threads = [threading.Thread(target=speak, args=(t,)) for t in (espeak, slow)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    for key, outs in together.items():
        assert len(outs) == 3 and all(abs(o.size - alone[key].size) < 0.02 * alone[key].size for o in outs)


def test_split_sentences() -> None:
    assert split_sentences("Hi there. How are you?  Fine!\nBye") == ["Hi there.", "How are you?", "Fine!", "Bye"]
    assert split_sentences("It costs 3.50 dollars.") == ["It costs 3.50 dollars."]
    assert split_sentences("  ") == []


@pytest.mark.models
def test_espeak_round_trip_through_whisper(espeak: EspeakTalker, whisper) -> None:
    audio = _check_speech(list(espeak.stream(SENTENCE)), espeak.sample_rate, 6)
    text = _transcribe(whisper, audio, espeak.sample_rate)
    print(f"\n[espeak] whisper heard {text!r}")
    assert "paris" in re.sub(r"[^a-z ]", "", text.lower())
