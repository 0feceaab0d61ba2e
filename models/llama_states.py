"""Snapshots of llama.cpp's KV cache, one per recent conversation, so that sessions sharing one model do not read
each other's history again.

Why: a server runs every session on one Llama (models/llama.py: one context behind one lock), and llama.cpp keeps
one KV cache. After another session's turn, a session's end-of-turn judgement and answer found only the common
system prompt there and read the whole conversation again, a cost that grows with every exchange (measured by
`python -m omnirt.tools.bench.capacity_model`; docs/cluster-bench.md). So after each answer the cache's cells in use
are copied out (`save`), and before a prompt is read the snapshot that shares the longest prefix with it is put back
when it shares more than the live cache does (`restore`). One session alone never restores: its own conversation
is always the one in the cache.

llama-cpp-python's own `LlamaRAMCache` does the same per completion, but each of its snapshots also copies the
Python-side logits of a whole batch (n_batch x the vocabulary in floats, hundreds of MB for Qwen), and the
judgement's and read-ahead's own evaluations (models/turn_detector.py, `LlamaChat.prefill`) never consult it.

Every call runs on the model's thread with its lock held (models/llama.py `_Guard`).
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import json
import os
import tempfile
from collections import OrderedDict
from pathlib import Path
from typing import Any, Sequence

MIN_GAIN = 8  # tokens a snapshot must save over the live cache to be worth copying back


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


class ConversationStates:
    """Recent KV snapshots by the tokens they hold, least recently used dropped beyond `capacity_bytes`."""

    def __init__(self, capacity_bytes: int) -> None:
        self.capacity_bytes = capacity_bytes
        self._states: OrderedDict[tuple[int, ...], bytes] = OrderedDict()
        self.saved = self.restored = 0  # counters, for benchmarks and tests

    @property
    def size(self) -> int:
        return sum(len(s) for s in self._states.values())

    def save(self, llm: Any) -> None:
        """Copy out what the cache holds now (after an answer: the conversation so far)."""
        import llama_cpp

        key = tuple(int(t) for t in llm.input_ids[:llm.n_tokens])
        if not key or self.capacity_bytes <= 0:
            return
        ctx = llm._ctx.ctx  # noqa: SLF001 - llama-cpp-python exposes no state API but this and its own cache
        size = llama_cpp.llama_state_get_size(ctx)
        buf = (ctypes.c_uint8 * size)()
        got = llama_cpp.llama_state_get_data(ctx, buf, size)
        self._states.pop(key, None)
        self._states[key] = ctypes.string_at(buf, got)
        self.saved += 1
        while self.size > self.capacity_bytes and self._states:
            self._states.popitem(last=False)

    def add(self, key: Sequence[int], data: bytes) -> None:
        """Keep a snapshot made elsewhere (read back from disk: `load_snapshot`) as if `save` had made it."""
        if key and self.capacity_bytes > 0:
            self._states[tuple(key)] = data

    def latest(self) -> tuple[tuple[int, ...], bytes] | None:
        """The snapshot saved or restored last, with its tokens."""
        return next(reversed(self._states.items()), None)

    def restore(self, llm: Any, tokens: Sequence[int]) -> int:
        """Before `tokens` are read: put back the snapshot sharing the longest prefix with them if it beats the live
        cache by MIN_GAIN tokens. Returns the tokens the cache then holds in common with `tokens`."""
        import llama_cpp

        live = common_prefix(llm.input_ids[:llm.n_tokens], tokens)
        best, best_len = None, live
        for key in self._states:
            n = common_prefix(key, tokens)
            if n > best_len:
                best, best_len = key, n
        if best is None or best_len < live + MIN_GAIN:
            return live
        data = self._states[best]
        self._states.move_to_end(best)
        buf = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
        llama_cpp.llama_state_set_data(llm._ctx.ctx, buf, len(data))  # noqa: SLF001
        llm.input_ids[:len(best)] = best
        # Hold back at least the prompt's last token: the logits a snapshot restores are not the prompt's (they may
        # belong to a token after it, or be absent), so it is evaluated again (llama-cpp-python samples at once
        # from the current logits when a cache holds the whole prompt).
        llm.n_tokens = min(best_len, len(tokens) - 1)
        if hasattr(llm, "_requires_eval"):
            llm._requires_eval = True  # noqa: SLF001 - the same flag its own load_state sets
        self.restored += 1
        return llm.n_tokens


# ---------------------------------------------------------------- snapshots kept on disk
# A new process evaluates the system prompt before its first answer (models/llama.py `LlamaChat.warmup`), seconds of
# both cores that every start of every voice command paid again. The snapshot it leaves is written beside the model
# cache and read back by the next start of the same model, context size, llama.cpp version and prompt. A file is
# trusted only whole: its header names the tokens and the SHA-256 of the state, checked before llama.cpp sees it.

_MAGIC = b"omnirt-llama-state-1\n"
KEEP_FILES = 16  # snapshots kept on disk (one per model and system prompt in use); the least recently used go


def state_dir() -> Path | None:
    """$OMNIRT_STATE_DIR ('' turns the disk snapshots off), else ~/.cache/omnirt/llama-states."""
    env = os.environ.get("OMNIRT_STATE_DIR")
    if env == "":
        return None
    return Path(env).expanduser() if env else Path.home() / ".cache" / "omnirt" / "llama-states"


def snapshot_path(identity: dict[str, Any], tokens: Sequence[int]) -> Path | None:
    """Where the snapshot of `tokens` on the model and context that `identity` describes is kept."""
    root = state_dir()
    if root is None:
        return None
    blob = json.dumps({"identity": identity, "tokens": [int(t) for t in tokens]}, sort_keys=True).encode()
    return root / f"{hashlib.sha256(blob).hexdigest()[:32]}.state"


def write_snapshot(path: Path, key: Sequence[int], data: bytes) -> None:
    """Write atomically (concurrent starts may write the same file); old files beyond KEEP_FILES are removed."""
    header = json.dumps({"tokens": [int(t) for t in key], "sha256": hashlib.sha256(data).hexdigest()}).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(_MAGIC + len(header).to_bytes(4, "little") + header + data)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    files = []
    for p in path.parent.glob("*.state"):
        try:
            files.append((p.stat().st_mtime, p))
        except OSError:  # another start removed it meanwhile
            pass
    for _, old in sorted(files, reverse=True)[KEEP_FILES:]:
        old.unlink(missing_ok=True)


def load_snapshot(path: Path) -> tuple[tuple[int, ...], bytes] | None:
    """The snapshot's tokens and state, or None when the file is absent, cut short or not what its header says
    (then it is removed, and the prompt is evaluated as if it had never been written)."""
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    try:
        if not raw.startswith(_MAGIC):
            raise ValueError("not a snapshot")
        at = len(_MAGIC) + 4
        n = int.from_bytes(raw[len(_MAGIC):at], "little")
        header, data = json.loads(raw[at:at + n]), raw[at + n:]
        if hashlib.sha256(data).hexdigest() != header["sha256"] or not header["tokens"]:
            raise ValueError("checksum")
    except (ValueError, KeyError, TypeError):
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)
        return None
    with contextlib.suppress(OSError):  # (a read-only cache is still read)
        os.utime(path)  # recently used
    return tuple(int(t) for t in header["tokens"]), data
