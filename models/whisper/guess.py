"""Greedy decoding that checks a guess of a window's first tokens in one decoder call (GreedyDecoder.decode_window).

While the user speaks, partial transcripts decode the utterance so far; when it ends, the final decode's first
tokens are usually the last partial's. The exported decoder gives every position's logits, so the guessed tokens go
through it in one call, and greedy decoding keeps each one it would have chosen itself from the logits after the
token before it, up to the first it would not (or the first too close to call: SURE); from there it goes on token
by token.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .decoder import MAX_NEW_TOKENS, GreedyDecoder, WindowResult, _log_softmax

# A guessed token is taken on the one call's logits only when the best is at least this far above the second best;
# closer than that, the token before it is read again on its own. Why: the int8 decoder quantizes a call's
# activations with one scale over all its positions, so the one call's logits (and the keys and values it caches)
# are a little off those of a call per token, and close calls went the other way (docs/measurements.md).
SURE = 2.0


def guessed_window(dec: GreedyDecoder, cross: tuple[Any, Any], prompt: list[int], max_new: int, timestamps: bool,
                   guess: list[int], ro: Any = None) -> WindowResult:
    """Greedy decoding of one window, reading `guess` (an earlier decode's tokens) in one call. The tokens are
    greedy decoding's whatever the guess; a good guess saves most of the decoder calls."""
    tb, eot = dec.tok.timestamp_begin, dec.tok.eot
    guess = list(guess)
    while guess and guess[-1] >= tb:  # the partial's closing timestamp: where its audio ended, not the speech
        guess.pop()
    no_speech, pending, cache = dec.read_prompt(prompt, cross, ro)
    limit = min(max_new, MAX_NEW_TOKENS, dec.n_text_ctx - len(prompt))
    guess = guess[:max(0, limit - 1)]
    read = _Read(dec, cross, ro, len(prompt))
    generated: list[int] = []
    logprobs: list[float] = []
    total = 0.0
    while len(generated) < limit:
        allowed = dec.allowed(pending, generated, len(generated), timestamps)
        if read.from_guess and _margin(allowed) < SURE:  # too close to call on the one call's numbers
            pending, cache = read.again(generated)
            allowed = dec.allowed(pending, generated, len(generated), timestamps)
        token = int(np.argmax(allowed))
        logprob = float(_log_softmax(allowed)[token])
        total += logprob
        if token == eot:
            break
        generated.append(token)
        logprobs.append(logprob)
        if len(generated) >= limit:
            break
        pending, cache = read.next(generated, guess, cache)
    k = len(generated)
    return WindowResult(generated, no_speech, total, total / (k + 1) if k else 0.0, logprobs)


class _Read:
    """Where the next logits come from: one call reading the rest of the guess (while the tokens chosen are the
    guess's), or a call per token. When the one call's logits were too close to call, the last token is read again
    on its own (`again`), and a new call for the rest of the guess may follow (`calls` of them in all)."""

    def __init__(self, dec: GreedyDecoder, cross: tuple[Any, Any], ro: Any, prompt_len: int, calls: int = 3) -> None:
        self.dec, self.cross, self.ro, self.prompt_len, self.calls = dec, cross, ro, prompt_len, calls
        self.logits: np.ndarray | None = None  # after each token of guess[start:], from one call
        self.cache: tuple[Any, Any] | None = None  # that call's cache (the prompt and all of the guess)
        self.start = 0
        self.from_guess = False  # the pending logits came from that call

    def next(self, generated: list[int], guess: list[int], cache: tuple[Any, Any]) -> tuple[np.ndarray, tuple]:
        """The logits after the last generated token, and a cache that holds every generated token."""
        i, token = len(generated) - 1, generated[-1]
        on_guess = i < len(guess) and token == guess[i]
        if self.logits is None and on_guess and i < len(guess) - 1 and self.calls > 0:
            self.calls -= 1
            logits, self.cache = self.dec.step_all(np.array([guess[i:]], dtype=np.int64), cache, self.cross, self.ro)
            self.logits, self.start = logits[0], i
        if self.logits is not None and on_guess:
            self.from_guess = True
            return self.logits[i - self.start], self.cache  # (it holds more of the guess: cut when the guess ends)
        self.from_guess = False
        if self.logits is not None:  # the first token off the guess: keep the cache of the tokens before it
            cache = self.cache if i == len(guess) else self._cut(self.prompt_len + i)
            self.logits = None
        return self.dec._step([token], cache, self.cross, self.ro)

    def again(self, generated: list[int]) -> tuple[np.ndarray, tuple]:
        """The logits after the last generated token (one of the guess's, read in the one call), read on its own."""
        i = len(generated) - 1
        pending, cache = self.dec._step([generated[-1]], self._cut(self.prompt_len + i), self.cross, self.ro)
        self.logits, self.from_guess = None, False
        return pending, cache

    def _cut(self, positions: int) -> tuple[Any, Any]:
        """The one call's self K/V ([L, B, H, P, Dh] OrtValues) with only its first `positions` positions."""
        assert self.cache is not None
        k, v = self.cache
        return (self.dec._ortvalue(k.numpy()[:, :, :, :positions]), self.dec._ortvalue(v.numpy()[:, :, :, :positions]))


def _margin(allowed: np.ndarray) -> float:
    """How far the best next token's logit is above the second best's."""
    top2 = np.partition(allowed, -2)[-2:]
    return float(top2[1] - top2[0])
