"""The WAV reader and writer: streaming, formats, and one-line errors for bad files."""

import numpy as np
import pytest
import soundfile as sf

from omnirt.runtime.frames import AudioFrame
from omnirt.runtime.transports.file import AudioInputError, WavWriter, probe_wav, wav_frames


async def collect(path, **kw):
    return [f async for f in wav_frames(path, **kw)]


def write(path, data, rate, **kw):
    sf.write(str(path), data, rate, **kw)
    return path


async def test_streams_20ms_frames_then_tail_silence(tmp_path):
    p = write(tmp_path / "a.wav", np.ones(8000, np.int16) * 100, 16000, subtype="PCM_16")
    frames = await collect(p, tail_silence_s=0.2)
    assert all(isinstance(f, AudioFrame) and len(f.pcm) == 320 for f in frames[:-10])
    assert sum(len(f.pcm) for f in frames) == 8000 + 10 * 320
    assert frames[0].capture_ts is not None


async def test_stereo_float_and_other_rates_are_read(tmp_path):
    data = np.random.default_rng(0).uniform(-0.5, 0.5, (4800, 2)).astype(np.float32)
    p = write(tmp_path / "s.wav", data, 48000, subtype="FLOAT")
    frames = await collect(p, tail_silence_s=0)
    assert frames[0].channels == 2 and frames[0].pcm.shape == (960, 2) and frames[0].pcm.dtype == np.int16
    assert probe_wav(write(tmp_path / "e.wav", np.zeros(800, np.int16), 8000)).sample_rate == 8000


async def test_realtime_pacing_follows_the_clock(tmp_path):
    from omnirt.runtime.clock import now
    p = write(tmp_path / "a.wav", np.zeros(3200, np.int16), 16000)  # 200 ms
    t = now()
    await collect(p, realtime=True, tail_silence_s=0)
    assert 0.18 < now() - t < 0.5


@pytest.mark.parametrize("make, message", [
    (lambda d: d / "nope.wav", "input file not found"),
    (lambda d: (d / "x.wav").write_bytes(b"this is not audio at all" * 10) and d / "x.wav", "not a readable WAV"),
    (lambda d: write(d / "x.flac", np.zeros(1600, np.int16), 16000, format="FLAC"), "not WAV"),
    (lambda d: write(d / "empty.wav", np.zeros(0, np.int16), 16000), "holds no audio"),
    (lambda d: d, "not a file"),
])
def test_bad_files_give_one_line_errors(tmp_path, make, message):
    with pytest.raises(AudioInputError, match=message) as err:
        probe_wav(make(tmp_path))
    assert "\n" not in str(err.value)


async def test_truncated_wav_is_read_or_reported_in_one_line(tmp_path):
    p = write(tmp_path / "t.wav", np.ones(16000, np.int16), 16000)
    raw = p.read_bytes()
    p.write_bytes(raw[:44] + b"\x00" * 10)  # header promises 32000 bytes, 10 are there
    try:
        frames = await collect(p, tail_silence_s=0)
        assert sum(len(f.pcm) for f in frames) <= 16000
    except AudioInputError as err:
        assert "\n" not in str(err)
    garbled = tmp_path / "g.wav"
    garbled.write_bytes(raw[:12] + b"\xff" * 200)  # RIFF/WAVE tag, then garbage chunks
    with pytest.raises(AudioInputError):
        await collect(garbled, tail_silence_s=0)


def test_writer_resamples_to_its_rate(tmp_path):
    with WavWriter(tmp_path / "o.wav", 22050) as w:
        w.write(AudioFrame(pcm=np.zeros(16000, np.int16), sample_rate=16000))
        w.write(AudioFrame(pcm=np.zeros(22050, np.int16), sample_rate=22050))
        w.write_silence(0.5)
    info = sf.info(str(tmp_path / "o.wav"))
    assert info.samplerate == 22050 and abs(info.duration - 2.5) < 0.02


@pytest.mark.parametrize("subtype", ["FLOAT", "DOUBLE", "PCM_24", "PCM_32", "PCM_U8"])
async def test_every_sample_format_is_scaled_to_the_same_int16(tmp_path, subtype):
    """A float WAV used to be read as int16 without scaling: clear speech became near-silence."""
    tone = 0.5 * np.sin(2 * np.pi * 440 * np.arange(1600) / 16000)
    path = tmp_path / "t.wav"
    sf.write(str(path), tone, 16000, subtype=subtype)
    pcm = np.concatenate([f.pcm for f in await collect(path, tail_silence_s=0)])
    assert abs(int(np.abs(pcm).max()) - 16384) < 200, (subtype, int(np.abs(pcm).max()))


def test_an_output_that_cannot_be_written_is_refused_before_any_work(tmp_path):
    from omnirt.runtime.transports.file import AudioOutputError, check_output

    src = write(tmp_path / "in.wav", np.ones(160, np.int16), 16000)
    before = src.read_bytes()
    for out, message in ((src, "is the input"), (tmp_path / "." / "in.wav", "is the input"), (tmp_path, "directory"),
                         (tmp_path / "no" / "such" / "a.wav", "does not exist"), ("/dev/full", "not a regular")):
        with pytest.raises(AudioOutputError, match=message) as err:
            check_output(out, src)
        assert "\n" not in str(err.value)
    assert src.read_bytes() == before  # the input is untouched
    assert not (tmp_path / "no").exists()  # no folder is made behind the user's back
    assert check_output(tmp_path / "out.wav", src) == tmp_path / "out.wav"
