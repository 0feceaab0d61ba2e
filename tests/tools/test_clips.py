"""The spoken test clips: real synthesis by three voices, cached by content, native rates kept."""

from __future__ import annotations

import wave

import pytest

from omnirt.tools import clips

needs_cli = pytest.mark.needs("espeak-ng", "flite")


@pytest.fixture
def clip_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("OMNIRT_CLIP_DIR", str(tmp_path / "clips"))
    return tmp_path / "clips"


def _wav_info(path):
    with wave.open(str(path), "rb") as w:
        return w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()


def test_sentences_are_short_everyday_text() -> None:
    assert 8 <= len(clips.SENTENCES) <= 12
    assert all(3 <= len(s.split()) <= 16 and not any(ch.isdigit() for ch in s) for s in clips.SENTENCES)
    assert len(set(clips.SENTENCES)) == len(clips.SENTENCES)


@needs_cli
@pytest.mark.parametrize("voice,rate", [("espeak", 22050), ("flite", 8000)])
def test_cli_voices_write_mono_16bit_at_native_rate(clip_dir, voice: str, rate: int) -> None:
    path = clips.make_clip("Open the window, please.", voice)
    assert path.parent == clip_dir and path.name.startswith(voice)
    channels, width, framerate, frames = _wav_info(path)
    assert (channels, width, framerate) == (1, 2, rate)
    assert 0.5 < frames / framerate < 5.0
    audio = clips.read_audio(path)
    assert audio.dtype.name == "float32" and 0.05 < abs(audio).max() <= 1.0
    assert abs(len(audio) / 16000 - frames / framerate) < 0.01


@needs_cli
def test_clips_are_cached_by_content(clip_dir) -> None:
    first = clips.make_clip("How much does this book cost?", "espeak")
    stamp = first.stat().st_mtime_ns
    assert clips.make_clip("How much does this book cost?", "espeak") == first
    assert first.stat().st_mtime_ns == stamp  # reused, not synthesised again
    other = clips.make_clip("How much does this pen cost?", "espeak")
    assert other != first and other.is_file()
    assert sorted(p.name for p in clip_dir.iterdir()) == sorted([first.name, other.name])  # no temp files left


@pytest.mark.models
def test_make_clips_in_all_voices(clip_dir) -> None:
    made = clips.make_clips(clips.SENTENCES[:2])
    assert [(c.voice, c.text) for c in made] == [(v, t) for v in clips.VOICES for t in clips.SENTENCES[:2]]
    piper = made[0]
    assert _wav_info(piper.path)[:3] == (1, 2, 22050)
    assert all(c.path.is_file() for c in made)


def test_bad_requests_raise(clip_dir, monkeypatch) -> None:
    with pytest.raises(ValueError, match="unknown voice"):
        clips.make_clip("hello", "festival")
    with pytest.raises(ValueError, match="empty"):
        clips.make_clip("  ", "espeak")
    monkeypatch.setattr(clips.shutil, "which", lambda name: None)  # as on a machine without the packages
    with pytest.raises(RuntimeError, match="apt-get install flite espeak-ng"):
        clips.make_clip("hello", "flite")
