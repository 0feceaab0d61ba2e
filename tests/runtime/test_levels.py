"""Level judgements at an utterance's edges (runtime/levels.py), on level fixtures."""

from omnirt.runtime.levels import sound_before


def test_sound_before_an_onset_reaches_over_short_gaps_only():
    room = [0.001] * 10
    word, gap = [0.05] * 6, [0.001] * 5
    # newest last: a first word, a 5-chunk pause, then the chunks just before the detector's onset
    levels = room + word + gap + [0.05] * 3
    assert sound_before(levels, 10, reach=25, max_gap=8) == 14  # back over the pause to the first word
    assert sound_before(levels, 10, reach=25, max_gap=4) == 3  # a pause longer than max_gap stops it
    assert sound_before(levels, 10, reach=2, max_gap=8) == 2  # never beyond reach
    assert sound_before(room + [0.002] * 8, 10, reach=25, max_gap=8) == 0  # the room's own flicker is not sound
    assert sound_before([0.05] * 20, 10, reach=25, max_gap=8) == 0  # a room as loud as speech: nothing stands out
    assert sound_before([0.0] * 10 + [0.002] * 5, 10, reach=25, max_gap=8) == 0  # digital silence, then -54 dBFS
    # no room heard (the audio began with the sound): the floor alone tells sound from quiet
    assert sound_before(levels, 0, reach=25, max_gap=8) == 14
    assert sound_before(word + [0.05] * 3, 0, reach=25, max_gap=8) == 9  # back to the first chunk
    assert sound_before([0.002] * 10, 0, reach=25, max_gap=8) == 0  # below the floor: nothing
    assert sound_before(levels, -1, reach=25, max_gap=8) == 0
