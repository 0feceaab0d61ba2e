"""Greedy decoding of the LLM policy's one-line JSON answer, its fixed parts read in one batch instead of one forward
pass per token.

Why: an answer such as {"step": "click on 'No'", "action": "click", "target": "No", "id": 2} is ~30 tokens, and
two thirds of them are the answer's skeleton (`", "action": "`, `", "target": "`, `", "id": `), which a grammar
forces one token at a time: each costs a whole forward pass, plus the grammar's check of the whole vocabulary. Here
the model chooses only where the schema leaves a choice (the words of "step", "target" and "text", the action, the
key, the element number); the skeleton that follows a choice is appended to the next evaluation as one batch, and
the choices are masks over a vocabulary table built once. At temperature 0 it is the same search as the grammar's
(the most likely token the format allows), over the same prompt and KV cache.

`plan_of(schema)` reads the schema the policy built (agents/llm_policy.py `llm_schema`); any other schema is left
to the grammar (None).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

# A token that may sit inside a JSON string: no quote, backslash or control character, except whole escapes.
_IN_STRING = re.compile(r'(?:[^"\\\x00-\x1f]|\\["\\/bfnrt])+')


@dataclass(frozen=True)
class AnswerPlan:
    """What the schema allows: per action the element numbers (click, type) or key names (key); string limits."""

    ids: dict[str, tuple[int, ...]]
    keys: tuple[str, ...]
    done: bool
    max_step: int
    max_target: int
    max_text: int


def plan_of(schema: dict[str, Any]) -> AnswerPlan | None:
    """The answer plan of a schema shaped as `llm_schema` builds it (step first, then the action's fields); None for
    any other."""
    ids: dict[str, tuple[int, ...]] = {}
    keys: tuple[str, ...] = ()
    done = False
    limits = {"step": 60, "target": 40, "text": 100}
    for shape in schema.get("oneOf", ()):
        props = shape.get("properties", {})
        names = list(props)
        action = props.get("action", {}).get("const")
        expected = {"click": ["step", "action", "target", "id"], "type": ["step", "action", "target", "id", "text"],
                    "key": ["step", "action", "key"], "done": ["step", "action"]}.get(action)
        if expected is None or names != expected:
            return None
        for name in ("step", "target", "text"):
            if name in props:
                limits[name] = int(props[name].get("maxLength", limits[name]))
        if action in ("click", "type"):
            ids[action] = tuple(int(i) for i in props["id"]["enum"])
        elif action == "key":
            keys = tuple(str(k) for k in props["key"]["enum"])
        else:
            done = True
    if not (ids or keys or done):
        return None
    return AnswerPlan(ids, keys, done, limits["step"], limits["target"], limits["text"])


class Vocabulary:
    """Each token's text, which tokens may sit inside a JSON string, and the token of each exact text."""

    def __init__(self, llm: Any) -> None:
        n = llm.n_vocab()
        pieces = [llm.detokenize([i]).decode("utf-8", errors="replace") for i in range(n)]
        self.text = pieces
        self.in_string = np.array([bool(p) and "\ufffd" not in p and _IN_STRING.fullmatch(p) is not None
                                   for p in pieces])
        self.length = np.array([len(p) for p in pieces])
        self.by_text: dict[str, int] = {}
        for i, p in enumerate(pieces):
            if p and p not in self.by_text:
                self.by_text[p] = i
        self.quoted = [i for i, p in enumerate(pieces) if '"' in p and "\ufffd" not in p]
        self._closers: dict[str, dict[int, tuple[str, str]]] = {}
        self._starting: dict[str, list[int]] = {}

    def starting(self, head: str) -> list[int]:
        """The tokens whose text starts with `head` (a held-back token's text: ' "', ' ')."""
        if head not in self._starting:
            self._starting[head] = [i for i, p in enumerate(self.text) if p.startswith(head)]
        return self._starting[head]

    def closers(self, then: str) -> dict[int, tuple[str, str]]:
        """The tokens that end a string and start `then` (which opens with the closing quote): token -> (the words
        before its quote, the part of `then` it writes). The words may be empty ('",'); a token such as `'",` (an
        apostrophe, then the quote) is the model's usual way to end a quoted name, and leaving it out made it go on
        writing ("'In' at line 22")."""
        if then not in self._closers:
            found = {}
            for i in self.quoted:
                p = self.text[i]
                cut = p.index('"')
                words, rest = p[:cut], p[cut:]
                if then.startswith(rest) and (not words or _IN_STRING.fullmatch(words)):
                    found[i] = (words, rest)
            self._closers[then] = found
        return self._closers[then]


_VOCABULARIES: dict[int, Vocabulary] = {}


def vocabulary(llm: Any) -> Vocabulary:
    if id(llm) not in _VOCABULARIES:
        _VOCABULARIES[id(llm)] = Vocabulary(llm)
    return _VOCABULARIES[id(llm)]


class AnswerDecoder:
    """One answer, decoded on `llm` after `prompt` (token ids): `decode(plan)` -> its text. Call on the model's own
    thread (models/llama.py `LlamaChat.run`).

    The last token of each fixed part is held back (`heal`): the next choice must start with its text, so the model
    may join it to what follows as it was trained to (' "-' before a negative number; forced as ' "' alone, the
    0.5B model typed "7" for "-7")."""

    def __init__(self, llm: Any, prompt: list[int]) -> None:
        from omnirt.models.llama import keep_cached_prefix

        self.llm, self.vocab = llm, vocabulary(llm)
        keep = keep_cached_prefix(llm, prompt, len(prompt) - 1)  # at least one token read: fresh logits
        self.pending: list[int] = list(prompt[keep:])
        self.prompt_read = len(self.pending)
        self.text = ""  # the answer so far, `heal` included
        self.heal = ""  # fixed text written but not yet read by the model: the next token starts with it
        self.chosen = 0
        self.evaluations = 0
        self._logits: np.ndarray | None = None

    # ---- the model's side

    def logits(self) -> np.ndarray:
        """The next token's logits after everything pending is read (one evaluation for all of it)."""
        if self.pending:
            self.llm.eval(self.pending)
            self.pending, self.evaluations = [], self.evaluations + 1
            n = self.llm.n_vocab()
            self._logits = np.ctypeslib.as_array(self.llm._ctx.get_logits_ith(-1), shape=(n,)).copy()
        assert self._logits is not None
        return self._logits

    def take(self, token: int) -> str:
        """The model's token; returns what it writes beyond `heal`."""
        piece = self.vocab.text[token]
        self.pending.append(token)
        self.chosen += 1
        new, self.heal = piece[len(self.heal):], ""
        self.text += new
        return new

    def force(self, text: str) -> None:
        """Text the format fixes: read with the next evaluation, never chosen token by token (its last token
        held back as `heal`)."""
        if not text:
            return
        self.text += text
        tokens = self.llm.tokenize((self.heal + text).encode(), add_bos=False, special=False)
        self.pending += tokens[:-1]
        self.heal = self.vocab.text[tokens[-1]]

    # ---- the format's parts

    def string(self, limit: int, then: str, least: int = 0) -> None:
        """A JSON string's words (the opening quote already written), up to `limit` characters, then `then` (which
        starts with the closing quote). A token that is the start of `then` closes it; the rest is forced."""
        v, size = self.vocab, 0
        while True:
            room, heal = limit - size, self.heal
            scores = self.logits()
            if heal:  # the held-back token, alone or joined to the string's first words
                inside = np.array([t for t in v.starting(heal) if len(v.text[t]) - len(heal) <= room
                                   and (v.text[t] == heal or _IN_STRING.fullmatch(v.text[t][len(heal):]))], int)
            else:
                inside = np.flatnonzero(v.in_string & (v.length <= room)) if room > 0 else np.array([], int)
            best_in = int(inside[np.argmax(scores[inside])]) if inside.size else -1
            fits = [t for t, (words, _) in v.closers(then).items()
                    if not heal and len(words) <= room and size + len(words) >= least]
            best_close = max(fits, key=lambda t: scores[t]) if fits else -1
            if best_in >= 0 and (best_close < 0 or scores[best_in] > scores[best_close]):
                size += len(self.take(best_in))
                continue
            if best_close < 0:  # nothing fits: close it as the format says
                self.force(then)
                return
            self.take(best_close)
            self.force(then[len(v.closers(then)[best_close][1]):])
            return

    def choose(self, options: dict[Any, str]) -> Any:
        """One of `options` (value -> its text, which ends with the format's text after it), token by token among
        the tokens that continue some option; once one option is left, its rest is forced."""
        v, done = self.vocab, ""
        while True:
            live = {k: s for k, s in options.items() if s.startswith(done)}
            if len(live) == 1:
                (key, s), = live.items()
                self.force(s[len(done):])
                return key
            scores, cands = self.logits(), {}
            for s in live.values():
                rest = self.heal + s[len(done):]
                for k in range(max(1, len(self.heal)), len(rest) + 1):
                    t = v.by_text.get(rest[:k])
                    if t is not None:
                        cands[t] = rest[:k]
            if not cands:  # no token starts any option: the first one, forced
                key = next(iter(live))
                self.force(live[key][len(done):])
                return key
            t = max(cands, key=lambda t: scores[t])
            done += self.take(t)

    def decode(self, plan: AnswerPlan) -> str:
        """The answer's text, in the worked examples' layout."""
        self.force('{"step": "')
        self.string(plan.max_step, '", "action": "')
        tails = {"click": '", "target": "', "type": '", "target": "', "key": '", "key": "', "done": '"}'}
        actions = [a for a in ("click", "type") if plan.ids.get(a)] + (["key"] if plan.keys else []) + \
            (["done"] if plan.done else [])
        action = self.choose({a: a + tails[a] for a in actions})
        if action == "done":
            return self.text
        if action == "key":
            self.choose({k: k + '"}' for k in plan.keys})
            return self.text
        self.string(plan.max_target, '", "id": ')
        after = "}" if action == "click" else ', "text": "'
        self.choose({n: f"{n}{after}" for n in plan.ids[action]})
        if action == "type":
            self.string(plan.max_text, '"}', least=1)
        return self.text
