"""The embedded Thinker (llama.cpp + Qwen2.5-Coder-0.5B): real answers, streaming, early close, errors."""

from __future__ import annotations

import re
import sys
import threading
import time

import pytest

from omnirt.models import assets, llama
from omnirt.models.llama import LlamaChat, LlamaOptions

def _user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


@pytest.fixture(scope="module")
def chat() -> LlamaChat:
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed (make setup)")
    t0 = time.perf_counter()
    c = LlamaChat.load()
    loaded = time.perf_counter() - t0
    print(f"\n[llama] load {loaded:.2f} s, warm-up (system prompt) {c.warmup():.2f} s")
    return c


@pytest.mark.models
def test_capital_of_france_streams_and_is_fast(chat: LlamaChat) -> None:
    t0 = time.perf_counter()
    first = None
    deltas: list[str] = []
    for d in chat.stream(_user("What is the capital of France?")):
        first = first if first is not None else time.perf_counter() - t0
        deltas.append(d)
    total = time.perf_counter() - t0
    answer = "".join(deltas)
    print(f"[llama] first token {first * 1000:.0f} ms, {len(deltas)} deltas, "
          f"{(len(deltas) - 1) / max(total - first, 1e-6):.1f} tok/s: {answer!r}")
    assert "Paris" in answer
    assert len(deltas) > 1


@pytest.mark.models
def test_arithmetic(chat: LlamaChat) -> None:
    answer = chat.complete(_user("What is two plus three?"))
    assert re.search(r"\bfive\b|\b5\b", answer, re.IGNORECASE), answer


@pytest.mark.models
def test_spoken_style_has_no_markdown(chat: LlamaChat) -> None:
    for q in ("How do I boil an egg?", "Give me a recipe for pancakes.", "Who wrote Romeo and Juliet?"):
        answer = chat.complete(_user(q))
        assert answer and not re.search(r"[*#`]|^\s*\d+\.", answer, re.MULTILINE), (q, answer)
        assert len(answer.split()) < 60, (q, answer)  # a spoken answer, not an essay


@pytest.mark.models
def test_close_early_stops_generation_and_frees_the_model(chat: LlamaChat) -> None:
    gen = chat.stream(_user("Tell me a long story about a dragon who learns to fly."))
    got = [next(gen) for _ in range(3)]
    assert all(got)
    t0 = time.perf_counter()
    gen.close()
    closed_in = time.perf_counter() - t0
    print(f"[llama] close after 3 deltas returned in {closed_in * 1000:.1f} ms")
    assert closed_in < 0.3
    # The lock is free again, for this thread and another one, and the KV cache state is consistent.
    assert "Paris" in chat.complete(_user("What is the capital of France?"))
    out: list[str] = []
    t = threading.Thread(target=lambda: out.append(chat.complete(_user("What is the capital of France?"))))
    t.start()
    t.join(30)
    assert out and "Paris" in out[0]


@pytest.mark.models
def test_stop_event_from_another_thread_ends_the_stream(chat: LlamaChat) -> None:
    stop = threading.Event()
    deltas: list[str] = []
    timer = threading.Timer(0.0, stop.set)
    for d in chat.stream(_user("Tell me a long story about a dragon who learns to fly."), stop=stop):
        deltas.append(d)
        if len(deltas) == 2:
            timer.start()
            timer.join()
    assert 2 <= len(deltas) <= 3  # at most the token in flight when the event was set
    assert "Paris" in chat.complete(_user("What is the capital of France?"))


@pytest.mark.models
def test_greedy_is_reproducible_and_threads_are_serialised(chat: LlamaChat) -> None:
    q = _user("Name a large animal that lives in Africa.")
    expected = chat.complete(q)
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(chat.complete(q))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results == [expected, expected]  # interleaved generations on one KV cache would garble these


@pytest.mark.models
def test_same_thread_second_open_stream_is_refused(chat: LlamaChat) -> None:
    first = chat.stream(_user("Count from one to twenty."))
    next(first)
    with pytest.raises(RuntimeError, match="close it first"):
        next(chat.stream(_user("Hello")))
    first.close()
    assert chat.complete(_user("Say hello.")).strip()


def test_system_prompt_is_prepended_unless_given() -> None:
    c = LlamaChat(llm=object(), options=LlamaOptions(system_prompt="Be brief."))
    assert c.with_system(_user("hi"))[0] == {"role": "system", "content": "Be brief."}
    own = [{"role": "system", "content": "Talk like a pirate."}, *_user("hi")]
    assert c.with_system(own) == own


@pytest.mark.parametrize("bad", [[], "hi", [{"role": "robot", "content": "x"}], [{"role": "user"}],
                                 [{"role": "user", "content": 3}]])
def test_bad_messages_raise_value_error(bad) -> None:
    c = LlamaChat(llm=object(), options=LlamaOptions())
    with pytest.raises(ValueError):
        c.stream(bad)


def test_bad_options_raise_value_error() -> None:
    with pytest.raises(ValueError):
        LlamaOptions(max_tokens=0)


def test_missing_model_names_the_fix(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("OMNIRT_MODEL_DIR", str(tmp_path))
    with pytest.raises(assets.ModelMissingError, match="omnirt models install"):
        LlamaChat.load(LlamaOptions(n_ctx=384))  # a key no other test loads: the cache cannot answer for it


def test_missing_llama_cpp_names_make_setup(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # makes `import llama_cpp` raise ImportError
    with pytest.raises(RuntimeError, match="make setup"):
        llama._llama_cpp()


@pytest.mark.models
def test_prefill_of_a_partial_question_keeps_the_answer(chat: LlamaChat) -> None:
    q = _user("What is the capital of Japan?")
    expected = chat.complete(q)
    assert chat.prefill(_user("What is the capital"))
    assert chat.complete(q) == expected  # the cache holds the partial prompt; the answer is unchanged
    with chat._guard.lock:  # busy model: prefill returns at once instead of waiting
        assert chat.prefill(_user("What is")) is False


@pytest.mark.models
def test_each_generation_frees_its_sampler_without_waiting_for_the_garbage_collector(chat: LlamaChat) -> None:
    """llama-cpp-python's sampler per generation sits in a reference cycle holding native memory; with the cyclic
    collector off (a busy server rarely runs its oldest generation), none may be left holding it."""
    import gc

    from llama_cpp._internals import LlamaSampler

    def live() -> int:
        return sum(1 for o in gc.get_objects() if isinstance(o, LlamaSampler) and o.sampler is not None)

    gc.collect()
    gc.disable()
    try:
        for q in ("Name a colour.", "Name a fruit.", "Name a month."):
            chat.complete(_user(q))
        gen = chat.stream(_user("Count from one to twenty."))
        next(gen)
        gen.close()  # a reply cut short (barge-in)
        chat.prefill(_user("What is the capital of"))
        chat.run(lambda llm: llm.create_completion("Hello", max_tokens=2))
        assert live() == 0
    finally:
        gc.enable()


@pytest.mark.models
def test_end_of_turn_tells_a_finished_request_from_one_cut_at_a_pause(chat: LlamaChat) -> None:
    """Whisper punctuates fragments too ("How many legs does a."): the judgement goes by the words."""
    finished = ["What is the capital of France?", "Please turn off the lights in the kitchen.",
                "Can you tell me what the weather will be like tomorrow?"]
    unfinished = ["How many legs does a.", "Can you tell me what the weather", "Please turn off the lights in the...",
                  "What is the capital of"]
    p_fin = [chat.end_of_turn(t) for t in finished]
    p_unf = [chat.end_of_turn(t) for t in unfinished]
    print(f"\n[end of turn] finished {[round(p, 4) for p in p_fin]}, unfinished {[round(p, 6) for p in p_unf]}")
    assert min(p_fin) > 0.1 and max(p_unf) < 0.001
    assert chat.end_of_turn("  ...") == 0.0
    # judged with a history, the answer that follows reads the same prompt prefix and is unchanged
    history = [{"role": "user", "content": "Hi."}, {"role": "assistant", "content": "Hello!"}]
    chat.end_of_turn("What is the capital of France?", history)
    assert "paris" in chat.complete(history + _user("What is the capital of France?")).lower()


@pytest.mark.models
def test_end_of_turn_reads_the_answer_s_prompt_with_it_and_the_answer_starts_from_the_cache(chat: LlamaChat) -> None:
    history = [{"role": "user", "content": "Hi."}, {"role": "assistant", "content": "Hello!"}]
    for question in ("What is the capital of France?", "How many legs does a spider have?"):
        messages = history + _user(question)
        chat.run(lambda llm: llm.reset())  # nothing of it cached: both ways read the same tokens
        alone = chat.end_of_turn(question, history)
        expected = chat.complete(messages)
        chat.run(lambda llm: llm.reset())
        with_answer = chat.end_of_turn(question, history, answer=messages)
        assert abs(with_answer - alone) < 0.02, (alone, with_answer)  # one batch or two: the same judgement
        assert chat.llm.n_tokens == len(chat.prompt_tokens(chat.with_system(messages)))  # the whole prompt read
        evaluated: list[int] = []
        real_eval = chat.llm.eval
        chat.llm.eval = lambda tokens: (evaluated.append(len(tokens)), real_eval(tokens))[1]
        try:
            assert chat.complete(messages) == expected
        finally:
            del chat.llm.eval
        assert evaluated[0] == 0  # its first token sampled from the logits the judgement's batch left
    unfinished = "How many legs does a"
    chat.run(lambda llm: llm.reset())
    assert chat.end_of_turn(unfinished, answer=_user(unfinished)) < 0.001  # (the judgement is still of the words)


@pytest.mark.models
def test_lead_threads_generate_until_the_talker_begins_then_n_threads() -> None:
    """The first tokens (the listener waits for them) get lead_threads; once first-audio work claims the
    foreground, generation drops to n_threads for the rest, and a stream that never saw it ends on n_threads."""
    llama_cpp = pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed (make setup)")
    from omnirt.runtime.threads import FOREGROUND

    lead = LlamaChat.load(LlamaOptions(n_threads=1, lead_threads=2, max_tokens=12))
    ctx = lead.llm._ctx.ctx
    gen = lead.stream(_user("Name three colours."))
    next(gen)
    assert llama_cpp.llama_n_threads(ctx) == 2
    FOREGROUND.enter()
    try:
        next(gen)
        assert llama_cpp.llama_n_threads(ctx) == 1
    finally:
        FOREGROUND.leave()
    gen.close()
    gen = lead.stream(_user("Name three colours."))
    next(gen)
    assert llama_cpp.llama_n_threads(ctx) == 2
    gen.close()
    assert llama_cpp.llama_n_threads(ctx) == 1


@pytest.mark.models
def test_prefill_gives_way_to_first_audio_work_and_stops_when_told(chat: LlamaChat) -> None:
    """A read-ahead pauses while FOREGROUND is claimed (the final decode of the user's words) and gives up once its
    stop event is set, releasing the model at once instead of reading the rest."""
    from omnirt.runtime.threads import FOREGROUND

    long_partial = _user("Tell me, in a few words and without any lists, why the sky looks blue on a clear day in "
                         "summer when the sun is high and")
    stop = threading.Event()
    FOREGROUND.enter()
    try:
        worker = threading.Thread(target=lambda: done.append(chat.prefill(long_partial, stop)))
        done: list[bool] = []
        worker.start()
        time.sleep(0.3)
        assert worker.is_alive() and chat._guard.lock.locked()  # waiting for the foreground, holding the model
        stop.set()
    finally:
        FOREGROUND.leave()
    worker.join(5)
    assert done == [False] and not chat._guard.lock.locked()
    assert chat.prefill(long_partial) is True  # read to the end when nothing asks it to stop
