"""`omnirt serve`: talk to the assistant from a browser over WebRTC (the page is served at the printed URL).

Loads the models once, then serves every peer connection as its own voice session (runtime/transports/webrtc.py).
Signalling is one HTTP request: `POST /offer` with the client's complete offer ({sdp, type}) returns the complete
answer; `GET /` serves the page, `GET /config` the STUN/TURN servers it should use. Bound to 127.0.0.1 (the
default) only this machine can signal, and no token is needed unless `--agent-tool` lets sessions drive the desktop;
bound to any other address, every request must carry the token (`Authorization: Bearer` or `?token=`; `--token`, or
one generated and printed in the URL). Every request must name this server in Host and, from a browser, come from
its own page (runtime/transports/guard.py says why). Bad requests get a one-line JSON error, never a 500.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import os
import secrets
import signal
import sys
import threading
from typing import Any, Callable

from aiohttp import web
from aiortc import RTCPeerConnection, RTCSessionDescription

from ..runtime.session import Components
from ..runtime.threads import use_idle_threads
from ..runtime.transports.guard import Guard, is_json
from ..runtime.transports.webrtc import (WEB_DIR, BadRequest, PeerSession, WebRTCOptions, is_loopback,
                                          offer_loopback_too, parse_ice_server, rtc_configuration,
                                          use_loopback_only)
from .voice import VoiceConfig, add_voice_arguments, load_components, session_options, voice_config, warm

log = logging.getLogger("omnirt.serve")


class RTCServer:
    """The signalling server and its sessions. `await start()` returns the URL; `await stop()` ends everything.

    require_token: a token even on loopback (a session that can drive the desktop must be the user's alone)."""

    def __init__(self, components: Components, options: WebRTCOptions = WebRTCOptions(),
                 allowed_origins: tuple[str, ...] = (), require_token: bool = False) -> None:
        local = is_loopback(options.host)
        token = options.token or (None if local and not require_token else secrets.token_urlsafe(18))
        self.components, self.options = components, dataclasses.replace(options, token=token)
        self.token = token
        self.guard = Guard(allowed_origins=tuple(allowed_origins), token=token)
        rtc_configuration(options.ice_servers, options.ice_relay_only)  # a typo fails at start, in one line
        self.sessions: set[PeerSession] = set()
        self._runner: web.AppRunner | None = None
        self.port = options.port
        self.app = web.Application(middlewares=[self._checks], client_max_size=options.max_body)
        self.app.router.add_get("/", self._index)
        self.app.router.add_get("/{name:app\\.js|style\\.css}", self._static)
        self.app.router.add_post("/offer", self._offer)
        self.app.router.add_get("/stats", self._stats)
        self.app.router.add_get("/config", self._config)

    @property
    def url(self) -> str:
        host = self.options.host if ":" not in self.options.host else f"[{self.options.host}]"
        return f"http://{host}:{self.port}/" + (f"?token={self.token}" if self.token else "")

    async def start(self) -> str:
        if self.options.loopback_only:
            use_loopback_only()
        else:
            offer_loopback_too()
        self._runner = web.AppRunner(self.app, access_log=None, auto_decompress=False)  # bodies stay as sent
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.options.host, self.options.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self.url

    async def stop(self) -> None:
        await asyncio.gather(*(s.close() for s in list(self.sessions)), return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @web.middleware
    async def _checks(self, request: web.Request, handler: Any) -> web.StreamResponse:
        """Host and Origin on every request, then the handler; whatever it raises becomes one line, never a 500."""
        problem = self.guard.host_problem(request.headers.get("Host")) or self.guard.origin_problem(
            request.headers.get("Origin"), request.headers.get("Host"), request.headers.get("Sec-Fetch-Site"))
        if problem:
            log.info("refused %s %s: %s", request.method, request.path, problem)
            return _error(problem, 403)
        try:
            response = await handler(request)
            if not request.content.is_eof():  # a body refused unread: answer, then end the connection
                response.force_close()
            return response
        except web.HTTPException as err:
            return _error(err.reason or "refused", err.status) if err.status >= 400 else err
        except Exception as err:  # noqa: BLE001 - hostile input must cost one line, not a traceback and a 500
            message = f"bad request ({type(err).__name__})"
            log.warning("%s %s: %s: %s", request.method, request.path, message, str(err).splitlines()[:1])
            return _error(message, 400)

    async def _index(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(WEB_DIR / "index.html")

    async def _static(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(WEB_DIR / request.match_info["name"])

    def _authorised(self, request: web.Request) -> bool:
        return self.guard.authorised(request.headers.get("Authorization"), request.query.get("token"))

    async def _stats(self, request: web.Request) -> web.StreamResponse:
        """Live counters for monitoring and benchmarks (the same token as offers)."""
        if not self._authorised(request):
            return _error("missing or wrong token", 401)
        return web.json_response({"sessions": len(self.sessions),
                                  "dropped_input_frames": [p.dropped_input_frames for p in self.sessions],
                                  **process_counters()})

    async def _config(self, request: web.Request) -> web.StreamResponse:
        """What the page needs before its offer: the STUN/TURN servers (the same token as offers)."""
        if not self._authorised(request):
            return _error("missing or wrong token", 401)
        return web.json_response({"iceServers": [parse_ice_server(s).as_json() for s in self.options.ice_servers]})

    async def _read_offer(self, request: web.Request) -> dict[str, Any]:
        limit = self.options.max_body
        if not is_json(request.headers.get("Content-Type")):
            raise BadRequest("the offer must be sent as Content-Type: application/json")
        if request.headers.get("Content-Encoding", "identity").strip().lower() != "identity":
            raise BadRequest("compressed bodies are not accepted")
        if (request.content_length or 0) > limit:
            raise BadRequest(f"body over {limit // 1024} KB")
        body = bytearray()

        async def read() -> None:
            while chunk := await request.content.read(65536):
                body.extend(chunk)
                if len(body) > limit:
                    raise BadRequest(f"body over {limit // 1024} KB")

        try:
            await asyncio.wait_for(read(), self.options.body_timeout_s)
        except asyncio.TimeoutError:
            raise BadRequest(f"body not received within {self.options.body_timeout_s:g} s") from None
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise BadRequest("body is not JSON") from None
        if not isinstance(data, dict) or not isinstance(data.get("sdp"), str) or not data["sdp"].strip():
            raise BadRequest("expected a JSON object with 'sdp' and 'type'")
        if data.get("type") != "offer":
            raise BadRequest("'type' must be 'offer'")
        if not data["sdp"].startswith("v=0") or "\nm=" not in data["sdp"]:
            raise BadRequest("'sdp' is not a session description with media")
        return data

    async def _offer(self, request: web.Request) -> web.StreamResponse:
        if not self._authorised(request):
            return _error("missing or wrong token", 401)
        try:
            offer = await self._read_offer(request)
        except BadRequest as err:
            return _error(str(err), 400)
        return await self.open_session(offer["sdp"], resume=offer.get("session"))

    async def open_session(self, sdp: str, resume: object = None) -> web.Response:
        """Run a session for a checked offer in this process (a cluster's front door hands it to a session host
        instead: tools/cluster/front_door.py) and answer with its SDP. `resume`: the offer's "session" field, which
        only a cluster's front door uses (it names a conversation to continue); this server ignores it."""
        if len(self.sessions) >= self.options.max_sessions:
            return _error("too many sessions", 503)
        try:
            answer = await open_peer(self.components, self.options, sdp, self.sessions)
        except BadRequest as err:
            return _error(str(err), 400)
        log.info("session opened (%d of at most %d)", len(self.sessions), self.options.max_sessions)
        return web.json_response({"sdp": answer.sdp, "type": answer.type})


async def open_peer(components: Components, options: WebRTCOptions, sdp: str, sessions: set[PeerSession],
                    prepare: Callable[[PeerSession], None] | None = None) -> RTCSessionDescription:
    """Negotiate a PeerSession for an offer and start it; it stays in `sessions` until it closes. An offer that
    aiortc refuses raises BadRequest with one line (shared by this server and the cluster's session hosts).
    prepare: called with the new session before it negotiates (a cluster host restores a moved conversation into
    it and records its turns: tools/cluster/host.py)."""
    config = rtc_configuration(options.ice_servers, options.ice_relay_only)
    peer = PeerSession(RTCPeerConnection(config), components, options, on_closed=sessions.discard)
    if prepare is not None:
        prepare(peer)
    sessions.add(peer)
    try:
        answer = await asyncio.wait_for(peer.negotiate(sdp), 10.0)
    except Exception as err:  # noqa: BLE001 - aiortc's SDP parser raises anything on hostile input
        sessions.discard(peer)  # the slot is free whatever closing the half-made session does
        await peer.close()
        message = str(err) if isinstance(err, BadRequest) else f"bad offer: {type(err).__name__}: {err}"
        message = message.splitlines()[0][:200] if str(err) else f"bad offer: {type(err).__name__}"
        log.info("offer rejected: %s", message)
        raise BadRequest(message) from None
    peer.start()
    return answer


class _OneLineHttpErrors(logging.Filter):
    """aiohttp logs a malformed request (bad bytes in a header, a broken request line) with its traceback: one
    line is enough, since the client already got its 400."""

    def filter(self, record: logging.LogRecord) -> bool:
        from aiohttp.http_exceptions import HttpProcessingError

        if record.exc_info and isinstance(record.exc_info[1], HttpProcessingError):
            err = record.exc_info[1]
            record.msg, record.args = "refused a malformed request: %s", (str(err.message).splitlines()[0][:120],)
            record.exc_info, record.exc_text, record.levelno, record.levelname = None, None, logging.INFO, "INFO"
        return True


logging.getLogger("aiohttp.server").addFilter(_OneLineHttpErrors())


def process_counters() -> dict[str, int]:
    """What a long-running server could leak: resident memory, descriptors, threads, event-loop tasks."""
    status = dict(line.split(":", 1) for line in open("/proc/self/status").read().splitlines() if ":" in line)
    return {"rss_kb": int(status.get("VmRSS", "0 kB").split()[0]), "fds": len(os.listdir("/proc/self/fd")),
            "threads": threading.active_count(), "tasks": len(asyncio.all_tasks())}


def _error(message: str, status: int) -> web.Response:
    return web.json_response({"error": message}, status=status)


# ---------------------------------------------------------------- the command

def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to bind (beyond loopback a token is required)")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--token", help="required on every offer (generated when bound beyond loopback)")
    p.add_argument("--max-sessions", type=int, default=4, help="peer connections served at once")
    p.add_argument("--no-vision", action="store_true", help="do not read the camera")
    add_voice_arguments(p, partials=True)  # with --agent-tool a token is required even on loopback
    p.add_argument("--ice-server", action="append", default=[], metavar="URL",
                   help="a STUN or TURN server for both ends, stun:HOST[:PORT] or turn:USER:PASS@HOST[:PORT] "
                        "(repeatable; none by default)")
    p.add_argument("--ice-relay-only", action="store_true",
                   help="send media only through the TURN server given with --ice-server (never offer this "
                        "machine's addresses)")
    p.add_argument("--allow-origin", action="append", default=[], metavar="ORIGIN",
                   help="another page origin (https://name:port) or host name that may use this server "
                        "(repeatable; by default only the server's own page, by address or a loopback name)")
    p.add_argument("--cluster", metavar="ADDRESS",
                   help="place sessions on a Ray cluster's session hosts (this process only signals): local:N starts "
                        "N nodes on this machine (--max-sessions slots each), auto joins this machine's cluster, "
                        "else a Ray address (nodes declare omnirt_session_slots); needs omnirt[cluster]")
    p.add_argument("--drain", metavar="HOST",
                   help="with --cluster: ask the front door running at --host/--port to empty this session host "
                        "(its name in /stats): no new sessions there, its sessions move at a turn boundary")
    p.add_argument("--undrain", action="store_true", help="with --drain HOST: let that host take sessions again")
    p.add_argument("--shared", metavar="ROLES",
                   help="with --cluster: serve these models (asr, talker, or asr,talker) as Ray Serve deployments "
                        "that every session host calls, batched across sessions, instead of a copy per host")
    p.add_argument("--shared-max-batch", type=int, default=8, metavar="N",
                   help="with --shared: calls batched together at most (default 8)")
    p.add_argument("--shared-batch-wait-ms", type=float, default=10.0, metavar="MS",
                   help="with --shared: how long a batch's first call waits for more (default 10)")


def options_from(args: argparse.Namespace, config: VoiceConfig) -> WebRTCOptions:
    return WebRTCOptions(host=args.host, port=args.port, token=args.token, max_sessions=args.max_sessions,
                         ice_servers=tuple(args.ice_server), ice_relay_only=args.ice_relay_only,
                         session=session_options(config))


def run(args: argparse.Namespace, console: Any) -> int:
    if (args.drain or args.undrain) and not (args.cluster and args.drain):
        print("omnirt: error: --drain HOST (and --undrain) go with --cluster", file=sys.stderr)
        return 2
    if args.shared and not args.cluster:
        print("omnirt: error: --shared goes with --cluster (shared models are Ray Serve deployments)", file=sys.stderr)
        return 2
    try:
        config = voice_config(args)
    except ValueError as err:
        print(f"omnirt: error: {err}", file=sys.stderr)
        return 2
    logging.basicConfig(format="%(asctime)s %(name)s: %(message)s", level=logging.WARNING)
    logging.getLogger("omnirt").setLevel(logging.INFO)  # a line per session opened, closed (and why) or refused
    if args.cluster:  # a front door: the models load on the cluster's session hosts, not here
        from .cluster.front_door import run_front_door

        return run_front_door(args, config, console)
    console.print("loading models ...")
    describer = None
    if not args.no_vision:
        from ..models.vision import camera_describer

        # OCR in a low-priority worker process (models/vision.py), started first: it loads while the rest does
        describer = camera_describer()
    components = load_components(config)
    components.describer = describer
    warm(components, console.print)
    serve_until_stopped(lambda: RTCServer(components, options_from(args, config),
                                          allowed_origins=tuple(args.allow_origin), require_token=args.agent_tool),
                        args, console)
    return 0


def serve_until_stopped(make_server: Callable[[], RTCServer], args: argparse.Namespace, console: Any) -> None:
    """Start the server make_server() builds (on this thread's new event loop), print its URL, serve until SIGINT
    or SIGTERM, then stop every session; a bad option or a port in use is one line (SystemExit)."""

    async def serve() -> None:
        use_idle_threads(asyncio.get_running_loop())  # threads come back to their start when sessions end
        try:
            server = make_server()
            url = await server.start()
        except BadRequest as err:
            raise SystemExit(f"omnirt: error: {err}")
        except OSError as err:
            raise SystemExit(f"omnirt: error: cannot bind {args.host}:{args.port} ({err.strerror or err})")
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(sig, stop.set)
        console.print(f"ready: open [bold]{url}[/] (Ctrl-C stops)")
        try:
            await stop.wait()
        finally:
            await server.stop()

    asyncio.run(serve())
    console.print("stopped")
