"""`omnirt reply --thinker-url`: the spoken turn with a real OpenAI-compatible server on loopback as the Thinker,
and with a Thinker that is not there (the turn fails softly: a spoken apology, the command still answers)."""

import socket
import subprocess
import sys

import pytest
import soundfile as sf

from omnirt.tools.clips import make_clip

pytestmark = pytest.mark.models


def reply(question, answer, url):
    return subprocess.run([sys.executable, "-m", "omnirt.tools.cli", "reply", "--fast", str(question), str(answer),
                           "--thinker-url", url], capture_output=True, text=True, timeout=180)


def test_reply_through_a_real_openai_compatible_server(tmp_path):
    from omnirt.tools.llm_server import LlamaServer

    with LlamaServer() as server:
        proc = reply(make_clip("What is the capital of France?", "piper"), tmp_path / "a.wav", server.base_url)
    assert proc.returncode == 0, proc.stderr
    assert "paris" in proc.stdout.lower()
    assert sf.info(str(tmp_path / "a.wav")).duration > 0.5


def test_dead_thinker_gives_a_spoken_apology(tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = reply(make_clip("What is the capital of France?", "piper"), tmp_path / "a.wav",
                 f"http://127.0.0.1:{port}/v1")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "unreachable" in proc.stdout and "sorry" in proc.stdout.lower()
    assert sf.info(str(tmp_path / "a.wav")).duration > 0.5  # the apology was spoken
