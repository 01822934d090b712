"""Train IamNN (or the unshared baseline, or a static ResNet peer) on CIFAR-10, Tiny-ImageNet or any image set
training/data.py reads; checkpoints every epoch, resumable.

    /usr/bin/python3 -m training.train                                 # IamNN, default config (24 epochs)
    /usr/bin/python3 -m training.train --epochs=60 --precision=bf16 --out=training/runs/iamnn60   # the shipped recipe
    /usr/bin/python3 -m training.train --shared=False --zero_init_last_bn=False --out=training/runs/baseline
    /usr/bin/python3 -m training.train --out=training/runs/iamnn --resume   # continue a run
    /usr/bin/python3 -m training.train --arch=resnet20 --epochs=40 --translate=4 --precision=bf16 --out=training/runs/resnet20-40ep   # a static peer
    /usr/bin/python3 -m training.train --init=training/checkpoints/iamnn-cifar10.pt --epochs=4 --lr=0.02 \
        --warmup_epochs=0.2 --ponder_early_epochs=0 --budget_sampling=0.5 --out=training/runs/iamnn-dial   # a dial fine-tune
    /usr/bin/python3 -m training.train --teacher=training/checkpoints/baseline-cifar10.pt --ponder_cost=0.0035 \
        --out=training/runs/iamnn-kd                                    # distil from the baseline
Tiny-ImageNet (docs/training.md, "Tiny-ImageNet", has the runs' full commands):
    /usr/bin/python3 -m training.train --data=tiny-imagenet-200 --augment=rrc <the four-stage config> --out=...
--data takes a path or a name of training/data.py's NAMED_SOURCES; the number of classes and the input size come
from it, and so does the normalization: the train split's per-channel mean and std, except for CIFAR-10, which
keeps the fixed MEAN / STD below (every CIFAR-10 run and checkpoint so far used them).
Any TrainConfig or ModelConfig field can be set as --name=value. Each checkpoint holds the model,
the optimizer, the epoch, both configs, the teacher's sha256, the data's class labels and ids, and the source of
model.py, resnet.py, train.py, data.py and evaluate.py as read at start; `log.jsonl` beside it records loss,
accuracy, mean iterations per stage, tau and wall time per epoch.
"""
from __future__ import annotations

import ast
import hashlib
import json
import sys
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import torch
import torch.nn.functional as F

from training.allocator import keep_freed_memory
from training.data import CLASSES, DEFAULT_DATA, augment, load_dataset, normalize, random_resized_crop, to_tensor
from training.evaluate import build_model, check_classes, load_ckpt, predict
from training.model import IamNN, ModelConfig, count_params
from training.resnet import ResNet18Config, ResNetConfig

MEAN = (0.4914, 0.4822, 0.4465)   # CIFAR-10 channel statistics; shipped in model.json
STD = (0.2470, 0.2435, 0.2616)


@dataclass
class TrainConfig:
    arch: str = "iamnn"             # "iamnn": IamNN or its baseline (ModelConfig); "resnet<depth>", e.g. resnet20,
                                    # resnet56: He et al.'s static CIFAR ResNet (resnet.py), a same-recipe peer;
                                    # "resnet18": the ResNet-18 peer for 64x64 images (resnet.py)
    data: str = DEFAULT_DATA        # a path or a name ("cifar10", "tiny-imagenet-200") that data.load_dataset reads;
                                    # --resume without it takes the run's own (CIFAR-10 for runs from before it did)
    out: str = "training/runs/iamnn"
    epochs: int = 24                # IamNN on this 2-core CPU: 5,642 s under bf16 (the "auto" choice here), 7,588 s in fp32
    batch_size: int = 256
    lr: float = 0.2                 # peak learning rate, SGD + Nesterov
    momentum: float = 0.9
    weight_decay: float = 5e-4      # conv and FC weights only
    warmup_epochs: float = 1.0      # linear warm-up, then linear decay to 0
    label_smoothing: float = 0.1
    ponder_cost: float = 0.005      # tau: loss += tau * sum over stages of (N + R)
    ponder_cost_early: float = 0.01 # tau for the first `ponder_early_epochs` epochs: a stronger push off the
    ponder_early_epochs: int = 3    # "run everything" start (halt_bias -3), then the lighter tau keeps accuracy
    teacher: str = ""               # checkpoint to distil from (e.g. the unshared baseline); "" = labels only.
                                    # Its logits, averaged over each image and its mirror, are computed once
    distill_weight: float = 0.9     # loss = (1 - w) * CE(labels) + w * T^2 * KL(teacher_T || student_T) + ponder
    distill_temp: float = 4.0       # T: softens both distributions (Hinton et al. 2015)
    translate: int = 2              # random translation in pixels (reflect pad + crop); plus flips
    augment: str = "translate"      # "translate": flips + `translate`-pixel translations (the CIFAR-10 recipe);
                                    # "rrc": flips + random resized crops covering rrc_min_scale..1 of the image
                                    # (data.random_resized_crop, Inception-style; the Tiny-ImageNet recipe)
    rrc_min_scale: float = 0.35
    low_res_epochs: int = 0         # the first epochs train on batches area-downsampled by low_res_factor after
    low_res_factor: int = 2         # augmentation (64x64 -> 32x32: a quarter of the FLOPs per step), the rest and every
                                    # test pass at full size: progressive resizing, for a 64x64 set on this CPU
    image_size: int = 0             # >0: every image resized (bicubic) and centre-cropped to this square on loading
                                    # (load_dataset's size=; for sets of mixed sizes); 0: as stored
    precision: str = "auto"         # "auto" | "fp32" | "bf16": bf16 autocast for the training forward and backward,
                                    # 1.4x faster here for IamNN (AMX; bench_precision.py); weights, SGD,
                                    # ACT's halting sums, the losses and every evaluation stay float32.
                                    # "auto": bf16 where the hardware has it (native_bf16), else fp32; resolved
                                    # at start, so checkpoints and logs name the precision that ran
    seed: int = 0
    threads: int = 2                # CPU threads (Debian's torch starts with 1)
    device: str = "cuda" if torch.cuda.is_available() else "cpu"   # a lent GPU is used when present
    stop_after: int = 0             # >0: stop after this epoch (the LR schedule still spans `epochs`), e.g. to
                                    # split a run across sessions; --resume continues it bit for bit
    limit_train: int = 0            # >0: use only this many training images (smoke tests)
    limit_test: int = 0
    resume: bool = False
    init: str = ""                  # start from this checkpoint's weights (a fine-tune: new optimizer and LR schedule);
                                    # its model config is used unless given. "" = random init
    budget_sampling: float = 0.0    # fraction of batches trained at a random halting threshold, uniform in
                                    # [budget_min_threshold, 1 - eps] instead of the model's own: an early stop
    budget_min_threshold: float = 0.3  # stays a good classifier, so a per-call threshold degrades gracefully
    budget_sampling_from: int = 0   # first (0-based) epoch that samples budgets: later, once the depth pays
    halting_off_epochs: int = 0     # the first epochs train IamNN with halting off: every iteration runs to its
                                    # stage's cap and the stage outputs its final state (as the baseline trains),
                                    # no ponder cost; ACT takes over after them, its tau schedule starting there.
                                    # With ACT from the start the ponder cost cut the iterations to ~2 before the
                                    # later ones learned anything (docs/training.md, the 1.5x candidate)
    depth_sampling: float = 0.0     # fraction of batches (once ACT runs) trained with halting off at a random depth: each
                                    # stage runs a number of iterations drawn uniformly from 1..its cap and outputs that
                                    # state, no ponder cost. Every iteration then learns at full weight, where ACT's
                                    # mixture passes iteration 2 at weight R ~ 0.05 (docs/training.md, "remainder
                                    # pressure"), and every prefix of a stage stays a usable output. Drawn before budgets


# Where a run may differ between sessions; every other TrainConfig field of a resumed run comes from its
# checkpoint unless given on the command line (e.g. --epochs to extend it, --ponder_cost to re-tune it).
MACHINE_FIELDS = ("data", "out", "threads", "device", "stop_after", "resume")


def arch_config(tc: TrainConfig, mc: ModelConfig) -> tuple[str, dict]:
    """The checkpoint's `arch` and `model_config` for --arch: IamNN takes ModelConfig; a CIFAR ResNet its depth;
    ResNet-18 IamNN's input size and stem pooling. Classes and input size are mc's (fit_to_data sets them)."""
    if tc.arch == "iamnn":
        return "iamnn", asdict(mc)
    if tc.arch == "resnet18":
        return "resnet18", asdict(ResNet18Config(num_classes=mc.num_classes, input_size=mc.input_size,
                                                 stem_pool=mc.stem_pool))
    if tc.arch.startswith("resnet") and tc.arch[6:].isdigit() and (int(tc.arch[6:]) - 2) % 6 == 0:
        if mc.input_size != 32:
            raise SystemExit(f"--arch={tc.arch}: He et al.'s CIFAR ResNets are for 32x32 images, these are "
                             f"{mc.input_size}x{mc.input_size}; --arch=resnet18 is the peer for 64x64")
        return "resnet", asdict(ResNetConfig(depth=int(tc.arch[6:]), num_classes=mc.num_classes))
    raise SystemExit(f"--arch={tc.arch}: valid values are iamnn, resnet18 and resnet<6n+2>, e.g. resnet20, resnet56")


@dataclass
class TrainData:
    """Both splits as uint8 NCHW tensors with int64 labels, the class labels and ids in output order, and the
    normalization the network is trained (and shipped) with."""
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    labels: tuple[str, ...]
    ids: tuple[str, ...]
    normalization: dict

    @property
    def input_size(self) -> int:
        return self.x_train.shape[-1]

    def record(self, source: str) -> dict:
        """What a checkpoint keeps of its data: enough to check a resumed run, evaluation or export reads the same
        classes, and for export to ship their labels and ids."""
        return {"source": source, "labels": list(self.labels), "ids": list(self.ids), "input_size": self.input_size}


def load_data(source: str, image_size: int = 0, limit_train: int = 0, limit_test: int = 0) -> TrainData:
    """`source`'s train split and held-out split ("test": CIFAR-10's test set, Tiny-ImageNet's val), the first
    limit_* images of each if given. Normalization: CIFAR-10's fixed MEAN / STD (a 10-class 32x32 set whose
    class ids are CIFAR-10's: the archive or a folder copy of it), else the full train split's own statistics."""
    train = load_dataset(source, "train", image_size or None)
    test = load_dataset(source, "test", image_size or None)
    if train.ids != test.ids:
        raise SystemExit(f"--data={source}: the train and test splits name different classes")
    if train.x.shape[1] != train.x.shape[2]:
        raise SystemExit(f"--data={source}: images are {train.x.shape[2]}x{train.x.shape[1]}; the networks take "
                         "square ones: add --image_size=N")
    cifar10 = train.ids == CLASSES and train.x.shape[1:3] == (32, 32)
    norm = {"mean": MEAN, "std": STD} if cifar10 else {"mean": train.mean, "std": train.std}
    xtr, ytr, xte, yte = train.x, train.y, test.x, test.y
    if limit_train:  # before to_tensor: no NCHW copy of the images left out
        xtr, ytr = xtr[:limit_train], ytr[:limit_train]
    if limit_test:
        xte, yte = xte[:limit_test], yte[:limit_test]
    return TrainData(to_tensor(xtr), torch.from_numpy(ytr), to_tensor(xte), torch.from_numpy(yte),
                     train.labels, train.ids, norm)


def fit_to_data(mc: ModelConfig, data: TrainData, fixed: set[str], source: str) -> ModelConfig:
    """mc with the data's number of classes and input size. `fixed`: those of the two fields a checkpoint or the
    command line has set, which must then agree with the data."""
    want = {"num_classes": len(data.labels), "input_size": data.input_size}
    clash = [f"{k}={getattr(mc, k)}" for k in want if k in fixed and getattr(mc, k) != want[k]]
    if clash:
        raise SystemExit(f"{', '.join(clash)} does not fit --data={source}: {want['num_classes']} classes of "
                         f"{data.input_size}x{data.input_size} images")
    return ModelConfig(**{**asdict(mc), **want})


def augment_batch(x: torch.Tensor, norm: dict, tc: TrainConfig, gen: torch.Generator) -> torch.Tensor:
    """A normalized, augmented training batch from uint8 NCHW images (draws from `gen`)."""
    x = normalize(x, norm["mean"], norm["std"])
    if tc.augment == "rrc":
        return random_resized_crop(x, gen, scale=(tc.rrc_min_scale, 1.0))
    return augment(x, tc.translate, gen)


def parse_args(argv: list[str]) -> tuple[TrainConfig, ModelConfig, set[str]]:
    """Configs from --name=value options, and the names given."""
    tc, mc, given = TrainConfig(), ModelConfig(), set()
    for arg in argv:
        key, _, val = arg.lstrip("-").partition("=")
        target = tc if key in {f.name for f in fields(tc)} else mc if key in {f.name for f in fields(mc)} else None
        if target is None:
            valid = sorted(f.name for f in fields(tc) + fields(mc))
            raise SystemExit(f"unknown option --{key}; valid: {', '.join(valid)}")
        cur = getattr(target, key)
        if val == "" and isinstance(cur, bool):
            new = True
        elif isinstance(cur, str):
            new = val
        else:
            new = ast.literal_eval(val)
        setattr(target, key, type(cur)(new) if not isinstance(cur, tuple) else tuple(new))
        given.add(key)
    return tc, mc, given


def lr_at(step: int, total: int, per_epoch: int, tc: TrainConfig) -> float:
    warm = max(1, int(tc.warmup_epochs * per_epoch))
    if step < warm:
        return tc.lr * (step + 1) / warm
    return tc.lr * max(0.0, (total - step) / max(1, total - warm))


PRECISIONS = ("fp32", "bf16")
AUGMENTATIONS = ("translate", "rrc")
CPUINFO = Path("/proc/cpuinfo")


def native_bf16(device: str) -> bool:
    """Whether `device` computes bf16 in hardware: a CUDA GPU that reports it, or a CPU with AVX512-BF16 or
    AMX-BF16 (read from Linux's /proc/cpuinfo; elsewhere assumed absent). Without it autocast emulates bf16,
    slower than float32, so "auto" picks float32 there."""
    if device.startswith("cuda"):
        return torch.cuda.is_bf16_supported()
    flags = CPUINFO.read_text().split() if CPUINFO.exists() else []
    return "avx512_bf16" in flags or "amx_bf16" in flags


def halting_at(epoch: int, tc: TrainConfig) -> bool:
    """Whether 0-based `epoch` trains with ACT's halting (False: the halting-off warm-up)."""
    return epoch >= tc.halting_off_epochs


def tau_at(epoch: int, tc: TrainConfig) -> float:
    """Ponder cost for 0-based `epoch`: 0 in the halting-off warm-up, then the early tau for
    `ponder_early_epochs` epochs, then `ponder_cost`."""
    if not halting_at(epoch, tc):
        return 0.0
    return tc.ponder_cost_early if epoch - tc.halting_off_epochs < tc.ponder_early_epochs else tc.ponder_cost


def teacher_logits(teacher: IamNN, x: torch.Tensor, norm: dict) -> torch.Tensor:
    """Teacher logits [N, classes] for uint8 NCHW images, averaged over each image and its mirror. One pass
    before training instead of one per step: the mirror average gives one target for both flips the
    augmentation draws (and is a slightly better teacher); the 2-pixel translations get the untranslated
    image's target, an approximation."""
    return (predict(teacher, x, norm, early_exit=False)[0] + predict(teacher, x.flip(3), norm, early_exit=False)[0]) / 2


def distill_loss(student: torch.Tensor, teacher: torch.Tensor, temp: float) -> torch.Tensor:
    """T^2 * KL(softmax(teacher / T) || softmax(student / T)), batch mean; T^2 keeps its gradient scale
    independent of T."""
    return F.kl_div(F.log_softmax(student / temp, 1), F.log_softmax(teacher / temp, 1), reduction="batchmean",
                    log_target=True) * temp * temp


def make_optimizer(model: IamNN, tc: TrainConfig) -> torch.optim.SGD:
    """SGD + Nesterov; weight decay on conv and FC weights only, not on biases and batchnorm."""
    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]
    return torch.optim.SGD([{"params": decay, "weight_decay": tc.weight_decay},
                            {"params": no_decay, "weight_decay": 0.0}],
                           lr=tc.lr, momentum=tc.momentum, nesterov=True)


def step_eps(tc: TrainConfig, mc: ModelConfig, gen: torch.Generator, epoch: int) -> float | None:
    """The halting epsilon of one training batch of 0-based `epoch`: the model's (None), or from epoch
    budget_sampling_from on, with probability budget_sampling, one for a threshold drawn uniformly from
    [budget_min_threshold, 1 - mc.eps]. Drawn from the epoch's generator, so a resumed run draws the same."""
    if tc.budget_sampling <= 0 or epoch < tc.budget_sampling_from or not halting_at(epoch, tc):
        return None
    u, v = torch.rand(2, generator=gen).tolist()
    if u >= tc.budget_sampling:
        return None
    return 1 - (tc.budget_min_threshold + v * (1 - mc.eps - tc.budget_min_threshold))


def step_depth(tc: TrainConfig, mc: ModelConfig, gen: torch.Generator, epoch: int) -> tuple | None:
    """The per-stage iteration counts of one training batch of 0-based `epoch` trained with halting off
    (depth_sampling), each uniform in 1..its stage's cap; None for an ACT batch. Draws nothing when depth_sampling
    is 0, so runs without it draw (and resume) exactly as before it existed."""
    if tc.depth_sampling <= 0 or not halting_at(epoch, tc):
        return None
    if torch.rand(1, generator=gen).item() >= tc.depth_sampling:
        return None
    return tuple(int(torch.randint(1, t + 1, (1,), generator=gen)) for t in mc.max_iters)


def train_step(model: IamNN, opt: torch.optim.Optimizer, xb: torch.Tensor, yb: torch.Tensor,
               soft: torch.Tensor | None, tau: float, tc: TrainConfig, eps: float | None = None, halting: bool = True,
               max_iters: tuple | None = None):
    """One SGD step on a batch, at halting epsilon `eps` (None: the model's), with ACT's halting or without (IamNN's
    halting-off warm-up and depth-sampled batches, those at `max_iters` per stage; the static peers have no
    halting and ignore it). `soft`: the teacher's logits for it, or None. Returns (logits, n_iters, ce, kd or None,
    mean ponder cost), detached."""
    kw = {"eps": eps} if halting else {"halting": False}
    if max_iters is not None:
        kw["max_iters"] = max_iters
    with torch.autocast(torch.device(tc.device).type, torch.bfloat16, enabled=tc.precision == "bf16"):
        logits, n_iters, ponder = model(xb, **kw)
    logits = logits.float()
    ce = F.cross_entropy(logits, yb, label_smoothing=tc.label_smoothing)
    kd = None if soft is None else distill_loss(logits, soft, tc.distill_temp)
    task = ce if kd is None else (1 - tc.distill_weight) * ce + tc.distill_weight * kd
    ponder = ponder.mean()
    loss = task + tau * ponder
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return logits.detach(), n_iters, ce.detach(), None if kd is None else kd.detach(), ponder.detach()


def check_config(tc: TrainConfig, mc: ModelConfig) -> None:
    """Refuses a run that cannot work. With the last batchnorm at zero every h_i, state and stage output starts
    at exactly 0, and ReLU passes no gradient at 0: the cross-entropy cannot move anything. Only the ponder
    cost's gradient (through GAP(h_i) and GAP(s_i) in the ACT heads) lifts IamNN off that start, so a run
    without one cannot learn."""
    if tc.precision not in ("auto",) + PRECISIONS:
        raise SystemExit(f"--precision={tc.precision}: valid values are auto, {', '.join(PRECISIONS)}")
    if tc.low_res_epochs and tc.low_res_factor < 2:
        raise SystemExit(f"--low_res_factor={tc.low_res_factor}: must be 2 or more (the side is divided by it)")
    if tc.augment not in AUGMENTATIONS:
        raise SystemExit(f"--augment={tc.augment}: valid values are {', '.join(AUGMENTATIONS)}")
    if tc.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit(f"--device={tc.device}: this machine has no CUDA GPU; use --device=cpu")
    if tc.precision == "bf16" and tc.device.startswith("cuda") and not torch.cuda.is_bf16_supported():
        raise SystemExit("--precision=bf16: this GPU has no bf16 support; use --precision=fp32")
    if tc.arch == "iamnn" and mc.zero_init_last_bn and (not mc.shared or not any(tau_at(e, tc) for e in range(tc.epochs))):
        raise SystemExit("zero_init_last_bn=True needs a ponder cost to train (the baseline and tau = 0 have "
                         "none): add --zero_init_last_bn=False")
    if tc.depth_sampling and (tc.arch != "iamnn" or not mc.shared):
        raise SystemExit("--depth_sampling: only IamNN halts; the baseline and the static peers always run every layer")
    if tc.arch == "iamnn" and mc.zero_init_last_bn and mc.shared and tc.halting_off_epochs:
        raise SystemExit("--halting_off_epochs: the warm-up has no ponder cost, so zero_init_last_bn=True cannot "
                         "leave its all-zero start: add --zero_init_last_bn=False")


def main(argv: list[str]) -> None:
    tc, mc, given = parse_args(argv)
    torch.set_num_threads(tc.threads)
    keep_freed_memory()  # 2.5-5.6x faster steps here (training/allocator.py)
    out = Path(tc.out)
    out.mkdir(parents=True, exist_ok=True)
    ckpt_path = out / "ckpt.pt"
    ckpt = torch.load(ckpt_path, map_location="cpu") if tc.resume and ckpt_path.exists() else None
    init = torch.load(tc.init, map_location="cpu") if tc.init and not ckpt else None
    if init:  # a fine-tune takes the architecture of what it starts from, except for fields given here
        mc = ModelConfig(**{**init["model_config"], **{k: getattr(mc, k) for k in given if hasattr(mc, k)}})
    if ckpt and ckpt.get("arch", "iamnn") == "iamnn":
        run_mc = ModelConfig(**ckpt["model_config"])  # the architecture is fixed by the run
        clash = [f.name for f in fields(mc) if f.name in given and getattr(mc, f.name) != getattr(run_mc, f.name)]
        if clash:
            raise SystemExit(f"--resume: the run's model config fixes {', '.join(clash)} "
                             f"({', '.join(f'{k}={getattr(run_mc, k)}' for k in clash)}); start a new --out instead")
        mc = run_mc
    if ckpt:
        for f in fields(TrainConfig):  # fields newer than the checkpoint keep their defaults
            if f.name not in given and f.name not in MACHINE_FIELDS and f.name in ckpt["train_config"]:
                setattr(tc, f.name, ckpt["train_config"][f.name])
        if "data" not in given and "dataset" in ckpt:  # a run from before "dataset" was kept is CIFAR-10's
            tc.data = ckpt["train_config"]["data"]
    check_config(tc, mc)
    data = load_data(tc.data, tc.image_size, tc.limit_train, tc.limit_test)
    if tc.low_res_epochs and data.input_size % tc.low_res_factor:
        raise SystemExit(f"--low_res_factor={tc.low_res_factor} does not divide the {data.input_size}x{data.input_size} images")
    if ckpt or init:
        check_classes(ckpt or init, data.ids, str(ckpt_path) if ckpt else tc.init, f"--data={tc.data}")
    from_checkpoint = init or (ckpt and ckpt.get("arch", "iamnn") == "iamnn")  # mc is a checkpoint's (above)
    fixed = {"num_classes", "input_size"} if from_checkpoint else given
    mc = fit_to_data(mc, data, fixed, tc.data)
    arch, model_config = arch_config(tc, mc)
    if ckpt and (ckpt.get("arch", "iamnn"), ckpt["model_config"]) != (arch, model_config) and arch != "iamnn":
        raise SystemExit(f"--resume: the run is {ckpt['arch']} {ckpt['model_config']}, this would be {arch} "
                         f"{model_config}; start a new --out instead")
    norm = ckpt["normalization"] if ckpt else data.normalization  # a resumed run keeps its own
    if tc.precision == "auto":
        tc.precision = "bf16" if native_bf16(tc.device) else "fp32"
    code = {name: (Path(__file__).parent / name).read_text()
            for name in ("model.py", "resnet.py", "train.py", "data.py", "evaluate.py")}
    log_path = out / "log.jsonl"  # a resumed run keeps the rows up to its checkpoint; a new run starts a new log
    rows = log_path.read_text().splitlines() if ckpt and log_path.exists() else []
    log_path.write_text("".join(r + "\n" for r in rows if json.loads(r)["epoch"] <= ckpt["epoch"]))
    xtr, ytr, xte, yte = data.x_train, data.y_train, data.x_test, data.y_test

    start_epoch, elapsed = (ckpt["epoch"], ckpt["elapsed_s"]) if ckpt else (0, 0.0)
    soft, teacher_sha = None, None
    if tc.teacher:
        teacher_sha = hashlib.sha256(Path(tc.teacher).read_bytes()).hexdigest()
        if ckpt and ckpt.get("teacher_sha256", teacher_sha) != teacher_sha:
            raise SystemExit(f"--resume: {tc.teacher} is not the teacher this run started with (sha256 differs)")
        t0 = time.time()
        teacher, teacher_ckpt = load_ckpt(tc.teacher)
        soft = teacher_logits(teacher.to(tc.device), xtr, teacher_ckpt["normalization"])
        teacher_s = time.time() - t0
        elapsed += teacher_s  # part of the training cost (paid again by each resumed session)
        print(f"teacher {tc.teacher}: train accuracy {(soft.argmax(1) == ytr).float().mean().item():.4f}, "
              f"{teacher_s:.0f}s", flush=True)
        del teacher

    torch.manual_seed(tc.seed)
    model = build_model(arch, model_config).to(tc.device)
    opt = make_optimizer(model, tc)
    if init:
        model.load_state_dict(init["model"])
        print(f"fine-tuning from {tc.init} (epoch {init['epoch']})", flush=True)
    if ckpt:
        model.load_state_dict(ckpt["model"])
        if "optimizer" in ckpt:
            opt.load_state_dict(ckpt["optimizer"])
        else:  # a model-only copy, e.g. training/checkpoints/baseline-cifar10.pt
            print("warning: model-only checkpoint: SGD momentum restarts from zero", flush=True)
        print(f"resumed {ckpt_path} at epoch {start_epoch}", flush=True)
    print(f"params={count_params(model):,} train={len(xtr)} test={len(xte)} {model_config} {asdict(tc)}", flush=True)

    per_epoch = len(xtr) // tc.batch_size
    total = tc.epochs * per_epoch
    gen = torch.Generator().manual_seed(tc.seed)
    for epoch in range(start_epoch, tc.epochs):
        gen.manual_seed(tc.seed * 1000 + epoch)  # resumable: each epoch's randomness is its own
        tau, halting = tau_at(epoch, tc), halting_at(epoch, tc)
        model.train()
        t0 = time.time()
        perm = torch.randperm(len(xtr), generator=gen)
        loss_sum, kd_sum, ponder_sum, correct, iters_sum = 0.0, 0.0, 0.0, 0, 0
        for b in range(per_epoch):
            step = epoch * per_epoch + b
            for g in opt.param_groups:
                g["lr"] = lr_at(step, total, per_epoch, tc)
            idx = perm[b * tc.batch_size:(b + 1) * tc.batch_size]
            xb = augment_batch(xtr[idx], norm, tc, gen).to(tc.device)
            if epoch < tc.low_res_epochs:
                xb = F.avg_pool2d(xb, tc.low_res_factor)
            yb = ytr[idx].to(tc.device)
            soft_b = None if soft is None else soft[idx].to(tc.device)
            depth = step_depth(tc, mc, gen, epoch)
            eps = None if depth else step_eps(tc, mc, gen, epoch)
            logits, n_iters, ce, kd, ponder = train_step(model, opt, xb, yb, soft_b, tau, tc, eps,
                                                         halting and depth is None, depth)
            kd_sum += kd.item() if kd is not None else 0.0
            loss_sum += ce.item()
            ponder_sum += ponder.item()
            correct += (logits.argmax(1) == yb).sum().item()
            iters_sum += n_iters.float().mean(0).cpu()
            if b % 50 == 0:
                print(f"epoch {epoch} step {b}/{per_epoch} ce {ce.item():.3f} iters {n_iters.float().mean(0).tolist()} "
                      f"{time.time() - t0:.0f}s", flush=True)
        # the warm-up's test pass runs what it trains (halting off), later ones the browser's early exit
        test_logits, test_iters = predict(model, xte, norm) if halting else predict(model, xte, norm, early_exit=False,
                                                                                    halting=False)
        epoch_s = time.time() - t0  # the test pass included: running the command costs it too
        elapsed += epoch_s
        row = {"epoch": epoch + 1, "train_ce": loss_sum / per_epoch, "train_acc": correct / (per_epoch * tc.batch_size),
               "ponder": ponder_sum / per_epoch, "train_iters": (iters_sum / per_epoch).tolist(),
               "test_acc": (test_logits.argmax(1) == yte).float().mean().item(), "test_iters": test_iters.float().mean(0).tolist(),
               "tau": tau, "halting": halting, "precision": tc.precision, "epoch_s": epoch_s, "elapsed_s": elapsed}
        if soft is not None:
            row["train_kd"] = kd_sum / per_epoch
        print(json.dumps(row), flush=True)
        with open(log_path, "a") as f:
            f.write(json.dumps(row) + "\n")
        torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": epoch + 1,
                    "elapsed_s": elapsed, "arch": arch, "model_config": model_config, "train_config": asdict(tc),
                    "normalization": norm, "dataset": data.record(tc.data), "code": code, "teacher_sha256": teacher_sha,
                    "torch": torch.__version__}, ckpt_path.with_suffix(".tmp"))
        ckpt_path.with_suffix(".tmp").replace(ckpt_path)
        if tc.stop_after and epoch + 1 >= tc.stop_after:
            break


if __name__ == "__main__":
    main(sys.argv[1:])
