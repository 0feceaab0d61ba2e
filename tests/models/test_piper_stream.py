"""Piper streamed within a sentence: the stretches tile the latent, and joined they are the whole decoder's output."""

from __future__ import annotations

import numpy as np
import pytest

from omnirt.models.piper_stream import StreamOptions, stretches


@pytest.mark.parametrize("total", [1, 5, 20, 21, 32, 100, 101, 333])
@pytest.mark.parametrize("options", [StreamOptions(), StreamOptions(first_frames=1, frames=7, margin=0),
                                     StreamOptions(first_frames=50, frames=3, margin=40)])
def test_stretches_keep_every_frame_once_with_their_margins(total: int, options: StreamOptions) -> None:
    parts = list(stretches(total, options))
    assert parts[0][2] == 0 and parts[-1][3] == total
    assert parts[0][3] - parts[0][2] == min(total, options.first_frames)
    for (lo, hi, start, end), following in zip(parts, parts[1:] + [None]):
        assert 0 <= lo <= start < end <= hi <= total
        assert start - lo == min(start, options.margin) and hi - end == min(total - end, options.margin)
        assert end - start <= max(options.first_frames, options.frames)
        if following is not None:
            assert following[2] == end  # kept ranges are contiguous: no frame lost or doubled


def test_bad_stream_options() -> None:
    for bad in (dict(first_frames=0), dict(frames=0), dict(margin=-1)):
        with pytest.raises(ValueError):
            StreamOptions(**bad)


@pytest.mark.models
def test_stretches_join_into_the_whole_decoders_output() -> None:
    from omnirt.models.piper import PiperOptions, PiperTalker

    talker = PiperTalker.load(PiperOptions(noise_scale=0.0, noise_w_scale=0.0))  # the same latent every time
    split = talker.split
    assert split is not None
    ids = talker.voice.phonemes_to_ids(talker.voice.phonemize("The capital of France is Paris, on the Seine.")[0])
    latent = split.frames(ids, np.array([0.0, 1.0, 0.0], dtype=np.float32))
    whole = split.decoder.run(None, {split.decoder.get_inputs()[0].name: latent})[0].reshape(-1)
    pieces = list(split.decode(latent))
    assert len(pieces) > 2 and pieces[0].size == split.options.first_frames * split.hop
    joined = np.concatenate(pieces)
    assert joined.size == whole.size
    assert float(np.abs(joined - whole).max()) < 1e-3  # -60 dBFS at worst, at the joins


def test_a_voice_without_a_split_export_says_how_to_load_it() -> None:
    from omnirt.models.piper import stream_export

    with pytest.raises(ValueError, match="stream=None"):
        stream_export("my-own-voice")
