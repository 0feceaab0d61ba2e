"""A Thinker on any OpenAI-compatible streaming chat server (vLLM, llama.cpp's server, Ollama, hosted APIs).

`OpenAIChat.stream(messages)` is an async generator of text deltas, so it is a `ChatBackend` for the runtime's
ThinkerStage as it is. Barge-in cancels the task iterating it: the HTTP response is then closed at once (the server
sees the disconnect and stops generating) rather than drained. Every failure is a `ThinkerBackendError` with a
one-line message naming the URL, and every wait is bounded (connect, first token, gap between chunks), because a
voice session must never hang on a dead or wedged server.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from dataclasses import dataclass
from typing import Any, AsyncIterator, Mapping

import aiohttp

from omnirt.models.llama import SPOKEN_SYSTEM_PROMPT, check_messages

# Not asyncio.wait_for: before Python 3.12 it can swallow a cancellation that races with the awaited result, and a
# barge-in must never be lost. (aiohttp installs async-timeout on Python < 3.11.)
if sys.version_info >= (3, 11):
    from asyncio import timeout as _timeout
else:  # pragma: no cover
    from async_timeout import timeout as _timeout

API_KEY_ENV = "OMNIRT_THINKER_API_KEY"
_DRAIN_S = 0.5  # after finish_reason, how long to wait for [DONE] (keeps the connection reusable)
_ERROR_BODY_CHARS = 200  # of a non-200 answer's body quoted in the error


class ThinkerBackendError(RuntimeError):
    """The chat server is unreachable, refused the request, sent a malformed stream, or stalled (one-line message)."""


@dataclass(frozen=True)
class OpenAIChatOptions:
    """Knobs for a remote Thinker.

    base_url: the API root, ending in /v1 for most servers (e.g. "http://127.0.0.1:8080/v1"); requests go to
        {base_url}/chat/completions.
    model: the model name sent with each request. Servers that host one model (llama.cpp's) ignore it.
    api_key: sent as "Authorization: Bearer ..."; when None, $OMNIRT_THINKER_API_KEY is used if set, else no header.
    temperature: 0.0 is greedy decoding (the same question gives the same answer).
    max_tokens: cap on the answer's length; a spoken answer of two sentences is well under 96 tokens.
    system_prompt: prepended unless the messages already start with a system message ("" sends none).
    connect_timeout_s: TCP (and TLS) connection set-up; past it the server counts as unreachable.
    first_token_timeout_s: from sending the request to the first text delta (covers queueing and prompt
        evaluation on the server).
    stall_timeout_s: the longest gap allowed between two chunks once the answer has started.
    extra_body: further JSON fields for server-specific knobs, e.g. {"repeat_penalty": 1.1} for llama.cpp.
    """

    base_url: str
    model: str = "default"
    api_key: str | None = None
    temperature: float = 0.0
    max_tokens: int = 96
    system_prompt: str = SPOKEN_SYSTEM_PROMPT
    connect_timeout_s: float = 5.0
    first_token_timeout_s: float = 10.0
    stall_timeout_s: float = 5.0
    extra_body: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"OpenAIChatOptions.base_url must start with http:// or https://, got {self.base_url!r}")
        if min(self.connect_timeout_s, self.first_token_timeout_s, self.stall_timeout_s) <= 0:
            raise ValueError("OpenAIChatOptions timeouts must be positive")
        if self.max_tokens < 1 or self.temperature < 0:
            raise ValueError(f"invalid OpenAIChatOptions: max_tokens={self.max_tokens}, "
                             f"temperature={self.temperature}")


def _one_line(text: str, limit: int = _ERROR_BODY_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _server_message(body: bytes) -> str:
    """The gist of an error body: OpenAI's {"error": {"message"}}, FastAPI's {"detail"}, else the text itself."""
    text = body.decode("utf-8", "replace")
    try:
        data = json.loads(text)
    except ValueError:
        return _one_line(text)
    if isinstance(data, dict):
        err = data.get("error", data.get("detail", data.get("message")))
        if isinstance(err, dict):
            err = err.get("message", err)
        if err is not None:
            return _one_line(err if isinstance(err, str) else json.dumps(err))
    return _one_line(text)


class OpenAIChat:
    """Streams answers from an OpenAI-compatible chat server; one aiohttp session per instance, made on first use."""

    def __init__(self, options: OpenAIChatOptions) -> None:
        self.options = options
        self.url = options.base_url.rstrip("/") + "/chat/completions"
        key = options.api_key if options.api_key is not None else os.environ.get(API_KEY_ENV)
        self._headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        if key:
            self._headers["Authorization"] = f"Bearer {key}"
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _client(self) -> aiohttp.ClientSession:
        """The session, created inside the running loop (aiohttp binds it there); a new loop gets a new session."""
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._loop is not loop:
            timeout = aiohttp.ClientTimeout(total=None, connect=self.options.connect_timeout_s,
                                            sock_connect=self.options.connect_timeout_s)
            self._session = aiohttp.ClientSession(timeout=timeout)  # trust_env=False: no proxy from the env
            self._loop = loop
        return self._session

    async def aclose(self) -> None:
        """Close the HTTP session (idempotent); a later stream() opens a new one."""
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    def with_system(self, messages: list[dict[str, str]]) -> list[dict[str, str]]:
        """The messages with the configured system prompt first, unless they bring their own."""
        check_messages(messages)
        if messages[0]["role"] == "system" or not self.options.system_prompt:
            return list(messages)
        return [{"role": "system", "content": self.options.system_prompt}, *messages]

    def _error(self, what: str) -> ThinkerBackendError:
        return ThinkerBackendError(f"thinker backend at {self.url} {what}")

    def _body(self, messages: list[dict[str, str]]) -> dict[str, Any]:
        o = self.options
        body: dict[str, Any] = dict(o.extra_body or {})
        body.update(model=o.model, messages=messages, stream=True, temperature=o.temperature,
                    max_tokens=o.max_tokens)
        return body

    async def stream(self, messages: list[dict[str, str]]) -> AsyncIterator[str]:
        """Yield the answer's text deltas as the server streams them; raise ThinkerBackendError on any failure.

        Cancelling the task that iterates this (barge-in), or closing the generator, closes the HTTP response.
        """
        msgs = self.with_system(messages)
        o = self.options
        deadline = time.monotonic() + o.first_token_timeout_s
        try:
            async with _timeout(o.first_token_timeout_s):
                resp = await self._client().post(self.url, json=self._body(msgs), headers=self._headers)
        except aiohttp.ClientConnectorError as e:
            raise self._error(f"is unreachable: {_one_line(str(e.os_error or e))}") from None
        except aiohttp.ServerTimeoutError:  # also an asyncio.TimeoutError: test it first
            raise self._error(f"is unreachable: no connection within {o.connect_timeout_s:g} s") from None
        except aiohttp.ClientError as e:
            raise self._error(f"is unreachable: {type(e).__name__}: {_one_line(str(e))}") from None
        except asyncio.TimeoutError:
            raise self._error(f"stalled for {o.first_token_timeout_s:g} s before answering") from None
        complete = False
        try:
            if resp.status != 200:
                try:
                    async with _timeout(o.stall_timeout_s):
                        body = await resp.content.read(4096)
                except (asyncio.TimeoutError, aiohttp.ClientError):
                    body = b""
                msg = _server_message(body) or resp.reason or ""
                raise self._error(f"answered HTTP {resp.status}: {msg}")
            async for delta in self._events(resp, deadline):
                yield delta
            complete = True
        finally:
            if complete:
                resp.release()  # back to the pool when the body was read to its end, else closed
            else:
                resp.close()  # cancelled or failed: drop the connection now, so the server stops generating

    async def _readline(self, resp: aiohttp.ClientResponse, timeout: float, what: str) -> bytes:
        """One line of the body within `timeout` seconds; `what` completes "stalled for N s ..." on expiry."""
        try:
            async with _timeout(max(timeout, 0.0)):
                return await resp.content.readline()
        except asyncio.TimeoutError:
            raise self._error(f"stalled for {what}") from None
        except ValueError as e:  # aiohttp: a line longer than its buffer
            raise self._error(f"sent a malformed stream: {_one_line(str(e))}") from None
        except aiohttp.ClientError as e:
            raise self._error(f"dropped the connection: {type(e).__name__}: {_one_line(str(e))}") from None

    async def _events(self, resp: aiohttp.ClientResponse, deadline: float) -> AsyncIterator[str]:
        """Parse the SSE stream: `data:` lines carry JSON chunks; blank lines, comments and other fields are skipped."""
        o, started, finished, events = self.options, False, False, 0
        while True:
            if finished:
                timeout, what = min(_DRAIN_S, o.stall_timeout_s), "the end marker"
            elif started:
                timeout, what = o.stall_timeout_s, f"{o.stall_timeout_s:g} s mid-answer"
            else:
                timeout, what = deadline - time.monotonic(), f"{o.first_token_timeout_s:g} s before the first token"
            try:
                raw = await self._readline(resp, timeout, what)
            except ThinkerBackendError:
                if finished:
                    return  # the answer is complete; only the [DONE] marker is late
                raise
            if not raw:  # end of the body
                if finished:
                    return
                raise self._error("closed the stream before the answer was complete"
                                  if events else "sent no server-sent events (is base_url an OpenAI-style API?)")
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if not line or line.startswith(":"):
                continue
            field, sep, value = line.partition(":")
            if field in ("event", "id", "retry"):
                continue
            if field != "data" or not sep:
                raise self._error(f"sent a malformed stream: {_one_line(line, 80)!r}")
            events += 1
            value = value[1:] if value.startswith(" ") else value
            if value.strip() == "[DONE]":
                return
            if finished:
                continue  # e.g. a usage chunk after finish_reason
            text, finished = self._parse_chunk(value)
            if text:
                started = True
                yield text

    def _parse_chunk(self, value: str) -> tuple[str, bool]:
        """(content delta, finished) of one chunk; a role-only or empty delta gives ""."""
        try:
            chunk = json.loads(value)
        except ValueError:
            raise self._error(f"sent a malformed stream: data is not JSON: {_one_line(value, 80)!r}") from None
        if isinstance(chunk, dict) and "error" in chunk:
            raise self._error(f"reported an error: {_server_message(value.encode())}")
        try:
            choices = chunk["choices"]
            if not choices:  # e.g. a usage-only chunk
                return "", False
            choice = choices[0]
            content = (choice.get("delta") or {}).get("content") or ""
            if not isinstance(content, str):
                raise TypeError("content is not a string")
            return content, choice.get("finish_reason") is not None
        except (KeyError, IndexError, TypeError, AttributeError) as e:
            raise self._error(f"sent a malformed chunk ({type(e).__name__}: {e}): {_one_line(value, 80)!r}") \
                from None
