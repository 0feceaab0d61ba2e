"""Whisper token ids -> text, from CTranslate2's vocabulary.txt (one token a line, in id order).

The text tokens are GPT-2 byte-level BPE pieces: each character of a piece stands for one byte through GPT-2's
byte-to-unicode table, so decoding is a table lookup and a UTF-8 decode of the joined bytes. Special tokens
(<|endoftext|>, <|en|>, <|notimestamps|>, ...) and the timestamp tokens <|0.00|> .. <|30.00|> (which only
vocabulary.txt lists, not tokenizer.json) are looked up by name, never hard-coded. Encoding text (a prompt's
context) needs the BPE merges, which only tokenizer.json has: the `tokenizers` library reads it.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Sequence

TIME_PRECISION = 0.02  # seconds per timestamp token
MAX_CONTEXT_TOKENS = 223  # a prompt's context: at most the decoder's context / 2 - 1 (faster-whisper's cut)


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

    def __init__(self, vocabulary: list[str], bpe: str | Path | None = None) -> None:
        self.tokens = vocabulary
        self.bpe_path, self._bpe = bpe, None
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
    def from_file(cls, path: str | Path, bpe: str | Path | None = None) -> "WhisperTokenizer":
        """From vocabulary.txt; bpe: the model's tokenizer.json, needed only to encode text (`encode`)."""
        # split("\n"), not splitlines(): a piece may legally contain characters that splitlines treats as breaks.
        lines = Path(path).read_text(encoding="utf-8").split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        return cls(lines, bpe)

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

    def sot_sequence(self, language: str, timestamps: bool, context: Sequence[int] = ()) -> list[int]:
        """The decoder prompt: start, language, task, and <|notimestamps|> when timestamps are off; with context
        (text tokens of what was said before), <|startofprev|> and its last MAX_CONTEXT_TOKENS ahead of them, as
        Whisper was trained to read the text before a window."""
        seq = [self.sot, self.language_id(language), self.transcribe]
        seq = seq if timestamps else seq + [self.no_timestamps]
        return [self.sot_prev, *context[-MAX_CONTEXT_TOKENS:], *seq] if context else seq

    def head(self, prompt: Sequence[int]) -> int:
        """How many of the prompt's tokens run up to and including its start token: the logits there give the
        no-speech probability, whatever context goes before it."""
        return prompt.index(self.sot) + 1

    def encode(self, text: str) -> list[int]:
        """Text tokens of `text` as Whisper's BPE splits it (the context of a prompt). Needs the tokenizer.json
        this tokenizer was given (`bpe`), loaded on first use."""
        if self._bpe is None:
            if self.bpe_path is None:
                raise ValueError("this Whisper tokenizer was given no tokenizer.json: it cannot encode text")
            if not Path(self.bpe_path).is_file():
                raise ValueError(f"cannot encode a context: {self.bpe_path} is missing (run `make setup`)")
            from tokenizers import Tokenizer

            self._bpe = Tokenizer.from_file(str(self.bpe_path))
        return [t for t in self._bpe.encode(text, add_special_tokens=False).ids if t < self.eot]

    def decode(self, token_ids: list[int]) -> str:
        """Text of the text tokens (ids below <|endoftext|>); special and timestamp tokens are dropped."""
        table = byte_decoder()
        data = bytearray()
        for t in token_ids:
            if 0 <= t < self.eot:
                data.extend(table[c] for c in self.tokens[t])
        return data.decode("utf-8", errors="replace")
