"""Run a real OpenAI-compatible chat server (llama-cpp-python's) on loopback, for tests and for users.

    with LlamaServer() as server:            # or: async with LlamaServer() as server
        chat = OpenAIChat(OpenAIChatOptions(base_url=server.base_url))

    python -m omnirt.tools.llm_server [--port 8080]     # serve until Ctrl-C

The server is a child process (`python -m llama_cpp.server`), so its model and threads are isolated from the
session's, as with a remote Thinker. It needs llama-cpp-python's [server] extra (fastapi, uvicorn, sse-starlette,
starlette-context, pydantic-settings, PyYAML).
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import collections
import ipaddress
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from types import TracebackType

from omnirt.models import assets

# Environment variables the server reads over its command line (uvicorn's HOST/PORT, pydantic-settings' CONFIG_FILE).
_OVERRIDING_ENV = ("HOST", "PORT", "CONFIG_FILE")


class LlmServerError(RuntimeError):
    """The server could not start (one line, ending with its last output lines)."""


@dataclass(frozen=True)
class LlamaServerOptions:
    """Knobs for the local chat server.

    model: asset name of the GGUF served (see omnirt.models.assets).
    host: bind address; loopback by default. Any other address requires api_key.
    port: TCP port; 0 picks a free one.
    n_threads: llama.cpp CPU threads (1 keeps ~30-40 tok/s on a shared 2-core machine; see LlamaOptions).
    n_ctx: context window in tokens.
    api_key: clients must send "Authorization: Bearer <api_key>" (OMNIRT_THINKER_API_KEY for OpenAIChat).
    startup_timeout_s: how long to wait for GET /v1/models to answer (the model loads in a few seconds).
    verbose: let llama.cpp print its load and timing logs (kept in the log tail).
    """

    model: str = "qwen2.5-coder-0.5b-instruct"
    host: str = "127.0.0.1"
    port: int = 0
    n_threads: int = 1
    n_ctx: int = 2048
    api_key: str | None = None
    startup_timeout_s: float = 60.0
    verbose: bool = False

    def __post_init__(self) -> None:
        try:
            loopback = ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            loopback = self.host == "localhost"
        if not loopback and not self.api_key:
            raise ValueError(f"binding the chat server to {self.host} (not loopback) requires an api_key")


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free right now (another process could still take it before the server binds it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class LlamaServer:
    """A llama-cpp-python server child process; a sync and async context manager."""

    def __init__(self, options: LlamaServerOptions = LlamaServerOptions()) -> None:
        self.options = options
        self.port = options.port
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: collections.deque[str] = collections.deque(maxlen=200)
        self._reader: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """The OpenAI API root, e.g. http://127.0.0.1:PORT/v1."""
        host = self.options.host if self.options.host not in ("0.0.0.0", "::") else "127.0.0.1"
        return f"http://{host}:{self.port}/v1"

    def log_tail(self, n: int = 20) -> list[str]:
        """The server's last output lines (stdout and stderr together)."""
        return list(self._log)[-n:]

    def command(self) -> list[str]:
        o = self.options
        path = assets.require(o.model) / "model.gguf"
        cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(path), "--model_alias", o.model,
               "--host", o.host, "--port", str(self.port), "--n_threads", str(o.n_threads),
               "--n_threads_batch", str(o.n_threads), "--n_ctx", str(o.n_ctx), "--verbose", str(o.verbose)]
        if o.api_key:
            cmd += ["--api_key", o.api_key]
        return cmd

    def start(self) -> "LlamaServer":
        """Start the server and return once it answers GET /v1/models; raise LlmServerError otherwise."""
        if self.proc is not None:
            raise RuntimeError("this LlamaServer is already running")
        self.port = self.options.port or free_port(self.options.host)
        cmd = self.command()
        env = {k: v for k, v in os.environ.items() if k.upper() not in _OVERRIDING_ENV}
        env["PYTHONUNBUFFERED"] = "1"
        self._log.clear()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, env=env)
        atexit.register(self.stop)
        self._reader = threading.Thread(target=self._drain, args=(self.proc,), name="llm-server-log", daemon=True)
        self._reader.start()
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _drain(self, proc: subprocess.Popen[bytes]) -> None:
        """Keep reading the child's output (a full pipe would block it) into the log tail."""
        assert proc.stdout is not None
        for raw in proc.stdout:
            self._log.append(raw.decode("utf-8", "replace").rstrip())

    def _fail(self, why: str) -> LlmServerError:
        if self._reader is not None:
            self._reader.join(timeout=1.0)
        tail = " | ".join(line for line in self.log_tail(5) if line.strip()) or "(no output)"
        return LlmServerError(f"llama.cpp server on port {self.port} {why}; last output: {tail}")

    def _wait_ready(self) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + self.options.startup_timeout_s
        req = urllib.request.Request(self.base_url + "/models")
        if self.options.api_key:
            req.add_header("Authorization", f"Bearer {self.options.api_key}")
        while True:
            code = self.proc.poll()
            if code is not None:
                raise self._fail(f"exited with status {code} while starting")
            # Only after our child says it listens: another server already on the port would answer too.
            if any("Uvicorn running on" in line for line in self.log_tail(50)):
                try:
                    with urllib.request.urlopen(req, timeout=1.0) as r:
                        if r.status == 200:
                            return
                except (urllib.error.URLError, OSError):
                    pass
            if time.monotonic() > deadline:
                raise self._fail(f"did not answer GET /v1/models within {self.options.startup_timeout_s:g} s")
            time.sleep(0.1)

    def stop(self, timeout_s: float = 5.0) -> None:
        """Terminate the server and wait for it (killed if it does not exit in timeout_s); idempotent."""
        proc, self.proc = self.proc, None
        atexit.unregister(self.stop)
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._reader is not None:
            self._reader.join(timeout=1.0)
            self._reader = None
        if proc.stdout is not None:
            proc.stdout.close()

    def __enter__(self) -> "LlamaServer":
        return self.start()

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    async def __aenter__(self) -> "LlamaServer":
        return await asyncio.to_thread(self.start)

    async def __aexit__(self, t: type[BaseException] | None, e: BaseException | None,
                        tb: TracebackType | None) -> None:
        await asyncio.to_thread(self.stop)


def main(argv: list[str] | None = None) -> int:
    """Serve until Ctrl-C, printing the base URL for OpenAIChatOptions / clients."""
    p = argparse.ArgumentParser(prog="python -m omnirt.tools.llm_server", description=__doc__.split("\n")[0])
    d = LlamaServerOptions()
    p.add_argument("--model", default=d.model)
    p.add_argument("--host", default=d.host)
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--n-threads", type=int, default=d.n_threads)
    p.add_argument("--n-ctx", type=int, default=d.n_ctx)
    p.add_argument("--api-key", default=os.environ.get("OMNIRT_THINKER_API_KEY"))
    a = p.parse_args(argv)
    try:
        opts = LlamaServerOptions(model=a.model, host=a.host, port=a.port, n_threads=a.n_threads, n_ctx=a.n_ctx,
                                  api_key=a.api_key)
        with LlamaServer(opts) as server:
            print(f"serving {a.model} at {server.base_url} (Ctrl-C to stop)", flush=True)
            assert server.proc is not None
            server.proc.wait()
            print(f"server exited with status {server.proc.returncode if server.proc else '?'}", file=sys.stderr)
            return 1
    except KeyboardInterrupt:
        return 0
    except (LlmServerError, ValueError, assets.ModelMissingError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
