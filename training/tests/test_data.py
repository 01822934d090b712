"""Data loading from both accepted sources, and batched augmentation."""
import io
import pickle
import tarfile

import numpy as np
import torch
from PIL import Image

from training import data


def _add(tar, name, payload: bytes):
    info = tarfile.TarInfo(name)
    info.size = len(payload)
    tar.addfile(info, io.BytesIO(payload))


def test_jpeg_folder_archive(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "CACHE_DIR", tmp_path / "cache")
    with tarfile.open(tmp_path / "test.tar.gz", "w:gz") as tar:
        for cls, color in (("cat", (255, 0, 0)), ("airplane", (0, 0, 255))):
            buf = io.BytesIO()
            Image.new("RGB", (32, 32), color).save(buf, "PNG")
            _add(tar, f"test/{cls}/0000.png", buf.getvalue())
    x, y = data.load_split(str(tmp_path), "test")
    assert x.shape == (2, 32, 32, 3) and x.dtype == np.uint8
    assert y.tolist() == [0, 3]  # sorted by path: airplane, cat
    assert x[0, 0, 0].tolist() == [0, 0, 255]
    x2, _ = data.load_split(str(tmp_path), "test")  # from the cache
    assert np.array_equal(x, x2) and any((tmp_path / "cache").iterdir())


def test_two_processes_decoding_at_once_both_get_the_data(cifar_archive, monkeypatch):
    """A second process decodes and writes the cache while the first is still writing its own copy."""
    pids = iter([101, 202])
    monkeypatch.setattr(data.os, "getpid", lambda: next(pids))
    savez, second = np.savez, []

    def savez_while_another_process_decodes(path, **arrays):
        savez(path, **arrays)
        if not second:  # the first process has written its temp file but not yet renamed it
            second.append("decoding")
            second.append(data.load_split(cifar_archive, "test"))

    monkeypatch.setattr(data.np, "savez", savez_while_another_process_decodes)
    x, y = data.load_split(cifar_archive, "test")
    x2, y2 = second[1]
    assert np.array_equal(x, x2) and np.array_equal(y, y2)
    assert [p.name for p in data.CACHE_DIR.iterdir() if "tmp" in p.name] == []


def test_official_python_archive(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "CACHE_DIR", tmp_path / "cache")
    raw = np.arange(2 * 3072, dtype=np.uint8).reshape(2, 3072)
    with tarfile.open(tmp_path / "cifar-10-python.tar.gz", "w:gz") as tar:
        _add(tar, "cifar-10-batches-py/test_batch", pickle.dumps({b"data": raw, b"labels": [7, 2]}))
    x, y = data.load_split(str(tmp_path / "cifar-10-python.tar.gz"), "test")
    assert y.tolist() == [7, 2]
    assert x[1, 0, 0].tolist() == [raw[1, 0], raw[1, 1024], raw[1, 2048]]


def test_missing_data_names_the_choices(tmp_path):
    try:
        data.load_split(str(tmp_path), "train")
    except FileNotFoundError as e:
        assert "cifar-10-python.tar.gz" in str(e) and "train.tar.gz" in str(e)
    else:
        raise AssertionError


def test_augment_flips_and_translates_within_bounds():
    g = torch.Generator().manual_seed(0)
    x = torch.arange(2 * 3 * 8 * 8, dtype=torch.float32).view(2, 3, 8, 8)
    out = data.augment(x, 2, g)
    assert out.shape == x.shape
    assert set(out.unique().tolist()) <= set(x.unique().tolist())  # reflect padding only reuses pixels
