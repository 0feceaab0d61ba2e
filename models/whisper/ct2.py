"""Read a CTranslate2 `model.bin` with numpy, so that exporting Whisper needs no ctranslate2 import.

Layout (little-endian): uint32 binary version, length-prefixed spec name, uint32 spec revision, uint32 variable
count; per variable a length-prefixed name, uint8 rank, uint32 dims, uint8 dtype code, uint32 byte count and the raw
data; then a uint32 alias count and (alias, target) name pairs. Aliases let one tensor serve two names
(Whisper ties `decoder/projection/weight` to the token embedding).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np

# CTranslate2's DataType enum order.
DTYPES: dict[int, np.dtype] = {
    0: np.dtype("<f4"), 1: np.dtype("i1"), 2: np.dtype("<i2"), 3: np.dtype("<i4"), 4: np.dtype("<f2"),
    5: np.dtype("<u2"),  # bfloat16: raw bits, widened by `as_float32`
}
BF16 = 5


@dataclass
class Ct2Model:
    """The variables of a CTranslate2 model, by name, plus the alias table (alias -> target)."""

    spec: str
    revision: int
    variables: dict[str, np.ndarray]
    aliases: dict[str, str] = field(default_factory=dict)
    bf16: set[str] = field(default_factory=set)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.variables[self.aliases.get(name, name)]

    def __contains__(self, name: str) -> bool:
        return self.aliases.get(name, name) in self.variables

    def as_float32(self, name: str) -> np.ndarray:
        """A weight widened to float32 (f16 and bf16 alike), as PyTorch and the fp32 export want it."""
        target = self.aliases.get(name, name)
        arr = self.variables[target]
        if target in self.bf16:
            return (arr.astype(np.uint32) << 16).view(np.float32)
        return arr.astype(np.float32)


def _u8(f: BinaryIO) -> int:
    return struct.unpack("<B", _exact(f, 1))[0]


def _u16(f: BinaryIO) -> int:
    return struct.unpack("<H", _exact(f, 2))[0]


def _u32(f: BinaryIO) -> int:
    return struct.unpack("<I", _exact(f, 4))[0]


def _exact(f: BinaryIO, n: int) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise ValueError(f"CTranslate2 model file is truncated (wanted {n} bytes, got {len(data)})")
    return data


def _string(f: BinaryIO) -> str:
    # Strings are a uint16 length (including the trailing NUL) and the bytes.
    n = _u16(f)
    return _exact(f, n).rstrip(b"\0").decode("utf-8")


def read_ct2(path: str | Path) -> Ct2Model:
    """Parse model.bin; ValueError on a file that is not a CTranslate2 model (or is cut short)."""
    path = Path(path)
    with path.open("rb") as f:
        version = _u32(f)
        if not 4 <= version <= 6:
            raise ValueError(f"{path} is not a CTranslate2 model this reader knows (binary version {version},"
                             " expected 4-6)")
        spec = _string(f)
        revision = _u32(f)
        variables: dict[str, np.ndarray] = {}
        bf16: set[str] = set()
        for _ in range(_u32(f)):
            name = _string(f)
            rank = _u8(f)
            shape = tuple(_u32(f) for _ in range(rank))
            code = _u8(f)
            nbytes = _u32(f)
            if code not in DTYPES:
                raise ValueError(f"{path}: variable {name} has unknown dtype code {code}")
            dtype = DTYPES[code]
            data = np.frombuffer(_exact(f, nbytes), dtype=dtype)
            variables[name] = data.reshape(shape) if shape else data.reshape(())
            if code == BF16:
                bf16.add(name)
        aliases: dict[str, str] = {}
        for _ in range(_u32(f)):
            alias = _string(f)
            aliases[alias] = _string(f)
        if f.read(1):
            raise ValueError(f"{path}: unexpected bytes after the alias table")
    return Ct2Model(spec=spec, revision=revision, variables=variables, aliases=aliases, bf16=bf16)
