"""The OpenAI-compatible Thinker backend against a real llama.cpp server; faults from a tiny aiohttp server.

Success paths (answers, context, cancellation, the ThinkerStage) talk to llama-cpp-python's server running
Qwen2.5-Coder-0.5B on loopback. Only the faults a real server will not produce on demand (a stall, a garbage stream,
a missing API key) come from a hand-written aiohttp server.
"""

from __future__ import annotations

import asyncio
import importlib.util
import time
from typing import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web

from omnirt.models.openai_chat import OpenAIChat, OpenAIChatOptions, ThinkerBackendError
from omnirt.runtime.frames import ErrorFrame, TextDelta, TextDone, Transcript
from omnirt.runtime.testing import run_test
from omnirt.runtime.thinker import ThinkerStage
from omnirt.tools.llm_server import LlamaServer, LlamaServerOptions, LlmServerError, free_port

SERVER_DEPS = ("llama_cpp", "fastapi", "uvicorn", "sse_starlette", "starlette_context", "pydantic_settings")


def _user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


async def _collect(chat: OpenAIChat, messages: list[dict[str, str]]) -> tuple[list[str], float, float]:
    """(deltas, seconds to the first delta, total seconds)."""
    t0 = time.perf_counter()
    first, deltas = 0.0, []
    async for d in chat.stream(messages):
        first = first or time.perf_counter() - t0
        deltas.append(d)
    return deltas, first, time.perf_counter() - t0


@pytest.fixture(scope="module")
def server() -> LlamaServer:
    missing = [m for m in SERVER_DEPS if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"llama-cpp-python[server] deps missing: {', '.join(missing)}")
    t0 = time.perf_counter()
    with LlamaServer() as s:
        started = time.perf_counter() - t0

        async def warm() -> float:  # evaluates the system prompt once, as LlamaChat.warmup() does
            chat = OpenAIChat(OpenAIChatOptions(base_url=s.base_url, max_tokens=1))
            try:
                return (await _collect(chat, _user("Hi")))[1]
            finally:
                await chat.aclose()

        print(f"\n[openai-chat] server up in {started:.2f} s, cold first token {asyncio.run(warm()) * 1000:.0f} ms")
        yield s


@pytest.fixture
async def chat(server: LlamaServer) -> AsyncIterator[OpenAIChat]:
    c = OpenAIChat(OpenAIChatOptions(base_url=server.base_url, extra_body={"repeat_penalty": 1.1}))
    yield c
    await c.aclose()


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.fixture
async def fault_server() -> AsyncIterator[Callable[[Handler], Awaitable[str]]]:
    """Serve one handler at POST /v1/chat/completions on loopback; returns the base_url."""
    runners: list[web.AppRunner] = []

    async def serve(handler: Handler) -> str:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", handler)
        runner = web.AppRunner(app, shutdown_timeout=0.1)
        await runner.setup()
        runners.append(runner)
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        return f"http://127.0.0.1:{port}/v1"

    yield serve
    for r in runners:
        await r.cleanup()


async def _sse_headers(request: web.Request) -> web.StreamResponse:
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await resp.prepare(request)
    return resp


def _chunk(content: str | None) -> bytes:
    delta = '{"role": "assistant"}' if content is None else '{"content": "%s"}' % content
    return b'data: {"choices": [{"index": 0, "delta": %s, "finish_reason": null}]}\n\n' % delta.encode()


@pytest.mark.models
def test_server_that_cannot_start_fails_with_one_line(server: LlamaServer) -> None:
    taken = LlamaServer(LlamaServerOptions(port=server.port, startup_timeout_s=30))
    t0 = time.perf_counter()
    with pytest.raises(LlmServerError, match="exited with status") as e:
        taken.start()
    print(f"[openai-chat] {time.perf_counter() - t0:.1f} s: {e.value}")
    assert "\n" not in str(e.value) and taken.proc is None


def test_system_prompt_is_prepended_unless_given() -> None:
    chat = OpenAIChat(OpenAIChatOptions(base_url="http://127.0.0.1:1/v1", system_prompt="Be brief."))
    assert chat.with_system(_user("Hi"))[0] == {"role": "system", "content": "Be brief."}
    own = [{"role": "system", "content": "Be long."}, *_user("Hi")]
    assert chat.with_system(own) == own
    with pytest.raises(ValueError):
        chat.with_system([{"role": "robot", "content": "Hi"}])


@pytest.mark.models
async def test_capital_of_france_streams(chat: OpenAIChat) -> None:
    deltas, first, total = await _collect(chat, _user("What is the capital of France?"))
    answer = "".join(deltas)
    print(f"[openai-chat] first token {first * 1000:.0f} ms, {len(deltas)} deltas, "
          f"{(len(deltas) - 1) / max(total - first, 1e-6):.1f} tok/s over HTTP: {answer!r}")
    assert len(deltas) >= 3, deltas
    assert "Paris" in answer


@pytest.mark.models
async def test_two_turns_keep_context(chat: OpenAIChat) -> None:
    history = _user("My name is Ada.")
    first = "".join((await _collect(chat, history))[0]).strip()
    assert first
    history += [{"role": "assistant", "content": first}, *_user("What is my name?")]
    answer = "".join((await _collect(chat, history))[0])
    assert "Ada" in answer, (first, answer)


@pytest.mark.models
async def test_cancel_mid_answer_is_prompt_and_backend_reusable(chat: OpenAIChat, server: LlamaServer) -> None:
    got: list[str] = []
    three = asyncio.Event()

    async def consume() -> None:
        async for d in chat.stream(_user("Tell me a long story about a dragon and a knight.")):
            got.append(d)
            if len(got) == 3:
                three.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(three.wait(), 15)
    t0 = time.perf_counter()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    took = time.perf_counter() - t0
    print(f"[openai-chat] cancel after {len(got)} deltas returned in {took * 1000:.1f} ms")
    assert took < 0.5  # not waiting for the rest of a long story (seconds of tokens)
    # the server noticed the closed response and stopped generating (it logs the disconnect)
    deadline = time.monotonic() + 3
    while not any("Disconnected from client" in line for line in server.log_tail(50)):
        assert time.monotonic() < deadline, server.log_tail(10)
        await asyncio.sleep(0.02)
    answer = "".join((await _collect(chat, _user("What is the capital of France?")))[0])
    assert "Paris" in answer


@pytest.mark.models
async def test_thinker_stage_end_to_end(server: LlamaServer) -> None:
    backend = OpenAIChat(OpenAIChatOptions(base_url=server.base_url))
    try:
        out = await run_test(ThinkerStage(backend), [Transcript(text="What is the capital of France?", turn=1)])
    finally:
        await backend.aclose()
    kinds = [f.kind for f in out]
    assert kinds[0] == "Transcript" and kinds[-1] == "TextDone", kinds
    deltas = [f for f in out if isinstance(f, TextDelta)]
    assert len(deltas) >= 2 and kinds[1:-1] == ["TextDelta"] * len(deltas), kinds
    done = out[-1]
    assert isinstance(done, TextDone) and done.turn == 1 and "Paris" in done.text
    assert done.text == "".join(d.text for d in deltas).strip()


async def test_thinker_stage_survives_a_dead_backend() -> None:
    backend = OpenAIChat(OpenAIChatOptions(base_url=f"http://127.0.0.1:{free_port()}/v1"))
    try:
        out = await run_test(ThinkerStage(backend), [Transcript(text="Hello?", turn=1)])
    finally:
        await backend.aclose()
    errors = [f for f in out if isinstance(f, ErrorFrame)]
    assert len(errors) == 1 and "is unreachable" in errors[0].message, out
    assert isinstance(out[-1], TextDone) and out[-1].text  # the stage apologises and the session goes on


async def test_wrong_port_is_unreachable_fast() -> None:
    chat = OpenAIChat(OpenAIChatOptions(base_url=f"http://127.0.0.1:{free_port()}/v1"))
    t0 = time.perf_counter()
    try:
        with pytest.raises(ThinkerBackendError, match="is unreachable") as e:
            await _collect(chat, _user("Hi"))
    finally:
        await chat.aclose()
    assert time.perf_counter() - t0 < 2
    assert "\n" not in str(e.value)


@pytest.mark.models
async def test_wrong_path_reports_http_404(server: LlamaServer) -> None:
    chat = OpenAIChat(OpenAIChatOptions(base_url=server.base_url.removesuffix("/v1")))
    try:
        with pytest.raises(ThinkerBackendError, match="HTTP 404") as e:
            await _collect(chat, _user("Hi"))
    finally:
        await chat.aclose()
    print(f"[openai-chat] {e.value}")


async def test_stall_mid_answer_times_out(fault_server) -> None:
    async def one_chunk_then_silence(request: web.Request) -> web.StreamResponse:
        resp = await _sse_headers(request)
        await resp.write(_chunk(None) + _chunk("Hello"))
        await asyncio.sleep(3600)
        return resp

    chat = OpenAIChat(OpenAIChatOptions(base_url=await fault_server(one_chunk_then_silence), stall_timeout_s=1))
    got: list[str] = []
    t_first = 0.0
    try:
        with pytest.raises(ThinkerBackendError, match=r"stalled for 1 s mid-answer"):
            async for d in chat.stream(_user("Hi")):
                got.append(d)
                t_first = time.perf_counter()
    finally:
        await chat.aclose()
    assert got == ["Hello"]
    assert time.perf_counter() - t_first < 1 + 1


async def test_stall_before_first_token_times_out(fault_server) -> None:
    async def headers_then_silence(request: web.Request) -> web.StreamResponse:
        resp = await _sse_headers(request)
        await resp.write(_chunk(None))  # the role-only delta is not a token
        await asyncio.sleep(3600)
        return resp

    base = await fault_server(headers_then_silence)
    chat = OpenAIChat(OpenAIChatOptions(base_url=base, first_token_timeout_s=1, stall_timeout_s=30))
    t0 = time.perf_counter()
    try:
        with pytest.raises(ThinkerBackendError, match=r"stalled for 1 s before the first token"):
            await _collect(chat, _user("Hi"))
    finally:
        await chat.aclose()
    assert time.perf_counter() - t0 < 1 + 1


@pytest.mark.parametrize("body,content_type", [
    (b"<html><body>Welcome</body></html>\n", "text/html"),
    (b"data: {this is not json}\n\n", "text/event-stream"),
    (b'data: {"object": "chat.completion.chunk"}\n\n', "text/event-stream"),
    (b'data: {"choices": [{"delta": {"content": "Hi"}}]}\n\n', "text/event-stream"),  # ends without [DONE]
])
async def test_garbage_stream_is_an_error(fault_server, body: bytes, content_type: str) -> None:
    async def garbage(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type=content_type)

    chat = OpenAIChat(OpenAIChatOptions(base_url=await fault_server(garbage)))
    try:
        with pytest.raises(ThinkerBackendError, match="malformed|closed the stream|no server-sent events") as e:
            await _collect(chat, _user("Hi"))
    finally:
        await chat.aclose()
    assert "\n" not in str(e.value)


async def test_cancel_closes_the_connection(fault_server) -> None:
    """The server's writes fail soon after the client cancels: the response is closed, not drained or left open."""
    closed = asyncio.Event()

    async def endless(request: web.Request) -> web.StreamResponse:
        resp = await _sse_headers(request)
        try:
            while True:
                await resp.write(_chunk("word"))
                await asyncio.sleep(0.005)
        except ConnectionError:  # aiohttp: "Cannot write to closing transport"
            closed.set()
        return resp

    chat = OpenAIChat(OpenAIChatOptions(base_url=await fault_server(endless)))
    got: list[str] = []

    async def consume() -> None:
        async for d in chat.stream(_user("Hi")):
            got.append(d)

    try:
        consumer = asyncio.create_task(consume())
        await asyncio.sleep(0.1)
        assert got and not consumer.done()
        consumer.cancel()
        with pytest.raises(asyncio.CancelledError):
            await consumer
        n = len(got)
        await asyncio.wait_for(closed.wait(), 1.0)
        assert len(got) == n
    finally:
        await chat.aclose()


async def test_api_key_from_env_is_sent(fault_server, monkeypatch: pytest.MonkeyPatch) -> None:
    async def guarded(request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") != "Bearer s3cret":
            return web.json_response({"error": {"message": "Invalid API key"}}, status=401)
        resp = await _sse_headers(request)
        await resp.write(_chunk(None) + _chunk("ok") + b"data: [DONE]\n\n")
        return resp

    monkeypatch.delenv("OMNIRT_THINKER_API_KEY", raising=False)
    base = await fault_server(guarded)
    anonymous = OpenAIChat(OpenAIChatOptions(base_url=base))
    try:
        with pytest.raises(ThinkerBackendError, match="HTTP 401: Invalid API key"):
            await _collect(anonymous, _user("Hi"))
    finally:
        await anonymous.aclose()
    monkeypatch.setenv("OMNIRT_THINKER_API_KEY", "s3cret")
    keyed = OpenAIChat(OpenAIChatOptions(base_url=base))
    try:
        assert (await _collect(keyed, _user("Hi")))[0] == ["ok"]
    finally:
        await keyed.aclose()
