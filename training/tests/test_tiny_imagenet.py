"""Other data than CIFAR-10, end to end on a synthetic Tiny-ImageNet archive in the real layout: train.py takes the
classes, input size and normalization from --data, trains a four-stage 64x64 IamNN with random resized crops,
resumes, refuses data a run was not trained on; evaluate.py reports top-5 and every stage's histogram; export.py
ships the input size, the labels and the wnids. The proposed four-stage config is the one docs/training.md runs."""
import json
import shlex
from pathlib import Path

import numpy as np
import pytest
import torch

from training import data, evaluate, export, train
from training.model import TINY_IMAGENET, IamNN, ModelConfig, count_params, flops_table
from training.tests.conftest import TINY_IMAGENET_CLASSES

FOUR_STAGES = ["--stem_channels=4", "--widths=(4, 8, 8, 12)", "--bottlenecks=(2, 4, 4, 6)", "--max_iters=(2, 2, 3, 2)",
               "--act_hidden=8", "--batch_size=16", "--epochs=2", "--ponder_early_epochs=1", "--lr=0.05",
               "--threads=1", "--precision=fp32", "--augment=rrc"]
DOCS = Path(__file__).resolve().parents[2] / "docs" / "training.md"


def test_train_resume_evaluate_export(tiny_imagenet_archive, tmp_path):
    out = tmp_path / "run"
    train.main(FOUR_STAGES + [f"--data={tiny_imagenet_archive}", f"--out={out}", "--stop_after=1"])
    train.main([f"--out={out}", "--resume", "--threads=1"])  # the data, like the recipe, comes from the checkpoint
    ckpt = torch.load(out / "ckpt.pt")
    assert ckpt["epoch"] == 2 and ckpt["train_config"]["augment"] == "rrc"
    assert ckpt["model_config"]["num_classes"] == TINY_IMAGENET_CLASSES and ckpt["model_config"]["input_size"] == 64
    full = data.load_dataset(tiny_imagenet_archive, "train")
    assert ckpt["dataset"]["ids"] == sorted(ckpt["dataset"]["ids"]) and ckpt["dataset"]["ids"] == list(full.ids)
    assert ckpt["dataset"]["labels"][0] == "thing 0"  # words.txt's first name
    assert ckpt["normalization"] == {"mean": full.mean, "std": full.std}  # the train split's, not CIFAR-10's

    report_path = tmp_path / "report.json"
    evaluate.main([f"--ckpt={out / 'ckpt.pt'}", f"--out={report_path}", "--threads=1"])
    report = json.loads(report_path.read_text())
    assert report["dataset"].endswith("36 images of 12 classes")
    rows = {r["name"]: r for r in report["rows"]}
    shipped = report["rows"][0]
    assert 0 <= shipped["accuracy"] <= shipped["top5"] <= 1 and all("top5" in r for r in report["rows"])
    assert rows["IamNN 1 iteration per stage, mirror vote off"]["mean_iterations"] == [1, 1, 1, 1]
    assert [len(h) for h in report["iteration_histograms"]] == [2, 2, 3, 2]  # every stage, 1..its cap
    assert all(sum(h) == 36 for h in report["iteration_histograms"])
    assert shipped["flops_max_possible"] == flops_table(ModelConfig(**ckpt["model_config"]))["max"]
    evaluate.main([f"--ckpt={out / 'ckpt.pt'}", f"--out={tmp_path / 'smoke.json'}", "--threads=1", "--limit=10"])
    smoke = json.loads((tmp_path / "smoke.json").read_text())
    assert smoke["dataset"].endswith("; only its first 10") and sum(smoke["iteration_histograms"][0]) == 10

    web = tmp_path / "web"
    export.main([f"--ckpt={out / 'ckpt.pt'}", f"--out={web}"])
    spec = json.loads((web / "model.json").read_text())["iamnn"]
    assert (spec["input"]["height"], spec["input"]["width"]) == (64, 64) and len(spec["stages"]) == 4
    assert spec["labels"] == ckpt["dataset"]["labels"] and spec["ids"] == ckpt["dataset"]["ids"]
    assert spec["normalization"]["mean"] == list(full.mean)
    parity = json.loads((web / "parity.json").read_text())
    assert parity["shape"] == [32, 64, 64, 3] and len(parity["logits"][0]) == TINY_IMAGENET_CLASSES
    rebuilt, _ = export.load_web_model(web)  # model.json describes the network the checkpoint holds
    assert rebuilt.cfg.input_size == 64 and rebuilt.flops() == spec["flops"]


def test_a_run_refuses_data_it_was_not_trained_on(tiny_imagenet_archive, cifar_archive, tmp_path):
    out = tmp_path / "run"
    train.main(FOUR_STAGES + [f"--data={tiny_imagenet_archive}", f"--out={out}", "--stop_after=1"])
    with pytest.raises(SystemExit, match="trained on other classes"):
        train.main([f"--data={cifar_archive}", f"--out={out}", "--resume", "--threads=1"])
    with pytest.raises(SystemExit, match="trained on other classes"):
        evaluate.main([f"--ckpt={out / 'ckpt.pt'}", f"--data={cifar_archive}", f"--out={tmp_path / 'r.json'}"])
    with pytest.raises(SystemExit, match=r"num_classes=10 does not fit .*12 classes of 64x64 images"):
        train.main(FOUR_STAGES + [f"--data={tiny_imagenet_archive}", f"--out={tmp_path / 'new'}", "--num_classes=10"])
    with pytest.raises(SystemExit, match="valid values are translate, rrc"):
        train.main(FOUR_STAGES + [f"--data={tiny_imagenet_archive}", f"--out={tmp_path / 'new'}", "--augment=mixup"])
    with pytest.raises(SystemExit, match="--arch=resnet18 is the peer for 64x64"):
        train.main(FOUR_STAGES + [f"--data={tiny_imagenet_archive}", f"--out={tmp_path / 'new'}", "--arch=resnet20"])


def test_cifar10_keeps_its_fixed_normalization(cifar_archive):
    d = train.load_data(cifar_archive)
    assert d.normalization == {"mean": train.MEAN, "std": train.STD} and d.labels == d.ids == data.CLASSES
    assert d.input_size == 32 and d.x_train.shape == (50, 3, 32, 32)


def test_limits_cut_the_images_but_not_the_statistics(tiny_imagenet_archive):
    d = train.load_data(tiny_imagenet_archive, limit_train=20, limit_test=5)
    full = data.load_dataset(tiny_imagenet_archive, "train")
    assert d.x_train.shape == (20, 3, 64, 64) and d.x_test.shape == (5, 3, 64, 64)
    assert d.normalization == {"mean": full.mean, "std": full.std}


def test_augment_choice():
    x = torch.randint(0, 256, (8, 3, 64, 64), dtype=torch.uint8)
    norm = {"mean": (0.5,) * 3, "std": (0.25,) * 3}
    flat = data.normalize(x, norm["mean"], norm["std"])
    for tc, expected in ((train.TrainConfig(), lambda g: data.augment(flat, 2, g)),  # the default: CIFAR-10's
                         (train.TrainConfig(augment="rrc", rrc_min_scale=0.5),
                          lambda g: data.random_resized_crop(flat, g, scale=(0.5, 1.0)))):
        got = train.augment_batch(x, norm, tc, torch.Generator().manual_seed(3))
        assert torch.equal(got, expected(torch.Generator().manual_seed(3))), tc.augment


def documented_command(out: str) -> list[str]:
    """The options of docs/training.md's last `training.train` command that starts `--out=<out>` (not a --resume):
    for the IamNN run, its whole recipe in one command after the restarts that made it."""
    text = DOCS.read_text().replace("\\\n", " ")
    line = [line for line in text.splitlines()
            if "-m training.train" in line and f"--out={out}" in line and "--resume" not in line][-1]
    return shlex.split(line.split("-m training.train", 1)[1].split("#")[0])


def test_the_documented_runs_use_the_proposed_config():
    tc, mc, given = train.parse_args(documented_command("training/runs/tin-iamnn"))
    assert tc.data == "tiny-imagenet-200" and tc.augment == "rrc" and tc.precision == "bf16"
    assert ModelConfig(**{**vars(mc), "num_classes": 200, "input_size": 64}) == TINY_IMAGENET
    btc, bmc, _ = train.parse_args(documented_command("training/runs/tin-baseline"))
    assert ModelConfig(**{**vars(bmc), "num_classes": 200, "input_size": 64, "shared": True,
                          "zero_init_last_bn": True}) == TINY_IMAGENET and not bmc.shared
    ptc, _, _ = train.parse_args(documented_command("training/runs/tin-resnet18"))
    for other in (btc, ptc):  # the same recipe
        assert {k: v for k, v in vars(other).items() if k not in ("out", "arch")} == \
            {k: v for k, v in vars(tc).items() if k not in ("out", "arch")}
    assert ptc.arch == "resnet18"


def test_proposed_config_meets_the_parameter_target():
    shared, base = IamNN(TINY_IMAGENET), IamNN(ModelConfig(**{**vars(TINY_IMAGENET), "shared": False}))
    assert len(TINY_IMAGENET.widths) == 4 and TINY_IMAGENET.stem_pool
    assert count_params(shared) / count_params(base) <= 0.15
    logits, iters, _ = shared(torch.randn(2, 3, 64, 64))
    assert logits.shape == (2, 200) and iters.shape == (2, 4)


def test_the_committed_64x64_fixture_is_what_export_writes(tmp_path):
    """test/fixtures/tiny64, which the TypeScript parity test runs, comes from export.py --fixture --size=64."""
    committed = Path(__file__).resolve().parents[2] / "test" / "fixtures" / "tiny64"
    export.tiny_fixture(tmp_path, 64)
    new, old = (json.loads((d / "model.json").read_text()) for d in (tmp_path, committed))
    assert new["iamnn"] == old["iamnn"] and new["iamnn"]["ids"][0] == "n00000000"
    _, w_new = export.read_web_weights(tmp_path)
    _, w_old = export.read_web_weights(committed)
    assert all(np.allclose(w_new[k], w_old[k], atol=1e-6) for k in w_old)
    p_new, p_old = (json.loads((d / "parity.json").read_text()) for d in (tmp_path, committed))
    assert p_new["iterations"] == p_old["iterations"] and p_new["images"] == p_old["images"]
    assert np.abs(np.array(p_new["logits"]) - np.array(p_old["logits"])).max() < 1e-5
    varying = [len({it[k] for it in p_old["iterations"]}) > 1 for k in range(4)]
    assert all(varying), "the fixture's halting should vary per image in every stage"
