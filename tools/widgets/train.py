"""Train the widget detector from scratch on synthetic Chromium screens, evaluate it on held-out screens, export ONNX.

    python -m omnirt.tools.widgets.train --out DIR [--screens N --epochs E --seed S] [--eval-only]

Writes DIR/widgets.onnx and DIR/widgets.json (copy both to models/data/); --eval-only re-scores DIR/widgets.onnx
(thresholds, held-out precision/recall, timing) and keeps the recipe recorded in DIR/widgets.json. Screens are
rendered once and cached in DIR/cache/ (PNG + boxes); everything else is reproducible from --seed on one CPU thread.
The screens, their seeds per split and the training crops are in tools/widgets/dataset.py.
"""

from __future__ import annotations

import argparse
import io
import json
import time
import warnings
from pathlib import Path

import numpy as np

from omnirt.models.widgets import ALIGN, KINDS, STRIDE
from omnirt.tools.widgets.dataset import CH, CW, SPLITS, Screens, batch, build, split_seeds


# ------------------------------------------------------------------ model

def make_net(widths: tuple[int, ...] = (16, 24, 40, 64, 96)):
    """A small FPN: stride-32 context for long text fields, stride-4 output for 13 px checkboxes."""
    import torch
    from torch import nn

    def cbr(i: int, o: int, s: int = 1, k: int = 3, d: int = 1) -> nn.Module:
        return nn.Sequential(nn.Conv2d(i, o, k, s, padding=d * (k // 2), dilation=d, bias=False),
                             nn.BatchNorm2d(o), nn.ReLU(inplace=True))

    class HCtx(nn.Module):
        """Wide, flat context cheaply (the far end of a text field, a dropdown's arrow): 1xk depthwise + 1x1."""

        def __init__(self, ch: int, k: int = 9) -> None:
            super().__init__()
            self.f = nn.Sequential(nn.Conv2d(ch, ch, (1, k), padding=(0, k // 2), groups=ch, bias=False),
                                   nn.BatchNorm2d(ch), nn.ReLU(inplace=True), cbr(ch, ch, k=1))

        def forward(self, x):
            return x + self.f(x)

    c = widths

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.s4 = nn.Sequential(cbr(3, c[0], 2), cbr(c[0], c[1], 2), cbr(c[1], c[1]))
            self.s8 = nn.Sequential(cbr(c[1], c[2], 2), cbr(c[2], c[2]), HCtx(c[2]))
            self.s16 = nn.Sequential(cbr(c[2], c[3], 2), cbr(c[3], c[3]), cbr(c[3], c[3], d=2), HCtx(c[3]))
            self.s32 = nn.Sequential(cbr(c[3], c[4], 2), cbr(c[4], c[4]), cbr(c[4], c[4], d=2))
            self.l16, self.l8, self.l4 = nn.Conv2d(c[4], c[3], 1), nn.Conv2d(c[3], c[2], 1), nn.Conv2d(c[2], c[1], 1)
            self.m16, self.m8, self.m4 = cbr(c[3], c[3]), cbr(c[2], c[2]), cbr(c[1], 32)
            self.heat = nn.Conv2d(32, len(KINDS), 1)
            self.dist = nn.Conv2d(32, 4, 1)
            self.kind = nn.Conv2d(32, len(KINDS), 1)
            nn.init.constant_(self.heat.bias, -2.19)  # CenterNet's prior: start with few peaks

        def forward(self, x):
            up = lambda t: nn.functional.interpolate(t, scale_factor=2.0, mode="nearest")  # noqa: E731
            f4 = self.s4(x)
            f8 = self.s8(f4)
            f16 = self.s16(f8)
            p16 = self.m16(f16 + up(self.l16(self.s32(f16))))
            p8 = self.m8(f8 + up(self.l8(p16)))
            p4 = self.m4(f4 + up(self.l4(p8)))
            return self.heat(p4), self.dist(p4), self.kind(p4)

    class Export(nn.Module):
        """What ships: sigmoid scores kept only at 3x3 local maxima, the raw log distances, kind probabilities."""

        def __init__(self, net: nn.Module) -> None:
            super().__init__()
            self.net = net

        def forward(self, image):
            logits, dist, kind = self.net(image)
            heat = torch.sigmoid(logits)
            keep = (nn.functional.max_pool2d(heat, 3, 1, 1) == heat).to(heat.dtype)
            return heat * keep, dist, torch.softmax(kind, 1)

    return Net(), Export


def losses(logits, dist, kind, heat, mask, tdist, wt, seg, sw):
    """CenterNet focal loss on the peak maps (ignored cells masked), weighted L1 on log side distances, and
    cross-entropy of the kind under each cell (what decides a box's kind, by a vote over its cells)."""
    import torch

    p = torch.sigmoid(logits).clamp(1e-4, 1 - 1e-4)
    pos = (heat >= 0.999).float()
    npos = pos.sum().clamp(min=1)
    lpos = -(torch.log(p) * (1 - p) ** 2 * pos).sum() / npos
    lneg = -(torch.log(1 - p) * p ** 2 * (1 - heat) ** 4 * (1 - pos) * mask).sum() / npos
    lreg = ((dist - tdist).abs().sum(1, keepdim=True) * wt).sum() / wt.sum().clamp(min=1)
    lkind = (torch.nn.functional.cross_entropy(kind, seg, reduction="none") * sw).sum() / sw.sum().clamp(min=1)
    return lpos + lneg, lreg, lkind


# ------------------------------------------------------------------ evaluation and export

def export(net, export_cls, path: Path) -> None:
    import onnx
    import torch

    net.eval()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        buf = io.BytesIO()
        torch.onnx.export(export_cls(net).eval(), (torch.zeros(1, 3, 224, 160),), buf, input_names=["image"],
                          output_names=["peaks", "dist", "kinds"], opset_version=17, do_constant_folding=True,
                          dynamo=False, dynamic_axes={"image": {2: "height", 3: "width"}, "peaks": {2: "h", 3: "w"},
                                                      "dist": {2: "h", 3: "w"}, "kinds": {2: "h", 3: "w"}})
    model = onnx.load_from_string(buf.getvalue())
    model.ir_version = min(model.ir_version, 13)  # onnxruntime 1.31 refuses newer IR versions
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def detections(model: Path, data: Screens, floor: float) -> list:
    """The exported detector's detections (score > floor) on every screen, whole screens at a time."""
    from omnirt.models.widgets import WidgetDetector

    det = WidgetDetector(model, threshold=floor)
    return [det.detect(rgb) for rgb in data.rgb]


def tally(dets: list, data: Screens, thr: dict[str, float]) -> dict:
    """Precision/recall per kind at IoU >= 0.5 keeping detections above their kind's threshold."""
    from omnirt.tools.widgets.evaluate import Tally, score_screen

    total = Tally()
    for i, ds in enumerate(dets):
        total.add(score_screen([d for d in ds if d.score > thr[d.kind]], data.widgets(i)))
    return total.report()


def f1(m: dict) -> float:
    return 2 * m["precision"] * m["recall"] / max(m["precision"] + m["recall"], 1e-9)


def timing(model: Path, rgb: np.ndarray, reps: int = 10) -> dict:
    """Median detect() time in ms on the whole image and on a 160x210 crop (CPU provider)."""
    from omnirt.models.onnx import SessionOptions
    from omnirt.models.widgets import WidgetDetector

    det = WidgetDetector(model, SessionOptions(provider="cpu"))
    out = {}
    for name, box in (("1280x800", None), ("160x210", (0, 0, 160, 210))):
        det.detect(rgb, box)
        ts = []
        for _ in range(reps):
            t0 = time.perf_counter()
            det.detect(rgb, box)
            ts.append((time.perf_counter() - t0) * 1000)
        out[name] = round(float(np.median(ts)), 1)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--screens", type=int, default=2000, help="training screens")
    ap.add_argument("--val", type=int, default=150, help="screens for choosing the score threshold")
    ap.add_argument("--test", type=int, default=300, help="held-out screens for the reported precision/recall")
    ap.add_argument("--epochs", type=int, default=14)
    ap.add_argument("--crops", type=int, default=2, help="crops per training screen per epoch")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--eval-only", action="store_true", help="re-score DIR/widgets.onnx, do not train")
    a = ap.parse_args(argv)
    a.out.mkdir(parents=True, exist_ok=True)
    data = {}
    for split, n in (("train", 0 if a.eval_only else a.screens), ("val", a.val), ("test", a.test)):
        if n == 0:
            continue
        t0 = time.monotonic()
        print(f"{split}: {n} screens", flush=True)
        data[split] = build(split_seeds(a.seed, split, n), a.out / "cache" / f"{split}.npz",
                            log=lambda m: print(m, flush=True))
        print(f"  ready in {time.monotonic() - t0:.0f} s", flush=True)
    onnx_path = a.out / "widgets.onnx"
    if a.eval_only:  # re-score committed weights (e.g. after a change to decoding), keeping how they were made
        recipe = json.loads((a.out / "widgets.json").read_text())["recipe"]
    else:
        recipe = train(a, data["train"], onnx_path)
    finish(a, data, onnx_path, recipe)
    return 0


def train(a: argparse.Namespace, data: Screens, onnx_path: Path) -> dict:
    """Train from scratch, export to `onnx_path`; returns the recipe (what made the weights)."""
    import torch

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    net, export_cls = make_net()
    params = sum(p.numel() for p in net.parameters())
    steps = a.epochs * (a.screens * a.crops // a.batch)
    opt = torch.optim.AdamW(net.parameters(), lr=a.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=a.lr, total_steps=steps, pct_start=0.05)
    print(f"training {params} parameters for {steps} steps of {a.batch} crops", flush=True)
    t0, run = time.monotonic(), np.zeros(3)
    net = net.to(memory_format=torch.channels_last)  # ~1.5x faster convolutions on the CPU
    net.train()
    for step in range(1, steps + 1):
        x, heat, mask, tdist, wt, seg, sw = (torch.from_numpy(v) for v in batch(data, rng, a.batch))
        logits, dist, kind = net(x.contiguous(memory_format=torch.channels_last))
        parts = losses(logits, dist, kind, heat, mask, tdist, wt, seg, sw)
        opt.zero_grad()
        sum(parts).backward()
        opt.step()
        sched.step()
        now = np.array([p.item() for p in parts])
        run = 0.98 * run + 0.02 * now if step > 1 else now
        if step % 100 == 0 or step == steps:
            el = time.monotonic() - t0
            print(f"  step {step}/{steps} epoch {step * a.batch / (a.screens * a.crops):.1f} heat {run[0]:.3f} "
                  f"dist {run[1]:.3f} kind {run[2]:.3f} ({step * a.batch / el:.0f} crops/s, {el / 60:.1f} min)",
                  flush=True)
    net = net.to(memory_format=torch.contiguous_format)
    export(net, export_cls, onnx_path)
    return {"command": f"python -m omnirt.tools.widgets.train --out DIR --screens {a.screens} --epochs {a.epochs} "
                       f"--seed {a.seed}", "seed": a.seed,
            "screens": {"train": a.screens, "val": a.val, "test": a.test},
            "screen_seeds": {s: f"{a.seed}*10^6 + {o} + [0, n)" for s, o in SPLITS.items()},
            "epochs": a.epochs, "crops_per_screen_epoch": a.crops, "crop": [CW, CH], "batch": a.batch, "lr": a.lr,
            "optimizer": "AdamW wd 1e-4, one-cycle", "steps": steps, "parameters": params, "threads": a.threads,
            "train_minutes": round((time.monotonic() - t0) / 60, 1), "torch": torch.__version__}


def finish(a: argparse.Namespace, data: dict, onnx_path: Path, recipe: dict) -> None:
    """Choose per-kind thresholds on val, score the held-out test screens, time it, write widgets.json."""
    cands = [round(float(t), 2) for t in np.arange(0.15, 0.71, 0.05)]
    val_dets = detections(onnx_path, data["val"], min(cands))
    val = {t: tally(val_dets, data["val"], dict.fromkeys(KINDS, t)) for t in cands}
    thr = {k: max(cands, key=lambda t: f1(val[t]["per_kind"][k])) for k in KINDS}  # best F1 per kind on val
    test = tally(detections(onnx_path, data["test"], min(cands)), data["test"], thr)
    print(f"thresholds (best F1 per kind on val) {thr}", flush=True)
    print(f"held-out test: {json.dumps(test['overall'])}", flush=True)
    for k, v in test["per_kind"].items():
        print(f"  {k:10s} precision {v['precision']:.3f} recall {v['recall']:.3f} (tp {v['tp']} fp {v['fp']} "
              f"fn {v['fn']})", flush=True)
    from omnirt.tools.widgets.render import Renderer
    from omnirt.tools.widgets.synth import Page, page

    big = page(split_seeds(a.seed, "test", 1)[0])
    with Renderer() as r:
        shot = r.render_page(Page(big.html, 1280, 800))
    ms = timing(onnx_path, shot.rgb)
    print(f"detect() on CPU: {ms}", flush=True)
    cfg = {
        "kinds": list(KINDS), "thresholds": thr, "nms_iou": 0.5, "stride": STRIDE,
        "input": {"name": "image", "format": f"float32 RGB NCHW in [0, 1]; H and W padded (edge) to multiples of "
                                             f"{ALIGN}", "device_scale": 1},
        "outputs": {"peaks": "(1, K, H/4, W/4) sigmoid scores, zero except at 3x3 local maxima",
                    "dist": "(1, 4, H/4, W/4) log(distance / 4) from cell centre (4j+2, 4i+2) to left/top/right/bottom",
                    "kinds": "(1, K, H/4, W/4) softmax: kind of the widget under each cell (meaningful on widgets "
                             "only); a box's kind is the argmax of the sum over the cells well inside it"},
        "recipe": recipe,
        "held_out": {"screens": len(data["test"].rgb), "iou": 0.5, **test},
        "val_sweep_overall": {str(t): val[t]["overall"] for t in cands},
        "cpu_ms": ms,
    }
    (a.out / "widgets.json").write_text(json.dumps(cfg, indent=1))
    print(f"wrote {onnx_path} ({onnx_path.stat().st_size / 1e6:.2f} MB) and {a.out / 'widgets.json'}", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
