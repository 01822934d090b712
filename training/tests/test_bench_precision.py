"""A smoke test: training/bench_precision.py runs both precisions, from a fresh network or a checkpoint, and
prints its table (its timings are the benchmark's business, not a test's)."""
from training import bench_precision, train
from training.tests.test_train import TINY_RUN


def table_rows(out: str) -> list[list[str]]:
    return [line.strip("|").split(" | ") for line in out.splitlines() if line.startswith("| fp32") or line.startswith("| bf16")]


def test_prints_both_precisions_with_fp32_as_the_reference(cifar_archive, tmp_path, capsys):
    bench_precision.main(TINY_RUN + [f"--data={cifar_archive}", "--steps=2", "--batch_size=4"])
    rows = table_rows(capsys.readouterr().out)
    assert [r[0].strip() for r in rows] == ["fp32", "bf16"]
    assert all(float(r[1]) > 0 for r in rows)  # median seconds per step

    train.main(TINY_RUN + [f"--data={cifar_archive}", f"--out={tmp_path}", "--stop_after=1"])
    capsys.readouterr()
    bench_precision.main([f"--data={cifar_archive}", f"--ckpt={tmp_path / 'ckpt.pt'}", "--steps=1", "--batch_size=4",
                          "--threads=1"])
    out = capsys.readouterr().out
    assert out.startswith(str(tmp_path / "ckpt.pt")) and len(table_rows(out)) == 2


def test_a_reference_network_steps_between_the_timed_ones(cifar_archive, tmp_path, capsys):
    train.main(TINY_RUN + [f"--data={cifar_archive}", f"--out={tmp_path}", "--stop_after=1"])
    capsys.readouterr()
    bench_precision.main(TINY_RUN + [f"--data={cifar_archive}", "--steps=2", "--batch_size=4", "--precisions=bf16",
                                     f"--reference={tmp_path / 'ckpt.pt'}"])
    out = capsys.readouterr().out
    assert [r[0].strip() for r in table_rows(out)] == ["bf16", "bf16"]  # the timed network's row, the reference's
    ratio = table_rows(out)[1]
    assert float(ratio[1]) > 0 and float(ratio[3]) <= float(ratio[2]) <= float(ratio[4])
