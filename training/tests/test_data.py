"""Data loading from both accepted sources, and batched augmentation."""
import io
import os
import pickle
import tarfile
import zipfile

import numpy as np
import pytest
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


# --- Tiny-ImageNet, folder-per-class sets, load_dataset ---------------------------------------------------

COLOURS = {"n01443537": (230, 120, 20), "n02099601": (20, 200, 60), "n04146614": (40, 60, 220)}
WORDS = ("n00001740\tentity\n"
         "n04146614\tschool bus\n"
         "n01443537\tgoldfish, Carassius auratus\n"
         "n02099601\tgolden retriever\n"
         "n09999999\tsomething, else, entirely\n")


def _jpeg(colour, mode="RGB", size=(64, 64)) -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, colour).save(buf, "JPEG", quality=95)
    return buf.getvalue()


def _write_tree(root, files: dict):
    for name, payload in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(payload)


def _tar_tree(path, files: dict):
    with tarfile.open(path, "w:gz") as tar:
        for name, payload in files.items():
            _add(tar, name, payload)


def tiny_imagenet_files(prefix="tiny-imagenet-200/") -> dict:
    """The real layout, 3 classes: 2 training images each (one of n02099601's is grayscale), 4 val images."""
    files = {prefix + "wnids.txt": b"n04146614\nn01443537\nn02099601\n",  # not sorted, as in the real file
             prefix + "words.txt": WORDS.encode()}
    for wnid, colour in COLOURS.items():
        for i in range(2):
            grey = wnid == "n02099601" and i == 1
            files[f"{prefix}train/{wnid}/images/{wnid}_{i}.JPEG"] = _jpeg(90 if grey else colour, "L" if grey else "RGB")
        files[f"{prefix}train/{wnid}/{wnid}_boxes.txt"] = f"{wnid}_0.JPEG\t0\t0\t63\t63\n".encode()
    val = ["n04146614", "n01443537", "n01443537", "n02099601"]
    files[prefix + "val/val_annotations.txt"] = "".join(
        f"val_{i}.JPEG\t{w}\t1\t2\t60\t61\n" for i, w in enumerate(val)).encode()
    for i, w in enumerate(val):
        files[f"{prefix}val/images/val_{i}.JPEG"] = _jpeg(COLOURS[w])
    return files


def _nearest_class(x):
    """Index (in sorted-wnid order) of the colour nearest each image's mean colour."""
    colours = np.array([COLOURS[w] for w in sorted(COLOURS)], dtype=np.float64)
    mean = x.reshape(len(x), -1, 3).mean(1)
    return np.abs(mean[:, None] - colours[None]).sum(2).argmin(1)


def test_tiny_imagenet_archive(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "CACHE_DIR", tmp_path / "cache")
    _tar_tree(tmp_path / "tiny-imagenet-200.tar.gz", tiny_imagenet_files())
    train = data.load_dataset(str(tmp_path / "tiny-imagenet-200.tar.gz"), "train")
    assert train.ids == ("n01443537", "n02099601", "n04146614")  # sorted wnids, not wnids.txt's order
    assert train.labels == ("goldfish", "golden retriever", "school bus")  # first name in words.txt
    assert train.x.shape == (6, 64, 64, 3) and train.x.dtype == np.uint8
    assert train.y.tolist() == [0, 0, 1, 1, 2, 2] and train.y.dtype == np.int64
    grey = train.x[3]  # n02099601_1.JPEG, stored as a one-channel JPEG
    assert np.array_equal(grey[..., 0], grey[..., 1]) and np.array_equal(grey[..., 0], grey[..., 2])
    assert _nearest_class(train.x[[0, 1, 2, 4, 5]]).tolist() == [0, 0, 1, 2, 2]
    assert train.mean == data.channel_stats(train.x)[0] and len(train.std) == 3

    val = data.load_dataset(str(tmp_path / "tiny-imagenet-200.tar.gz"), "val")
    assert val.y.tolist() == [2, 0, 0, 1]  # from val_annotations.txt
    assert _nearest_class(val.x).tolist() == val.y.tolist()
    assert val.labels == train.labels

    def no_reading(path):
        raise AssertionError(f"decoded {path} again")
    monkeypatch.setattr(data, "_read_files", no_reading)
    again = data.load_dataset(str(tmp_path / "tiny-imagenet-200.tar.gz"), "train")  # from the cache
    assert np.array_equal(again.x, train.x) and np.array_equal(again.y, train.y)
    assert (again.labels, again.ids, again.mean, again.std) == (train.labels, train.ids, train.mean, train.std)
    assert len(list((tmp_path / "cache").glob("tiny-imagenet-200-train-*.npz"))) == 1


def test_test_is_val_for_tiny_imagenet(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "CACHE_DIR", tmp_path / "cache")
    _tar_tree(tmp_path / "t.tar.gz", tiny_imagenet_files())
    val, test = (data.load_dataset(str(tmp_path / "t.tar.gz"), s) for s in ("val", "test"))
    assert np.array_equal(val.x, test.x) and np.array_equal(val.y, test.y)


def test_tiny_imagenet_extracted_folder_matches_the_archive(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "CACHE_DIR", tmp_path / "cache")
    files = tiny_imagenet_files()
    _tar_tree(tmp_path / "tiny-imagenet-200.tar.gz", files)
    _write_tree(tmp_path / "extracted", files)
    archive = data.load_dataset(str(tmp_path / "tiny-imagenet-200.tar.gz"), "train")
    for folder in (tmp_path / "extracted", tmp_path / "extracted" / "tiny-imagenet-200"):
        d = data.load_dataset(str(folder), "train")
        assert np.array_equal(d.x, archive.x) and np.array_equal(d.y, archive.y) and d.labels == archive.labels


def test_tiny_imagenet_errors_name_the_file(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "CACHE_DIR", tmp_path / "cache")
    files = tiny_imagenet_files("")
    files["val/images/val_9.JPEG"] = _jpeg((0, 0, 0))
    _write_tree(tmp_path / "unlisted", files)
    with pytest.raises(ValueError, match="val/images/val_9.JPEG has no line in val/val_annotations.txt"):
        data.load_dataset(str(tmp_path / "unlisted"), "val")

    files = tiny_imagenet_files("")
    files["train/n07777777/images/n07777777_0.JPEG"] = _jpeg((0, 0, 0))
    _write_tree(tmp_path / "stray", files)
    with pytest.raises(ValueError, match="n07777777_0.JPEG belongs to n07777777, which is not in wnids.txt"):
        data.load_dataset(str(tmp_path / "stray"), "train")

    files = tiny_imagenet_files("")
    files["words.txt"] = b"n01443537\tgoldfish\n"
    _write_tree(tmp_path / "unnamed", files)
    with pytest.raises(ValueError, match="words.txt has no names for 2 wnids, e.g. n02099601"):
        data.load_dataset(str(tmp_path / "unnamed"), "train")


def _png(colour, size=(16, 16)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "PNG")
    return buf.getvalue()


def test_folder_per_class_with_split_folders(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "CACHE_DIR", tmp_path / "cache")
    files = {"train/zebra/a.png": _png((0, 0, 1)), "train/apple/b.png": _png((0, 0, 2)),
             "train/apple/a.png": _png((0, 0, 3)), "train/mango/x.jpg": _png((0, 0, 4)),
             "val/mango/v.png": _png((0, 0, 5)), "val/zebra/w.png": _png((0, 0, 6)),
             "train/.hidden/c.png": _png((9, 9, 9)), "train/apple/._a.png": b"AppleDouble junk",
             "train/apple/notes.txt": b"not an image"}
    _write_tree(tmp_path / "fruit", files)
    train = data.load_dataset(str(tmp_path / "fruit"), "train")
    assert train.labels == train.ids == ("apple", "mango", "zebra")
    assert train.y.tolist() == [0, 0, 1, 2] and train.x[:, 0, 0, 2].tolist() == [3, 2, 4, 1]  # sorted by path
    test = data.load_dataset(str(tmp_path / "fruit"), "test")  # no test/ folder: val/ stands for it
    assert test.y.tolist() == [1, 2] and test.labels == train.labels

    # the same set zipped under one top folder, as an archive usually is
    with zipfile.ZipFile(tmp_path / "fruit.zip", "w") as z:
        for name, payload in files.items():
            z.writestr("fruit/" + name, payload)
    zipped = data.load_dataset(str(tmp_path / "fruit.zip"), "train")
    assert np.array_equal(zipped.x, train.x) and np.array_equal(zipped.y, train.y) and zipped.labels == train.labels


def test_folder_per_class_without_split_folders_holds_out_every_tenth(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "CACHE_DIR", tmp_path / "cache")
    files = {f"cats/{i:02d}.png": _png((i, 0, 0)) for i in range(12)}
    files.update({f"dogs/{i:02d}.png": _png((i, 100, 0)) for i in range(10)})
    _tar_tree(tmp_path / "pets.tgz", {"pets/" + k: v for k, v in files.items()})
    train = data.load_dataset(str(tmp_path / "pets.tgz"), "train")
    val = data.load_dataset(str(tmp_path / "pets.tgz"), "val")
    assert train.labels == ("cats", "dogs") and len(train.y) == 20
    assert val.y.tolist() == [0, 1] and val.x[:, 0, 0, :2].tolist() == [[9, 0], [9, 100]]  # each class's 10th
    assert not set(map(tuple, train.x[:, 0, 0].tolist())) & set(map(tuple, val.x[:, 0, 0].tolist()))


def test_folder_layout_errors(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "CACHE_DIR", tmp_path / "cache")
    _write_tree(tmp_path / "mixed", {"a/1.png": _png((1, 1, 1)), "b/1.png": _png((1, 1, 1), (16, 12))})
    with pytest.raises(ValueError, match=r"b/1.png is 16x12, expected 16x16 like a/1.png; .* size=N"):
        data.load_dataset(str(tmp_path / "mixed"), "train")
    resized = data.load_dataset(str(tmp_path / "mixed"), "train", size=8)
    assert resized.x.shape == (2, 8, 8, 3)

    _write_tree(tmp_path / "deep", {"train/a/1.png": _png(0), "train/b/1.png": _png(0), "train/b/x/2.png": _png(0)})
    with pytest.raises(ValueError, match=r"train/b/x/2.png is not at <split>/<class>/<image>"):
        data.load_dataset(str(tmp_path / "deep"), "train")
    _write_tree(tmp_path / "onlytrain", {"train/a/1.png": _png(0), "train/b/1.png": _png(0)})
    with pytest.raises(FileNotFoundError, match=r"no 'val' folder, only \['train'\]"):
        data.load_dataset(str(tmp_path / "onlytrain"), "val")
    _write_tree(tmp_path / "one", {"a/1.png": _png(0), "a/2.png": _png(0)})
    with pytest.raises(ValueError, match="only one class folder"):
        data.load_dataset(str(tmp_path / "one"), "train")
    (tmp_path / "broken").mkdir()
    _write_tree(tmp_path / "broken", {"a/1.png": _png(0), "b/1.jpg": b"not a jpeg"})
    with pytest.raises(ValueError, match="cannot decode b/1.jpg"):
        data.load_dataset(str(tmp_path / "broken"), "train")
    with pytest.raises(FileNotFoundError, match="cifar10"):
        data.load_dataset(str(tmp_path / "nowhere"), "train")


def test_folder_cache_follows_the_files(tmp_path, monkeypatch):
    """A folder's cache key covers every file in it: editing one image decodes again."""
    monkeypatch.setattr(data, "CACHE_DIR", tmp_path / "cache")
    _write_tree(tmp_path / "set", {"a/1.png": _png((1, 2, 3)), "b/1.png": _png((4, 5, 6))})
    assert data.load_dataset(str(tmp_path / "set"), "train").x[1, 0, 0].tolist() == [4, 5, 6]
    (tmp_path / "set" / "b" / "1.png").write_bytes(_png((7, 8, 9), (16, 16)))
    os.utime(tmp_path / "set" / "b" / "1.png", ns=(1, 1))
    assert data.load_dataset(str(tmp_path / "set"), "train").x[1, 0, 0].tolist() == [7, 8, 9]


def test_load_dataset_reads_cifar_through_load_split_and_its_cache(cifar_archive):
    d = data.load_dataset(cifar_archive, "test")
    x, y = data.load_split(cifar_archive, "test")
    assert np.array_equal(d.x, x) and np.array_equal(d.y, y) and d.labels == d.ids == data.CLASSES
    assert np.array_equal(data.load_dataset(cifar_archive, "val").x, x)
    assert [p.name.split("-")[:2] for p in data.CACHE_DIR.iterdir()] == [["cifar10", "test"]]
    with pytest.raises(ValueError, match="size= is for other image sets"):
        data.load_dataset(cifar_archive, "train", size=64)


def test_channel_stats_is_exact():
    x = np.random.default_rng(1).integers(0, 256, (5, 7, 9, 3), dtype=np.uint8)
    mean, std = data.channel_stats(x, chunk=2)
    pixels = x.reshape(-1, 3).astype(np.float64) / 255
    assert np.allclose(mean, pixels.mean(0), atol=1e-12) and np.allclose(std, pixels.std(0), atol=1e-12)


# --- augmentation -----------------------------------------------------------------------------------------

def _augment_with_f_pad(x, pad, generator):
    """augment as it was written first (F.pad + crop), the reference for its index form."""
    n, _, h, w = x.shape
    flip = torch.rand(n, generator=generator) < 0.5
    x = torch.where(flip.view(n, 1, 1, 1), x.flip(3), x)
    padded = torch.nn.functional.pad(x, (pad, pad, pad, pad), mode="reflect")
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=generator)
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=generator)
    rows = (dy.view(n, 1) + torch.arange(h).view(1, h))
    cols = (dx.view(n, 1) + torch.arange(w).view(1, w))
    return padded[torch.arange(n).view(n, 1, 1, 1), torch.arange(x.shape[1]).view(1, -1, 1, 1),
                  rows.view(n, 1, h, 1), cols.view(n, 1, 1, w)]


def test_augment_draws_what_it_drew_with_f_pad_and_takes_uint8():
    x = torch.randint(0, 256, (32, 3, 64, 64), generator=torch.Generator().manual_seed(3), dtype=torch.uint8)
    for pad in (2, 8):
        want = _augment_with_f_pad(x.float(), pad, torch.Generator().manual_seed(pad))
        assert torch.equal(data.augment(x.float(), pad, torch.Generator().manual_seed(pad)), want)
        assert torch.equal(data.augment(x, pad, torch.Generator().manual_seed(pad)), want.to(torch.uint8))
    shifted = data.augment(x, 4, torch.Generator().manual_seed(0))
    moved = [not (torch.equal(a, b) or torch.equal(a, b.flip(2))) for a, b in zip(shifted, x)]
    assert sum(moved) >= 24  # 1 - 1/81 of the draws translate


def test_random_resized_crop_is_deterministic_and_keeps_the_shape():
    x = torch.randint(0, 256, (16, 3, 64, 64), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    a, b = data.random_resized_crop(x, g1), data.random_resized_crop(x, g2)
    assert a.shape == x.shape and a.dtype == torch.uint8 and torch.equal(a, b)
    assert torch.equal(torch.rand(3, generator=g1), torch.rand(3, generator=g2))  # both generators moved alike
    assert not torch.equal(data.random_resized_crop(x, g1), a)
    f = data.random_resized_crop(x.float() / 255, torch.Generator().manual_seed(5))
    assert f.dtype == torch.float32 and (f * 255 - a.float()).abs().max() <= 0.5 + 1e-3


def test_random_resized_crop_full_box_is_identity_or_mirror():
    x = torch.randint(0, 256, (64, 3, 64, 48), generator=torch.Generator().manual_seed(1), dtype=torch.uint8)
    g = torch.Generator().manual_seed(0)
    assert torch.equal(data.random_resized_crop(x, g, scale=(1, 1), ratio=(48 / 64, 48 / 64), flip=False), x)
    out = data.random_resized_crop(x, g, scale=(1, 1), ratio=(48 / 64, 48 / 64))
    mirrored = [torch.equal(o, i.flip(2)) for o, i in zip(out, x)]
    assert all(m or torch.equal(o, i) for m, o, i in zip(mirrored, out, x)) and 16 < sum(mirrored) < 48


def test_random_resized_crop_zooms_in():
    """A quarter-area box spreads half the image's width over all of it: a horizontal ramp's range halves."""
    ramp = torch.arange(64, dtype=torch.float32).view(1, 1, 1, 64).expand(8, 3, 64, 64)
    out = data.random_resized_crop(ramp, torch.Generator().manual_seed(0), scale=(0.25, 0.25), ratio=(1, 1),
                                   flip=False)
    span = out[:, 0, 0, -1] - out[:, 0, 0, 0]
    assert torch.allclose(span, torch.full((8,), 31.5), atol=1e-3)  # 32 source pixels, centre to centre
    assert len(set(out[:, 0, 0, 0].tolist())) > 1  # and the boxes sit at different places
