"""Evaluate trained checkpoints on a held-out set and write models/<name>/report.json: CIFAR-10's test set, or the
held-out split of the data the run was trained on (Tiny-ImageNet's 10,000 val images; --data= to name another).

    /usr/bin/python3 -m training.evaluate --ckpt=training/runs/iamnn/ckpt.pt \
        --baseline=training/runs/baseline/ckpt.pt --out=models/cifar10/report.json \
        [--compare=other/ckpt.pt,...]   # other IamNN runs, one row each at their own threshold
        [--peer=training/runs/resnet20-40ep/ckpt.pt,...]   # static ResNets trained with the same recipe
        [--carry=models/cifar10/report.json]   # keep that report's rows of runs whose checkpoint was removed
        [--data=tiny-imagenet-200]   # default: the run's own data (CIFAR-10 for runs from before it was kept)
        [--limit=500]   # only the first 500 held-out images (a smoke test; the report says how many it used)
        [--quick]   # to rank short runs: of the dial only threshold 0.5 and 1 iteration per stage (no caps rows)
        [--mirror_below=0.8]   # the mirror vote's gate of the shipped row (default: training.model.MIRROR_BELOW)
    /usr/bin/python3 -m training.evaluate --ckpt=a.pt --halting_weights=b.pt,c.pt   # only the table of mean ACT
        # weights per iteration and stage of a, b and c (docs/training.md), no report

Rows: IamNN at its shipped setting (per-image early exit and the mirror vote, exactly what the browser runs), with
the mirror vote at other gates or off, at other halting thresholds, limited to 1 iteration per stage, run to every stage's maximum with halting off
(each stage outputs its final state, as the baseline does); other IamNN runs (e.g. without distillation);
the unshared baseline (--baseline=a.pt,b.pt: one row per run, e.g. 24 and 60 epochs); static peers (--peer:
He et al.'s CIFAR ResNets or the 64x64 ResNet-18, training/resnet.py). Each with top-1 and top-5 accuracy
(`accuracy` is top-1), params and FLOPs min/mean/max. Also per-stage iteration histograms of every stage (the
paper's Figure 2) for the shipped setting and the training curve (tau, precision, test accuracy, iterations per
epoch) from the run's log.
"""
from __future__ import annotations

import json
import math
import platform
import sys
import time
from pathlib import Path

import torch

from training.allocator import keep_freed_memory
from training.data import CLASSES, DEFAULT_DATA, load_dataset, normalize, to_tensor
from training.model import MIRROR_BELOW, IamNN, ModelConfig, count_params, flops_of
from training.resnet import CifarResNet, ResNet18, ResNet18Config, ResNetConfig

THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0)
CAP_FRACTIONS = (0.25, 0.5, 0.75)  # per-call iteration caps: this fraction of each stage's maximum, rounded up
TOP_K = 5
CIFAR10_TEST = "CIFAR-10 test set (10,000 images, JPEG q75 copy)"
MIRROR_GATES = (0.5, 0.7, 0.9, 1.0)  # the mirror vote's dial (0: off, 1: every image), besides the model's default


def mirror_name(gate: float) -> str:
    return "off" if gate <= 0 else "on every image" if gate >= 1 else f"below {gate:g}"


def build_model(arch: str, model_config: dict) -> IamNN | CifarResNet | ResNet18:
    """The network a checkpoint's `arch` names: "iamnn" (IamNN or its unshared baseline), "resnet" (CIFAR) or
    "resnet18"."""
    if arch == "resnet":
        return CifarResNet(ResNetConfig(**model_config))
    if arch == "resnet18":
        return ResNet18(ResNet18Config(**model_config))
    return IamNN(ModelConfig(**model_config))


def load_ckpt(path: str) -> tuple[IamNN | CifarResNet | ResNet18, dict]:
    ckpt = torch.load(path, map_location="cpu")
    model = build_model(ckpt.get("arch", "iamnn"), ckpt["model_config"])
    model.load_state_dict(ckpt["model"])
    return model.eval(), ckpt


def trained_ids(ckpt: dict) -> list[str]:
    """The class ids, in output order, a checkpoint's network was trained on: those train.py keeps with it, or
    CIFAR-10's for a checkpoint from before it kept them."""
    return ckpt["dataset"]["ids"] if "dataset" in ckpt else list(CLASSES)


def trained_source(ckpt: dict) -> str:
    """The data a checkpoint's run was trained on (CIFAR-10 for runs from before train.py kept it)."""
    return ckpt["dataset"]["source"] if "dataset" in ckpt else DEFAULT_DATA


def check_classes(ckpt: dict, ids, path: str, source: str) -> None:
    if trained_ids(ckpt) != list(ids):
        raise SystemExit(f"{path} was trained on other classes ({len(trained_ids(ckpt))}, e.g. {trained_ids(ckpt)[0]}) "
                         f"than {source} has ({len(ids)}, e.g. {ids[0]})")


def held_out_set(source: str, image_size: int) -> tuple[torch.Tensor, torch.Tensor, tuple[str, ...], str]:
    """Images (uint8 NCHW), labels, class ids and a description of the held-out split of `source` (resized to
    image_size if > 0, as train.py --image_size)."""
    d = load_dataset(source, "test", image_size or None)
    cifar10 = d.ids == CLASSES and d.x.shape[1:3] == (32, 32)
    description = CIFAR10_TEST if cifar10 else (f"{Path(source).name}: the held-out split (Tiny-ImageNet: val), "
                                                f"{len(d.y):,} images of {len(d.ids)} classes")
    return to_tensor(d.x), torch.from_numpy(d.y), d.ids, description


@torch.no_grad()
def predict(model: IamNN, x: torch.Tensor, norm: dict, early_exit: bool = True, batch: int = 100,
            **kw) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits [N, classes] and per-stage iteration counts [N, stages] of uint8 NCHW images, in eval mode.
    early_exit=True: rows leave the batch once halted (what the browser runs); False: the masked forward
    (kw may then set halting=False). Batches of 100: on the 2-core EPYC the Tiny-ImageNet IamNN ran 400 val images
    in 1.4-1.5 s at 100 or 50, 3.5 s at 500 (tensors past the caches; training/allocator.py on)."""
    model.eval()
    dev = next(model.parameters()).device
    forward = model.forward_early_exit if early_exit else model.forward
    logits, iters = [], []
    for i in range(0, len(x), batch):
        out, n = forward(normalize(x[i:i + batch], norm["mean"], norm["std"]).to(dev), **kw)[:2]
        logits.append(out.cpu())
        iters.append(n.cpu())
    return torch.cat(logits), torch.cat(iters)


def mirror_chosen(logits: torch.Tensor, mirror_below: float) -> torch.Tensor:
    """Which images the mirror vote classifies again: top softmax probability below `mirror_below` after the first
    pass, every image when it is >= 1, none at 0 (docs/model-format.md, "The mirror vote")."""
    if mirror_below >= 1:
        return torch.ones(len(logits), dtype=torch.bool)
    return logits.double().softmax(1).amax(1) < mirror_below


@torch.no_grad()
def predict_mirrored(model: IamNN, x: torch.Tensor, norm: dict, mirror_below: float,
                     **kw) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """`predict` with the browser's mirror vote: the images `mirror_chosen` picks run again mirrored left-right under
    the same per-call settings and get the mean of the two passes' logits. Logits, the first pass's iteration counts,
    the mirror pass's (0 where an image was not mirrored) and which images were mirrored."""
    logits, iters = predict(model, x, norm, **kw)
    mirror_iters = torch.zeros_like(iters)
    chosen = mirror_chosen(logits, mirror_below)
    if chosen.any():
        second, second_iters = predict(model, x[chosen].flip(3), norm, **kw)
        logits[chosen] = (logits[chosen] + second) / 2
        mirror_iters[chosen] = second_iters
    return logits, iters, mirror_iters, chosen


def mirror_flops(iters: torch.Tensor, mirror_iters: torch.Tensor, mirrored: torch.Tensor, table: dict) -> torch.Tensor:
    """FLOPs per image of both passes: the mirror pass counts where it ran."""
    return flops_of(iters, table) + torch.where(mirrored, flops_of(mirror_iters, table), torch.zeros(()))


@torch.no_grad()
def mean_halting_weights(model: IamNN, x: torch.Tensor, norm: dict, batch: int = 100) -> list[list[float]]:
    """Per stage, the mean ACT weight of each iteration's state in the stage output over uint8 NCHW images, at the
    model's threshold (IamNN.halting_weights): how deep each stage really is, beyond its iteration count."""
    model.eval()
    dev = next(model.parameters()).device
    sums = None
    for i in range(0, len(x), batch):
        w = model.halting_weights(normalize(x[i:i + batch], norm["mean"], norm["std"]).to(dev))
        part = [s.sum(0).cpu().double() for s in w]
        sums = part if sums is None else [a + b for a, b in zip(sums, part)]
    return [(s / len(x)).tolist() for s in sums]


def print_halting_weights(paths: list[str], x: torch.Tensor) -> None:
    """--halting_weights=a.pt,b.pt: the table docs/training.md shows (mean weight of iterations 1, 2, ... per
    stage; iterations after the last with weight >= 0.0005 left out)."""
    for path in paths:
        model, ck = load_ckpt(path)
        stages = mean_halting_weights(model, x, ck["normalization"])
        cells = [" / ".join(f"{v:.3f}" for v in w[:max(i + 1 for i, v in enumerate(w) if v >= 5e-4)]) for w in stages]
        print(f"| {path} | {' | '.join(cells)} |")


def run(model: IamNN, x: torch.Tensor, y: torch.Tensor, norm: dict, mirror_below: float = 0.0, **kw) -> dict:
    """Top-1 and top-5 accuracy, FLOPs stats (both passes of the mirror vote) and the first pass's iteration counts
    over a test set."""
    logits, iters, mirror_iters, mirrored = predict_mirrored(model, x, norm, mirror_below, **kw)
    pred = logits.argmax(1)
    top = logits.topk(min(TOP_K, logits.shape[1]), 1).indices
    flops = mirror_flops(iters, mirror_iters, mirrored, model.flops())
    return {"mirror_below": mirror_below, "mirrored": mirrored.float().mean().item(), "accuracy": (pred == y).float().mean().item(), "top5": (top == y[:, None]).any(1).float().mean().item(),
            "flops_min": flops.min().item(),
            "flops_mean": flops.mean().item(), "flops_max": flops.max().item(),
            "mean_iterations": iters.float().mean(0).tolist(), "iters": iters, "flops": flops}


def row(name: str, r: dict, model: IamNN, **extra) -> dict:
    return {"name": name, "params": count_params(model), "accuracy": r["accuracy"], "top5": r["top5"],
            "mirror_below": r["mirror_below"], "mirrored": r["mirrored"],
            "flops_min": r["flops_min"],
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
    keep_freed_memory()
    ckpt_path = args.get("ckpt", "training/runs/iamnn/ckpt.pt")
    compare, baselines, peers, weighed = ([p for p in args.get(k, "").split(",") if p]
                                          for k in ("compare", "baseline", "peer", "halting_weights"))
    missing = [p for p in (ckpt_path, *compare, *baselines, *peers, *weighed) if not Path(p).is_file()]
    if missing:  # before minutes of evaluation, not after them
        raise SystemExit(f"no checkpoint at: {', '.join(missing)}")
    model, ckpt = load_ckpt(ckpt_path)
    norm = ckpt["normalization"]
    source = args.get("data") or trained_source(ckpt)
    x, y, ids, description = held_out_set(source, ckpt["train_config"].get("image_size", 0))
    if args.get("limit"):
        x, y = x[:int(args["limit"])], y[:int(args["limit"])]
        description += f"; only its first {len(y):,}"
    if weighed:
        print_halting_weights([ckpt_path, *weighed], x)
        return
    for path in (ckpt_path, *compare, *baselines, *peers):
        check_classes(torch.load(path, map_location="cpu") if path != ckpt_path else ckpt, ids, path, source)
    t0 = time.time()
    cfg = model.cfg
    mirror = float(args.get("mirror_below", MIRROR_BELOW))  # the model's default; export.py writes the same
    shipped = run(model, x, y, norm, mirror_below=mirror)
    curve = training_curve(ckpt_path)  # each run's log is read once
    rows = [row(f"IamNN (shipped, threshold {1 - cfg.eps:g}, mirror vote below {mirror:g})", shipped, model,
                threshold=1 - cfg.eps, precision=precision_history(curve, ckpt))]
    quick = "quick" in args
    for gate in (0.0,) if quick else (0.0, *MIRROR_GATES):
        if gate != mirror:  # the mirror vote's own dial, at the model's threshold
            rows.append(row(f"IamNN mirror vote {mirror_name(gate)}", run(model, x, y, norm, mirror_below=gate), model,
                            threshold=1 - cfg.eps))
    for th in (0.5,) if quick else THRESHOLDS:
        if abs(th - (1 - cfg.eps)) > 1e-9:
            rows.append(row(f"IamNN threshold {th:g}", run(model, x, y, norm, mirror, eps=1 - th), model, threshold=th))
    one = (1,) * len(cfg.max_iters)
    for gate in dict.fromkeys((mirror, 0.0)):
        rows.append(row(f"IamNN 1 iteration per stage, mirror vote {mirror_name(gate)}",
                        run(model, x, y, norm, gate, max_iters=one), model, caps=list(one)))
    for frac in () if quick else CAP_FRACTIONS:  # the other per-call dial: caps at the model's threshold
        caps = [max(1, math.ceil(t * frac)) for t in cfg.max_iters]
        rows.append(row(f"IamNN capped at {'/'.join(map(str, caps))} iterations",
                        run(model, x, y, norm, mirror, max_iters=tuple(caps)), model, caps=caps, threshold=1 - cfg.eps))
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
        network = "ResNet-18 (3x3 stem," if isinstance(peer, ResNet18) else f"ResNet-{peer.cfg.depth} (He et al.,"
        for gate in (0.0, 1.0):  # the peer alone, and with every image mirrored (test-time flip)
            rows.append(row(f"Static {network} same recipe, {precision}, {pck['epoch']} epochs)"
                            + ("" if gate == 0 else ", mirror vote on every image"),
                            run(peer, x, y, pck["normalization"], gate), peer, epochs=pck["epoch"],
                            train_s=train_seconds(pcurve, pck), ckpt=path, precision=precision))
    if args.get("carry"):  # superseded runs: their checkpoints left the repository, their measured rows stay
        evaluated = {r.get("ckpt") for r in rows}
        rows += [{**r, "carried_from": args["carry"]} for r in json.loads(Path(args["carry"]).read_text())["rows"]
                 if r.get("ckpt") and r["ckpt"] not in evaluated and not Path(r["ckpt"]).exists()]
    hist = [torch.bincount(shipped["iters"][:, k], minlength=t + 1)[1:].tolist() for k, t in enumerate(cfg.max_iters)]
    order = torch.argsort(shipped["flops"])
    report = {
        "dataset": description,
        "rows": rows,
        "mirror_below": mirror,  # the shipped setting's mirror vote (model.json's iamnn.mirrorBelow)
        "iteration_histograms": hist,  # the shipped setting's first pass
        "halting_weights": mean_halting_weights(model, x, norm),  # per stage, each iteration's mean ACT weight
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
    for r in rows:  # carried rows from older reports may lack top-5
        top5 = f"{100 * r['top5']:.2f}%" if "top5" in r else "-"
        print(f"{r['name']:<48} top-1 {100 * r['accuracy']:.2f}%  top-5 {top5}  params {r['params']:,}  "
              f"FLOPs {r['flops_min'] / 1e6:.1f}/{r['flops_mean'] / 1e6:.1f}/{r['flops_max'] / 1e6:.1f} M  "
              f"iters {[round(v, 2) for v in r['mean_iterations']]}")


if __name__ == "__main__":
    main(sys.argv[1:])
