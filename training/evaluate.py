"""Evaluate trained checkpoints on the CIFAR-10 test set and write models/<name>/report.json.

    /usr/bin/python3 -m training.evaluate --ckpt=training/runs/iamnn/ckpt.pt \
        --baseline=training/runs/baseline/ckpt.pt --out=models/cifar10/report.json \
        [--compare=other/ckpt.pt,...]   # other IamNN runs, one row each at their own threshold
        [--peer=training/runs/resnet20-60ep/ckpt.pt,...]   # static ResNets trained with the same recipe
        [--carry=models/cifar10/report.json]   # keep that report's rows of runs whose checkpoint was removed

Rows: IamNN at its shipped threshold (per-image early exit, exactly what the browser runs), at other
halting thresholds, limited to 1 iteration per stage, run to every stage's maximum with halting off
(each stage outputs its final state, as the baseline does); other IamNN runs (e.g. without distillation);
the unshared baseline (--baseline=a.pt,b.pt: one row per run, e.g. 24 and 60 epochs); static peers (--peer:
He et al.'s CIFAR ResNets, training/resnet.py). Each with accuracy,
params and FLOPs min/mean/max. Also per-stage iteration histograms (the paper's Figure 2) for the shipped
setting and the training curve (tau, precision, test accuracy, iterations per epoch) from the run's log.
"""
from __future__ import annotations

import json
import math
import platform
import sys
import time
from pathlib import Path

import torch

from training.data import DEFAULT_DATA, load_split, normalize, to_tensor
from training.model import IamNN, ModelConfig, count_params, flops_of
from training.resnet import CifarResNet, ResNetConfig

THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0)
CAP_FRACTIONS = (0.25, 0.5, 0.75)  # per-call iteration caps: this fraction of each stage's maximum, rounded up


def build_model(arch: str, model_config: dict) -> IamNN | CifarResNet:
    """The network a checkpoint's `arch` names: "iamnn" (IamNN or its unshared baseline) or "resnet"."""
    if arch == "resnet":
        return CifarResNet(ResNetConfig(**model_config))
    return IamNN(ModelConfig(**model_config))


def load_ckpt(path: str) -> tuple[IamNN | CifarResNet, dict]:
    ckpt = torch.load(path, map_location="cpu")
    model = build_model(ckpt.get("arch", "iamnn"), ckpt["model_config"])
    model.load_state_dict(ckpt["model"])
    return model.eval(), ckpt


@torch.no_grad()
def predict(model: IamNN, x: torch.Tensor, norm: dict, early_exit: bool = True, batch: int = 500,
            **kw) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits [N, classes] and per-stage iteration counts [N, stages] of uint8 NCHW images, in eval mode.
    early_exit=True: rows leave the batch once halted (what the browser runs); False: the masked forward
    (kw may then set halting=False)."""
    model.eval()
    dev = next(model.parameters()).device
    forward = model.forward_early_exit if early_exit else model.forward
    logits, iters = [], []
    for i in range(0, len(x), batch):
        out, n = forward(normalize(x[i:i + batch], norm["mean"], norm["std"]).to(dev), **kw)[:2]
        logits.append(out.cpu())
        iters.append(n.cpu())
    return torch.cat(logits), torch.cat(iters)


def run(model: IamNN, x: torch.Tensor, y: torch.Tensor, norm: dict, **kw) -> dict:
    """Accuracy, FLOPs stats and iteration counts over a test set."""
    logits, iters = predict(model, x, norm, **kw)
    pred = logits.argmax(1)
    flops = flops_of(iters, model.flops())
    return {"accuracy": (pred == y).float().mean().item(), "flops_min": flops.min().item(),
            "flops_mean": flops.mean().item(), "flops_max": flops.max().item(),
            "mean_iterations": iters.float().mean(0).tolist(), "iters": iters, "flops": flops}


def row(name: str, r: dict, model: IamNN, **extra) -> dict:
    return {"name": name, "params": count_params(model), "accuracy": r["accuracy"], "flops_min": r["flops_min"],
            "flops_mean": r["flops_mean"], "flops_max": r["flops_max"], "mean_iterations": r["mean_iterations"],
            "flops_max_possible": model.flops()["max"], **extra}


def training_curve(ckpt_path: str) -> list[dict]:
    """Per-epoch tau, precision, test accuracy, mean iterations and seconds from the run's log: `log.jsonl` beside
    a run's ckpt.pt, or `<name>.log.jsonl` beside a checkpoint copied to training/checkpoints/."""
    p = Path(ckpt_path)
    for log in (p.with_name("log.jsonl"), p.with_suffix(".log.jsonl")):
        if log.exists():
            rows = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
            # a run may switch precision on --resume; rows from before train.py had --precision are fp32
            return [{**{k: r[k] for k in ("epoch", "tau", "test_acc", "test_iters", "epoch_s")},
                     "precision": r.get("precision", "fp32")} for r in rows]
    return []


def train_seconds(curve: list[dict], ckpt: dict) -> float:
    """What the run's epochs took, each with its test pass: the sum of its training curve's epoch_s. Without a
    log, the checkpoint's elapsed_s, which left the test passes out in runs from before 2026-11-27."""
    return sum(r["epoch_s"] for r in curve) if curve else ckpt["elapsed_s"]


def in_order(values: list[str]) -> str:
    """A run's settings as they changed over its epochs, e.g. "fp32 then bf16"."""
    return " then ".join(dict.fromkeys(values))


def tau_schedule(curve: list[dict], ckpt: dict) -> str:
    """The run's ponder costs in order, e.g. "0.01 then 0.005": from its training curve (its log), which also
    knows a tau re-tuned on --resume; without a log, from the schedule its train_config gives for the epochs it
    trained."""
    taus = [r["tau"] for r in curve]
    if not taus:
        from training.train import TrainConfig, tau_at  # here: train.py imports this module
        fields = set(TrainConfig.__dataclass_fields__)
        tc = TrainConfig(**{k: v for k, v in ckpt["train_config"].items() if k in fields})
        taus = [tau_at(e, tc) for e in range(ckpt["epoch"])]
    return in_order([f"{t:g}" for t in taus])


def precision_history(curve: list[dict], ckpt: dict) -> str:
    """The run's training precisions in order, e.g. "fp32 then bf16": from its training curve (its log), else
    from its train_config (a run from before train.py had --precision is fp32)."""
    return in_order([r["precision"] for r in curve]
                    or [ckpt["train_config"].get("precision", "fp32")])


def main(argv: list[str]) -> None:
    args = dict(a.lstrip("-").partition("=")[::2] for a in argv)
    torch.set_num_threads(int(args.get("threads", 2)))
    ckpt_path = args.get("ckpt", "training/runs/iamnn/ckpt.pt")
    compare, baselines, peers = ([p for p in args.get(k, "").split(",") if p] for k in ("compare", "baseline", "peer"))
    missing = [p for p in (ckpt_path, *compare, *baselines, *peers) if not Path(p).is_file()]
    if missing:  # before minutes of evaluation, not after them
        raise SystemExit(f"no checkpoint at: {', '.join(missing)}")
    model, ckpt = load_ckpt(ckpt_path)
    norm = ckpt["normalization"]
    xs, ys = load_split(args.get("data", DEFAULT_DATA), "test")
    x, y = to_tensor(xs), torch.from_numpy(ys)
    t0 = time.time()
    cfg = model.cfg
    shipped = run(model, x, y, norm)
    curve = training_curve(ckpt_path)  # each run's log is read once
    rows = [row(f"IamNN (shipped, threshold {1 - cfg.eps:g})", shipped, model, threshold=1 - cfg.eps,
                precision=precision_history(curve, ckpt))]
    for th in THRESHOLDS:
        if abs(th - (1 - cfg.eps)) > 1e-9:
            rows.append(row(f"IamNN threshold {th:g}", run(model, x, y, norm, eps=1 - th), model, threshold=th))
    rows.append(row("IamNN 1 iteration per stage", run(model, x, y, norm, max_iters=(1,) * len(cfg.max_iters)), model,
                    caps=[1] * len(cfg.max_iters)))
    for frac in CAP_FRACTIONS:  # the other per-call dial: caps at the model's threshold
        caps = [max(1, math.ceil(t * frac)) for t in cfg.max_iters]
        rows.append(row(f"IamNN capped at {'/'.join(map(str, caps))} iterations", run(model, x, y, norm, max_iters=tuple(caps)),
                        model, caps=caps, threshold=1 - cfg.eps))
    rows.append(row("IamNN at every stage's maximum, halting off (output = final state)",
                    run(model, x, y, norm, early_exit=False, halting=False), model))
    for path in compare:
        other, ock = load_ckpt(path)
        otc = ock["train_config"]
        distilled = bool(otc.get("teacher") and otc.get("distill_weight"))
        ocurve = training_curve(path)
        precision = precision_history(ocurve, ock)
        recipe = (f"{'distilled' if distilled else 'labels only'}, tau {tau_schedule(ocurve, ock)}, {precision}, "
                  f"{ock['epoch']} epochs")
        rows.append(row(f"IamNN, other run ({recipe})", run(other, x, y, ock["normalization"]), other,
                        threshold=1 - other.cfg.eps, epochs=ock["epoch"], train_s=train_seconds(ocurve, ock), ckpt=path,
                        precision=precision,
                        teacher=otc.get("teacher", "") if distilled else ""))
    for path in baselines:  # e.g. the baseline trained for 24 and for 60 epochs
        base, bck = load_ckpt(path)
        bcurve = training_curve(path)
        precision = precision_history(bcurve, bck)
        rows.append(row(f"Unshared baseline (no ACT, all iterations, {precision}, {bck['epoch']} epochs)",
                        run(base, x, y, bck["normalization"]), base, epochs=bck["epoch"], train_s=train_seconds(bcurve, bck),
                        ckpt=path, precision=precision))
    for path in peers:
        peer, pck = load_ckpt(path)
        pcurve = training_curve(path)
        precision = precision_history(pcurve, pck)
        rows.append(row(f"Static ResNet-{peer.cfg.depth} (He et al., same recipe, {precision}, {pck['epoch']} epochs)",
                        run(peer, x, y, pck["normalization"]), peer, epochs=pck["epoch"],
                        train_s=train_seconds(pcurve, pck), ckpt=path, precision=precision))
    if args.get("carry"):  # superseded runs: their checkpoints left the repository, their measured rows stay
        evaluated = {r.get("ckpt") for r in rows}
        rows += [{**r, "carried_from": args["carry"]} for r in json.loads(Path(args["carry"]).read_text())["rows"]
                 if r.get("ckpt") and r["ckpt"] not in evaluated and not Path(r["ckpt"]).exists()]
    hist = [torch.bincount(shipped["iters"][:, k], minlength=t + 1)[1:].tolist() for k, t in enumerate(cfg.max_iters)]
    order = torch.argsort(shipped["flops"])
    report = {
        "dataset": "CIFAR-10 test set (10,000 images, JPEG q75 copy)",
        "rows": rows,
        "iteration_histograms": hist,
        "easiest_test_indices": order[:16].tolist(),
        "hardest_test_indices": order.flip(0)[:16].tolist(),
        "model_config": ckpt["model_config"], "train_config": ckpt["train_config"],
        "epochs": ckpt["epoch"], "train_s": train_seconds(curve, ckpt), "training_curve": curve,
        "train_device": ckpt["train_config"].get("device", "cpu"),  # train_s was measured there
        "hardware": f"{platform.machine()} CPU, {torch.get_num_threads()} threads",  # this evaluation's machine
        "torch": torch.__version__, "python": platform.python_version(),
        "eval_s": time.time() - t0,
    }
    out = Path(args.get("out", "models/cifar10/report.json"))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1) + "\n")
    for r in rows:
        print(f"{r['name']:<48} acc {100 * r['accuracy']:.2f}%  params {r['params']:,}  "
              f"FLOPs {r['flops_min'] / 1e6:.1f}/{r['flops_mean'] / 1e6:.1f}/{r['flops_max'] / 1e6:.1f} M  "
              f"iters {[round(v, 2) for v in r['mean_iterations']]}")


if __name__ == "__main__":
    main(sys.argv[1:])
