"""Voice-to-voice and barge-in latency measured at a real WebRTC client (aiortc or headless Chromium).

A server (`omnirt serve`, embedded models, exactly as it runs by default: vision on) runs in its own process on
loopback, and the client sends a camera as the page does (tools/rtc_camera.py Webcam: printed cards held up in a
room, every frame different). `--camera both` starts a `--no-vision` server beside it and takes turns from both in
alternating blocks (on off off on ...), so a drift in the shared host's load touches both; it prints both and their
ratio: what the camera costs the voice path. The client speaks the questions of
tools/questions.py (`--questions`: quiz questions by default, or everyday requests answered in sentences; `--voices`
in turn) into its microphone in real time and measures what a person would: from the end of the speech it
sent to the first non-silent reply audio it received (aiortc: arrival of the frame; Chromium: the page's own audio
graph). With `--barge-in`, every other turn the client talks over the reply and measures from the onset of that
speech to the reply's silence. `--idle N` keeps N more sessions connected and listening meanwhile. Per-stage figures
come from the server's latency events (its trace). Writes JSON and an HTML report with plots.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ...runtime.clock import now
from .report import cpu_probe, percentiles, probe_line, write_html
from ..questions import SPOKEN_TURNS
from ..voice import add_voice_arguments, voice_config, voice_flags
from .latency_chromium import chromium_turns
from .servers import ServerProcess, start_idle, stats, stop_idle

BARGE_IN_CLIP = "What is two plus three?"
LONG_QUESTIONS = ("Tell me a long story about a dragon who lives in a castle.",
                  "Explain how a car engine works, step by step.",
                  "Describe a walk through a busy city market in the morning.",
                  "Tell me everything you know about the planet Mars.",
                  "Explain how bread is baked, from the flour to the oven.",
                  "Describe the life of a honey bee through the seasons.",
                  "Tell me the history of the bicycle in detail.",
                  "Explain how a rainbow forms after the rain.")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--turns", type=int, default=10, help="measured turns")
    p.add_argument("--client", choices=["aiortc", "chromium"], default="aiortc")
    p.add_argument("--questions", choices=sorted(SPOKEN_TURNS), default="quiz",
                   help="what the client asks: quiz (tools/questions.py QUESTIONS, answered in a word once a "
                        "conversation goes), everyday-dev or everyday-held-out (requests and small talk, answered in "
                        "sentences, as users talk)")
    p.add_argument("--voices", default="piper",
                   help="comma-separated voices the questions are spoken in, in turn (piper, espeak, flite)")
    p.add_argument("--barge-in", type=int, default=4, help="barge-in trials (aiortc client only)")
    p.add_argument("--idle", type=int, default=0, help="extra sessions connected and idle during the run")
    p.add_argument("--idle-uplink", choices=["dtx", "continuous"], default="dtx",
                   help="what the idle sessions' silent microphones send: a pair of packets per 400 ms when the server "
                        "asks for Opus DTX, as Chromium does (dtx), or fifty a second regardless (continuous)")
    add_voice_arguments(p, partials=True)  # passed on to the server
    p.add_argument("--camera", dest="vision", choices=["on", "off", "both"], default="on",
                   help="the server reads the client's camera (on: as `omnirt serve` does by default), runs with "
                        "--no-vision while the client still sends it (off), or both side by side, turns taken in "
                        "alternating blocks")
    p.add_argument("--block", type=int, default=3, help="turns per block with --camera both")
    p.add_argument("--no-client-camera", dest="camera", action="store_false",
                   help="the aiortc client sends no camera (the page always sends one)")
    p.add_argument("--camera-fps", type=float, default=None,
                   help="frames a second the aiortc client's camera sends (default: what the page asks a browser for, "
                        "tools/rtc_camera.py PAGE_CAMERA_FPS)")
    p.add_argument("--peer", choices=["pipecat"], help="then the same turns against a stock Pipecat bot on the same "
                                                      "models (tools/bench/peer.py), and the ratio")
    p.add_argument("--json", default="bench-results/latency.json")


# ---------------------------------------------------------------- aiortc client

async def _aiortc_turns(server: ServerProcess, url: str, clips: list[Path], barge_ins: int, idle: int,
                        uplink: str = "dtx", camera: bool = True, ask_camera: bool = False,
                        camera_fps: float | None = None) -> dict[str, Any]:
    """ask_camera: at the end, one more turn (not timed) asks what the camera shows: does the answer name the
    card held up, i.e. was the camera really read during the run? Each turn says whether the server checked its
    speculative cut (its log): a second decode beside the Thinker, which shows in that turn's latency."""
    from ..clips import make_clip
    from ..rtc_camera import HELD_TEXTS, PAGE_CAMERA_FPS, Webcam
    from ..rtc_client import ClientOptions, RTCClient

    idle_proc = start_idle(url, idle, uplink) if idle else None
    turns, cuts = [], []
    try:
        webcam = Webcam(fps=camera_fps or PAGE_CAMERA_FPS) if camera else None
        async with RTCClient(url, ClientOptions(video=camera, camera=webcam)) as client:
            await asyncio.sleep(0.5)
            for i, clip in enumerate(clips, 1):
                before = server.cuts_checked
                t = await client.turn(clip)
                checked = server.cuts_checked - before
                turns.append({"turn": t.number, "heard": t.heard, "answer": t.answer, "cut_checked": checked,
                              "voice_to_voice_ms": t.voice_to_voice_ms,
                              "server": t.latency and {"total": t.latency["total"],
                                                       "segments": dict(t.latency["segments"])},
                              "transport": _transport(client, t), "reply_max_gap_ms": _reply_gap(client, t),
                              "reply_starved_ms": round(1e3 * t.end_event.get("starved_s", 0.0), 1)})
                print(f"  turn {i}/{len(clips)}: {t.voice_to_voice_ms or float('nan'):7.1f} ms  "
                      f"{t.heard!r} -> {t.answer!r}" + ("  (its cut checked)" if checked else ""), flush=True)
            leads = [2, 7, 12, 17]  # ms of quiet before the interruption's onset, in turn
            stops = [_from_first_sound(make_clip(BARGE_IN_CLIP, "piper"), client.options.threshold, ms) for ms in leads]
            for k in range(barge_ins):  # a different request each time: the model would repeat a cut answer
                long_q = make_clip(LONG_QUESTIONS[k % len(LONG_QUESTIONS)], "piper")
                cuts.append(await _barge_in(client, long_q, stops[k % len(stops)]))
                c = cuts[-1]
                if "note" in c:
                    print(f"  barge-in: {c['note']}", flush=True)
                    continue
                print(f"  barge-in: reply silent {c['onset_to_silence_ms']:.0f} ms after the speech onset "
                      f"({c['vad_onset_to_silence_ms']:.0f} ms after the VAD heard it, "
                      f"{c['vad_onset_after_ms']:.0f} ms after the onset)", flush=True)
            checks = []
            if ask_camera:
                t = await client.turn(make_clip("What does this say?", "piper"))
                named = any(w.lower() in t.answer.lower() for text in HELD_TEXTS for w in text.split())
                checks.append({"heard": t.heard, "answer": t.answer, "names_a_card": named})
            counters = await asyncio.to_thread(stats, url)  # while every session is still connected
    finally:
        idle_out = await asyncio.to_thread(stop_idle, idle_proc) if idle_proc else {}
    return {"turns": turns, "barge_in": cuts, "idle_max_gap_ms": idle_out.get("max_gap_ms", []),
            "idle_sent_per_s": idle_out.get("sent_per_s", []),
            "dropped_input_frames": counters.get("dropped_input_frames", []), "camera_check": checks}


def _transport(client: Any, t: Any) -> dict[str, float] | None:
    """The client's share of a turn, from the server's clock stamps (client and server share this host's monotonic
    clock): "uplink" from the end of the sent speech to the server's speech end (the VAD's last speech chunk at its
    arrival), "to track" from the first reply audio leaving the pipeline to its first frame going to aiortc,
    "downlink" from there to the first loud sample at the client (RTP, jitter buffer, decoding)."""
    clock = (t.latency or {}).get("clock") or {}
    speaking = client.event("status", state="speaking", turn=t.number)
    if not clock.get("speech_end") or not clock.get("audio_out") or not speaking or t.first_sound is None:
        return None
    ms = lambda a, b: round((b - a) * 1e3, 1)  # noqa: E731
    return {"uplink": ms(t.speech_end, clock["speech_end"]), "to track": ms(clock["audio_out"], speaking["clock"]),
            "downlink": ms(speaking["clock"], t.first_sound)}


def _reply_gap(client: Any, t: Any) -> float | None:
    """The longest wait between two packets of a reply while it played, at the client (20 ms when nothing
    stalls; a stall longer than the receiver's buffer is an underrun)."""
    if t.first_sound is None:
        return None
    times = [at for at, _ in client.received.chunks if t.first_sound <= at <= t.end_event["t"]]
    return round(float(np.diff(times).max()) * 1e3, 1) if len(times) > 1 else None


def _from_first_sound(clip: Path, threshold: float, lead_ms: int) -> Path:
    """A copy of a clip that starts `lead_ms` before its first sound, so the speech follows the send at once. The
    lead sets where in the client's 20 ms packet the onset falls (which varies the time to send it by up to 20 ms):
    the trials rotate through several leads, as a real onset falls anywhere in a packet."""
    import soundfile as sf

    from ..rtc_client import RATE, load_speech

    pcm, _ = load_speech(clip, threshold)
    first = int(np.flatnonzero(np.abs(pcm.astype(np.int32)) > threshold * 32768)[0])
    out = clip.with_name(f"{clip.stem}.lead{lead_ms}.wav")
    sf.write(str(out), pcm[max(0, first - lead_ms * RATE // 1000):], RATE, subtype="PCM_16")
    return out


async def _barge_in(client: Any, long_q: Path, interrupting: Path) -> dict[str, float]:
    """Ask for a long answer, talk over it after a second, and time the reply's silence at the client."""
    level = client.options.threshold
    asked = await client.say(long_q)
    await client.wait_for(lambda: client.received.first_sound(level, asked), 30, "the long answer to start")
    await asyncio.sleep(0.6)
    # start while the reply is sounding (the clip starts at its first sound), else there is nothing to time
    with contextlib.suppress(TimeoutError):  # (a reply that has ended is reported as such below)
        await client.wait_for(lambda: client.received.sounds(level, now() - 0.02), 2, "the reply to sound")
    turn = await client.turn(interrupting)  # spoken over the reply; waits for its own answer
    onset = client.mic.onsets[-1]
    cut = next((e for e in client.events if e["type"] == "status" and e.get("cut") and e["t"] > onset), None)
    hold = next((e for e in client.events if e["type"] == "hold" and e["active"] and e["clock"] > onset - 0.05),
                None)  # the server's VAD heard the first chunk of the interruption and held the reply
    if cut is None:
        nan = float("nan")
        return {"onset_to_silence_ms": nan, "vad_onset_to_silence_ms": nan, "vad_onset_after_ms": nan,
                "note": "nothing to cut (the reply had ended)"}
    last = max(client.received.sounds(level, onset - 0.2, turn.speech_end + 0.3) or [onset - 1])
    if last < onset:  # nothing to time: the reply was in a pause between words when the user began
        nan = float("nan")
        return {"onset_to_silence_ms": nan, "vad_onset_to_silence_ms": nan, "vad_onset_after_ms": nan,
                "note": f"the reply was already silent at the onset (last sound {(onset - last) * 1e3:.0f} ms "
                        "before it): not timed"}
    return {"onset_to_silence_ms": round((last - onset) * 1e3, 1),
            "vad_onset_to_silence_ms": round((last - hold["clock"]) * 1e3, 1) if hold else float("nan"),
            "vad_onset_after_ms": round((hold["clock"] - onset) * 1e3, 1) if hold else float("nan")}


# ---------------------------------------------------------------- run

def _server(args: argparse.Namespace, vision: bool) -> ServerProcess:
    return ServerProcess([*([] if vision else ["--no-vision"]), *voice_flags(voice_config(args)),
                          "--max-sessions", str(args.idle + 2)])


def _blocks(arms: list[str], turns: int, block: int) -> list[tuple[str, int, int]]:
    """(arm, first turn, end) in the order measured: with two arms, blocks of `block` turns in the order
    A B B A A B ..., so each arm hears the same questions and a steady drift of the host's load cancels out."""
    size = block if len(arms) > 1 else turns
    out = []
    for k, start in enumerate(range(0, turns, size)):
        for arm in arms if k % 2 == 0 else arms[::-1]:
            out.append((arm, start, min(turns, start + size)))
    return out


async def _measure(args: argparse.Namespace, servers: dict[str, ServerProcess], urls: dict[str, str],
                   clips: list[Path], workdir: Path) -> dict[str, dict[str, Any]]:
    results: dict[str, dict[str, Any]] = {}
    for arm, start, end in _blocks(list(urls), len(clips), args.block):
        if len(urls) > 1:
            print(f" vision {arm}: turns {start + 1}-{end}", flush=True)
        last = end == len(clips)
        if args.client == "aiortc":
            part = await _aiortc_turns(servers[arm], urls[arm], clips[start:end], args.barge_in if last else 0,
                                       args.idle, args.idle_uplink, args.camera, last and arm == "on" and args.camera,
                                       args.camera_fps)
        else:
            part = await chromium_turns(urls[arm], clips[start:end], workdir)
        got = results.setdefault(arm, {k: [] for k in part})
        for k, v in part.items():
            got[k] += v
    return results


def _summary(args: argparse.Namespace, arm: str, result: dict[str, Any], probes: list[float]) -> dict[str, Any]:
    v2v = [t["voice_to_voice_ms"] for t in result["turns"] if t["voice_to_voice_ms"] is not None]
    stages: dict[str, list[float]] = {}
    for t in result["turns"]:
        for name, ms in ((t.get("server") or {}).get("segments") or {}).items():
            stages.setdefault(name, []).append(ms)
        if t.get("server"):
            stages.setdefault("server total", []).append(t["server"]["total"])
        for name, ms in (t.get("transport") or {}).items():
            stages.setdefault(name, []).append(ms)
    return {"bench": "latency", "client": args.client, "vision": arm, "camera": args.camera,
            "cpu_probe_ms": probes, "turns": len(result["turns"]), "idle_sessions": args.idle,
            "idle_uplink": args.idle_uplink if args.idle else None,
            "hangover_ms": args.hangover_ms, "speculate_ms": args.speculate_ms, "thinker": args.thinker,
            "thinker_threads": args.thinker_threads, "thinker_batch_threads": args.thinker_batch_threads,
            "thinker_lead_threads": args.thinker_lead_threads,
            "voice_to_voice_ms": percentiles(v2v),
            "barge_in_onset_to_silence_ms": percentiles([c["onset_to_silence_ms"] for c in result["barge_in"]]),
            "barge_in_vad_onset_to_silence_ms": percentiles([c["vad_onset_to_silence_ms"]
                                                             for c in result["barge_in"]]),
            "stages_ms": {k: percentiles(v) for k, v in stages.items()},
            **result}


def _settings(args: argparse.Namespace) -> str:
    """Every option not at its default, as it would be typed (printed beside the figures)."""
    p = argparse.ArgumentParser()
    add_arguments(p)
    defaults = p.parse_args([])
    out = []
    for action in p._actions:
        key = action.dest
        if key in ("help", "json") or getattr(args, key, None) == getattr(defaults, key, None):
            continue
        flag = action.option_strings[0]
        out.append(flag if action.nargs == 0 else f"{flag} {getattr(args, key)}")
    return " ".join(out) or "(all defaults)"


def run(args: argparse.Namespace, console: Any) -> int:
    from ..clips import make_clip
    from ..clips import VOICES

    if args.turns < 1:
        raise SystemExit("omnirt: error: --turns must be at least 1")
    if args.block < 1:
        raise SystemExit("omnirt: error: --block must be at least 1")
    if args.idle and args.client != "aiortc":
        raise SystemExit("omnirt: error: --idle runs with the aiortc client only")
    if args.peer and args.client != "aiortc":
        raise SystemExit("omnirt: error: --peer runs with the aiortc client only")
    if not args.camera and args.client != "aiortc":
        raise SystemExit("omnirt: error: --no-client-camera needs the aiortc client (the page always sends a camera)")
    arms = ["on", "off"] if args.vision == "both" else [args.vision]
    voices = [v.strip() for v in args.voices.split(",") if v.strip()]
    if not voices or any(v not in VOICES for v in voices):
        raise SystemExit(f"omnirt: error: --voices takes a comma-separated list of {', '.join(VOICES)}")
    texts = SPOKEN_TURNS[args.questions]
    clips = [make_clip(texts[i % len(texts)], voices[i % len(voices)]) for i in range(args.turns)]
    probe_before = cpu_probe()
    console.print(f"starting omnirt serve ({' and '.join('vision ' + a for a in arms)}); {args.turns} turns "
                  f"each over {args.client}" + (f", {args.idle} idle sessions" if args.idle else "")
                  + (", the client sending a camera" if args.camera else ", no camera"))
    with contextlib.ExitStack() as stack:
        servers = {arm: _server(args, arm == "on") for arm in arms}
        urls = {arm: stack.enter_context(servers[arm]) for arm in arms}
        with tempfile.TemporaryDirectory() as tmp:
            results = asyncio.run(_measure(args, servers, urls, clips, Path(tmp)))
    for arm in arms:  # what the servers' logs told
        results[arm]["speculative_cuts_checked"] = dict(servers[arm].checked)
    peer = None
    if args.peer:  # right after omnirt, its servers stopped: the same questions and client
        from .peer import run_peer

        peer = run_peer(args, clips, say=console.print)
    probes = [probe_before, cpu_probe()]
    summaries = {arm: _summary(args, arm, results[arm], probes) for arm in arms}
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    ratio = peer_ratio = None
    if len(arms) > 1:
        on, off = (summaries[a]["voice_to_voice_ms"] for a in arms)
        ratio = {k: round(on[k] / off[k], 3) if off[k] else float("nan") for k in ("p50", "p95")}
    if peer is not None:
        ours, theirs = summaries[arms[0]]["voice_to_voice_ms"], peer["voice_to_voice_ms"]
        peer_ratio = {k: round(ours[k] / theirs[k], 3) if theirs[k] else float("nan") for k in ("p50", "p95")}
    if len(arms) == 1 and peer is None:
        path.write_text(json.dumps(summaries[arms[0]], indent=1))
        htmls = [write_html(path.with_suffix(".html"), summaries[arms[0]])]
    else:
        path.write_text(json.dumps({"bench": "latency", "ratio_vision_on_off": ratio, "arms": summaries,
                                    "peer": peer, f"ratio_omnirt_{args.peer}": peer_ratio}, indent=1))
        htmls = [write_html(path.with_name(f"{path.stem}.vision-{a}.html"), summaries[a]) for a in arms]
    print(probe_line(*probes))
    print(f"settings: {_settings(args)}")
    for arm in arms:
        _print_arm(args, summaries[arm])
    if len(arms) > 1:
        print(f"vision on / off: p50 {ratio['p50']:.3f}  p95 {ratio['p95']:.3f}  ({args.client} client, "
              f"{'camera sending' if args.camera else 'no camera'}, blocks of {args.block} turns)")
    if peer is not None:
        from .peer import print_versus

        print(f"(omnirt: vision {arms[0]}; the peer ignores the camera)")
        print_versus(summaries[arms[0]]["voice_to_voice_ms"], peer)
    console.print(f"results in {path} and {', '.join(map(str, htmls))}")
    return 0


def _print_arm(args: argparse.Namespace, result: dict[str, Any]) -> None:
    summary = result
    s = summary["voice_to_voice_ms"]
    print(f"voice-to-voice p50 {s['p50']:.0f} ms p95 {s['p95']:.0f} ms  ({s['n']} turns, {args.client} client, "
          f"vision {summary['vision']}, {'camera sending' if args.camera else 'no camera'})")
    b = summary["barge_in_onset_to_silence_ms"]
    if b["n"]:
        c = summary["barge_in_vad_onset_to_silence_ms"]
        print(f"barge-in onset->silence p50 {b['p50']:.0f} ms p95 {b['p95']:.0f} ms; "
              f"VAD onset->silence p50 {c['p50']:.0f} ms p95 {c['p95']:.0f} ms ({b['n']} timed of "
              f"{len(result['barge_in'])} trials)")
    for name, st in summary["stages_ms"].items():
        print(f"  {name:<24} p50 {st['p50']:7.1f} ms  p95 {st['p95']:7.1f} ms")
    if args.idle:
        print(f"idle sessions: input frames dropped {sum(result['dropped_input_frames'])}; longest gap between "
              f"packets sent to them {max(result['idle_max_gap_ms'] or [float('nan')]):.0f} ms (while silent the "
              "server sends one per 400 ms: DTX); their microphones sent "
              f"{np.mean(result['idle_sent_per_s'] or [float('nan')]):.1f} packets/s each ({args.idle_uplink})")
    checked = result.get("speculative_cuts_checked") or {}
    print(f"speculative cuts checked against the audio after them (runtime/asr.py): {sum(checked.values())} "
          f"({checked.get('redone', 0)} redone with other words)")
    for check in result.get("camera_check", []):
        print(f"camera: 'What does this say?' heard {check.get('heard')!r} -> {check['answer']!r} "
              f"(names a card held up: {'yes' if check['names_a_card'] else 'NO'})")
    gaps = [t["reply_max_gap_ms"] for t in result["turns"] if t.get("reply_max_gap_ms") is not None]
    starved = [t["reply_starved_ms"] for t in result["turns"] if "reply_starved_ms" in t]
    if gaps:
        print(f"reply audio: longest gap between packets while a reply played {max(gaps):.0f} ms (20 ms is the "
              f"packet period); underruns (silence sent mid-reply, audio not made yet) in {sum(x > 0 for x in starved)}"
              f" of {len(starved)} turns, {max(starved):.0f} ms at most")
