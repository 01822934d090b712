"""Shared fixtures."""
import io
import pickle
import tarfile

import numpy as np
import pytest

from training import data


@pytest.fixture()
def cifar_archive(tmp_path, monkeypatch):
    """An official-format CIFAR-10 python archive with 10 training images per batch file and 16 test images."""
    monkeypatch.setattr(data, "CACHE_DIR", tmp_path / "cache")
    rng = np.random.default_rng(0)
    path = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name, n in [(f"data_batch_{i}", 10) for i in range(1, 6)] + [("test_batch", 16)]:
            payload = pickle.dumps({b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                                    b"labels": rng.integers(0, 10, n).tolist()})
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return str(path)


TINY_IMAGENET_CLASSES = 12


@pytest.fixture()
def tiny_imagenet_archive(tmp_path, monkeypatch):
    """A Tiny-ImageNet-200 archive in the real layout (wnids.txt, words.txt, train/<wnid>/images/, val/images/ with
    val_annotations.txt) with 12 classes of 64x64 JPEGs: 8 training and 3 val images each, a class colour plus noise."""
    from PIL import Image

    monkeypatch.setattr(data, "CACHE_DIR", tmp_path / "cache")
    rng = np.random.default_rng(0)
    wnids = [f"n{1000000 + 7919 * k:08d}" for k in range(TINY_IMAGENET_CLASSES)]
    colours = rng.integers(30, 226, (TINY_IMAGENET_CLASSES, 3))

    def jpeg(k):
        pixels = np.clip(colours[k] + rng.normal(0, 25, (64, 64, 3)), 0, 255).astype(np.uint8)
        buf = io.BytesIO()
        Image.fromarray(pixels).save(buf, "JPEG", quality=90)
        return buf.getvalue()

    files = {"wnids.txt": "".join(w + "\n" for w in reversed(wnids)).encode(),
             "words.txt": "".join(f"{w}\tthing {k}, other name\n" for k, w in enumerate(wnids)).encode()}
    notes = []
    for k, w in enumerate(wnids):
        for i in range(8):
            files[f"train/{w}/images/{w}_{i}.JPEG"] = jpeg(k)
        for i in range(3):
            name = f"val_{3 * k + i}.JPEG"
            files[f"val/images/{name}"] = jpeg(k)
            notes.append(f"{name}\t{w}\t0\t0\t63\t63\n")
    files["val/val_annotations.txt"] = "".join(notes).encode()
    path = tmp_path / "tiny-imagenet-200.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name, payload in files.items():
            info = tarfile.TarInfo(f"tiny-imagenet-200/{name}")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return str(path)
