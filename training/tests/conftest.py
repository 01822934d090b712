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
