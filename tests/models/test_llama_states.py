"""Conversations' KV snapshots on the real Thinker: two sessions taking turns on one model get the same answers and
judgements as without snapshots, and a session's turn after the other's puts its own conversation back instead of
reading it again (counted as a restore)."""

from __future__ import annotations

import contextlib

import pytest

from omnirt.models.llama import LlamaChat
from omnirt.models.llama_states import ConversationStates, common_prefix

pytestmark = pytest.mark.models


def test_common_prefix():
    assert common_prefix([1, 2, 3], [1, 2, 4, 5]) == 2 and common_prefix([], [1]) == 0
    assert common_prefix((1, 2), [1, 2, 3]) == 2


@contextlib.contextmanager
def keeping(states: ConversationStates | None):
    """The shared Thinker with these snapshots (None: none) for the block, then as it was."""
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed (make setup)")
    chat = LlamaChat.load()
    kept, chat._guard.states = chat._guard.states, states
    try:
        yield chat
    finally:
        chat._guard.states = kept


def _converse(chat: LlamaChat, questions: list[str]) -> list[dict[str, str]]:
    history: list[dict[str, str]] = []
    for q in questions:
        history.append({"role": "user", "content": q})
        history.append({"role": "assistant", "content": "".join(chat.stream(history)).strip()})
    return history


def _two_sessions(chat: LlamaChat) -> tuple[float, str]:
    """Session A talks, session B talks, then A's next turn: its judgement and its answer."""
    a = _converse(chat, ["What is the capital of France?", "And of Italy?"])
    _converse(chat, ["Name a red fruit.", "And a yellow one?"])
    prob = chat.end_of_turn("What about Spain", a)
    answer = "".join(chat.stream(a + [{"role": "user", "content": "What about Spain?"}])).strip()
    return prob, answer


def test_a_session_after_another_gets_its_own_conversation_back_and_the_same_words():
    with keeping(None) as chat:
        prob_off, answer_off = _two_sessions(chat)
    with keeping(ConversationStates(256 << 20)) as chat:
        prob_on, answer_on = _two_sessions(chat)
        states = chat._guard.states
    assert answer_on == answer_off and "madrid" in answer_on.lower()
    assert prob_on == pytest.approx(prob_off, abs=0.02)  # the same judgement (evaluation chunks differ a little)
    assert states.saved >= 5 and states.restored >= 1
    assert states.size > 0


def test_snapshots_stay_within_their_memory():
    with keeping(ConversationStates(1)) as chat:  # smaller than any snapshot: none is kept
        _converse(chat, ["What is two plus two?"])
        states = chat._guard.states
    assert states.saved == 1 and states.size == 0


def test_a_snapshot_holding_the_whole_prompt_still_answers_it():
    """A reply cut after its first token leaves a snapshot of exactly its prompt; asked again after another
    conversation, the prompt's last token is evaluated again rather than sampling from the snapshot's logits."""
    count = [{"role": "user", "content": "Count from one to twenty."}]
    with keeping(ConversationStates(256 << 20)) as chat:
        cut = chat.stream(count)
        first = next(cut)
        cut.close()  # a barge-in after the first token
        chat.complete([{"role": "user", "content": "Name a colour."}])
        again = chat.stream(count)
        assert next(again, None) == first
        again.close()
        assert chat._guard.states.restored >= 1
