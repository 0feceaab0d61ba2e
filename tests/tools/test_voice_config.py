"""One voice stack: every command that runs a voice session takes the same flags, with the same defaults, into one
VoiceConfig; a benchmark that starts `omnirt serve` hands its config on unchanged."""

import dataclasses
from types import SimpleNamespace

import numpy as np
import pytest

from omnirt.runtime.vad import VADOptions
from omnirt.tools.cli import build_parser
from omnirt.tools.voice import DEFAULT, LIVE_PARTIALS_MS, VoiceConfig, voice_config, voice_flags, warm

COMMANDS = {"reply": ["reply", "q.wav", "a.wav"], "serve": ["serve"], "talk": ["talk"],
            "bench reply": ["bench", "reply"], "bench latency": ["bench", "latency"]}


def parse(argv):
    return build_parser(argv).parse_args(argv)


@pytest.mark.parametrize("name", COMMANDS)
def test_every_voice_command_runs_the_same_defaults(name):
    config = voice_config(parse(COMMANDS[name]))
    live = name in ("serve", "bench latency")  # live pages show partial transcripts; the Thinker reads them ahead
    assert config == dataclasses.replace(DEFAULT, partial_every_ms=LIVE_PARTIALS_MS if live else 0,
                                         realtime=config.realtime)


def test_defaults_are_the_runtime_s_own():
    assert (DEFAULT.hangover_ms, DEFAULT.speculate_ms) == (VADOptions.hangover_ms, VADOptions.speculate_ms)


@pytest.mark.parametrize("name", COMMANDS)
def test_every_voice_flag_is_read(name):
    argv = COMMANDS[name] + ["--thinker", "1.5b", "--thinker-threads", "2", "--thinker-batch-threads", "1",
                             "--thinker-url", "http://127.0.0.1:1/v1", "--thinker-model", "m", "--talker", "espeak",
                             "--max-tokens", "50", "--hangover-ms", "600", "--speculate-ms", "64", "--agent-tool"]
    config = voice_config(parse(argv))
    assert (config.thinker, config.thinker_threads, config.thinker_batch_threads, config.thinker_url,
            config.thinker_model, config.talker, config.max_tokens, config.hangover_ms, config.speculate_ms,
            config.agent_tool) == ("1.5b", 2, 1, "http://127.0.0.1:1/v1", "m", "espeak", 50, 600, 64, True)


def test_a_benchmark_hands_its_config_to_the_server_unchanged():
    config = VoiceConfig(thinker="1.5b", hangover_ms=300, speculate_ms=0, agent_tool=True,
                         partial_every_ms=LIVE_PARTIALS_MS)
    assert voice_config(parse(["serve", *voice_flags(config)])) == config


@pytest.mark.parametrize("value", [None, -1.5])
def test_the_check_of_a_speculative_cut_is_handed_on_and_reaches_the_session(value):
    from omnirt.tools.voice import session_options

    config = VoiceConfig(asr_check_below=value, partial_every_ms=LIVE_PARTIALS_MS)
    assert voice_config(parse(["serve", *voice_flags(config)])) == config  # "off" for None
    assert session_options(config).check_below == value
    assert voice_config(parse(["serve"])).asr_check_below == DEFAULT.asr_check_below < 0


def test_a_setting_the_vad_refuses_is_one_line():
    with pytest.raises(ValueError) as err:
        voice_config(parse(["serve", "--speculate-ms", "500", "--hangover-ms", "400"]))
    assert "speculate_ms" in str(err.value) and "\n" not in str(err.value)


class _Tone:
    sample_rate = 16000

    def stream(self, text):
        yield np.full(16000, 1000, np.int16)


class _Broken:
    def transcribe(self, audio):
        raise RuntimeError("onnxruntime: bad allocation")


def test_a_failing_model_is_told_in_one_line_and_the_server_goes_on():
    lines: list[str] = []
    warm(SimpleNamespace(synthesizer=_Tone(), recognizer=_Broken()), lines.append)
    assert len(lines) == 1 and "\n" not in lines[0]
    assert lines[0].startswith("warm-up failed (RuntimeError: onnxruntime: bad allocation)")


def test_a_beam_the_recogniser_refuses_is_one_line():
    with pytest.raises(ValueError) as err:
        voice_config(parse(["serve", "--asr-beam", "0"]))
    assert "beam_size" in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("name", COMMANDS)
def test_a_system_prompt_file_is_read_by_every_voice_command_and_handed_on(name, tmp_path):
    prompt = tmp_path / "prompt.txt"
    prompt.write_text("You are a pirate.\n")
    config = voice_config(parse(COMMANDS[name] + ["--system-prompt", str(prompt)]))
    assert config.system_prompt == str(prompt)
    assert voice_config(parse(["serve", *voice_flags(config)])).system_prompt == str(prompt)


@pytest.mark.parametrize("content", [None, "", "  \n"])
def test_a_system_prompt_file_that_is_missing_or_empty_is_one_line(content, tmp_path):
    prompt = tmp_path / "prompt.txt"
    if content is not None:
        prompt.write_text(content)
    with pytest.raises(ValueError) as err:
        voice_config(parse(["serve", "--system-prompt", str(prompt)]))
    assert str(prompt) in str(err.value) and "\n" not in str(err.value)
    assert ("empty" if content is not None else "No such file") in str(err.value)


def test_the_system_prompt_file_is_what_the_thinker_answers_by(tmp_path):
    from omnirt.tools.voice import load_components

    prompt = tmp_path / "prompt.txt"
    prompt.write_text("You are a pirate. Begin every reply with the word Ahoy.")
    chat = load_components(dataclasses.replace(DEFAULT, system_prompt=str(prompt))).chat.backend
    question = [{"role": "user", "content": "What is the capital of France?"}]
    assert chat.complete(question).lower().startswith("ahoy")
    plain = load_components(DEFAULT).chat.backend
    assert "ahoy" not in plain.complete(question).lower()


@pytest.mark.parametrize("name", COMMANDS)
def test_hearing_each_turn_in_its_conversation_is_handed_on_and_reaches_the_session(name):
    from omnirt.tools.voice import session_options

    config = voice_config(parse(COMMANDS[name] + ["--asr-context"]))
    assert config.asr_context is True and session_options(config).asr_context is True
    assert "--asr-context" in voice_flags(config) and voice_config(parse(["serve", *voice_flags(config)])) == (
        dataclasses.replace(config, partial_every_ms=LIVE_PARTIALS_MS, realtime=True))
    assert session_options(DEFAULT).asr_context is False
