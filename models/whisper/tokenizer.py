"""Whisper token ids -> text, from CTranslate2's vocabulary.txt (one token a line, in id order).

The text tokens are GPT-2 byte-level BPE pieces: each character of a piece stands for one byte through GPT-2's
byte-to-unicode table, so decoding is a table lookup and a UTF-8 decode of the joined bytes. Special tokens
(<|endoftext|>, <|en|>, <|notimestamps|>, ...) and the timestamp tokens <|0.00|> .. <|30.00|> (which only
vocabulary.txt lists, not tokenizer.json) are looked up by name, never hard-coded.
"""

from __future__ import annotations

import functools
from pathlib import Path

TIME_PRECISION = 0.02  # seconds per timestamp token


@functools.lru_cache(maxsize=1)
def byte_decoder() -> dict[str, int]:
    """Inverse of GPT-2's bytes_to_unicode: printable bytes map to themselves, the rest to U+0100 onwards."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), 256))
    chars = list(keep)
    n = 0
    for b in range(256):
        if b not in keep:
            keep.append(b)
            chars.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(keep, chars)}


class WhisperTokenizer:
    """Decoding and the special ids that greedy decoding needs."""

    def __init__(self, vocabulary: list[str]) -> None:
        self.tokens = vocabulary
        self.ids = {tok: i for i, tok in enumerate(vocabulary)}
        self.eot = self.id("<|endoftext|>")
        self.sot = self.id("<|startoftranscript|>")
        self.transcribe = self.id("<|transcribe|>")
        self.translate = self.id("<|translate|>")
        self.sot_prev = self.id("<|startofprev|>")
        self.sot_lm = self.id("<|startoflm|>")
        self.no_timestamps = self.id("<|notimestamps|>")
        self.no_speech = self.ids.get("<|nospeech|>", self.ids.get("<|nocaptions|>", -1))
        if self.no_speech < 0:
            raise ValueError("vocabulary has neither <|nospeech|> nor <|nocaptions|>")
        self.timestamp_begin = self.no_timestamps + 1
        if self.tokens[self.timestamp_begin] != "<|0.00|>":
            raise ValueError("vocabulary.txt lacks the timestamp tokens (<|0.00|> after <|notimestamps|>)")
        self.timestamp_end = len(self.tokens) - 1

    @classmethod
    def from_file(cls, path: str | Path) -> "WhisperTokenizer":
        # split("\n"), not splitlines(): a piece may legally contain characters that splitlines treats as breaks.
        lines = Path(path).read_text(encoding="utf-8").split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        return cls(lines)

    def id(self, token: str) -> int:
        try:
            return self.ids[token]
        except KeyError:
            raise ValueError(f"token {token!r} is not in the Whisper vocabulary") from None

    def language_id(self, code: str) -> int:
        """<|en|>, <|de|>, ... ; ValueError naming the code if this model does not know it."""
        tok = f"<|{code}|>"
        if tok not in self.ids:
            raise ValueError(f"language {code!r} is not supported by this Whisper model")
        return self.ids[tok]

    def sot_sequence(self, language: str, timestamps: bool) -> list[int]:
        """The decoder prompt: start, language, task, and <|notimestamps|> when timestamps are off."""
        seq = [self.sot, self.language_id(language), self.transcribe]
        return seq if timestamps else seq + [self.no_timestamps]

    def decode(self, token_ids: list[int]) -> str:
        """Text of the text tokens (ids below <|endoftext|>); special and timestamp tokens are dropped."""
        table = byte_decoder()
        data = bytearray()
        for t in token_ids:
            if 0 <= t < self.eot:
                data.extend(table[c] for c in self.tokens[t])
        return data.decode("utf-8", errors="replace")
