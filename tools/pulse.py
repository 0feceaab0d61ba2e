"""A private PulseAudio daemon with a virtual speaker and microphone: live audio without hardware.

    with VirtualAudio() as va:            # sets PULSE_SERVER for this process; va.env for subprocesses
        rec = va.record_speaker("out.wav") # what programs play (to the default sink "vspk")
        va.play_into_mic("question.wav")   # what programs hear (from the default source "vmic")
        rec.stop()

Devices: `vspk` is a null sink (the default output), `micfeed` a null sink nothing but the harness
plays into, and `vmic` (the default input) a source remapped from micfeed's monitor. `loopback()` routes the speaker
back into the microphone, as a laptop's speaker reaches its own microphone. The daemon runs with its own
XDG_RUNTIME_DIR and HOME in a temporary folder, so it never touches a desktop session's sound server.

Measured pitfalls: sounddevice blocksizes of 480 or 960 lose input (use 0 or >= 1920), and the first input callback
can come 0.5-1.9 s after a stream opens: wait until the program says its microphone is ready before playing.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

RATE = 48000
APT_HINT = "apt-get install -y pulseaudio pulseaudio-utils alsa-utils libportaudio2"


class PulseAudioError(RuntimeError):
    """The virtual devices could not be set up; the message is one line."""


def _tool(name: str) -> str:
    exe = shutil.which(name)
    if exe is None:
        raise PulseAudioError(f"`{name}` is not installed: run `{APT_HINT}`")
    return exe


class Recording:
    """A parecord process capturing a source to a WAV file until `stop()`."""

    def __init__(self, proc: subprocess.Popen, path: Path) -> None:
        self.proc, self.path = proc, path

    def stop(self, timeout: float = 5.0) -> Path:
        """Stop recording (SIGINT lets parecord finish the WAV header) and return the file."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.path

    def __enter__(self) -> "Recording":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class VirtualAudio:
    """Context manager owning one private PulseAudio daemon and its virtual devices."""

    def __init__(self, rate: int = RATE, start_timeout: float = 10.0) -> None:
        self.rate, self.start_timeout = rate, start_timeout
        self.dir: Path | None = None
        self.proc: subprocess.Popen | None = None
        self.env: dict[str, str] = {}
        self._saved: str | None = None
        self._log = None

    @property
    def server(self) -> str:
        assert self.dir is not None, "VirtualAudio is not started"
        return f"unix:{self.dir / 'native'}"

    def start(self) -> "VirtualAudio":
        pulseaudio = _tool("pulseaudio")
        _tool("pactl")
        self.dir = Path(tempfile.mkdtemp(prefix="omnirt-pulse-"))
        config = self.dir / "pa.pa"
        config.write_text("\n".join([
            f"load-module module-native-protocol-unix auth-anonymous=1 socket={self.dir / 'native'}",
            f"load-module module-null-sink sink_name=vspk rate={self.rate} channels=1",
            f"load-module module-null-sink sink_name=micfeed rate={self.rate} channels=1",
            "load-module module-remap-source source_name=vmic master=micfeed.monitor",
            "set-default-sink vspk",
            "set-default-source vmic",
        ]) + "\n")
        env = {**os.environ, "XDG_RUNTIME_DIR": str(self.dir), "HOME": str(self.dir)}
        self._log = open(self.dir / "pulseaudio.log", "wb")
        # setpriv --pdeathsig: the daemon dies with the thread that started it, even if this process is killed
        guard = [setpriv, "--pdeathsig", "TERM"] if (setpriv := shutil.which("setpriv")) else []
        self.proc = subprocess.Popen(
            [*guard, pulseaudio, "-n", "-F", str(config), "--daemonize=no", "--exit-idle-time=-1", "--use-pid-file=no"],
            env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        self.env = {**os.environ, "PULSE_SERVER": self.server}
        deadline = time.monotonic() + self.start_timeout
        while True:
            if self.proc.poll() is not None:
                log = (self.dir / "pulseaudio.log").read_text(errors="replace").strip().splitlines()
                self.stop()
                raise PulseAudioError(f"pulseaudio exited at start: {log[-1] if log else 'no output'}")
            if (self.dir / "native").exists() and self.pactl("info", check=False).returncode == 0:
                break
            if time.monotonic() > deadline:
                self.stop()
                raise PulseAudioError(f"pulseaudio did not come up within {self.start_timeout:.0f} s")
            time.sleep(0.05)
        self._saved = os.environ.get("PULSE_SERVER")
        os.environ["PULSE_SERVER"] = self.server
        return self

    def pactl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run pactl against this daemon."""
        proc = subprocess.run([_tool("pactl"), *args], env=self.env, capture_output=True, text=True, timeout=10)
        if check and proc.returncode != 0:
            raise PulseAudioError(f"pactl {' '.join(args)} failed: {proc.stderr.strip() or proc.stdout.strip()}")
        return proc

    def loopback(self, latency_ms: int = 30) -> int:
        """Route what the speaker plays into the microphone (an acoustic echo path); returns the module index."""
        out = self.pactl("load-module", "module-loopback", "source=vspk.monitor", "sink=micfeed",
                         f"latency_msec={latency_ms}", "source_dont_move=true", "sink_dont_move=true")
        return int(out.stdout.strip())

    def play_into_mic(self, wav: str | Path, wait: bool = True) -> subprocess.Popen:
        """Play a WAV file into the virtual microphone (blocks until it has played unless wait=False)."""
        proc = subprocess.Popen([_tool("paplay"), "-d", "micfeed", str(wav)], env=self.env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if wait:
            _, err = proc.communicate(timeout=120)
            if proc.returncode != 0:
                raise PulseAudioError(f"paplay {wav} failed: {err.decode(errors='replace').strip()}")
        return proc

    def record_speaker(self, path: str | Path, rate: int = 16000) -> Recording:
        """Start recording what programs play to the virtual speaker, as a mono 16-bit WAV; `.stop()` ends it."""
        path = Path(path)
        proc = subprocess.Popen([_tool("parecord"), "-d", "vspk.monitor", "--file-format=wav", f"--rate={rate}",
                                 "--channels=1", "--format=s16le", str(path)], env=self.env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return Recording(proc, path)

    def stop(self) -> None:
        """Stop the daemon, restore PULSE_SERVER, remove the temporary folder."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None
        if os.environ.get("PULSE_SERVER") == (self.server if self.dir else None):
            if self._saved is None:
                os.environ.pop("PULSE_SERVER", None)
            else:
                os.environ["PULSE_SERVER"] = self._saved
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self) -> "VirtualAudio":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
