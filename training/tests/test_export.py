"""Export round trip: the files follow docs/model-format.md and decode back to the model's weights."""
import base64
import hashlib
import json
from dataclasses import asdict

import numpy as np
import torch

from training import export
from training.export import export_model, load_web_model, named_weights, parity_vectors, read_web_weights
from training.model import MIRROR_BELOW, IamNN, ModelConfig, flops_table
from training.tests.test_model import SMALL, randomized


def test_round_trip_float32(tmp_path):
    m = randomized(ModelConfig(**SMALL))
    manifest = export_model(m, tmp_path, (0.5,) * 3, (0.25,) * 3, shard_bytes=4096)
    group = manifest["weightsManifest"][0]
    sizes = [(tmp_path / p).stat().st_size for p in group["paths"]]
    assert len(sizes) > 1 and all(s == sizes[0] for s in sizes[:-1]) and sizes[-1] <= sizes[0]
    for p, h in zip(group["paths"], group["sha256"]):
        assert hashlib.sha256((tmp_path / p).read_bytes()).hexdigest() == h
    _, got = read_web_weights(tmp_path)
    for name, arr in named_weights(m):
        assert np.array_equal(got[name], arr), name
    spec = manifest["iamnn"]
    assert spec["flops"] == flops_table(m.cfg)
    assert [s["maxIterations"] for s in spec["stages"]] == list(SMALL["max_iters"])
    assert spec["stages"][1]["inChannels"] == SMALL["widths"][0]
    module = (tmp_path / "index.js").read_text()  # the model module bundlers follow: every file as a new URL
    for name in ["model.json", *group["paths"]]:
        assert f"new URL('./{name}', import.meta.url)" in module
    assert "files" in (tmp_path / "index.d.ts").read_text()


def test_folded_batchnorm_matches_eval_batchnorm(tmp_path):
    m = randomized(ModelConfig(**SMALL))
    w = dict(named_weights(m))
    bn = m.stages[1].block.bn2[3]
    x = torch.randn(2, bn.num_features, 4, 4)
    ref = bn(x)
    folded = x * torch.from_numpy(w["stage1/bn2/scale"][3]).view(1, -1, 1, 1) + torch.from_numpy(w["stage1/bn2/shift"][3]).view(1, -1, 1, 1)
    assert torch.allclose(ref, folded, atol=1e-5)


def test_quantized_exports_are_close(tmp_path):
    m = randomized(ModelConfig(**SMALL))
    for q, tol in (("float16", 1e-2), ("uint8", 5e-2)):
        manifest = export_model(m, tmp_path / q, (0.5,) * 3, (0.25,) * 3, quantize=q)
        _, got = read_web_weights(tmp_path / q)
        for name, arr in named_weights(m):
            assert np.abs(got[name] - arr).max() <= tol * max(1.0, np.abs(arr).max()), (q, name)


def test_parity_vectors_hold_early_exit_results():
    m = randomized(ModelConfig(**SMALL, halt_bias=0.0))
    imgs = np.random.default_rng(0).integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    p = parity_vectors(m, imgs, (0.5,) * 3, (0.25,) * 3)
    assert p["shape"] == [4, 32, 32, 3] and len(p["logits"]) == 4 and len(p["iterations"][0]) == 2
    assert "mirrorBelow" not in p and "mirrorIterations" not in p  # the mirror vote off: the plain pass


def test_the_mirror_vote_averages_the_mirrored_pass_of_the_images_below_the_gate():
    m = randomized(ModelConfig(**SMALL, halt_bias=0.0))
    imgs = np.random.default_rng(0).integers(0, 256, (6, 32, 32, 3), dtype=np.uint8)
    norm = ((0.5,) * 3, (0.25,) * 3)
    plain, flipped = parity_vectors(m, imgs, *norm), parity_vectors(m, imgs[:, :, ::-1].copy(), *norm)
    both = parity_vectors(m, imgs, *norm, mirror_below=1.0)  # every image mirrored
    assert both["mirrorBelow"] == 1.0 and both["iterations"] == plain["iterations"]
    assert both["mirrorIterations"] == flipped["iterations"]
    assert np.allclose(both["logits"], (np.array(plain["logits"]) + np.array(flipped["logits"])) / 2, atol=1e-6)
    table = flops_table(m.cfg)
    assert both["flops"] == [a + b for a, b in zip(plain["flops"], flipped["flops"])] and table["max"] > 0
    top = torch.tensor(plain["logits"], dtype=torch.float64).softmax(1).amax(1)
    gate = float(top.median())  # half the images below it
    some = parity_vectors(m, imgs, *norm, mirror_below=gate)
    chosen = (top < gate).tolist()
    assert 0 < sum(chosen) < len(chosen)
    for i, c in enumerate(chosen):
        assert some["mirrorIterations"][i] == (flipped["iterations"][i] if c else [0, 0])
        # the mirrored pass runs on a smaller batch here: equal up to the convs' batch-dependent rounding
        assert np.allclose(some["logits"][i], both["logits"][i] if c else plain["logits"][i], atol=1e-5)
        assert some["flops"][i] == (both["flops"][i] if c else plain["flops"][i])


def test_baseline_has_no_web_format(tmp_path):
    try:
        export_model(IamNN(ModelConfig(**SMALL, shared=False)), tmp_path, (0,) * 3, (1,) * 3)
    except ValueError as e:
        assert "shared" in str(e)
    else:
        raise AssertionError("the baseline must not export")


def test_web_model_rebuilds_the_same_network(tmp_path):
    m = randomized(ModelConfig(**SMALL, halt_bias=0.0))
    export_model(m, tmp_path, (0.5,) * 3, (0.25,) * 3)
    rebuilt, spec = load_web_model(tmp_path)
    x = torch.randn(8, 3, 32, 32)
    with torch.no_grad():
        a, ia = m.forward_early_exit(x)
        b, ib = rebuilt.forward_early_exit(x)
    assert torch.equal(ia, ib) and torch.allclose(a, b, atol=1e-4)


def test_quantized_export_writes_parity_of_the_shipped_weights(tmp_path, cifar_archive):
    m = randomized(ModelConfig(**SMALL, halt_bias=0.0))
    norm = {"mean": (0.5,) * 3, "std": (0.25,) * 3}
    torch.save({"model": m.state_dict(), "model_config": asdict(m.cfg), "normalization": norm}, tmp_path / "ckpt.pt")
    out = tmp_path / "web"
    export.main([f"--ckpt={tmp_path / 'ckpt.pt'}", f"--out={out}", "--quantize=uint8", f"--data={cifar_archive}"])
    parity = json.loads((out / "parity.json").read_text())
    images = np.frombuffer(base64.b64decode(parity["images"]), np.uint8).reshape(parity["shape"]).copy()
    shipped, _ = load_web_model(out)
    want = parity_vectors(shipped, images, norm["mean"], norm["std"], MIRROR_BELOW)  # the model's default setting
    assert want["logits"] == parity["logits"] and want["iterations"] == parity["iterations"]
    assert parity_vectors(m, images, norm["mean"], norm["std"])["logits"] != parity["logits"]  # uint8 differs
    assert json.loads((out / "model.json").read_text())["iamnn"]["mirrorBelow"] == MIRROR_BELOW == parity["mirrorBelow"]


def test_a_state_output_checkpoint_is_refused(tmp_path):
    m = IamNN(ModelConfig(**SMALL, stage_output="state"))
    torch.save({"model": m.state_dict(), "model_config": asdict(m.cfg), "normalization": {"mean": (0.5,) * 3,
                "std": (0.25,) * 3}}, tmp_path / "ckpt.pt")
    try:
        export.main([f"--ckpt={tmp_path / 'ckpt.pt'}", f"--out={tmp_path / 'web'}"])
    except SystemExit as e:
        assert "stage_output='state'" in str(e)
    else:
        raise AssertionError("the browser computes ACT's mixture only: a state-output model must not export")
    assert not (tmp_path / "web").exists()
