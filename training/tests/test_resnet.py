"""The static peers: He et al.'s CIFAR ResNets have their published sizes, option-A shortcuts carry the input
unchanged into the first channels, the FLOPs count matches a hook count of every conv and FC, and train.py /
evaluate.py train, resume and report a ResNet with the IamNN recipe; the 64x64 ResNet-18 is the ImageNet one
with a 3x3 stem, and trains and reports on Tiny-ImageNet's layout."""
import json

import pytest
import torch

from training import evaluate, train
from training.evaluate import load_ckpt
from training.resnet import BasicBlock, CifarResNet, ResNet18, ResNet18Config, ResNetConfig, resnet18_flops, resnet_flops
from training.tests.test_tiny_imagenet import FOUR_STAGES


@pytest.mark.parametrize("depth,params", [(20, 0.27e6), (56, 0.85e6)])  # the paper's Table 6
def test_published_sizes(depth, params):
    n = sum(p.numel() for p in CifarResNet(ResNetConfig(depth=depth)).parameters())
    assert n == pytest.approx(params, rel=0.01)


def count_flops(model, size=32):
    total = []

    def hook(m, inp, out):
        if isinstance(m, torch.nn.Conv2d):
            total.append(2 * out.numel() * m.in_channels * m.kernel_size[0] * m.kernel_size[1])
        else:
            total.append(2 * m.in_features * m.out_features)
    for m in model.modules():
        if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
            m.register_forward_hook(hook)
    model.eval()(torch.zeros(1, 3, size, size))
    return sum(total)


@pytest.mark.parametrize("depth", [20, 32, 56])
def test_flops_count_every_layer(depth):
    cfg = ResNetConfig(depth=depth)
    assert resnet_flops(cfg)["max"] == count_flops(CifarResNet(cfg))
    assert resnet_flops(ResNetConfig(depth=20))["max"] == pytest.approx(81.1e6, rel=1e-3)


def test_option_a_shortcut_is_subsample_and_zero_pad():
    block = BasicBlock(16, 32, 2).eval()
    for bn in (block.bn1, block.bn2):  # the residual branch off: the block is relu(shortcut)
        torch.nn.init.zeros_(bn.weight)
    x = torch.rand(2, 16, 8, 8)
    y = block(x)
    assert y.shape == (2, 32, 4, 4)
    assert torch.equal(y[:, 8:24], x[:, :, ::2, ::2]) and not y[:, :8].any() and not y[:, 24:].any()


def test_depth_must_be_6n_plus_2():
    with pytest.raises(ValueError, match="6n"):
        CifarResNet(ResNetConfig(depth=21))
    with pytest.raises(SystemExit, match="resnet<6n\\+2>"):
        train.arch_config(train.TrainConfig(arch="resnet21"), train.ModelConfig())


def test_train_resume_and_report(cifar_archive, tmp_path):
    out = tmp_path / "rn"
    common = [f"--data={cifar_archive}", f"--out={out}", "--threads=1", "--precision=fp32"]
    train.main(common + ["--arch=resnet20", "--epochs=2", "--batch_size=16", "--stop_after=1"])
    train.main(common + ["--resume"])  # the architecture and recipe come from the checkpoint
    model, ckpt = load_ckpt(str(out / "ckpt.pt"))
    assert isinstance(model, CifarResNet) and ckpt["epoch"] == 2 and ckpt["arch"] == "resnet"
    assert ckpt["model_config"] == {"depth": 20, "num_classes": 10}
    x, y = torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8), torch.zeros(8, dtype=torch.long)
    r = evaluate.run(model, x, y, ckpt["normalization"])
    assert r["flops_min"] == r["flops_max"] == resnet_flops(model.cfg)["max"] and r["mean_iterations"] == []


def test_resnet18_is_the_imagenet_one_with_a_3x3_stem():
    # torchvision's resnet18 has 11,689,512 parameters: 1000 classes (513 per class) and a 7x7 stem (7*7*3*64)
    published = 11_689_512 - 513 * (1000 - 200) - (7 * 7 - 3 * 3) * 3 * 64
    model = ResNet18(ResNet18Config(num_classes=200))
    assert sum(p.numel() for p in model.parameters()) == published == 11_271_432
    logits, iters, ponder = model(torch.randn(2, 3, 64, 64))
    assert logits.shape == (2, 200) and iters.shape == (2, 0) and not ponder.any()
    shapes = []
    model.blocks[-1].register_forward_hook(lambda m, i, o: shapes.append(tuple(o.shape)))
    model(torch.randn(1, 3, 64, 64))
    assert shapes == [(1, 512, 4, 4)]  # stages at 32/16/8/4 px, as the four-stage IamNN's


@pytest.mark.parametrize("stem_pool", [True, False])
def test_resnet18_flops_count_every_layer(stem_pool):
    cfg = ResNet18Config(stem_pool=stem_pool)
    assert resnet18_flops(cfg)["max"] == count_flops(ResNet18(cfg), 64)
    assert resnet18_flops(ResNet18Config())["max"] == 1_121_656_832


def test_resnet18_trains_and_reports_with_the_iamnn_recipe(tiny_imagenet_archive, tmp_path):
    out = tmp_path / "rn18"
    train.main(FOUR_STAGES + [f"--data={tiny_imagenet_archive}", f"--out={out}", "--arch=resnet18", "--stop_after=1"])
    train.main([f"--out={out}", "--resume", "--threads=1"])
    model, ckpt = load_ckpt(str(out / "ckpt.pt"))
    assert isinstance(model, ResNet18) and ckpt["arch"] == "resnet18" and ckpt["epoch"] == 2
    assert ckpt["model_config"] == {"num_classes": 12, "input_size": 64, "stem_pool": True}
    iamnn = tmp_path / "iamnn"
    train.main(FOUR_STAGES + [f"--data={tiny_imagenet_archive}", f"--out={iamnn}", "--epochs=1"])
    report = tmp_path / "report.json"
    evaluate.main([f"--ckpt={iamnn / 'ckpt.pt'}", f"--peer={out / 'ckpt.pt'}", f"--out={report}", "--threads=1"])
    peer, mirrored = json.loads(report.read_text())["rows"][-2:]
    assert peer["name"] == "Static ResNet-18 (3x3 stem, same recipe, fp32, 2 epochs)"
    assert mirrored["name"] == peer["name"] + ", mirror vote on every image" and mirrored["mirrored"] == 1
    assert mirrored["flops_mean"] == 2 * peer["flops_mean"]
    assert peer["flops_mean"] == resnet18_flops(model.cfg)["max"] and peer["params"] == 11_271_432 - 188 * 513
