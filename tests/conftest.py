"""What many test folders share: the real models, loaded once per run, and one marker for the programs a test needs.

The folders mirror the code (runtime/, models/, agents/, tools/) plus e2e/ for whole sessions with real browsers.
Tests that load a model are marked `models`, so `pytest -m "not models"` runs the pure logic in seconds.
`@pytest.mark.needs("chromium", "pulseaudio")` skips a test, naming the Debian package, when a program is missing;
`make test` installs them all, so in CI nothing is skipped for this reason.
"""

from __future__ import annotations

import shutil

import pytest

# program -> the Debian package that provides it (what the skip reason tells the user to install)
PROGRAMS = {"chromium": "chromium", "firefox": "firefox-esr", "pulseaudio": "pulseaudio", "paplay": "pulseaudio-utils",
            "turnserver": "coturn", "espeak-ng": "espeak-ng", "flite": "flite", "libopus": "libopus0",
            "Xvfb": "xvfb", "xdotool": "xdotool"}


def _present(program: str) -> bool:
    if program == "firefox":
        from omnirt.tools.firefox import firefox_binary
        return firefox_binary() is not None
    if program == "libopus":
        from omnirt.runtime.transports.inbound import load_libopus
        return load_libopus() is not None
    return shutil.which(program) is not None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "needs(*programs): skip unless these programs are installed (make setup "
                                       "installs them)")


def pytest_runtest_setup(item: pytest.Item) -> None:
    for mark in item.iter_markers("needs"):
        unknown = [p for p in mark.args if p not in PROGRAMS]
        if unknown:
            raise pytest.UsageError(f"needs(): unknown program(s) {unknown}; known: {sorted(PROGRAMS)}")
        missing = [p for p in mark.args if not _present(p)]
        if missing:
            packages = " ".join(sorted({PROGRAMS[p] for p in missing}))
            pytest.skip(f"needs {', '.join(missing)}: apt-get install {packages}")


@pytest.fixture(scope="session")
def components():
    """The voice stack every voice command loads by default (tools/voice.py), once per test run."""
    from omnirt.tools.voice import VoiceConfig, load_components
    return load_components(VoiceConfig())


@pytest.fixture(scope="session")
def asr():
    """Our Whisper with its default options: the ear that checks what the assistant said."""
    from omnirt.models.whisper import WhisperOnnx
    return WhisperOnnx.load()
