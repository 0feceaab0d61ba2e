"""`omnirt reply` as a person runs it: bad input gets one line on stderr and a non-zero exit, never a traceback;
odd but valid input (8 or 48 kHz, stereo, a ten-minute file) is answered."""

import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from omnirt.runtime.audio import resample
from omnirt.tools.clips import make_clip, read_audio

OMNIRT = [sys.executable, "-m", "omnirt.tools.cli"]


def run(*args, env=None, timeout=300):
    e = dict(os.environ, **(env or {}))
    return subprocess.run([*OMNIRT, *map(str, args)], capture_output=True, text=True, timeout=timeout, env=e)


def assert_one_line_error(proc, code, pattern):
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [l for l in proc.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, proc.stderr
    assert pattern in lines[0], lines[0]


@pytest.fixture(scope="module")
def question():
    return read_audio(make_clip("What is the capital of France?", "piper"), 16000)


def test_missing_file(tmp_path):
    assert_one_line_error(run("reply", tmp_path / "nope.wav", tmp_path / "a.wav"), 2, "input file not found")


def test_not_a_wav(tmp_path):
    p = tmp_path / "q.wav"
    p.write_text("hello, I am a text file\n" * 20)
    assert_one_line_error(run("reply", p, tmp_path / "a.wav"), 2, "not a readable WAV")


def test_corrupt_wav(tmp_path):
    p = tmp_path / "q.wav"
    sf.write(str(p), np.zeros(16000, np.int16), 16000)
    p.write_bytes(p.read_bytes()[:12] + os.urandom(300))
    proc = run("reply", p, tmp_path / "a.wav")
    assert_one_line_error(proc, 2, "q.wav")


@pytest.mark.models
def test_missing_model_names_the_fix(tmp_path, question):
    p = tmp_path / "q.wav"
    sf.write(str(p), question, 16000)
    proc = run("reply", p, tmp_path / "a.wav", env={"OMNIRT_MODEL_DIR": str(tmp_path / "empty")})
    assert_one_line_error(proc, 2, "omnirt models install")


@pytest.mark.models
@pytest.mark.parametrize("kind", ["silence", "noise"])
def test_no_speech(tmp_path, kind):
    rng = np.random.default_rng(1)
    audio = np.zeros(16000 * 4, np.float32) if kind == "silence" else rng.normal(0, 0.1, 16000 * 4).astype(np.float32)
    p = tmp_path / "q.wav"
    sf.write(str(p), audio, 16000, subtype="PCM_16")
    proc = run("reply", "--fast", p, tmp_path / "a.wav")
    assert_one_line_error(proc, 1, "no speech found")
    assert not (tmp_path / "a.wav").exists()


@pytest.mark.models
@pytest.mark.parametrize("rate, channels", [(8000, 1), (48000, 2)])
def test_other_rates_and_stereo_are_answered(tmp_path, question, rate, channels):
    audio = resample(question, 16000, rate)
    if channels == 2:
        audio = np.stack([audio, audio * 0.5], axis=1)
    p = tmp_path / "q.wav"
    sf.write(str(p), audio, rate, subtype="PCM_16")
    proc = run("reply", "--fast", p, tmp_path / "a.wav")
    assert proc.returncode == 0, proc.stderr
    assert "france" in proc.stdout.lower() and "paris" in proc.stdout.lower()
    assert sf.info(str(tmp_path / "a.wav")).duration > 0.5


@pytest.mark.models
@pytest.mark.slow
def test_ten_minute_file_in_bounded_memory(tmp_path, question):
    """A 10-minute 48 kHz stereo file (110 MB): peak memory must not grow with the file's length."""
    rate = 48000
    q = resample(question, 16000, rate)
    short, long = tmp_path / "short.wav", tmp_path / "long.wav"
    sf.write(str(short), np.concatenate([np.zeros(rate), q]), rate, subtype="PCM_16")
    with sf.SoundFile(str(long), "w", samplerate=rate, channels=2, subtype="PCM_16") as f:
        rng = np.random.default_rng(0)
        for _ in range(595):  # 595 s of quiet room noise, then the question
            f.write(np.repeat((rng.normal(0, 0.002, rate))[:, None], 2, axis=1))
        f.write(np.stack([q, q], axis=1))
    peaks = []
    for p in (short, long):
        code = ("import resource, sys; from omnirt.tools.cli import main; rc = main(sys.argv[1:]); "
                "print('PEAK', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss); sys.exit(rc)")
        proc = subprocess.run([sys.executable, "-c", code, "reply", "--fast", str(p), str(tmp_path / "a.wav")],
                              capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr
        assert "paris" in proc.stdout.lower()
        peaks.append(int(proc.stdout.split("PEAK")[-1].split()[0]))
    growth_mb = (peaks[1] - peaks[0]) / 1024
    assert growth_mb < 40, f"peak memory grew by {growth_mb:.0f} MB for a 10-minute file"
