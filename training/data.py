"""Image datasets as uint8 arrays, decoded once and cached; augmentation as batched tensor ops.

`load_dataset(source, split, size=None)` returns a `Dataset`: images uint8 [N, H, W, 3] (RGB), labels int64 [N],
the class names and ids in the classifier's output order, and per-channel mean/std. `source` (train.py's
`--data`) is a path or one of the names in `NAMED_SOURCES` ("cifar10", "tiny-imagenet-200"):
  * CIFAR-10 (`load_split`, unchanged): a folder holding `train.tar.gz` / `test.tar.gz` with
    `<split>/<class>/NNNN.jpg` (the JPEG copy in ../shared/datasets/cifar10), or one of those archives directly;
    or the official python archive `cifar-10-python.tar.gz` (or its extracted `cifar-10-batches-py/` folder).
  * Tiny-ImageNet-200: `tiny-imagenet-200.tar.gz` (or .zip, or the extracted folder): split "train"
    (`train/<wnid>/images/*.JPEG`, 100,000 images) or "val" (`val/images/*`, labelled by
    `val/val_annotations.txt`, 10,000 images; "test" is an alias, the official test images have no labels).
    Classes are the wnids sorted as strings; each label is the first name of its wnid in words.txt
    ("goldfish", "school bus", ...).
  * any folder-per-class image set (.jpg/.jpeg/.png): `<root>/<split>/<class>/<image>` or
    `<root>/<class>/<image>`, or a .tar/.tar.gz/.tgz/.zip of one (optionally under one top folder). Classes
    are the class folder names sorted (over all splits, so every split numbers them alike); "val" and "test"
    stand for each other. Without split folders, every 10th image of each class (in name order) is held
    out as "val"/"test" and "train" is the rest.
Images are sorted by path inside the source; grayscale, palette and RGBA images are converted to RGB. All
images must share one size unless `size=N` is given: then each is resized (bicubic, keeping its aspect) and
centre-cropped to NxN. Files and folders whose name starts with "." are skipped.

Decoded arrays are cached as .npz under `training/.cache/` (git-ignored), keyed by the source's path, size
and mtime (for a folder: those of every file in it), the split and `size`. First decode of the Tiny-ImageNet
archive, `time load_dataset('tiny-imagenet-200', split)` on this project's 2-core AMD EPYC (load average 3.5-4
from a training run beside it): "train" 33 s (reading the archive ~9 s, decoding 100,000 JPEGs ~17 s, mean/std
~9 s; 1.8 GB peak memory), "val" 12 s; the cached train split (a 1.2 GB .npz) then loads in ~5 s. At load
average 10 (more jobs beside it) the same took 82 s, 20 s and 21 s. Decoding in 2 worker processes was slower
there (the cores are taken), so it runs in one.

    /usr/bin/python3 -c "from training.data import load_dataset; d = load_dataset('tiny-imagenet-200', 'val'); print(d.x.shape, d.labels[:3], d.mean, d.std)"
"""
from __future__ import annotations

import hashlib
import io
import math
import os
import pickle
import posixpath
import re
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
DEFAULT_DATA = str(Path(__file__).resolve().parent.parent.parent / "shared" / "datasets" / "cifar10")
TINY_IMAGENET_DATA = str(Path(DEFAULT_DATA).parent / "tiny-imagenet-200" / "tiny-imagenet-200.tar.gz")
NAMED_SOURCES = {"cifar10": DEFAULT_DATA, "tiny-imagenet-200": TINY_IMAGENET_DATA}
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
    _save_cache(cache, x=x, y=y)
    return x, y


def _save_cache(cache: Path, **arrays: np.ndarray) -> None:
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    # A per-process temp name: two runs started together both decode, and a shared name let one
    # process move the other's half-written file away (FileNotFoundError in the second os.replace).
    tmp = cache.with_name(f"{cache.stem}.{os.getpid()}.tmp.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, cache)


_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
_TINY_IMAGENET_METADATA = ("wnids.txt", "words.txt", "val_annotations.txt")
_SPLIT_FOLDERS = ("train", "val", "test")
_HELD_OUT_ALIAS = {"val": "test", "test": "val"}
HOLDOUT_EVERY = 10  # a folder-per-class set without split folders holds out every 10th image of each class
_CACHE_FORMAT = 1  # part of the cache key of the sets below: raise it when their decoding or labelling changes


@dataclass(frozen=True)
class Dataset:
    """One split of an image set. `labels[k]` names the classifier's output k (shipped in model.json), `ids[k]`
    is its stable id: a Tiny-ImageNet wnid, a folder name, the class name for CIFAR-10. `mean` / `std`: this
    split's per-channel pixel statistics in [0, 1] (population std); a model is normalised with its train split's."""
    x: np.ndarray                 # uint8 [N, H, W, 3], RGB
    y: np.ndarray                 # int64 [N], indices into labels
    labels: tuple[str, ...]
    ids: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]


def channel_stats(x: np.ndarray, chunk: int = 1024) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and population std of uint8 [N, H, W, 3] images scaled to [0, 1], exactly: from 256-bin
    histograms, `chunk` images at a time (no float copy of a 1.2 GB training set)."""
    counts = np.zeros((3, 256), dtype=np.int64)
    for i in range(0, len(x), chunk):
        pixels = x[i:i + chunk].reshape(-1, 3)
        for c in range(3):
            counts[c] += np.bincount(pixels[:, c], minlength=256)
    values = np.arange(256) / 255.0
    mean = counts @ values / counts.sum(1)
    var = counts @ values ** 2 / counts.sum(1) - mean ** 2
    return tuple(mean.tolist()), tuple(np.sqrt(var).tolist())


def _is_cifar(path: Path) -> bool:
    """The sources `load_split` reads (see `_resolve`)."""
    if path.is_dir():
        return any((path / name).exists() for name in
                   ("train.tar.gz", "test.tar.gz", "cifar-10-python.tar.gz", "cifar-10-batches-py", "test_batch"))
    return "cifar-10-python" in path.name or path.name in ("train.tar.gz", "test.tar.gz")


def _wanted(name: str) -> bool:
    parts = name.split("/")
    return not any(p.startswith(".") for p in parts) and (
        name.lower().endswith(_IMAGE_SUFFIXES) or parts[-1] in _TINY_IMAGENET_METADATA)


def _read_files(path: Path) -> dict[str, bytes]:
    """Relative POSIX path -> bytes of every image and Tiny-ImageNet metadata file in a folder or archive
    (the JPEGs are small: Tiny-ImageNet's 110,000 hold ~210 MB)."""
    if path.is_dir():
        rel = ((p, p.relative_to(path).as_posix()) for p in path.rglob("*") if p.is_file())
        return {name: p.read_bytes() for p, name in rel if _wanted(name)}
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            return {posixpath.normpath(i.filename): archive.read(i) for i in archive.infolist()
                    if not i.is_dir() and _wanted(posixpath.normpath(i.filename))}
    if tarfile.is_tarfile(path):
        with tarfile.open(path) as archive:
            return {posixpath.normpath(m.name): archive.extractfile(m).read() for m in archive
                    if m.isfile() and _wanted(posixpath.normpath(m.name))}
    raise ValueError(f"{path}: not a folder, a .zip or a tar archive")


def _tiny_imagenet_root(files: dict[str, bytes]) -> str | None:
    """The folder prefix ("" or "tiny-imagenet-200/") of the outermost wnids.txt, or None: not Tiny-ImageNet."""
    roots = [name[:-len("wnids.txt")] for name in files if name.split("/")[-1] == "wnids.txt"]
    return min(roots, key=len) if roots else None


def _tiny_imagenet_split(files: dict[str, bytes], split: str, source: str):
    root = _tiny_imagenet_root(files)

    def text(name: str) -> str:
        if root + name not in files:
            raise FileNotFoundError(f"{source}: Tiny-ImageNet layout (it has {root}wnids.txt) without {root}{name}")
        return files[root + name].decode()

    ids = tuple(sorted(set(text("wnids.txt").split())))
    names = dict(line.split("\t", 1) for line in text("words.txt").splitlines() if "\t" in line)
    unnamed = [w for w in ids if w not in names]
    if unnamed:
        raise ValueError(f"{source}: {root}words.txt has no names for {len(unnamed)} wnids, e.g. {unnamed[0]}")
    labels = tuple(names[w].split(",")[0].strip() for w in ids)
    if split == "train":
        pattern = re.compile(re.escape(root) + r"train/([^/]+)/images/[^/]+$")
        pairs = [(name, m.group(1)) for name in files if (m := pattern.match(name))]
    else:
        notes = text("val/val_annotations.txt")
        wnid_of = dict(line.split("\t")[:2] for line in notes.splitlines() if line.strip())
        images = [name for name in files if name.startswith(root + "val/images/")
                  and name.lower().endswith(_IMAGE_SUFFIXES)]
        for name in images:
            if posixpath.basename(name) not in wnid_of:
                raise ValueError(f"{source}: {name} has no line in {root}val/val_annotations.txt")
        if len(images) != len(wnid_of):
            listed = set(wnid_of) - {posixpath.basename(name) for name in images}
            raise ValueError(f"{source}: {root}val/val_annotations.txt lists {len(listed)} images that are not in "
                             f"{root}val/images/, e.g. {sorted(listed)[0]}")
        pairs = [(name, wnid_of[posixpath.basename(name)]) for name in images]
    if not pairs:
        where = "train/<wnid>/images/" if split == "train" else "val/images/"
        raise FileNotFoundError(f"{source}: no {split} images under {root}{where}")
    index = {w: k for k, w in enumerate(ids)}
    for name, wnid in pairs:
        if wnid not in index:
            raise ValueError(f"{source}: {name} belongs to {wnid}, which is not in {root}wnids.txt")
    pairs.sort()
    return [name for name, _ in pairs], np.array([index[w] for _, w in pairs], dtype=np.int64), labels, ids


def _folder_split(files: dict[str, bytes], split: str, source: str):
    images = sorted(name for name in files if name.lower().endswith(_IMAGE_SUFFIXES))
    if not images:
        raise FileNotFoundError(f"{source}: no .jpg, .jpeg or .png images")
    parts = [name.split("/") for name in images]
    # An archive usually wraps the set in one top folder: drop leading folders all images share (not a split's).
    while all(len(p) > 2 and p[0] == parts[0][0] for p in parts) and parts[0][0] not in _SPLIT_FOLDERS:
        parts = [p[1:] for p in parts]
    splits = {p[0] for p in parts} & set(_SPLIT_FOLDERS)
    layout = "<split>/<class>/<image>" if splits else "<class>/<image>"
    for name, p in zip(images, parts):
        if len(p) != (3 if splits else 2) or (splits and p[0] not in splits):
            raise ValueError(f"{source}: {name} is not at {layout} like {images[0]} (split folders: train, val, test)")
    if splits:
        classes = sorted({p[1] for p in parts})
        folder = split if split in splits else _HELD_OUT_ALIAS.get(split)
        if folder not in splits:
            raise FileNotFoundError(f"{source}: no {split!r} folder, only {sorted(splits)}")
        chosen = [(name, p[1]) for name, p in zip(images, parts) if p[0] == folder]
    else:
        classes = sorted({p[0] for p in parts})
        seen: dict[str, int] = {}
        chosen = []
        for name, (cls, _) in zip(images, parts):  # sorted, so each class's images come in name order
            seen[cls] = seen.get(cls, 0) + 1
            if (seen[cls] % HOLDOUT_EVERY == 0) == (split != "train"):
                chosen.append((name, cls))
    if len(classes) < 2:
        raise ValueError(f"{source}: only one class folder ({classes[0]}); a classifier needs two or more")
    if not chosen:
        raise FileNotFoundError(f"{source}: no {split} images (a class needs {HOLDOUT_EVERY} images to hold one out)")
    index = {cls: k for k, cls in enumerate(classes)}
    return [name for name, _ in chosen], np.array([index[c] for _, c in chosen], dtype=np.int64), classes, classes


def _decode_images(source: str, names: list[str], files: dict[str, bytes], size: int | None) -> np.ndarray:
    from PIL import Image, ImageOps

    out = None
    for i, name in enumerate(names):
        try:
            img = Image.open(io.BytesIO(files[name])).convert("RGB")
        except OSError as e:
            raise ValueError(f"{source}: cannot decode {name}: {e}") from e
        if size:
            img = ImageOps.fit(img, (size, size), Image.Resampling.BICUBIC)
        if out is None:  # filled in place: np.stack would hold every image twice
            out = np.empty((len(names), img.height, img.width, 3), dtype=np.uint8)
        elif img.size != (out.shape[2], out.shape[1]):
            raise ValueError(f"{source}: {name} is {img.width}x{img.height}, expected {out.shape[2]}x{out.shape[1]} "
                             f"like {names[0]}; resize the images to one size or pass size=N")
        out[i] = np.asarray(img)
    return out


def _fingerprint(path: Path) -> str:
    """Path, size and mtime of the archive, or of every file in the folder (a folder's own mtime misses edits)."""
    if path.is_file():
        stat = path.stat()
        return f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    stats = sorted(f"{p.relative_to(path)}|{s.st_size}|{s.st_mtime_ns}"
                   for p in path.rglob("*") if p.is_file() for s in [p.stat()])
    return f"{path.resolve()}|" + "\n".join(stats)


def load_dataset(source: str, split: str, size: int | None = None) -> Dataset:
    """Split "train", "val" or "test" of a CIFAR-10, Tiny-ImageNet or folder-per-class source (module doc);
    decoded once, then cached. `size=N`: resize and centre-crop every image to NxN (not for CIFAR-10)."""
    if split not in _SPLIT_FOLDERS:
        raise ValueError(f"split must be one of {_SPLIT_FOLDERS}, got {split!r}")
    path = Path(source if Path(source).exists() else NAMED_SOURCES.get(source, source))
    if not path.exists():
        raise FileNotFoundError(f"no dataset at {source!r}: give a folder or an archive, or one of {sorted(NAMED_SOURCES)}")
    if _is_cifar(path):
        if size is not None:
            raise ValueError(f"{source}: CIFAR-10 is read at 32x32; size= is for other image sets")
        x, y = load_split(str(path), "train" if split == "train" else "test")
        return Dataset(x, y, CLASSES, CLASSES, *channel_stats(x))
    stem = re.sub(r"(\.tar\.gz|\.tgz|\.tar|\.zip)$", "", path.name)
    key = hashlib.sha1(f"{_fingerprint(path)}|{split}|{size}|{_CACHE_FORMAT}".encode()).hexdigest()[:16]
    cache = CACHE_DIR / f"{re.sub(r'[^A-Za-z0-9._-]+', '_', stem)}-{split}-{key}.npz"
    if not cache.exists():
        files = _read_files(path)
        pick = _tiny_imagenet_split if _tiny_imagenet_root(files) is not None else _folder_split
        names, y, labels, ids = pick(files, split, source)
        x = _decode_images(source, names, files, size)
        del files
        mean, std = channel_stats(x)
        _save_cache(cache, x=x, y=y, labels=np.array(labels), ids=np.array(ids), mean=np.array(mean), std=np.array(std))
        return Dataset(x, y, tuple(labels), tuple(ids), mean, std)
    with np.load(cache) as z:
        return Dataset(z["x"], z["y"], tuple(z["labels"].tolist()), tuple(z["ids"].tolist()),
                       tuple(z["mean"].tolist()), tuple(z["std"].tolist()))


def to_tensor(x: np.ndarray) -> torch.Tensor:
    """uint8 NHWC numpy -> uint8 NCHW torch (kept as uint8 until the batch is drawn)."""
    return torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()


def normalize(x_uint8: torch.Tensor, mean: tuple, std: tuple) -> torch.Tensor:
    """(x / 255 - mean) / std per channel: the formula docs/model-format.md fixes for the runtime."""
    m = torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1)
    s = torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1)
    return (x_uint8.float() / 255.0 - m) / s


def _reflect(index: torch.Tensor, n: int) -> torch.Tensor:
    """Indices in [-(n-1), 2(n-1)] mirrored into [0, n) as reflect padding does (the edge pixel is not repeated)."""
    index = index.abs()
    return torch.where(index >= n, 2 * (n - 1) - index, index)


def augment(x: torch.Tensor, pad: int, generator: torch.Generator) -> torch.Tensor:
    """Random horizontal flip and random translation by up to `pad` pixels each way, the uncovered border
    filled by reflection (F.pad's "reflect" + crop, as indices: works on uint8 too), batched."""
    n, _, h, w = x.shape
    flip = torch.rand(n, generator=generator) < 0.5
    x = torch.where(flip.view(n, 1, 1, 1).to(x.device), x.flip(3), x)
    if pad == 0:
        return x
    if pad >= min(h, w):
        raise ValueError(f"pad {pad} must be smaller than the image ({h}x{w})")
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=generator)
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=generator)
    rows = _reflect(dy.view(n, 1) - pad + torch.arange(h).view(1, h), h).to(x.device)  # [n, h]
    cols = _reflect(dx.view(n, 1) - pad + torch.arange(w).view(1, w), w).to(x.device)  # [n, w]
    idx_n = torch.arange(n, device=x.device).view(n, 1, 1, 1)
    idx_c = torch.arange(x.shape[1], device=x.device).view(1, -1, 1, 1)
    return x[idx_n, idx_c, rows.view(n, 1, h, 1), cols.view(n, 1, 1, w)]


def random_resized_crop(x: torch.Tensor, generator: torch.Generator, scale: tuple = (0.35, 1.0),
                        ratio: tuple = (3 / 4, 4 / 3), flip: bool = True) -> torch.Tensor:
    """Per image, a box covering a uniform `scale` fraction of its area with a log-uniform aspect ratio (width /
    height) in `ratio`, at a uniform position, resampled bilinearly to the input's size and mirrored with
    probability 1/2 (`flip`): Inception-style cropping as one batched grid_sample. A box side longer than the
    image is cut to it. uint8 in, uint8 out (rounded); float in, float out. The draws come from `generator`
    (on the CPU) whatever device `x` is on."""
    n, c, h, w = x.shape
    area = torch.empty(n).uniform_(scale[0], scale[1], generator=generator)
    aspect = torch.empty(n).uniform_(math.log(ratio[0]), math.log(ratio[1]), generator=generator).exp()
    box_w = (area * aspect * h / w).sqrt().clamp(max=1.0)  # box sides as fractions of the image's
    box_h = (area / aspect * w / h).sqrt().clamp(max=1.0)
    centre_x = box_w / 2 + torch.rand(n, generator=generator) * (1 - box_w)
    centre_y = box_h / 2 + torch.rand(n, generator=generator) * (1 - box_h)
    mirror = torch.rand(n, generator=generator) < (0.5 if flip else 0.0)
    theta = torch.zeros(n, 2, 3)  # output coordinates in [-1, 1] -> input coordinates
    theta[:, 0, 0] = torch.where(mirror, -box_w, box_w)
    theta[:, 0, 2] = 2 * centre_x - 1
    theta[:, 1, 1] = box_h
    theta[:, 1, 2] = 2 * centre_y - 1
    grid = torch.nn.functional.affine_grid(theta, [n, c, h, w], align_corners=False).to(x.device)
    out = torch.nn.functional.grid_sample(x.float(), grid, mode="bilinear", padding_mode="border",
                                          align_corners=False)
    return out.round().clamp(0, 255).to(torch.uint8) if x.dtype == torch.uint8 else out
