"""The embedded Thinker: a small chat model (Qwen2.5-Coder GGUF) on llama.cpp, streaming text deltas.

The Thinker's words are spoken, so the default system prompt asks for one or two short plain sentences: markdown,
lists and digits read badly aloud. Generation streams token by token so the Talker can start on the first clause,
and a stream that is closed early (barge-in) stops within one token. One `Llama` object holds one KV cache and
must never run two generations at once: a lock serialises streams, and it is held from the first token until the
stream is exhausted or closed.

Every llama.cpp call on a model runs on that model's own long-lived thread, whichever thread asked. Why: the CPU
backend parallelises with OpenMP, whose thread team belongs to the calling thread; called from a new thread each
time (asyncio.to_thread, a thread per stream) it builds a new team with cold caches, and a short prompt took half
as long again (docs/measurements.md).
"""

from __future__ import annotations

import atexit
import functools
import threading
import time
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Iterator

from omnirt.models import assets
from omnirt.models.llama_states import ConversationStates, load_snapshot, snapshot_path, write_snapshot

# Tuned on Qwen2.5-Coder-0.5B: rules alone are ignored for how-to and coding questions (it answers with numbered
# steps and code fences); worked examples inside the system prompt fix most of that. Digits still slip through
# ("7 days"), which both Talkers read correctly.
SPOKEN_SYSTEM_PROMPT = (
    "You are a voice assistant. Your reply is spoken aloud, so it must be one or two short sentences of plain "
    "speech. Never use lists, steps, markdown, backticks or code: summarize in words instead. "
    "Spell numbers as words.\n\n"
    "Examples of good replies:\n"
    "Q: How do I make tea? A: Boil water, pour it over a tea bag, and let it steep for three minutes.\n"
    "Q: Write a Python function that reverses a string. A: Define a function that returns the string sliced "
    "backwards with a step of minus one.\n"
    "Q: Give me a recipe for cookies. A: Mix butter, sugar, flour and an egg, then bake small balls of dough for "
    "ten minutes.\n"
    "Q: How many legs does a spider have? A: A spider has eight legs."
)

ROLES = frozenset({"system", "user", "assistant"})


@dataclass(frozen=True)
class LlamaOptions:
    """Knobs for the embedded Thinker.

    model: asset name of the GGUF ("qwen2.5-coder-0.5b-instruct", or the larger "qwen2.5-coder-1.5b-instruct":
        better answers at about half the speed).
    n_ctx: context window in tokens (system prompt + history + answer); the prompt must fit in it.
    n_threads: CPU threads for llama.cpp. On an idle 2-core machine 2 threads are a little faster than 1. But
        llama.cpp's threads spin at barriers: when other stages (ASR, Talker) keep the cores busy, 2 threads
        collapse while 1 thread keeps most of its speed (docs/measurements.md).
    batch_threads: threads for evaluating a prompt (the first token's wait); 0 = n_threads. Prompt evaluation is
        one dense batch that scales with cores, while token-by-token generation mostly contends with the Talker
        and ASR: a voice session uses 1 generation thread and 2 batch threads on 2 cores.
    lead_threads: threads generating an answer's first tokens, until the process's first-audio work begins
        (runtime.threads.FOREGROUND: the Talker making the turn's first clause); 0 = n_threads. Why: the listener
        waits for those tokens while nothing else needs the cores; from the first clause on, generation runs
        beside the Talker with n_threads (docs/measurements.md).
    temperature: 0.0 is greedy decoding: the same question gives the same answer (reproducible tests).
    max_tokens: cap on the answer's length; a spoken answer of two sentences is well under 96 tokens.
    seed: sampling seed, used only when temperature > 0.
    system_prompt: prepended unless the messages already start with a system message.
    repeat_penalty: > 1 discourages repeating recent tokens (greedy decoding of a small model can loop).
    n_gpu_layers: layers offloaded to a GPU; only a CUDA build of llama-cpp-python uses it (the portable wheel
        is CPU only).
    state_cache_mb: memory for snapshots of the KV cache, one per recent conversation (models/llama_states.py),
        so that sessions sharing the model do not read each other's history again; 0 turns them off. A
        conversation of a few exchanges takes a few MB with the 0.5B model.
    """

    model: str = "qwen2.5-coder-0.5b-instruct"
    n_ctx: int = 2048
    n_threads: int = 2
    batch_threads: int = 0
    lead_threads: int = 0
    temperature: float = 0.0
    max_tokens: int = 96
    seed: int = 0
    system_prompt: str = SPOKEN_SYSTEM_PROMPT
    n_gpu_layers: int = 0
    repeat_penalty: float = 1.1
    state_cache_mb: int = 256

    def __post_init__(self) -> None:
        if self.n_ctx < 128 or self.n_threads < 1 or self.batch_threads < 0 or self.lead_threads < 0 \
                or self.max_tokens < 1 or self.temperature < 0:
            raise ValueError(f"invalid LlamaOptions: {self}")


def _llama_cpp() -> Any:
    try:
        import llama_cpp
    except ImportError:
        raise RuntimeError("llama-cpp-python is not installed: run `make setup`") from None
    return llama_cpp


@functools.lru_cache(maxsize=2)
def _load_llama(model: str, n_ctx: int, n_threads: int, n_gpu_layers: int, batch_threads: int = 0) -> Any:
    """One Llama per model file and runtime knobs: options that only change sampling or the prompt share it."""
    path = assets.require(model) / "model.gguf"
    llama_cpp = _llama_cpp()
    llm = llama_cpp.Llama(model_path=str(path), n_ctx=n_ctx, n_threads=n_threads,
                          n_threads_batch=batch_threads or n_threads, n_gpu_layers=n_gpu_layers, verbose=False)
    if not _LOADED:
        atexit.register(_close_all)
    _LOADED.add(llm)
    return llm


_LOADED: "weakref.WeakSet[Any]" = weakref.WeakSet()
# llama_context_params fields that change what a KV snapshot holds or how it is laid out (the disk snapshot's key)
_STATE_PARAMS = ("n_batch", "n_ubatch", "n_seq_max", "type_k", "type_v", "flash_attn_type", "offload_kqv", "swa_full",
                 "kv_unified")
PREFILL_CHUNK = 16  # tokens a read-ahead evaluates between its checks for more urgent work


def keep_cached_prefix(llm: Any, tokens: list[int], limit: int) -> int:
    """Keep the longest prefix of `tokens` (at most `limit`) that llama.cpp's KV cache already holds (after putting
    back a saved conversation that holds more of it) and drop the rest of the cache; returns its length: the next
    `llm.eval` reads on from there."""
    guard = _GUARDS.get(id(llm))
    if guard is not None and guard.states is not None:
        guard.states.restore(llm, tokens[:limit])
    keep, ids = 0, llm.input_ids
    while keep < min(llm.n_tokens, limit) and ids[keep] == tokens[keep]:
        keep += 1
    llm.n_tokens = keep
    return keep


def _free_sampler(llm: Any) -> None:
    """Free the sampler chain a generation leaves on the Llama, now rather than at a full garbage collection.

    Why: llama-cpp-python makes a new sampler per generation and drops the old one, but each sits in a reference
    cycle (its ExitStack's callback refers back to it), so its native memory (a token array over the whole
    vocabulary) waits for Python's rarely-run oldest-generation collection: a server's memory climbed by that much
    per turn for dozens of turns (bench soak, issue 17)."""
    sampler = getattr(llm, "_sampler", None)
    if sampler is not None and hasattr(sampler, "close"):
        sampler.close()  # idempotent: frees the chain once; the next generation makes its own
        llm._sampler = None


def _close_all() -> None:
    """Free the models before the interpreter tears its modules down: llama-cpp-python's own __del__ runs too late
    at exit and prints a traceback for each model (TypeError: 'NoneType' object is not callable)."""
    for llm in list(_LOADED):
        try:
            llm.close()
        except Exception:  # noqa: BLE001 - exiting anyway
            pass


class _Guard:
    """The lock of one Llama object, which thread holds it (to refuse a same-thread deadlock), and the one thread
    that makes every llama.cpp call on it (see the module docstring)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.owner: int | None = None
        self.states: ConversationStates | None = None  # the Llama's conversations' KV snapshots, if kept
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="omnirt-llama")

    def run(self, fn: Any, *args: Any) -> Any:
        """fn(*args) on the model's thread; the caller waits for it (and holds the lock meanwhile)."""
        return self._thread.submit(fn, *args).result()


_GUARDS: dict[int, _Guard] = {}
_GUARDS_LOCK = threading.Lock()


def _guard_for(llm: Any) -> _Guard:
    with _GUARDS_LOCK:
        if id(llm) not in _GUARDS:
            _GUARDS[id(llm)] = _Guard()
        return _GUARDS[id(llm)]


def check_messages(messages: list[dict[str, str]]) -> None:
    """Raise ValueError for a malformed chat history (the model would otherwise answer nonsense)."""
    if not isinstance(messages, list) or not messages:
        raise ValueError("messages must be a non-empty list of {'role', 'content'} dicts")
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in ROLES or not isinstance(m.get("content"), str):
            raise ValueError(f"message {i} must be {{'role': one of {sorted(ROLES)}, 'content': str}}, got {m!r}")


class LlamaChat:
    """A chat model that streams its answer; use `LlamaChat.load(options)` (cached)."""

    def __init__(self, llm: Any, options: LlamaOptions) -> None:
        self.llm = llm
        self.options = options
        self._guard = _guard_for(llm)  # shared by every LlamaChat on the same Llama object
        if options.state_cache_mb > 0 and self._guard.states is None:
            self._guard.states = ConversationStates(options.state_cache_mb << 20)
        self._turns: Any = None  # the end-of-turn model, made at its first use
        self.warmed_from_disk = False  # the last warmup read the system prompt's snapshot back from disk

    @staticmethod
    def load(options: LlamaOptions = LlamaOptions()) -> "LlamaChat":
        """The chat model for these options; the weights load once per (model, n_ctx, threads, n_gpu_layers)."""
        return _load_chat(options)

    def with_system(self, messages: list[dict[str, str]]) -> list[dict[str, str]]:
        """The messages with the configured system prompt first, unless they bring their own."""
        check_messages(messages)
        if messages[0]["role"] == "system" or not self.options.system_prompt:
            return list(messages)
        return [{"role": "system", "content": self.options.system_prompt}, *messages]

    def stream(self, messages: list[dict[str, str]], stop: threading.Event | None = None) -> Iterator[str]:
        """Yield the answer's text deltas as they are generated.

        To stop early (barge-in), `close()` the generator from the thread that iterates it, or set `stop` from any
        other thread (a generator cannot be closed while another thread is inside `next()`): the stream then ends
        after the token being computed.
        """
        msgs = self.with_system(messages)  # validate now, not at the first next()
        return self._generate(msgs, stop)

    def _generate(self, msgs: list[dict[str, str]], stop: threading.Event | None) -> Iterator[str]:
        from omnirt.runtime.threads import FOREGROUND

        guard, me = self._guard, threading.get_ident()
        if guard.owner == me:
            raise RuntimeError("this thread still has an open Thinker stream on this model: close it first")
        with guard.lock:
            guard.owner = me
            o = self.options
            leading, first_audio = (o.lead_threads or o.n_threads) != o.n_threads, FOREGROUND.entries
            if leading:
                guard.run(self._set_threads, o.lead_threads)
            if guard.states is not None:
                guard.run(guard.states.restore, self.llm, self.prompt_tokens(msgs))
            chunks = guard.run(lambda: self.llm.create_chat_completion(
                messages=msgs, stream=True, temperature=o.temperature, max_tokens=o.max_tokens, seed=o.seed,
                repeat_penalty=o.repeat_penalty))
            try:
                while (chunk := guard.run(next, chunks, None)) is not None:  # each token made on the model's thread
                    if stop is not None and stop.is_set():
                        return
                    if leading and FOREGROUND.entries != first_audio:  # the Talker has begun: share the cores
                        guard.run(self._set_threads, o.n_threads)
                        leading = False
                    delta = chunk["choices"][0]["delta"].get("content")
                    if delta:
                        yield delta
            finally:
                guard.run(chunks.close)  # GeneratorExit inside llama.cpp's token loop: no further token is evaluated
                guard.run(_free_sampler, self.llm)
                if guard.states is not None:
                    guard.run(guard.states.save, self.llm)  # this conversation, for its next turn
                if leading:
                    guard.run(self._set_threads, o.n_threads)
                guard.owner = None

    def prompt_tokens(self, msgs: list[dict[str, str]]) -> list[int]:
        """The tokens llama-cpp-python's chat completion reads for `msgs` (the GGUF's template, as it renders it):
        public because a caller that drives the model itself (the agent's grammar-free decoding) must read the same
        prompt as a chat completion would."""
        result = self._turn_model().render(msgs)
        return self.llm.tokenize(result.prompt.encode(), add_bos=not result.added_special, special=True)

    def _set_threads(self, n: int) -> None:
        """Generate with n threads from the next token on (prompt evaluation keeps batch_threads)."""
        _llama_cpp().llama_set_n_threads(self.llm._ctx.ctx, n, self.options.batch_threads or self.options.n_threads)

    def prefill(self, messages: list[dict[str, str]], stop: threading.Event | None = None) -> bool:
        """Evaluate a prompt ahead of time (a partial question) so that llama.cpp's KV cache holds it: the real
        request then reads only what follows the common prefix. Never waits: if the model is busy it does nothing
        (False). The prompt is the answer's (and the end-of-turn judgement's) up to the user's last word.

        It reads PREFILL_CHUNK tokens at a time and, between chunks, gives way: it pauses while first-audio work
        runs (runtime.threads.FOREGROUND: the final decode of the user's words) and gives up once `stop` is set
        (the final transcript has come). Why: a partial read ahead just before the user stopped speaking held the
        model, and the cores, while the final transcript waited (docs/measurements.md)."""
        from omnirt.runtime.threads import FOREGROUND

        *history, last = self.with_system(messages)
        tokens = self.llm.tokenize(self._turn_model().prompt(last["content"], history).encode(), add_bos=False,
                                   special=True)
        guard = self._guard
        if not guard.lock.acquire(blocking=False):
            return False

        def read() -> bool:
            for i in range(keep_cached_prefix(self.llm, tokens, len(tokens)), len(tokens), PREFILL_CHUNK):
                FOREGROUND.wait()
                if stop is not None and stop.is_set():
                    return False
                self.llm.eval(tokens[i:i + PREFILL_CHUNK])
            return True

        try:
            guard.owner = threading.get_ident()
            return guard.run(read)
        finally:
            guard.owner = None
            guard.lock.release()

    def _turn_model(self) -> Any:
        if self._turns is None:
            from .turn_detector import EndOfTurnModel

            self._turns = EndOfTurnModel(self)
        return self._turns

    @property
    def judge_model(self) -> str:
        """The model `end_of_turn` asks: the end-of-turn classifier is fitted per model (runtime/turn_classifier.py)."""
        return self.options.model

    def end_of_turn(self, text: str, history: list[dict[str, str]] | None = None,
                    answer: list[dict[str, str]] | None = None) -> float:
        """How likely the user has finished speaking after `text` (models/turn_detector.py). Waits for the model.
        answer: the messages that `stream` is asked next, when the answer follows at once: their prompt is read in
        the same evaluation (EndOfTurnModel.prob `then`)."""
        then = self.prompt_tokens(self.with_system(answer)) if answer else None
        return self._turn_model().prob(text, history, then)

    def run(self, fn: Any, messages: list[dict[str, str]] | None = None) -> Any:
        """fn(llm) with the model to itself (waits for a stream in progress), on the model's own thread: for calls
        this class does not wrap, such as grammar-constrained completions. `messages`: what fn will read, so that a
        kept snapshot sharing more of it than the live cache (a warmup read back from disk) is put back first."""
        guard = self._guard
        if guard.owner == threading.get_ident():
            raise RuntimeError("this thread still has an open Thinker stream on this model: close it first")
        with guard.lock:
            try:
                if messages is not None and guard.states is not None:
                    guard.run(guard.states.restore, self.llm, self.prompt_tokens(messages))
                return guard.run(fn, self.llm)
            finally:
                guard.run(_free_sampler, self.llm)

    def warmup(self, probe: list[dict[str, str]] | None = None) -> float:
        """Evaluate the system prompt once (seconds taken) so that the first real question pays only for itself.
        `probe`: the messages whose head to evaluate (default: a "Hi" after the system prompt; the agent's LLM
        policy passes its own system prompt and examples).

        llama.cpp keeps the KV cache of the previous prompt and reuses its longest common prefix, so after this the
        system prompt's ~150 tokens are never evaluated again while the conversation keeps it first. The snapshot
        this leaves is kept on disk, and a later start of the same model and prompt reads it back instead of
        evaluating the prompt again (`warmed_from_disk`; models/llama_states.py); the first prompt then restores it
        as it restores any conversation's snapshot.
        """
        t0 = time.perf_counter()
        probe = probe or [{"role": "user", "content": "Hi"}]
        guard, path = self._guard, self._snapshot_path(probe)
        if path is not None and guard.states is not None:
            got = load_snapshot(path)
            if got is not None:
                with guard.lock:
                    guard.run(guard.states.add, *got)
                self.warmed_from_disk = True
                return time.perf_counter() - t0
        gen = self.stream(probe)
        next(gen, None)
        gen.close()
        if path is not None and guard.states is not None:
            with guard.lock:
                latest = guard.run(guard.states.latest)
            try:
                if latest is not None:
                    write_snapshot(path, *latest)
            except OSError:
                pass  # a read-only home: every start evaluates the prompt, as before
        return time.perf_counter() - t0

    def _snapshot_path(self, probe: list[dict[str, str]]) -> Any:
        """The disk snapshot's file for this model, context and prompt (None when they are off)."""
        if self.options.state_cache_mb <= 0:
            return None
        model = assets.require(self.options.model) / "model.gguf"
        st = model.stat()
        params = getattr(self.llm, "context_params", None)  # what shapes the state's layout, as far as it is set
        identity = {"model": str(model.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns,
                    "llama_cpp": getattr(_llama_cpp(), "__version__", "?"), "n_ctx": self.llm.n_ctx(),
                    "n_gpu_layers": self.options.n_gpu_layers,
                    **{k: getattr(params, k) for k in _STATE_PARAMS if isinstance(getattr(params, k, None), int)}}
        return snapshot_path(identity, self.prompt_tokens(self.with_system(probe)))

    def complete(self, messages: list[dict[str, str]]) -> str:
        """The whole answer as one string."""
        return "".join(self.stream(messages)).strip()


@functools.lru_cache(maxsize=8)
def _load_chat(options: LlamaOptions) -> LlamaChat:
    llm = _load_llama(options.model, options.n_ctx, options.n_threads, options.n_gpu_layers, options.batch_threads)
    return LlamaChat(llm, options)
