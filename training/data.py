"""CIFAR-10 as uint8 tensors, decoded once and cached; augmentation as batched tensor ops.

Accepted sources (`--data` may name either):
  * a folder holding `train.tar.gz` / `test.tar.gz` with `<split>/<class>/NNNN.jpg` (the JPEG copy in
    ../shared/datasets/cifar10), or one of those archives directly;
  * the official CIFAR-10 python archive `cifar-10-python.tar.gz` (or its extracted
    `cifar-10-batches-py/` folder).
Decoded arrays are cached as .npz under `training/.cache/` (git-ignored) so later runs load in ~1 s.

    /usr/bin/python3 -c "from training.data import load_split; print(load_split('../shared/datasets/cifar10', 'test')[0].shape)"
"""
from __future__ import annotations

import hashlib
import io
import os
import pickle
import tarfile
from pathlib import Path

import numpy as np
import torch

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
DEFAULT_DATA = str(Path(__file__).resolve().parent.parent.parent / "shared" / "datasets" / "cifar10")
CACHE_DIR = Path(__file__).resolve().parent / ".cache"


def _decode_jpeg_tar(path: Path) -> tuple[np.ndarray, np.ndarray]:
    from PIL import Image

    images, labels, names = [], [], []
    with tarfile.open(path, "r:gz") as tar:
        for member in tar:
            if not member.isfile() or not member.name.lower().endswith((".jpg", ".jpeg", ".png")):
                continue
            cls = Path(member.name).parent.name
            if cls not in CLASSES:
                raise ValueError(f"{path}: {member.name} is not under a CIFAR-10 class folder {CLASSES}")
            data = tar.extractfile(member).read()
            img = Image.open(io.BytesIO(data)).convert("RGB")
            if img.size != (32, 32):
                raise ValueError(f"{path}: {member.name} is {img.size}, expected 32x32")
            names.append(member.name)
            images.append(np.asarray(img, dtype=np.uint8))
            labels.append(CLASSES.index(cls))
    order = np.argsort(np.array(names))  # tar order is not guaranteed; sort for reproducible indices
    return np.stack(images)[order], np.array(labels, dtype=np.int64)[order]


def _read_python_batches(files: dict[str, bytes], split: str) -> tuple[np.ndarray, np.ndarray]:
    wanted = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
    xs, ys = [], []
    for name in wanted:
        batch = pickle.loads(files[name], encoding="bytes")
        xs.append(np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
        ys.append(np.asarray(batch[b"labels"], dtype=np.int64))
    return np.concatenate(xs), np.concatenate(ys)


def _decode_python_archive(path: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    if path.is_dir():
        return _read_python_batches({p.name: p.read_bytes() for p in path.iterdir() if p.is_file()}, split)
    with tarfile.open(path, "r:gz") as tar:
        files = {Path(m.name).name: tar.extractfile(m).read() for m in tar if m.isfile()}
    return _read_python_batches(files, split)


def _resolve(source: str, split: str) -> tuple[Path, str]:
    """Return (path, kind) for `split`, kind in {'jpeg', 'python'}."""
    p = Path(source)
    if p.is_dir():
        if (p / f"{split}.tar.gz").exists():
            return p / f"{split}.tar.gz", "jpeg"
        for cand in (p / "cifar-10-python.tar.gz", p / "cifar-10-batches-py", p):
            if (cand.is_file()) or (cand.is_dir() and (cand / "test_batch").exists()):
                return cand, "python"
    elif p.is_file():
        if "cifar-10-python" in p.name:
            return p, "python"
        if p.name.endswith(".tar.gz"):
            return p.with_name(f"{split}.tar.gz") if p.name in ("train.tar.gz", "test.tar.gz") else p, "jpeg"
    raise FileNotFoundError(
        f"no CIFAR-10 {split} split at {source!r}: expected a folder with {split}.tar.gz (JPEG copy), "
        "cifar-10-python.tar.gz, or a cifar-10-batches-py/ folder")


def load_split(source: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Images as uint8 [N, 32, 32, 3] (RGB) and labels as int64 [N]; decoded once, then cached."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    path, kind = _resolve(source, split)
    stat = path.stat()
    key = hashlib.sha1(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{split}".encode()).hexdigest()[:16]
    cache = CACHE_DIR / f"cifar10-{split}-{key}.npz"
    if cache.exists():
        with np.load(cache) as z:
            return z["x"], z["y"]
    x, y = _decode_jpeg_tar(path) if kind == "jpeg" else _decode_python_archive(path, split)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    # A per-process temp name: two runs started together both decode, and a shared name let one
    # process move the other's half-written file away (FileNotFoundError in the second os.replace).
    tmp = cache.with_name(f"{cache.stem}.{os.getpid()}.tmp.npz")
    np.savez(tmp, x=x, y=y)
    os.replace(tmp, cache)
    return x, y


def to_tensor(x: np.ndarray) -> torch.Tensor:
    """uint8 NHWC numpy -> uint8 NCHW torch (kept as uint8 until the batch is drawn)."""
    return torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()


def normalize(x_uint8: torch.Tensor, mean: tuple, std: tuple) -> torch.Tensor:
    """(x / 255 - mean) / std per channel: the formula docs/model-format.md fixes for the runtime."""
    m = torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1)
    s = torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1)
    return (x_uint8.float() / 255.0 - m) / s


def augment(x: torch.Tensor, pad: int, generator: torch.Generator) -> torch.Tensor:
    """Random horizontal flip and random `pad`-pixel translation (reflect pad + crop), batched."""
    n, _, h, w = x.shape
    flip = torch.rand(n, generator=generator) < 0.5
    x = torch.where(flip.view(n, 1, 1, 1), x.flip(3), x)
    if pad == 0:
        return x
    padded = torch.nn.functional.pad(x, (pad, pad, pad, pad), mode="reflect")
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=generator)
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=generator)
    rows = (dy.view(n, 1) + torch.arange(h).view(1, h))  # [n, h]
    cols = (dx.view(n, 1) + torch.arange(w).view(1, w))  # [n, w]
    idx_n = torch.arange(n).view(n, 1, 1, 1)
    idx_c = torch.arange(x.shape[1]).view(1, -1, 1, 1)
    return padded[idx_n, idx_c, rows.view(n, 1, h, 1), cols.view(n, 1, 1, w)]
