"""Finding PortAudio's audio devices, with one-line errors for a person when there are none or a name is wrong.

PortAudio lists its devices once, when it starts; a sound server that comes up later is found only by starting
PortAudio again, which `resolve_device` does when it sees no device of the kind asked for.
"""

from __future__ import annotations

from typing import Any


class AudioDeviceError(RuntimeError):
    """No usable audio device; the message is one line for a person."""


_ALSA_HANDLER: Any = None


def _quiet_alsa() -> None:
    """Route libasound's error messages nowhere. Its pulse plugin prints "underrun occurred" to stderr, in the
    middle of the conversation, whenever an output callback is late; we count those (`xruns`) instead."""
    global _ALSA_HANDLER
    if _ALSA_HANDLER is not None:
        return
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("asound")
    if not name:
        return
    try:
        asound = ctypes.cdll.LoadLibrary(name)
        handler_type = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int,
                                        ctypes.c_char_p)
        _ALSA_HANDLER = handler_type(lambda *args: None)  # kept referenced: libasound calls it later
        asound.snd_lib_error_set_handler(_ALSA_HANDLER)
    except (OSError, AttributeError):
        pass


def sounddevice_module() -> Any:
    _quiet_alsa()
    try:
        import sounddevice as sd
    except OSError as err:  # the PortAudio library itself is missing
        raise AudioDeviceError(f"PortAudio is not installed ({err}): run `apt-get install libportaudio2`") from None
    return sd


def _describe(sd: Any, kind: str) -> str:
    devices = [d for d in sd.query_devices() if d[f"max_{kind}_channels"] > 0]
    return ", ".join(f"{d['index']}: {d['name']}" for d in devices) or "none"


def resolve_device(sd: Any, device: int | str | None, kind: str) -> int:
    """The index of the input or output device asked for (or the default), or AudioDeviceError."""
    slot = 0 if kind == "input" else 1
    devices = sd.query_devices()
    if not any(d[f"max_{kind}_channels"] > 0 for d in devices):
        sd._terminate()  # PortAudio lists devices once, at start: look again (a sound server may have come up)
        sd._initialize()
        devices = sd.query_devices()
    usable = [d for d in devices if d[f"max_{kind}_channels"] > 0]
    if not usable:
        raise AudioDeviceError(f"no {kind} audio device found (PortAudio sees {len(devices)} devices; "
                               "is a sound server running? PULSE_SERVER or the ALSA configuration may point nowhere)")
    if device is None:
        index = sd.default.device[slot]
        if index is None or index < 0:
            index = usable[0]["index"]
        return int(index)
    try:
        return int(sd.query_devices(device, kind)["index"])
    except (ValueError, sd.PortAudioError) as err:
        raise AudioDeviceError(f"{kind} audio device {device!r} not found ({str(err).splitlines()[0]}); "
                               f"available: {_describe(sd, kind)}") from None
