"""Convert a trained IamNN checkpoint to the web model format (docs/model-format.md).

    /usr/bin/python3 -m training.export --ckpt=training/runs/iamnn/ckpt.pt --out=models/cifar10
        [--mirror_below=0.8]   # the mirror vote's default gate in model.json (default training.model.MIRROR_BELOW; 0: off)
    /usr/bin/python3 -m training.export --ckpt=training/runs/tin-iamnn/ckpt.pt --out=models/tiny-imagenet
    /usr/bin/python3 -m training.export --fixture=test/fixtures/tiny     # small random test model (2 stages, 32x32)
    /usr/bin/python3 -m training.export --fixture=test/fixtures/tiny64 --size=64   # 4 stages, 64x64, 12 classes

Writes model.json + equal-size weight shards (the last one smaller or equal, sha256 each) and
parity.json: test inputs with PyTorch's logits, per-stage iterations and FLOPs, which the TypeScript
runtime must reproduce (logits within 1e-4, iterations exactly). The input size, the labels and their ids
(Tiny-ImageNet's wnids) are the run's data's, kept in its checkpoint (CIFAR-10's for runs from before it kept
them); the parity images are the first 32 of that data's held-out split (--data= to read it elsewhere).
report.json comes from training/evaluate.py.
"""
from __future__ import annotations

import base64
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import torch

from training.data import CLASSES, normalize
from training.model import MIRROR_BELOW, IamNN, ModelConfig, flops_table

FORMAT = "iamnn"
FORMAT_VERSION = 1


def _fold_bn(bns) -> tuple[np.ndarray, np.ndarray]:
    """Eval-mode batchnorm as y = x * scale + shift, one row per iteration: [T, C] each."""
    scales, shifts = [], []
    for bn in bns:
        var, mean = bn.running_var.double(), bn.running_mean.double()
        scale = bn.weight.detach().double() / torch.sqrt(var + bn.eps)
        scales.append(scale)
        shifts.append(bn.bias.detach().double() - mean * scale)
    return torch.stack(scales).float().numpy(), torch.stack(shifts).float().numpy()


def _hwio(conv: torch.nn.Conv2d) -> np.ndarray:
    return conv.weight.detach().permute(2, 3, 1, 0).contiguous().numpy()  # OIHW -> HWIO (tfjs)


def named_weights(model: IamNN) -> list[tuple[str, np.ndarray]]:
    """Every weight the runtime needs, in file order. Shared convs appear ONCE per stage."""
    if not model.cfg.shared:
        raise ValueError("only the shared (IamNN) network has a web format; the baseline is for comparison")
    out = [("stem/conv", _hwio(model.stem))]
    scale, shift = _fold_bn([model.stem_bn])
    out += [("stem/bn/scale", scale[0]), ("stem/bn/shift", shift[0])]
    for k, st in enumerate(model.stages):
        b = st.block
        for j, (conv, bns) in enumerate(((b.conv1, b.bn1), (b.conv2, b.bn2), (b.conv3, b.bn3)), start=1):
            scale, shift = _fold_bn(bns)
            out += [(f"stage{k}/conv{j}", _hwio(conv)), (f"stage{k}/bn{j}/scale", scale),
                    (f"stage{k}/bn{j}/shift", shift)]
        for j, fc in enumerate((st.act.fc1, st.act.fc2, st.act.fc3), start=1):
            out += [(f"stage{k}/act/fc{j}/kernel", fc.weight.detach().t().contiguous().numpy()),
                    (f"stage{k}/act/fc{j}/bias", fc.bias.detach().numpy())]
    out += [("head/kernel", model.fc.weight.detach().t().contiguous().numpy()),
            ("head/bias", model.fc.bias.detach().numpy())]
    return [(n, np.ascontiguousarray(a, dtype=np.float32)) for n, a in out]


def _encode(a: np.ndarray, quantize: str | None) -> tuple[bytes, dict | None]:
    if quantize is None:
        return a.astype("<f4").tobytes(), None
    if quantize == "float16":
        return a.astype("<f2").tobytes(), {"dtype": "float16"}
    if quantize == "uint8":
        lo, hi = float(a.min()), float(a.max())
        scale = (hi - lo) / 255 if hi > lo else 1.0
        q = np.clip(np.round((a - lo) / scale), 0, 255).astype(np.uint8)
        return q.tobytes(), {"dtype": "uint8", "scale": scale, "min": lo}
    raise ValueError(f"quantize must be one of None, 'float16', 'uint8'; got {quantize!r}")


def model_spec(model: IamNN, mean, std, labels, ids, mirror_below: float = 0.0) -> dict:
    """model.json's iamnn section; `mirror_below` > 0 adds the mirror vote's default gate (absent: off)."""
    cfg = model.cfg
    cins = (cfg.stem_channels,) + tuple(cfg.widths[:-1])
    if len(labels) != cfg.num_classes or len(ids) != cfg.num_classes:
        raise ValueError(f"{len(labels)} labels and {len(ids)} ids for a network with {cfg.num_classes} outputs")
    return {
        "input": {"height": cfg.input_size, "width": cfg.input_size, "channels": 3, "channelOrder": "RGB",
                  "layout": "NHWC", "resize": "center-crop-area"},
        "normalization": {"formula": "(x / 255 - mean) / std", "mean": list(mean), "std": list(std)},
        "labels": list(labels),
        "ids": list(ids),
        "stem": {"channels": cfg.stem_channels, "kernel": 3, "poolAfter": 2 if cfg.stem_pool else 1},
        "stages": [{"inChannels": ci, "channels": c, "bottleneck": b, "maxIterations": t,
                    "poolBefore": 1 if k == 0 else 2}
                   for k, (ci, c, b, t) in enumerate(zip(cins, cfg.widths, cfg.bottlenecks, cfg.max_iters))],
        "act": {"hidden": [cfg.act_hidden, cfg.act_hidden]},
        "haltingEpsilon": cfg.eps,
        **({"mirrorBelow": mirror_below} if mirror_below > 0 else {}),
        "flops": flops_table(cfg),
    }


def export_model(model: IamNN, out_dir: Path, mean, std, labels=CLASSES, ids=None, shard_bytes: int = 1 << 20,
                 quantize: str | None = None, mirror_below: float = 0.0) -> dict:
    """Write the web model folder; `ids`: the labels' stable ids (default: the labels themselves)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    specs, blobs = [], []
    for name, arr in named_weights(model):
        data, q = _encode(arr, quantize)
        spec = {"name": name, "shape": list(arr.shape), "dtype": "float32"}
        if q:
            spec["quantization"] = q
        specs.append(spec)
        blobs.append(data)
    buf = b"".join(blobs)
    shards = [buf[i:i + shard_bytes] for i in range(0, len(buf), shard_bytes)] or [b""]
    for old in out_dir.glob("group1-shard*.bin"):
        old.unlink()
    paths = [f"group1-shard{i + 1}of{len(shards)}.bin" for i in range(len(shards))]
    for p, s in zip(paths, shards):
        (out_dir / p).write_bytes(s)
    manifest = {"format": FORMAT, "formatVersion": FORMAT_VERSION,
                "weightsManifest": [{"paths": paths, "weights": specs,
                                     "sha256": [hashlib.sha256(s).hexdigest() for s in shards]}],
                "iamnn": model_spec(model, mean, std, labels, labels if ids is None else ids, mirror_below)}
    (out_dir / "model.json").write_text(json.dumps(manifest, indent=1) + "\n")
    write_model_module(out_dir, paths)
    return manifest


def write_model_module(out_dir: Path, paths: list[str]) -> None:
    """index.js (+ index.d.ts) beside model.json: the model as a module whose every file is a
    `new URL('./file', import.meta.url)`, which Vite, webpack 5, Parcel and esbuild follow and copy into an
    app's build, renaming them; `load()` takes its {url, files} and maps model.json's shard paths through
    `files`. A plain model.json URL still works where the files are served as they are."""
    files = "".join(f"    '{p}': new URL('./{p}', import.meta.url).href,\n" for p in paths)
    (out_dir / "index.js").write_text(
        "// The model as a module that bundlers follow (written by training/export.py):\n"
        "//   import model from 'iamnn/models/<name>';  const m = await load(model);\n"
        "export default {\n"
        "  url: new URL('./model.json', import.meta.url).href,\n"
        f"  files: {{\n{files}  }},\n"
        "};\n")
    (out_dir / "index.d.ts").write_text(
        "/** The model's files as URLs an app's bundler copied: pass to `load()`. */\n"
        "declare const model: { url: string; files: Record<string, string> };\n"
        "export default model;\n")


def _decode(buf: bytes, off: int, spec: dict) -> tuple[np.ndarray, int]:
    n = int(np.prod(spec["shape"]))
    q = spec.get("quantization")
    if q is None:
        return np.frombuffer(buf, "<f4", n, off).reshape(spec["shape"]), off + 4 * n
    if q["dtype"] == "float16":
        return np.frombuffer(buf, "<f2", n, off).astype(np.float32).reshape(spec["shape"]), off + 2 * n
    return (np.frombuffer(buf, np.uint8, n, off) * q["scale"] + q["min"]).astype(np.float32).reshape(spec["shape"]), off + n


def read_web_weights(model_dir: Path) -> tuple[dict, dict[str, np.ndarray]]:
    """(model.json, name -> float32 array) from a web model folder."""
    manifest = json.loads((model_dir / "model.json").read_text())
    weights = {}
    for group in manifest["weightsManifest"]:
        buf, off = b"".join((model_dir / p).read_bytes() for p in group["paths"]), 0
        for spec in group["weights"]:
            weights[spec["name"]], off = _decode(buf, off, spec)
        if off != len(buf):
            raise ValueError(f"{model_dir}: shards hold {len(buf)} bytes, the weights need {off}")
    return manifest, weights


def load_web_model(model_dir: Path) -> tuple[IamNN, dict]:
    """Rebuild the PyTorch IamNN from a web model folder (folded batchnorm becomes an affine BN with
    running mean 0 and variance 1 - eps_bn), e.g. to export ONNX without the training checkpoint."""
    manifest, w = read_web_weights(model_dir)
    spec = manifest["iamnn"]
    st = spec["stages"]
    cfg = ModelConfig(num_classes=len(spec["labels"]), input_size=spec["input"]["height"],
                      stem_channels=spec["stem"]["channels"],
                      stem_pool=spec["stem"]["poolAfter"] == 2, widths=tuple(s["channels"] for s in st),
                      bottlenecks=tuple(s["bottleneck"] for s in st), max_iters=tuple(s["maxIterations"] for s in st),
                      act_hidden=spec["act"]["hidden"][0], eps=spec["haltingEpsilon"])
    model = IamNN(cfg).eval()
    t = lambda a: torch.from_numpy(np.array(a))  # noqa: E731

    def set_bn(bns, scale, shift):
        for bn, sc, sh in zip(bns, np.atleast_2d(scale), np.atleast_2d(shift)):
            bn.weight.data, bn.bias.data = t(sc), t(sh)
            bn.running_mean.zero_()
            bn.running_var.fill_(1 - bn.eps)

    model.stem.weight.data = t(w["stem/conv"]).permute(3, 2, 0, 1).contiguous()
    set_bn([model.stem_bn], w["stem/bn/scale"], w["stem/bn/shift"])
    for k, stage in enumerate(model.stages):
        b = stage.block
        for j, (conv, bns) in enumerate(((b.conv1, b.bn1), (b.conv2, b.bn2), (b.conv3, b.bn3)), start=1):
            conv.weight.data = t(w[f"stage{k}/conv{j}"]).permute(3, 2, 0, 1).contiguous()
            set_bn(bns, w[f"stage{k}/bn{j}/scale"], w[f"stage{k}/bn{j}/shift"])
        for j, fc in enumerate((stage.act.fc1, stage.act.fc2, stage.act.fc3), start=1):
            fc.weight.data = t(w[f"stage{k}/act/fc{j}/kernel"]).t().contiguous()
            fc.bias.data = t(w[f"stage{k}/act/fc{j}/bias"])
    model.fc.weight.data = t(w["head/kernel"]).t().contiguous()
    model.fc.bias.data = t(w["head/bias"])
    return model, spec


@torch.no_grad()
def parity_vectors(model: IamNN, images: np.ndarray, mean, std, mirror_below: float = 0.0) -> dict:
    """PyTorch's results on uint8 NHWC images at the model's default setting (per-image early exit, the mirror vote
    below `mirror_below`), for the runtime's tests: logits, the first pass's iterations, both passes' FLOPs and,
    with the mirror vote on, each image's mirror-pass iterations (0s where it was not mirrored)."""
    from training.evaluate import mirror_flops, predict_mirrored
    x = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()
    logits, iters, mirror_iters, mirrored = predict_mirrored(model, x, {"mean": mean, "std": std}, mirror_below)
    out = {"shape": list(images.shape), "dtype": "uint8", "layout": "NHWC",
           "images": base64.b64encode(images.astype(np.uint8).tobytes()).decode(),
           "logits": logits.tolist(), "iterations": iters.tolist(),
           "flops": mirror_flops(iters, mirror_iters, mirrored, flops_table(model.cfg)).tolist()}
    if mirror_below > 0:
        out.update(mirrorBelow=mirror_below, mirrorIterations=mirror_iters.tolist())
    return out


def randomize(model: IamNN, seed: int) -> IamNN:
    """Random eval-mode batchnorm and strong ACT gains, so folding is really tested and halting
    varies per image (an untrained model halts uniformly). For test models only."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.weight.data = 0.5 + torch.rand(m.num_features, generator=g)
            m.bias.data = 0.2 * torch.randn(m.num_features, generator=g)
            m.running_mean = 0.1 * torch.randn(m.num_features, generator=g)
            m.running_var = 0.5 + torch.rand(m.num_features, generator=g)
    if model.cfg.shared:
        for st in model.stages:
            for fc, gain in ((st.act.fc1, 6.0), (st.act.fc2, 3.0), (st.act.fc3, 3.0)):
                fc.weight.data *= gain
    return model.eval()


def varied_images(n: int, seed: int, size: int = 32) -> np.ndarray:
    """uint8 NHWC noise images of random colour and contrast (so a random model's halting varies)."""
    g = torch.Generator().manual_seed(seed)
    noise = torch.rand(n, size, size, 3, generator=g)
    level, contrast = torch.rand(n, 1, 1, 3, generator=g), torch.rand(n, 1, 1, 1, generator=g)
    return (255 * (level + contrast * (noise - 0.5))).clamp(0, 255).round().to(torch.uint8).numpy()


TINY = ModelConfig(stem_channels=8, widths=(8, 16), bottlenecks=(4, 8), max_iters=(4, 6), act_hidden=16,
                   halt_bias=0.0, eps=0.01)
# Tiny-ImageNet's shape in miniature: 64x64 input, stem + max-pool, four stages with max-pools between, ids beside
# the labels (as the wnids are), 12 classes
TINY64 = ModelConfig(num_classes=12, input_size=64, stem_channels=4, widths=(4, 8, 8, 12), bottlenecks=(2, 4, 4, 6),
                     max_iters=(4, 4, 4, 4), act_hidden=8, halt_bias=0.0, eps=0.01)


@torch.no_grad()
def spread_halting(model: IamNN, x: torch.Tensor, spread: float = 3.0) -> IamNN:
    """Rescale each stage's last ACT layer so that its first halting score has mean 0 and std `spread` over the
    images x (stage by stage, each seeing the stages before it rescaled). Past two stages a randomized model's
    scores hardly differ between images, so every image would halt alike there. For test models only."""
    for stage in model.stages:
        scores = []
        hook = stage.act.fc3.register_forward_hook(lambda mod, inp, out: scores.append(out.squeeze(1)))
        model(x)
        hook.remove()
        first = scores[0]
        gain = spread / first.std().clamp_min(1e-6)
        stage.act.fc3.weight.mul_(gain)
        stage.act.fc3.bias.sub_(first.mean()).mul_(gain)
    return model


def tiny_fixture(out_dir: Path, size: int = 32) -> None:
    """A small random IamNN whose halting varies per image; its parity.json tests the runtime. size 32: TINY
    (test/fixtures/tiny, 16 images); 64: TINY64 (test/fixtures/tiny64, 8 images)."""
    cfg, n = {32: (TINY, 16), 64: (TINY64, 8)}[size]
    torch.manual_seed(1234)
    model = randomize(IamNN(cfg), 99)
    mean, std = (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)
    images = varied_images(n, 7, size)
    images[1] = 0  # a flat image and a saturated one: edge cases for normalization
    images[2] = 255
    if cfg is TINY64:  # halting that varies in all four stages
        spread_halting(model, normalize(torch.from_numpy(images).permute(0, 3, 1, 2), mean, std))
    labels = [f"class{i}" for i in range(cfg.num_classes)]
    ids = None if cfg is TINY else [f"n{i:08d}" for i in range(cfg.num_classes)]
    export_model(model, out_dir, mean, std, labels, ids, shard_bytes=8192)
    (out_dir / "parity.json").write_text(json.dumps(parity_vectors(model, images, mean, std)) + "\n")


def main(argv: list[str]) -> None:
    args = dict(a.lstrip("-").partition("=")[::2] for a in argv)
    if "fixture" in args:
        tiny_fixture(Path(args["fixture"]), int(args.get("size", 32)))
        return
    from training.evaluate import check_classes, held_out_set, trained_source
    ckpt_path = args.get("ckpt", "training/runs/iamnn/ckpt.pt")
    ckpt = torch.load(ckpt_path, map_location="cpu")
    model = IamNN(ModelConfig(**ckpt["model_config"]))
    if model.cfg.stage_output != "act":
        raise SystemExit(f"{ckpt_path}: stage_output={model.cfg.stage_output!r}; the browser runtime computes ACT's "
                         "mixture only (stage_output='act', docs/model-format.md)")
    model.load_state_dict(ckpt["model"])
    model.eval()
    norm = ckpt["normalization"]
    kept = ckpt.get("dataset", {"labels": CLASSES, "ids": CLASSES})
    source = args.get("data") or trained_source(ckpt)
    xt, _, ids, _ = held_out_set(source, ckpt.get("train_config", {}).get("image_size", 0))
    check_classes(ckpt, ids, ckpt_path, source)
    if xt.shape[-1] != model.cfg.input_size:
        raise SystemExit(f"{source}: {xt.shape[-1]}x{xt.shape[-1]} images, the network is for {model.cfg.input_size}")
    x = xt.permute(0, 2, 3, 1).contiguous().numpy()  # NHWC, as parity.json stores images
    out = Path(args.get("out", "models/cifar10"))
    mirror = float(args.get("mirror_below", MIRROR_BELOW))
    export_model(model, out, norm["mean"], norm["std"], kept["labels"], kept["ids"], quantize=args.get("quantize"),
                 mirror_below=mirror)
    if args.get("quantize"):  # parity is what the shipped (dequantized) weights compute, not the checkpoint
        full = model
        model, _ = load_web_model(out)
        print(quantization_report(full, model, x, norm), flush=True)
    (out / "parity.json").write_text(json.dumps(parity_vectors(model, x[:32], norm["mean"], norm["std"], mirror)) + "\n")
    print(f"wrote {out}/model.json, shards and parity.json")


def quantization_report(full: IamNN, quantized: IamNN, x: np.ndarray, norm: dict) -> str:
    """What quantizing the weights changes, per-image early exit: the largest logit difference and the
    images whose iteration counts or predicted class differ, on the 32 parity images and on all of `x`."""
    from training.data import to_tensor
    from training.evaluate import predict
    xt = to_tensor(x)
    (la, ia), (lb, ib) = predict(full, xt, norm), predict(quantized, xt, norm)
    lines = []
    for name, n in (("parity images", 32), (f"all {len(x)} images", len(x))):
        diff = (la[:n] - lb[:n]).abs().max().item()
        flips = (ia[:n] != ib[:n]).any(1).sum().item()
        changed = (la[:n].argmax(1) != lb[:n].argmax(1)).sum().item()
        lines.append(f"{name}: max |logit difference| {diff:.2e}, iteration counts differ for {flips}, predicted class for {changed}")
    return "; ".join(lines)


if __name__ == "__main__":
    main(sys.argv[1:])
