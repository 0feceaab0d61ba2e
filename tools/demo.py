"""The main job of `make run`: speak a question to a WAV file, then answer it with `omnirt reply`.

    python -m omnirt.tools.demo ["your question"] [--voice piper|espeak|flite] [--out DIR]
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from .cli import main as omnirt_main


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="omnirt-demo", description=__doc__.splitlines()[0])
    p.add_argument("question", nargs="?", default="What is the capital of France?")
    p.add_argument("--voice", default="piper", choices=["piper", "espeak", "flite"])
    p.add_argument("--out", default="out", help="folder for question.wav, answer.wav and the trace")
    args = p.parse_args(argv)
    from .clips import make_clip

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    question = out / "question.wav"
    shutil.copyfile(make_clip(args.question, args.voice), question)
    print(f"spoke the question into {question} ({args.voice} voice): {args.question!r}")
    return omnirt_main(["reply", str(question), str(out / "answer.wav"), "--trace-dir", str(out / "trace")])


if __name__ == "__main__":
    sys.exit(main())
