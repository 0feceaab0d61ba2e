"""Level judgements at an utterance's edges, beside the speech detector: where the user's sound began before the
detector heard it, and whether sound went on after a speculative cut.

Why level and not the detector: Silero judges whole chunks with a recurrent state and can lag the sound by words on
narrow-band or noisy speech, or lose a word's faint ending; the RMS level of the audio is known at once. Pure logic
over levels and samples, no I/O; tested on fixtures.
"""

from __future__ import annotations

import numpy as np

LOUD_FLOOR = 0.003  # RMS (about -50 dBFS) below which no sound counts as the user's, however quiet the room
TAIL_FRAME = 160  # 10 ms at 16 kHz: the frames a post-roll tail's loudness is judged in


def sound_before(levels: np.ndarray, room: int, reach: int, max_gap: int, factor: float = 3.0,
                 floor: float = LOUD_FLOOR) -> int:
    """How many chunks before a detected onset the user's sound began: `levels` are the RMS of the chunks before the
    onset (oldest first), of which the first `room` are the room before anything could have been said; a chunk is
    sound when it is `factor` times the room's median and above `floor`; reaching back at most `reach` chunks, over
    quiet gaps of at most `max_gap` chunks (the pause between two words). 0: nothing before the onset stands out.
    room 0: no room was heard (the audio began with the sound), so `floor` alone tells sound from quiet.

    Why: the speech detector can miss the first words of narrow-band or noisy speech (a phone line's "Front" before
    "Center") and pass its threshold only later; the recogniser still needs those words."""
    levels = np.asarray(levels, dtype=np.float64)
    if room < 0 or len(levels) <= room:
        return 0
    threshold = max(factor * float(np.median(levels[:room])), floor) if room else floor
    back = levels[room:][::-1][:reach]  # newest first
    found, gap = 0, 0
    for i, level in enumerate(back):
        if level > threshold:
            found, gap = i + 1, 0
        else:
            gap += 1
            if gap > max_gap:
                break
    return found


def tail_is_louder(tail: np.ndarray, utterance: np.ndarray, frame: int = TAIL_FRAME, margin: float = 3.0,
                   floor: float = LOUD_FLOOR, lead: np.ndarray | None = None, rise: float = 2.0) -> bool:
    """True when some 10 ms frame of `tail` is `margin` times louder (RMS) than the quietest tenth of the
    utterance's frames (its background), above an absolute `floor` (about -50 dBFS), and a new sound: `rise` times
    louder than the quietest frame before it (`lead`, the audio just before the tail, counts). The fading end of
    the last word, which the speculation was cut inside, only falls: redoing the turn for it cost a turn's
    recognition and first token in about half of the Chromium turns (docs/measurements.md). The final /s/ of
    "France" heard at 8 kHz (-50 dBFS) rises out of the pause before it."""
    def rms(x: np.ndarray) -> np.ndarray:
        n = len(x) // frame
        return np.sqrt(np.mean(x[: n * frame].reshape(n, frame) ** 2, axis=1)) if n else np.zeros(0)

    t, u = rms(tail), rms(utterance)
    if not len(t):
        return False
    background = float(np.percentile(u, 10)) if len(u) else 0.0
    quietest = np.minimum.accumulate(np.concatenate([rms(lead) if lead is not None else np.zeros(0), t]))
    before = np.concatenate([[0.0], quietest])[-len(t) - 1:-1]  # the quietest frame before each tail frame
    return bool(np.any((t > max(margin * background, floor)) & (t > rise * before)))
