"""The voice stack, built one way for every command: one VoiceConfig, its command-line flags, one loader.

`omnirt serve`, `talk`, `reply` and the benchmarks that run them take the same voice flags (`add_voice_arguments`),
read them back into a VoiceConfig (`voice_config`), load the models with `load_components` and build the session's
options with `session_options`. A default lives in one place: the field below, which takes it from the runtime's
own options (VADOptions) where there is one, so a command cannot drift from what the others run.
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass
from typing import Any, Callable

from ..runtime.asr import CHECK_BELOW
from ..runtime.backchannel import BackchannelOptions
from ..runtime.session import Components, SessionOptions
from ..runtime.thinker import ThreadedChat
from ..runtime.vad import VADOptions


@dataclass(frozen=True)
class VoiceConfig:
    """thinker: the embedded model ('1.5b', '0.5b' or an asset name). The 1.5B model by default: on questions
        neither was tuned on it knows the answer far more often than the 0.5B model, and in a conversation it keeps
        the voice-to-voice target (docs/measurements.md, "The 1.5B Thinker by default").
    thinker_threads: llama.cpp threads generating tokens (1 leaves a core to the Talker on 2 cores);
        thinker_lead_threads: threads generating the tokens before the first clause reaches the Talker (the
        listener waits for them, and nothing else needs the cores); thinker_batch_threads: threads reading the
        prompt (the first token's wait).
    thinker_url / thinker_model: an OpenAI-compatible server (vLLM, llama.cpp server, Ollama) instead, and the model
        name to ask it for.
    system_prompt: a file holding the Thinker's system prompt instead of the built-in one (models/llama.py
        SPOKEN_SYSTEM_PROMPT): an assistant of one's own, and how a prompt change is measured before it lands.
    talker: the voice ('piper' or 'espeak'). max_tokens: cap on an answer's length.
    hangover_ms / speculate_ms / partial_every_ms / rejoin_ms / rejoin_words_ms: the VAD's (runtime/endpointer.py
        VADOptions says what each does).
    asr_beam: hypotheses Whisper keeps while decoding (models/whisper/beam.py); 1 is greedy.
    asr_doubt_beam: with greedy decoding, a doubtful window is decoded again with this wide a beam (0: never;
        models/whisper WhisperOptions.doubt_beam).
    asr_check_below: a speculative transcript whose last word scores below this log-probability is checked against
        the audio after the cut before its reply is released (runtime/asr.py; None: never).
    asr_context: the recogniser reads the conversation's last exchange ahead of each turn (runtime/asr.py). Off by
        default: it hears questions better, but completes a paused request with the context's words ("What is the
        tallest mountain in" heard "... in France?") and so cuts more users off (docs/measurements.md).
    realtime: a file is fed at the pace of a microphone (omnirt reply; False: as fast as it can be read).
    agent_tool: spoken desktop commands ("computer, click Submit") go to the computer-use agent.
    backchannels: "mm-hm", "yeah", "okay" said over a reply let it play on instead of cutting it
        (runtime/backchannel.py; False: any speech over the reply cuts it once it lasts the VAD's min_speech_ms)."""

    thinker: str = "1.5b"
    thinker_threads: int = 1
    thinker_lead_threads: int = 2
    thinker_batch_threads: int = 2
    thinker_url: str | None = None
    thinker_model: str = "default"
    system_prompt: str | None = None
    talker: str = "piper"
    max_tokens: int = 96
    hangover_ms: int = VADOptions.hangover_ms
    speculate_ms: int = VADOptions.speculate_ms
    partial_every_ms: int = VADOptions.partial_every_ms
    rejoin_ms: int = VADOptions.rejoin_ms
    rejoin_words_ms: int = VADOptions.rejoin_words_ms
    asr_beam: int = 1
    asr_doubt_beam: int = 5
    asr_check_below: float | None = CHECK_BELOW
    asr_context: bool = False
    realtime: bool = True
    agent_tool: bool = False
    backchannels: bool = True

    def vad_options(self) -> VADOptions:
        return VADOptions(hangover_ms=self.hangover_ms, speculate_ms=self.speculate_ms,
                          partial_every_ms=self.partial_every_ms, rejoin_ms=self.rejoin_ms,
                          rejoin_words_ms=self.rejoin_words_ms)


DEFAULT = VoiceConfig()
# A live session transcribes the speech so far this often: the page shows it, and the Thinker reads it ahead.
LIVE_PARTIALS_MS = 700


def add_voice_arguments(p: argparse.ArgumentParser, partials: bool = False) -> None:
    """The voice flags, with VoiceConfig's defaults. partials: also --partial-every-ms (live sessions)."""
    p.add_argument("--thinker", default=DEFAULT.thinker, help="1.5b (default) or 0.5b, or a model asset name")
    p.add_argument("--thinker-threads", type=int, default=DEFAULT.thinker_threads,
                   help="llama.cpp threads generating tokens")
    p.add_argument("--thinker-lead-threads", type=int, default=DEFAULT.thinker_lead_threads,
                   help="llama.cpp threads generating the tokens before the first clause is spoken")
    p.add_argument("--thinker-batch-threads", type=int, default=DEFAULT.thinker_batch_threads,
                   help="llama.cpp threads evaluating the prompt")
    p.add_argument("--thinker-url", help="an OpenAI-compatible server (vLLM, llama.cpp server, Ollama) instead of "
                                         "the embedded Thinker, e.g. http://127.0.0.1:8080/v1")
    p.add_argument("--thinker-model", default=DEFAULT.thinker_model, help="model name sent to --thinker-url")
    p.add_argument("--system-prompt", metavar="FILE", default=DEFAULT.system_prompt,
                   help="a file holding the Thinker's system prompt (default: the built-in spoken-reply prompt)")
    p.add_argument("--talker", default=DEFAULT.talker, choices=["piper", "espeak"])
    p.add_argument("--max-tokens", type=int, default=DEFAULT.max_tokens, help="cap on an answer's length")
    p.add_argument("--hangover-ms", type=int, default=DEFAULT.hangover_ms, help="silence that ends the user's turn")
    p.add_argument("--speculate-ms", type=int, default=DEFAULT.speculate_ms,
                   help="silence after which the reply is prepared speculatively (0: wait for the hangover)")
    p.add_argument("--rejoin-ms", type=int, default=DEFAULT.rejoin_ms,
                   help="speech this soon after a released turn, before half a second of its reply was heard, goes on "
                        "that turn: one transcript, one answer (0: a new turn)")
    p.add_argument("--rejoin-words-ms", type=int, default=DEFAULT.rejoin_words_ms,
                   help="... and speech this far into the reply whose words do not start a request of their own "
                        "(\"the top floor\", not \"what is two plus three?\"; 0: none)")
    p.add_argument("--asr-beam", type=int, default=DEFAULT.asr_beam,
                   help="hypotheses the recogniser keeps while decoding (1: greedy; 5: as faster-whisper)")
    p.add_argument("--asr-doubt-beam", type=int, default=DEFAULT.asr_doubt_beam,
                   help="with --asr-beam 1, decode a doubtful utterance again with this wide a beam (0: never)")
    p.add_argument("--asr-check-below", type=check_below, default=DEFAULT.asr_check_below,
                   help="check a speculative transcript against the audio after the cut when its last word's "
                        f"log-probability is below this (default {CHECK_BELOW}; off: never)")
    p.add_argument("--asr-context", action="store_true",
                   help="the recogniser reads the conversation's last exchange ahead of each turn of 1 s of speech "
                        "or more: questions heard better, paused requests cut off more often (docs/measurements.md)")
    if partials:
        p.add_argument("--partial-every-ms", type=int, default=LIVE_PARTIALS_MS,
                       help="while the user talks, transcribe the speech so far this often (shown live, and read "
                            "ahead by the Thinker; 0: never)")
    p.add_argument("--agent-tool", action="store_true",
                   help='desktop commands ("computer, click Submit") are done by the agent on $DISPLAY')
    p.add_argument("--no-backchannels", dest="backchannels", action="store_false",
                   help='"mm-hm", "yeah", "okay" said over the reply cut it like any other speech (by default the '
                        "reply is held at the first sound and plays on when the words are only a backchannel)")



def check_below(text: str) -> float | None:
    """--asr-check-below's value: a log-probability, or off."""
    if text == "off":
        return None
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a log-probability (e.g. {CHECK_BELOW}) or off, not {text!r}") from None


def voice_config(args: argparse.Namespace, **overrides: Any) -> VoiceConfig:
    """The VoiceConfig of parsed voice flags (a flag a command lacks keeps the default); checks the VAD's."""
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(VoiceConfig) if hasattr(args, f.name)}
    config = VoiceConfig(**{**values, **overrides})
    config.vad_options()  # raises ValueError with one line for settings the VAD refuses
    system_prompt(config.system_prompt)  # the same for a prompt file that cannot be read
    from ..models.whisper import WhisperOptions

    WhisperOptions(beam_size=config.asr_beam, doubt_beam=config.asr_doubt_beam)  # the same, for the recogniser's
    return config


def system_prompt(path: str | None) -> dict[str, str]:
    """The Thinker's options for a --system-prompt file: none for the built-in prompt (None), else the file's text;
    a file that cannot be read, or holds nothing, is a ValueError of one line."""
    if path is None:
        return {}
    from pathlib import Path

    try:
        text = Path(path).read_text().strip()
    except (OSError, UnicodeDecodeError) as err:
        why = getattr(err, "strerror", None) or err
        raise ValueError(f"cannot read --system-prompt {path}: {why}") from None
    if not text:
        raise ValueError(f"--system-prompt {path} is empty")
    return {"system_prompt": text}


def voice_flags(config: VoiceConfig) -> list[str]:
    """The flags that make another command (`omnirt serve` started by a benchmark) run this config: every setting
    that is not the default, as it would be typed."""
    out: list[str] = []
    for f in dataclasses.fields(VoiceConfig):
        value = getattr(config, f.name)
        if value == getattr(DEFAULT, f.name) or f.name == "realtime":
            continue
        flag = "--" + f.name.replace("_", "-")
        if value is False:  # a setting that is on by default
            out.append("--no-" + f.name.replace("_", "-"))
        else:
            out += [flag] if value is True else [flag, "off" if value is None else str(value)]
    return out


def session_options(config: VoiceConfig, **options: Any) -> SessionOptions:
    return SessionOptions(vad=config.vad_options(), check_below=config.asr_check_below,
                          asr_context=config.asr_context,
                          backchannel=BackchannelOptions(enabled=config.backchannels), **options)


def load_components(config: VoiceConfig = DEFAULT, recognizer: Any = None, synthesizer: Any = None) -> Components:
    """Load (or take from the loaders' caches) every model a turn needs; fails fast with one line if one is missing.
    recognizer / synthesizer: use these instead of loading the ASR / Talker (a cluster's shared deployments)."""
    from ..models import registry

    prompt = system_prompt(config.system_prompt)
    if config.thinker_url:
        chat = registry.load_thinker_http(config.thinker_url, model=config.thinker_model,
                                          max_tokens=config.max_tokens, **prompt)
    else:
        thinker = registry.load_thinker(config.thinker, max_tokens=config.max_tokens,
                                        n_threads=config.thinker_threads,
                                        lead_threads=config.thinker_lead_threads,
                                        batch_threads=config.thinker_batch_threads, **prompt)
        thinker.warmup()  # evaluates the system prompt once; llama.cpp reuses it as the prefix of every turn
        chat = ThreadedChat(thinker)
    tools = []
    if config.agent_tool:
        from .agent_tool import AgentTool

        tools.append(AgentTool().load())
    return Components(
        detector=registry.load_vad(),
        recognizer=recognizer or registry.load_asr(beam_size=config.asr_beam, doubt_beam=config.asr_doubt_beam),
        chat=chat,
        synthesizer=synthesizer or registry.load_talker(config.talker),
        tools=tools,
    )


def warm(components: Components, say: Callable[[str], None]) -> None:
    """runtime.warmup.warm_up, told in one line; a failure is told and does not stop the server (turns will say
    what is wrong, one at a time)."""
    from ..runtime.warmup import warm_up

    try:
        w = warm_up(components)
    except Exception as err:  # noqa: BLE001 - any model error: the server still starts, cold
        say(f"warm-up failed ({type(err).__name__}: {err}); the first turn will be slower")
        return
    say(f"warmed up: {w.speech_s:.1f} s of speech made in {w.synthesis_s:.1f} s and heard {w.decodes} times, "
        f"as a turn grows, in {w.recognition_s:.1f} s")
