"""Thinker backends for the LLM policy: `complete(messages, schema) -> (text, info)`, the answer constrained to a
JSON schema where the backend can do it. Embedded llama.cpp builds a grammar from the schema; an OpenAI-compatible
server gets it as `response_format` (OpenAI's json_schema, else llama.cpp's json_object + schema, else nothing, and
the policy parses and validates the text).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from typing import Any

THINKERS = {"0.5b": "qwen2.5-coder-0.5b-instruct", "1.5b": "qwen2.5-coder-1.5b-instruct"}


class EmbeddedThinker:
    """llama.cpp in-process (the same cached Llama as the voice Thinker), constrained to the schema.
    n_threads 1: llama.cpp's threads spin at barriers, and on a shared 2-core CPU 2 threads ran 3-10x slower token by
    token. batch_threads (default: 2 where there are 2 cores): the screen's prompt and the answer's fixed parts are
    read as batches, dense work that scales with cores and finds the browser idle while the agent decides (as a
    voice session reads its prompts with 2 threads and generates with 1)."""

    def __init__(self, model: str = THINKERS["0.5b"], n_threads: int = 1, n_ctx: int = 2048,
                 max_tokens: int = 96, batched: bool = True, batch_threads: int = 0) -> None:
        import os

        from omnirt.models.llama import LlamaChat, LlamaOptions

        self.name = model
        self.max_tokens = max_tokens
        self.batched = batched  # the policy's answers decoded with their fixed parts batched (agents/llm_decoding)
        batch_threads = batch_threads or max(n_threads, min(2, os.cpu_count() or 1))
        self.chat = LlamaChat.load(LlamaOptions(model=model, n_ctx=n_ctx, n_threads=n_threads, max_tokens=max_tokens,
                                                system_prompt="", batch_threads=batch_threads))

    def complete(self, messages: list[dict[str, str]], schema: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """The answer to `messages` in the shape of `schema`: the policy's own answer shape by
        agents/llm_decoding.py (its fixed parts read in batches), any other through llama.cpp's grammar."""
        from llama_cpp import LlamaGrammar

        from omnirt.agents.llm_decoding import AnswerDecoder, plan_of

        plan = plan_of(schema) if self.batched else None
        if plan is not None:
            def decode(llm: Any) -> tuple[str, dict[str, Any]]:
                prompt = self.chat.prompt_tokens(messages)
                d = AnswerDecoder(llm, prompt)
                text = d.decode(plan)
                return text, {"prompt_tokens": len(prompt), "prompt_read": d.prompt_read, "chosen_tokens": d.chosen,
                              "evaluations": d.evaluations}
            return self.chat.run(decode, messages)
        grammar = LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)
        out = self.chat.run(lambda llm: llm.create_chat_completion(  # waits for any voice stream on this model
            messages=messages, grammar=grammar, temperature=0.0, max_tokens=self.max_tokens, seed=0), messages)
        usage = out.get("usage") or {}
        return out["choices"][0]["message"]["content"] or "", {"prompt_tokens": usage.get("prompt_tokens"),
                                                               "completion_tokens": usage.get("completion_tokens")}

    def warmup(self, messages: list[dict[str, str]]) -> None:
        """Evaluate the head of `messages` once, or read its snapshot back from an earlier start (models/llama.py),
        and build the decoder's vocabulary table (~0.5 s, else paid inside the first decision's episode)."""
        from omnirt.agents.llm_decoding import vocabulary

        self.chat.warmup(messages)
        if self.batched:
            self.chat.run(vocabulary)

    def close(self) -> None:
        pass


class OpenAIThinker:
    """Any OpenAI-compatible server through OpenAIChat. The schema goes as response_format json_schema (OpenAI,
    vLLM); a server that refuses that (HTTP 4xx, or an error naming response_format: llama-cpp-python answers its
    validation errors with HTTP 500) gets llama.cpp's json_object + schema, then plain prompting. The working mode
    is remembered."""

    MODES = ("json_schema", "json_object", "prompt")

    def __init__(self, base_url: str, model: str = "default", api_key: str | None = None, max_tokens: int = 96,
                 timeout_s: float = 60.0) -> None:
        from omnirt.models.openai_chat import OpenAIChat, OpenAIChatOptions

        self.name = base_url
        self.chat = OpenAIChat(OpenAIChatOptions(base_url=base_url, model=model, api_key=api_key,
                                                 max_tokens=max_tokens, system_prompt="", temperature=0.0,
                                                 first_token_timeout_s=timeout_s, stall_timeout_s=timeout_s))
        self._base = self.chat.options
        self._loop = asyncio.new_event_loop()
        self.mode = 0

    def _format(self, schema: dict[str, Any]) -> dict[str, Any]:
        mode = self.MODES[self.mode]
        if mode == "json_schema":
            return {"response_format": {"type": "json_schema",
                                        "json_schema": {"name": "action", "schema": schema, "strict": True}}}
        if mode == "json_object":
            return {"response_format": {"type": "json_object", "schema": schema}}
        return {}

    def complete(self, messages: list[dict[str, str]], schema: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        from omnirt.models.openai_chat import ThinkerBackendError

        async def collect() -> str:
            return "".join([d async for d in self.chat.stream(messages)])

        while True:
            self.chat.options = replace(self._base, extra_body=self._format(schema))
            try:
                return self._loop.run_until_complete(collect()), {"mode": self.MODES[self.mode]}
            except ThinkerBackendError as e:
                msg = str(e)
                refused = "answered HTTP 4" in msg or ("answered HTTP" in msg and "response_format" in msg)
                if refused and self.mode < len(self.MODES) - 1:
                    self.mode += 1  # this server does not take that response_format: try the next way
                    continue
                raise

    def close(self) -> None:
        if not self._loop.is_closed():
            self._loop.run_until_complete(self.chat.aclose())
            self._loop.close()


def make_thinker(spec: str, n_threads: int = 1, api_key: str | None = None) -> Any:
    """'0.5b' | '1.5b' | a model asset name -> EmbeddedThinker; an http(s):// API root -> OpenAIThinker."""
    if spec.startswith(("http://", "https://")):
        return OpenAIThinker(spec, api_key=api_key)
    return EmbeddedThinker(THINKERS.get(spec.lower(), spec), n_threads=n_threads)
