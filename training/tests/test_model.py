"""Model semantics: shapes, masked ACT == per-image early exit, halting arithmetic, FLOPs table."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from training.data import normalize
from training.export import TINY, randomize, varied_images
from training.model import IamNN, ModelConfig, count_params, flops_of, flops_table

SMALL = dict(stem_channels=8, widths=(8, 16), bottlenecks=(4, 8), max_iters=(3, 5), act_hidden=16)


def randomized(cfg: ModelConfig, seed=0) -> IamNN:
    torch.manual_seed(seed)
    return randomize(IamNN(cfg), seed + 1)


def test_shapes_and_param_ratio():
    cfg = ModelConfig()
    m = IamNN(cfg)
    logits, iters, ponder = m(torch.randn(4, 3, 32, 32))
    assert logits.shape == (4, 10) and iters.shape == (4, 3) and ponder.shape == (4,)
    base = IamNN(ModelConfig(shared=False))
    assert count_params(m) / count_params(base) <= 0.15  # the target for the default config


def varied(n: int) -> torch.Tensor:
    return normalize(torch.from_numpy(varied_images(n, 3)).permute(0, 3, 1, 2), (0.5,) * 3, (0.25,) * 3)


def test_masked_forward_equals_early_exit():
    m = randomized(TINY)
    x = varied(64)
    with torch.no_grad():
        a, ia, _ = m(x)
        b, ib = m.forward_early_exit(x)
    assert torch.equal(ia, ib)
    assert len(set(map(tuple, ia.tolist()))) >= 2, "halting should vary per image"
    assert torch.allclose(a, b, atol=1e-5)
    # batch == one by one
    for i in range(0, 64, 9):
        c, ic = m.forward_early_exit(x[i:i + 1])
        assert torch.equal(ic[0], ib[i]) and torch.allclose(c[0], b[i], atol=1e-5)


def test_halting_respects_threshold_and_cap():
    m = randomized(TINY)
    x = varied(32)
    with torch.no_grad():
        _, full = m.forward_early_exit(x)
        _, capped = m.forward_early_exit(x, max_iters=(1, 2))
        _, low = m.forward_early_exit(x, eps=0.6)
    assert (capped[:, 0] == 1).all() and (capped[:, 1] <= 2).all()
    assert (low <= full).all() and (low < full).any()


def test_ponder_cost_is_n_plus_remainder():
    m = randomized(ModelConfig(**SMALL, halt_bias=0.0))
    m.train()
    x = torch.randn(8, 3, 32, 32)
    _, iters, ponder = m(x)
    assert (ponder >= iters.sum(1)).all() and (ponder <= iters.sum(1) + len(SMALL["widths"])).all()
    ponder.sum().backward()  # differentiable through the remainders: raising p lowers R, so the gradient
    for st in m.stages:      # on every ACT head's output bias is negative, never zero
        assert st.act.fc3.bias.grad.item() < 0


def test_halting_stays_float32_under_bf16_autocast():
    """train.py --precision=bf16: convs and FCs run in bf16; the halting scores, the state, the halting sums,
    the halting-weighted stage outputs and the ponder cost stay float32 (bf16 cannot tell 0.99 from 0.988)."""
    m = randomized(TINY)
    x = varied(64)
    dtypes = {}
    for name, mod in (("conv", m.stages[0].block.conv1), ("act fc", m.stages[0].act.fc1), ("halting", m.stages[0].act)):
        mod.register_forward_hook(lambda mod, inp, out, name=name: dtypes.setdefault(name, set()).add(out.dtype))
    with torch.no_grad():
        ref_logits, ref_iters, _ = m(x)
        dtypes.clear()
        with torch.autocast("cpu", torch.bfloat16):
            logits, iters, ponder = m(x)
            x0 = m.stem_forward(x)
            outputs = [m.stages[0](x0)[0], m.stages[0].forward_early_exit(x0)[0]]
    assert dtypes == {"conv": {torch.bfloat16}, "act fc": {torch.bfloat16}, "halting": {torch.float32}}
    assert x0.dtype == torch.bfloat16 and {y.dtype for y in outputs} == {torch.float32}
    assert ponder.dtype == torch.float32 and logits.dtype == torch.bfloat16
    assert (iters == ref_iters).all(1).float().mean() > 0.9  # bf16 moves only images at a halting boundary
    assert (logits.float() - ref_logits).abs().max() < 0.1 * ref_logits.abs().max()


def test_baseline_runs_every_iteration():
    m = randomized(ModelConfig(**SMALL, shared=False))
    _, iters, ponder = m(torch.randn(4, 3, 32, 32))
    assert (iters == torch.tensor([3, 5])).all() and (ponder == 0).all()


def test_flops_table_counts_every_multiply_add():
    cfg = ModelConfig(**SMALL)
    m = IamNN(cfg).eval()
    macs = []

    def hook(mod, inp, out):
        if isinstance(mod, nn.Conv2d):
            macs.append(out.numel() * mod.in_channels * mod.kernel_size[0] * mod.kernel_size[1])
        elif isinstance(mod, nn.Linear):
            macs.append(out.numel() * mod.in_features)

    for mod in m.modules():
        if isinstance(mod, (nn.Conv2d, nn.Linear)):
            mod.register_forward_hook(hook)
    with torch.no_grad():
        _, iters, _ = m(torch.randn(1, 3, 32, 32))  # masked forward runs every iteration
    table = flops_table(cfg)
    assert 2 * sum(macs) == table["max"]
    assert flops_of(iters, table).item() == table["max"]


def test_halting_off_outputs_each_stages_final_state():
    m = randomized(TINY).eval()
    x = varied(8)
    with torch.no_grad():
        logits, iters, _ = m(x, halting=False)
        h = m.stem_forward(x)
        for k, stage in enumerate(m.stages):
            h = torch.nn.functional.max_pool2d(h, 2) if k > 0 else h
            s = torch.zeros(len(x), stage.block.conv3.out_channels, *h.shape[2:])
            for i in range(stage.t):
                s = s + stage.step(h, s, i)[0]
            h = torch.relu(s)
        expected = m.fc(h.mean((2, 3)))
    assert (iters == torch.tensor(TINY.max_iters)).all()
    assert torch.allclose(logits, expected, atol=1e-5)


def test_predict_matches_the_forward_pass_batch_by_batch():
    from training.evaluate import predict
    m = randomized(TINY).eval()
    x8 = torch.from_numpy(varied_images(20, 3)).permute(0, 3, 1, 2).contiguous()
    norm = {"mean": (0.5,) * 3, "std": (0.25,) * 3}
    logits, iters = predict(m, x8, norm, batch=7)
    with torch.no_grad():
        expected, expected_iters = m.forward_early_exit(normalize(x8, norm["mean"], norm["std"]))
    assert torch.allclose(logits, expected, atol=1e-5) and torch.equal(iters, expected_iters)
    masked_logits, masked_iters = predict(m, x8, norm, early_exit=False, batch=7)
    assert torch.allclose(masked_logits, logits, atol=1e-5) and torch.equal(masked_iters, iters)


def _reference_forward(m: IamNN, img: torch.Tensor):
    """IamNN for one image written straight from the paper and Graves' ACT, sharing nothing with model.py's
    Stage: returns (logits, iterations per stage, ponder cost sum(N + R))."""
    def bn(x, b):  # eval-mode batchnorm
        shape = (1, -1, 1, 1)
        return ((x - b.running_mean.view(shape)) / torch.sqrt(b.running_var.view(shape) + b.eps)
                * b.weight.view(shape) + b.bias.view(shape))

    x = F.max_pool2d(F.relu(bn(F.conv2d(img, m.stem.weight, padding=1), m.stem_bn)), 2)
    iters, ponder = [], 0.0
    for k, st in enumerate(m.stages):
        if k > 0:
            x = F.max_pool2d(x, 2)
        blk, fc = st.block, st.act
        s, y, cum = torch.zeros(1, blk.conv3.out_channels, *x.shape[2:], dtype=x.dtype), 0, 0.0
        for i in range(st.t):
            z = torch.cat([x, s], 1)                                   # block input: concat(x0, s_{i-1})
            a = F.relu(bn(F.conv2d(z, blk.conv1.weight), blk.bn1[i]))  # iteration i's own batchnorm
            a = F.relu(bn(F.conv2d(a, blk.conv2.weight, padding=1), blk.bn2[i]))
            h = bn(F.conv2d(a, blk.conv3.weight), blk.bn3[i])
            g = torch.cat([s.mean((2, 3)), x.mean((2, 3)), h.mean((2, 3))], 1)  # GAP(s_{i-1}, x0, h_i)
            p = torch.sigmoid(F.linear(F.relu(F.linear(F.relu(F.linear(g, fc.fc1.weight, fc.fc1.bias)),
                                                        fc.fc2.weight, fc.fc2.bias)), fc.fc3.weight, fc.fc3.bias)).item()
            s = s + h
            if cum + p >= 1 - m.cfg.eps or i == st.t - 1:            # halt: weight the remainder R = 1 - sum p
                y = y + (1 - cum) * s
                iters.append(i + 1)
                ponder += i + 1 + (1 - cum)
                break
            y, cum = y + p * s, cum + p
        x = F.relu(y)
    return F.linear(x.mean((2, 3)), m.fc.weight, m.fc.bias), iters, ponder


def test_both_forwards_match_an_independent_reference():
    m = randomized(TINY).double()
    x = varied(24).double()
    with torch.no_grad():
        masked, im, ponder = m(x)
        early, ie = m.forward_early_exit(x)
    seen = set()
    for n in range(len(x)):
        ref, iters, ref_ponder = _reference_forward(m, x[n:n + 1])
        seen.add(tuple(iters))
        assert im[n].tolist() == ie[n].tolist() == iters
        assert torch.allclose(masked[n], ref[0], atol=1e-10) and torch.allclose(early[n], ref[0], atol=1e-10)
        assert abs(ponder[n].item() - ref_ponder) < 1e-10
    assert len(seen) >= 3, "the test needs images that halt at different iterations"


def test_training_forward_stops_once_every_image_has_halted():
    """The masked forward stops a stage once every image of the batch has halted. Exact only if the iterations
    after an image's halt add nothing to its output or gradients: checked by comparing, in eval mode (batchnorm
    then couples no images), the batch's gradients with the sum of each image's own, where each image stops at
    its own halt while in the batch it runs to the last image's."""
    m = randomized(TINY).double().eval()
    x = varied(12).double()
    calls = []
    m.stages[1].block.register_forward_hook(lambda *_: calls.append(1))
    logits, iters, ponder = m(x)
    assert len(calls) == iters[:, 1].max() < m.stages[1].t, "stage 2 should stop before its cap"
    assert len(set(iters[:, 1].tolist())) >= 2, "the test needs images that halt at different iterations"
    (logits.square().sum() + ponder.sum()).backward()
    grad = lambda p: torch.zeros_like(p) if p.grad is None else p.grad.clone()  # None: an iteration never run
    batch = {n: grad(p) for n, p in m.named_parameters()}
    m.zero_grad(set_to_none=True)
    for n in range(len(x)):
        lo, _, po = m(x[n:n + 1])
        (lo.square().sum() + po.sum()).backward()
    for n, p in m.named_parameters():
        assert torch.allclose(batch[n], grad(p), atol=1e-9), n


def test_halting_weights_are_the_act_mixture_of_each_stage():
    m = randomized(TINY).eval()
    x = varied(32)
    weights = m.halting_weights(x)
    with torch.no_grad():
        _, iters, _ = m(x)
    for k, (w, t) in enumerate(zip(weights, TINY.max_iters)):
        assert w.shape == (32, t)
        assert torch.allclose(w.sum(1), torch.ones(32), atol=1e-6)  # a convex mixture of the states
        n = iters[:, k]
        after = torch.arange(t)[None, :] >= n[:, None]
        assert (w[after] == 0).all() and (w[~after] > 0).all()  # every state up to the halting step, none after
    # the stage output is that mixture: recompute stage 1's output from its states and the weights
    with torch.no_grad():
        st, x0 = m.stages[0], m.stem_forward(x)
        s, mix = torch.zeros_like(st.forward(x0)[0]), 0
        for i in range(TINY.max_iters[0]):
            s = s + st.step(x0, s, i)[0]
            mix = mix + weights[0][:, i].view(-1, 1, 1, 1) * s
        assert torch.allclose(mix, st.forward(x0)[0], atol=1e-5)


def test_state_output_is_the_state_at_the_halting_step_in_both_forwards():
    from dataclasses import replace
    m = randomized(replace(TINY, stage_output="state")).eval()
    x = varied(32)
    with torch.no_grad():
        a, ia, _ = m(x)
        b, ib = m.forward_early_exit(x)
        st, x0 = m.stages[0], m.stem_forward(x)
        y, n, _ = st.forward(x0)
        s, states = torch.zeros_like(y), []
        for i in range(TINY.max_iters[0]):
            s = s + st.step(x0, s, i)[0]
            states.append(s)
        expected = torch.stack([states[k - 1][j] for j, k in enumerate(n.tolist())])
    assert torch.equal(ia, ib) and len(set(map(tuple, ia.tolist()))) >= 2
    assert torch.allclose(a, b, atol=1e-5)
    assert torch.allclose(y, expected, atol=1e-6)  # s_N itself, not a mixture
    # gradients: the blocks through s_N, the halting heads through the mixture of the detached states
    m.train()
    logits, _, ponder = m(x)
    logits.square().mean().backward()
    assert m.stages[1].act.fc3.weight.grad.abs().sum() > 0 and m.stages[1].block.conv1.weight.grad.abs().sum() > 0
    try:
        IamNN(replace(TINY, stage_output="mixture"))
        raise AssertionError("an unknown stage_output must be refused")
    except ValueError as e:
        assert "valid values are 'act', 'state'" in str(e)
