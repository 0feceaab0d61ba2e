"""The LLM policy's answers decoded with their fixed parts batched (agents/llm_decoding.py): on a scripted model the
decoder writes what the model prefers wherever the schema allows it, and only what the schema allows, in fewer
evaluations than tokens; on the real 0.5B model it answers as the grammar does."""

from __future__ import annotations

import json

import numpy as np
import pytest

from omnirt.agents.llm_decoding import _VOCABULARIES, AnswerDecoder, plan_of
from omnirt.agents.llm_policy import EXAMPLES, SYSTEM_PROMPT, llm_schema

# A vocabulary like a BPE model's: single characters, and the merges an answer's skeleton and words are made of
# (' "-' is one token, as in Qwen's: a negative number typed after the opening quote).
MERGES = ['{"', 'step', '":', ' "', '",', 'action', 'click', 'type', 'target', 'id', 'text', 'key', 'enter', 'done',
          '"}', ' "-', "Submit", "press", " OK", "'\",", "Name", "ann", "12", "}"]
CHARS = [chr(c) for c in range(32, 127)]


class ScriptedModel:
    """A stand-in for llama_cpp.Llama: a greedy longest-match tokenizer, and logits that favour the next token of
    `wanted` after the prompt."""

    def __init__(self, wanted: str) -> None:
        self.vocab = CHARS + MERGES
        self.wanted = wanted
        self.input_ids = np.zeros(4096, np.int64)
        self.n_tokens = 0
        self.prompt_len = 0
        self.evals = 0
        model = self

        class Ctx:
            def get_logits_ith(self, i: int) -> np.ndarray:
                return model._logits()

        self._ctx = Ctx()

    def n_vocab(self) -> int:
        return len(self.vocab)

    def detokenize(self, tokens: list[int], special: bool = False) -> bytes:
        return "".join(self.vocab[t] for t in tokens).encode()

    def tokenize(self, text: bytes, add_bos: bool = True, special: bool = False) -> list[int]:
        s, out = text.decode(), []
        while s:
            t = max((i for i, p in enumerate(self.vocab) if s.startswith(p)), key=lambda i: len(self.vocab[i]))
            out.append(t)
            s = s[len(self.vocab[t]):]
        return out

    def eval(self, tokens: list[int]) -> None:
        self.input_ids[self.n_tokens:self.n_tokens + len(tokens)] = tokens
        self.n_tokens += len(tokens)
        self.evals += 1

    def _logits(self) -> np.ndarray:
        """Like a trained model, it knows `wanted` only as its own tokens: off them (a quote and a minus sign read
        as two tokens where it writes one), it has no preference at all."""
        written = [int(t) for t in self.input_ids[self.prompt_len:self.n_tokens]]
        canonical = self.tokenize(self.wanted.encode())
        out = np.zeros(len(self.vocab))
        if canonical[:len(written)] == written and len(written) < len(canonical):
            out[canonical[len(written)]] = 10.0
        return out


def decode(wanted: str, schema: dict) -> tuple[str, ScriptedModel, AnswerDecoder]:
    model = ScriptedModel(wanted)
    prompt = model.tokenize(b"Task: a prompt")
    model.prompt_len = len(prompt)
    d = AnswerDecoder(model, prompt)
    return d.decode(plan_of(schema)), model, d


CLICK = '{"step": "press OK", "action": "click", "target": "OK", "id": 3}'


def test_the_answer_the_model_prefers_is_written_in_fewer_evaluations_than_tokens() -> None:
    text, model, d = decode(CLICK, llm_schema([0, 3, 4]))
    assert text == CLICK
    assert d.evaluations < len(model.tokenize(CLICK.encode())) / 2  # the skeleton read in batches
    typed = '{"step": "Name", "action": "type", "target": "Name", "id": 12, "text": "-ann"}'
    assert decode(typed, llm_schema([1, 12]))[0] == typed  # ' "-' joined as the model's own token


def test_only_what_the_schema_allows_is_written() -> None:
    text, _, _ = decode(CLICK, llm_schema([0, 3, 4], banned={("click", 3)}))
    data = json.loads(text)
    assert data["action"] in ("type", "key", "done") or data["id"] in (0, 4)
    long_step = CLICK.replace("press OK", "press OK " * 12)
    data = json.loads(decode(long_step, llm_schema([3]))[0])
    assert len(data["step"]) <= 60 and data["id"] == 3
    data = json.loads(decode('{"step": "x", "action": "key", "key": "enter"}', llm_schema([3]))[0])
    assert data == {"step": "x", "action": "key", "key": "enter"}
    keys = llm_schema([3], banned={("key", "enter")})
    assert json.loads(decode('{"step": "x", "action": "key", "key": "enter"}', keys)[0]).get("key") != "enter"


def test_a_quoted_name_closed_by_one_token_ends_the_string() -> None:
    wanted = '{"step": "press \'OK\'", "action": "click", "target": "OK", "id": 3}'
    assert decode(wanted, llm_schema([3]))[0] == wanted


def test_only_the_policys_own_schema_is_decoded_here() -> None:
    plan = plan_of(llm_schema([2, 5], banned={("type", 5), ("key", "tab")}))
    assert plan.ids == {"click": (2, 5), "type": (2,)} and "tab" not in plan.keys and plan.done
    assert plan_of({"type": "object", "properties": {"answer": {"type": "string"}}}) is None


@pytest.mark.slow
def test_on_the_real_model_it_answers_as_the_grammar_does() -> None:
    pytest.importorskip("llama_cpp")
    from omnirt.agents.llm_backends import EmbeddedThinker

    th = EmbeddedThinker()
    msgs = [{"role": "system", "content": SYSTEM_PROMPT}]
    for user, answer in EXAMPLES:
        msgs += [{"role": "user", "content": user}, {"role": "assistant", "content": answer}]
    msgs.append({"role": "user", "content": "Task: Enter -7 into the 2nd textbox and press Submit.\nElements:\n"
                 "'1st input' input (empty) id=0 at (80,60)\n'2nd input' input (empty) id=1 at (80,100)\n"
                 "'Submit' button id=2\nSteps taken:\n(none)\nNext action?"})
    schema = llm_schema([0, 1, 2])
    th.warmup(msgs[:-1] + [{"role": "user", "content": "Task: (none)"}])
    assert id(th.chat.llm) in _VOCABULARIES  # built ahead, not in the first decision's time
    th.batched = False
    grammar, _ = th.complete(msgs, schema)
    th.batched = True
    batched, info = th.complete(msgs, schema)
    assert json.loads(batched) == json.loads(grammar)
    assert info["evaluations"] < 0.7 * len(th.chat.llm.tokenize(batched.encode(), add_bos=False))
