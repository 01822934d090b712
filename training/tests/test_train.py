"""train.py end to end on a tiny synthetic archive: a run split by --stop_after and --resume equals an
uninterrupted one bit for bit, the ponder-cost schedule crosses the split, a resumed run keeps its recipe
(or re-tunes tau and precision) and its log stays one row per checkpointed epoch, configurations that cannot train are refused,
distillation uses a mirror-averaged teacher, and evaluate.py finds the run's log for report.json."""
import json

import pytest
import torch

from training import train
from training.data import load_split, to_tensor
from training import evaluate
from training.evaluate import load_ckpt, training_curve
from training.model import IamNN, ModelConfig

TINY_RUN = ["--stem_channels=8", "--widths=(8, 16)", "--bottlenecks=(4, 8)", "--max_iters=(2, 3)",
            "--act_hidden=8", "--batch_size=16", "--epochs=3", "--ponder_early_epochs=1", "--lr=0.05",
            "--threads=1", "--precision=fp32"]  # fp32 pinned: the default, auto, depends on the CPU


def log_rows(out):
    return [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]


def test_split_run_equals_uninterrupted_run(cifar_archive, tmp_path):
    whole, split = tmp_path / "whole", tmp_path / "split"
    train.main(TINY_RUN + [f"--data={cifar_archive}", f"--out={whole}"])
    train.main(TINY_RUN + [f"--data={cifar_archive}", f"--out={split}", "--stop_after=1"])
    assert len(log_rows(split)) == 1
    after_one = torch.load(split / "ckpt.pt")["model"]
    train.main([f"--data={cifar_archive}", f"--out={split}", "--resume", "--threads=1"])  # the recipe comes from the checkpoint

    a, b = torch.load(whole / "ckpt.pt"), torch.load(split / "ckpt.pt")
    assert a["epoch"] == b["epoch"] == 3
    for k, v in a["model"].items():
        assert torch.equal(v, b["model"][k]), k
    assert not torch.equal(after_one["fc.weight"], b["model"]["fc.weight"])  # it did train on after the split
    assert [r["tau"] for r in log_rows(split)] == [0.01, 0.005, 0.005]
    (tmp_path / "shipped.pt").write_bytes((split / "ckpt.pt").read_bytes())  # as copied to training/checkpoints/
    (tmp_path / "shipped.log.jsonl").write_text((split / "log.jsonl").read_text())
    for ckpt in (split / "ckpt.pt", tmp_path / "shipped.pt"):  # report.json's training curve finds the log
        assert [r["tau"] for r in training_curve(str(ckpt))] == [0.01, 0.005, 0.005]
    assert [r["test_acc"] for r in log_rows(split)] == [r["test_acc"] for r in log_rows(whole)]
    # report.json's train_s: every epoch with its test pass, summed over both sessions; elapsed_s agrees
    epoch_s = sum(r["epoch_s"] for r in log_rows(split))
    assert evaluate.train_seconds(training_curve(str(split / "ckpt.pt")), b) == epoch_s == pytest.approx(b["elapsed_s"])
    assert evaluate.train_seconds(training_curve(str(tmp_path / "no-log.pt")), {"elapsed_s": 7.0}) == 7.0
    assert list(b["model_config"]["max_iters"]) == [2, 3]  # the architecture came from the checkpoint too
    assert set(b["code"]) == {"model.py", "resnet.py", "train.py", "data.py", "evaluate.py"} and "optimizer" in b


def test_resume_may_extend_and_retune(cifar_archive, tmp_path):
    out = tmp_path / "run"
    train.main(TINY_RUN + [f"--data={cifar_archive}", f"--out={out}", "--stop_after=1"])
    train.main([f"--data={cifar_archive}", f"--out={out}", "--resume", "--threads=1", "--epochs=4", "--ponder_cost=0.02",
         "--stop_after=2", "--precision=bf16"])
    rows = log_rows(out)
    assert [(r["tau"], r["precision"]) for r in rows] == [(0.01, "fp32"), (0.02, "bf16")]
    assert [r["precision"] for r in training_curve(str(out / "ckpt.pt"))] == ["fp32", "bf16"]  # in report.json
    ckpt = torch.load(out / "ckpt.pt")
    assert ckpt["train_config"]["epochs"] == 4 and ckpt["train_config"]["batch_size"] == 16
    assert all(v.dtype == torch.float32 for k, v in ckpt["model"].items() if v.is_floating_point())
    assert rows[1]["train_ce"] < rows[0]["train_ce"]  # the bf16 epoch went on learning


def test_unknown_option_lists_the_valid_ones():
    with pytest.raises(SystemExit, match="valid: .*ponder_cost"):
        train.parse_args(["--ponder=0.1"])


def test_resume_drops_log_rows_past_the_checkpoint_and_takes_model_only_checkpoints(cifar_archive, tmp_path):
    out = tmp_path / "run"
    train.main(TINY_RUN + [f"--data={cifar_archive}", f"--out={out}", "--stop_after=1"])
    with open(out / "log.jsonl", "a") as f:  # a crash after logging epoch 2, before its checkpoint
        f.write(json.dumps({"epoch": 2, "tau": 1.0, "test_acc": 0, "test_iters": []}) + "\n")
    ckpt = torch.load(out / "ckpt.pt")
    del ckpt["optimizer"]  # as the model-only copies in training/checkpoints/
    torch.save(ckpt, out / "ckpt.pt")
    train.main([f"--data={cifar_archive}", f"--out={out}", "--resume", "--threads=1"])
    assert [(r["epoch"], r["tau"]) for r in log_rows(out)] == [(1, 0.01), (2, 0.005), (3, 0.005)]


def test_refuses_what_cannot_work(cifar_archive, tmp_path):
    out = tmp_path / "run"
    with pytest.raises(SystemExit, match="zero_init_last_bn=False"):  # no ponder cost: nothing would train
        train.main(TINY_RUN + [f"--data={cifar_archive}", f"--out={out}", "--shared=False"])
    with pytest.raises(SystemExit, match="zero_init_last_bn=False"):  # tau 0 in every epoch the run has
        train.main(TINY_RUN + [f"--data={cifar_archive}", f"--out={out}", "--ponder_cost=0", "--ponder_early_epochs=0"])
    with pytest.raises(SystemExit, match="valid values are auto, fp32, bf16"):
        train.main(TINY_RUN + [f"--data={cifar_archive}", f"--out={out}", "--precision=fp16"])
    train.main(TINY_RUN + [f"--data={cifar_archive}", f"--out={out}", "--stop_after=1"])
    with pytest.raises(SystemExit, match=r"fixes max_iters \(max_iters=\(2, 3\)\)"):
        train.main([f"--data={cifar_archive}", f"--out={out}", "--resume", "--max_iters=(4, 4)"])


def test_refuses_a_gpu_it_cannot_use(cifar_archive, tmp_path, monkeypatch):
    """The GPU checks run before any data or device is touched, so they are testable on a CPU-only machine."""
    run = TINY_RUN + [f"--data={cifar_archive}", f"--out={tmp_path / 'run'}", "--device=cuda"]
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(SystemExit, match="no CUDA GPU; use --device=cpu"):
        train.main(run)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    with pytest.raises(SystemExit, match="no bf16 support; use --precision=fp32"):
        train.main(run + ["--precision=bf16"])
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    train.check_config(train.TrainConfig(device="cuda", precision="bf16"), ModelConfig())  # accepted


@pytest.mark.parametrize("flags, expected", [("fpu sse avx512f avx512_bf16", "bf16"), ("fpu amx_bf16 amx_tile", "bf16"),
                                             ("fpu sse avx2 avx512f", "fp32")])
def test_auto_precision_is_bf16_only_on_a_cpu_that_has_it(cifar_archive, tmp_path, monkeypatch, flags, expected):
    """The default, --precision=auto, resolves before the run starts; the log and the checkpoint name the result."""
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nflags\t\t: {flags}\n")
    monkeypatch.setattr(train, "CPUINFO", cpuinfo)
    out = tmp_path / "run"
    train.main([a for a in TINY_RUN if a != "--precision=fp32"] + [f"--data={cifar_archive}", f"--out={out}",
                                                                  "--stop_after=1", "--device=cpu"])
    assert train.TrainConfig().precision == "auto"
    assert log_rows(out)[0]["precision"] == torch.load(out / "ckpt.pt")["train_config"]["precision"] == expected


def test_auto_precision_follows_the_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert not train.native_bf16("cuda")
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert train.native_bf16("cuda:0")


def test_distillation_from_a_trained_teacher(cifar_archive, tmp_path):
    teacher_run, student_run = tmp_path / "teacher", tmp_path / "student"
    train.main(TINY_RUN + [f"--data={cifar_archive}", f"--out={teacher_run}", "--epochs=1", "--shared=False",
                           "--zero_init_last_bn=False"])
    teacher, ckpt = load_ckpt(str(teacher_run / "ckpt.pt"))
    x = to_tensor(load_split(cifar_archive, "train")[0])
    soft = train.teacher_logits(teacher, x, ckpt["normalization"])
    assert soft.shape == (50, 10) and soft.std() > 0
    assert torch.allclose(soft, train.teacher_logits(teacher, x.flip(3), ckpt["normalization"]), atol=1e-5)  # mirror-proof

    distill = TINY_RUN + [f"--data={cifar_archive}", f"--teacher={teacher_run / 'ckpt.pt'}", "--epochs=2"]
    train.main(distill + [f"--out={student_run}"])
    train.main(distill + [f"--out={tmp_path / 'split'}", "--stop_after=1"])
    train.main([f"--data={cifar_archive}", f"--out={tmp_path / 'split'}", "--resume", "--threads=1"])
    for k, v in torch.load(student_run / "ckpt.pt")["model"].items():  # the resumed run re-derives the same targets
        assert torch.equal(v, torch.load(tmp_path / "split" / "ckpt.pt")["model"][k]), k
    train.main(distill + [f"--out={tmp_path / 'labels_only'}", "--distill_weight=0"])
    assert all(r["train_kd"] > 0 for r in log_rows(student_run))
    assert "train_kd" not in log_rows(teacher_run)[0]
    assert torch.load(student_run / "ckpt.pt")["train_config"]["teacher"] == str(teacher_run / "ckpt.pt")
    distilled, labels_only = (torch.load(p / "ckpt.pt")["model"]["fc.weight"] for p in (student_run, tmp_path / "labels_only"))
    assert not torch.equal(distilled, labels_only)  # the teacher's term moved the student

    report_path = tmp_path / "report.json"
    evaluate.main([f"--data={cifar_archive}", f"--ckpt={student_run / 'ckpt.pt'}", f"--out={report_path}", "--threads=1",
                   f"--baseline={teacher_run / 'ckpt.pt'},{teacher_run / 'ckpt.pt'}",  # e.g. 24 and 60 epochs
                   f"--compare={tmp_path / 'labels_only' / 'ckpt.pt'}"])
    report = json.loads(report_path.read_text())
    names = [r["name"] for r in report["rows"]]
    assert names[0] == "IamNN (shipped, threshold 0.99, mirror vote below 0.8)" and len(names) == 24
    assert [r["caps"] for r in report["rows"] if r.get("caps")] == [[1, 1], [1, 1], [1, 1], [1, 2], [2, 3]]  # 1 per stage (mirror vote on, off), 1/4, 1/2, 3/4
    assert names[-3:] == ["IamNN, other run (labels only, tau 0.01 then 0.005, fp32, 2 epochs)",
                          "Unshared baseline (no ACT, all iterations, fp32, 1 epochs)",
                          "Unshared baseline (no ACT, all iterations, fp32, 1 epochs)"]
    assert report["rows"][-1]["ckpt"] == str(teacher_run / "ckpt.pt")
    assert report["train_config"]["teacher"] == str(teacher_run / "ckpt.pt") and len(report["training_curve"]) == 2
    assert report["rows"][-1]["mean_iterations"] == [2, 3]  # the baseline always runs every iteration
    weights = report["halting_weights"]  # per stage, each iteration's mean ACT weight: a mixture, so they sum to 1
    assert [len(w) for w in weights] == [2, 3] and all(abs(sum(w) - 1) < 1e-6 for w in weights)

    (tmp_path / "labels_only" / "ckpt.pt").unlink()  # a superseded run leaves the repository: its row stays
    evaluate.main([f"--data={cifar_archive}", f"--ckpt={student_run / 'ckpt.pt'}", f"--out={tmp_path / 'again.json'}",
                   "--threads=1", f"--carry={report_path}"])
    again = json.loads((tmp_path / "again.json").read_text())["rows"]
    assert [r["name"] for r in again if r.get("carried_from")] == [names[-3]]  # not the baselines: their checkpoints exist

    teacher_run.joinpath("ckpt.pt").write_bytes(b"retrained")  # a different teacher under the same path
    with pytest.raises(SystemExit, match="not the teacher this run started with"):
        train.main([f"--data={cifar_archive}", f"--out={student_run}", "--resume", "--threads=1", "--epochs=3"])


def test_distill_loss_is_zero_only_when_the_student_matches_the_teacher():
    torch.manual_seed(0)
    t = torch.randn(8, 10)
    assert train.distill_loss(t.clone(), t, 4.0).abs() < 1e-6
    assert train.distill_loss(t + torch.randn(8, 10), t, 4.0) > 1e-3
    s = (t + torch.randn(8, 10)).requires_grad_()
    train.distill_loss(s, t, 4.0).backward()  # T^2 scaling: the gradient is T * (softmax(s/T) - softmax(t/T)) / batch
    assert torch.allclose(s.grad, 4.0 * (torch.softmax(s / 4, 1) - torch.softmax(t / 4, 1)) / 8, atol=1e-6)


def test_evaluate_prints_the_halting_weights_table_of_each_checkpoint(cifar_archive, tmp_path, capsys, monkeypatch):
    run = tmp_path / "run"
    train.main(TINY_RUN + [f"--data={cifar_archive}", f"--out={run}", "--epochs=1"])
    ckpt = run / "ckpt.pt"
    monkeypatch.chdir(tmp_path)  # where the default --out would land: nothing may be written
    before = sorted(tmp_path.rglob("*"))
    evaluate.main([f"--data={cifar_archive}", f"--ckpt={ckpt}", f"--halting_weights={ckpt}", "--threads=1"])
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("|")]
    assert len(lines) == 2 and lines[0] == lines[1]  # one row per checkpoint named, the same checkpoint twice
    stages = [cell.strip() for cell in lines[0].strip("|").split("|")][1:]
    assert len(stages) == 2 and all(abs(sum(map(float, c.split(" / "))) - 1) < 2e-3 for c in stages)  # 3 decimals each
    assert sorted(tmp_path.rglob("*")) == before  # only the table, no report


def test_evaluate_quick_reports_the_rows_that_rank_a_short_run(cifar_archive, tmp_path):
    run = tmp_path / "run"
    train.main(TINY_RUN + [f"--data={cifar_archive}", f"--out={run}", "--epochs=1"])
    evaluate.main([f"--data={cifar_archive}", f"--ckpt={run / 'ckpt.pt'}", f"--out={tmp_path / 'r.json'}", "--threads=1",
                   "--quick"])
    report = json.loads((tmp_path / "r.json").read_text())
    assert [r["name"] for r in report["rows"]] == [
        "IamNN (shipped, threshold 0.99, mirror vote below 0.8)", "IamNN mirror vote off", "IamNN threshold 0.5",
        "IamNN 1 iteration per stage, mirror vote below 0.8", "IamNN 1 iteration per stage, mirror vote off",
        "IamNN at every stage's maximum, halting off (output = final state)"]
    shipped, off = report["rows"][:2]
    assert report["mirror_below"] == shipped["mirror_below"] == 0.8 and off["mirror_below"] == off["mirrored"] == 0
    assert shipped["flops_mean"] >= off["flops_mean"] and 0 <= shipped["mirrored"] <= 1
    assert len(report["halting_weights"]) == 2 and len(report["iteration_histograms"]) == 2


def test_evaluate_names_every_missing_checkpoint_before_evaluating(tmp_path):
    shipped, other, baseline = tmp_path / "iamnn.pt", tmp_path / "other.pt", tmp_path / "baseline-60ep.pt"
    shipped.write_bytes(b"")  # present: only the missing ones are named (it fails before anything is loaded)
    with pytest.raises(SystemExit, match=f"no checkpoint at: {other}, {baseline}$"):
        evaluate.main([f"--ckpt={shipped}", f"--compare={other}", f"--baseline={baseline}"])


def test_tau_schedule_comes_from_the_log_else_from_the_train_config(tmp_path):
    ckpt = tmp_path / "run.pt"  # a checkpoint copied without its log
    config = {"ponder_cost_early": 0.01, "ponder_early_epochs": 3, "ponder_cost": 0.005, "retired_field": 1}
    assert evaluate.tau_schedule(training_curve(str(ckpt)), {"train_config": config, "epoch": 5}) == "0.01 then 0.005"
    assert evaluate.tau_schedule(training_curve(str(ckpt)), {"train_config": config, "epoch": 2}) == "0.01"  # stopped early
    assert evaluate.tau_schedule(training_curve(str(ckpt)), {"train_config": {**config, "ponder_early_epochs": 0}, "epoch": 5}) == "0.005"
    rows = [{"epoch": e, "tau": t, "test_acc": 0, "test_iters": [], "epoch_s": 1.0} for e, t in ((1, 0.01), (2, 0.0035), (3, 0.005))]
    tmp_path.joinpath("run.log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))  # tau re-tuned on --resume
    assert evaluate.tau_schedule(training_curve(str(ckpt)), {"train_config": config, "epoch": 3}) == "0.01 then 0.0035 then 0.005"
    assert [r["precision"] for r in evaluate.training_curve(str(ckpt))] == ["fp32"] * 3  # logged before --precision


def test_precision_history_comes_from_the_log_else_from_the_train_config(tmp_path):
    ckpt = tmp_path / "run.pt"
    assert evaluate.precision_history(training_curve(str(ckpt)), {"train_config": {}}) == "fp32"  # from before --precision, no log
    assert evaluate.precision_history(training_curve(str(ckpt)), {"train_config": {"precision": "bf16"}}) == "bf16"
    rows = [{"epoch": e, "tau": 0.005, "test_acc": 0, "test_iters": [], "epoch_s": 1.0, **p}  # switched on --resume
            for e, p in ((1, {}), (2, {"precision": "bf16"}), (3, {"precision": "bf16"}))]
    tmp_path.joinpath("run.log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert evaluate.precision_history(training_curve(str(ckpt)), {"train_config": {"precision": "bf16"}}) == "fp32 then bf16"


def test_train_step_runs_the_convs_in_the_precision_asked_for():
    model = IamNN(ModelConfig(stem_channels=8, widths=(8, 16), bottlenecks=(4, 8), max_iters=(2, 3), act_hidden=8))
    seen = []
    model.stem.register_forward_hook(lambda mod, inp, out: seen.append(out.dtype))
    x, y = torch.randn(4, 3, 32, 32), torch.tensor([0, 1, 2, 3])
    for precision in train.PRECISIONS:
        tc = train.TrainConfig(precision=precision, device="cpu")
        logits, *_ = train.train_step(model, train.make_optimizer(model, tc), x, y, None, 0.01, tc)
        assert logits.dtype == torch.float32  # the losses are computed in float32 either way
    assert seen == [torch.float32, torch.bfloat16]
    assert all(p.dtype == torch.float32 for p in model.parameters())


def test_init_fine_tunes_from_a_checkpoint_with_budget_sampling(cifar_archive, tmp_path, monkeypatch):
    base, tuned = tmp_path / "base", tmp_path / "tuned"
    train.main(TINY_RUN + [f"--data={cifar_archive}", f"--out={base}", "--epochs=1"])
    seen = []
    step = train.train_step
    monkeypatch.setattr(train, "train_step", lambda *a: seen.append(a[7]) or step(*a))  # its eps
    start = {}
    monkeypatch.setattr(IamNN, "load_state_dict", lambda self, sd, _f=IamNN.load_state_dict: start.update(sd) or _f(self, sd))
    train.main([f"--data={cifar_archive}", f"--out={tuned}", f"--init={base / 'ckpt.pt'}", "--epochs=2", "--threads=1",
                "--batch_size=16", "--precision=fp32", "--budget_sampling=0.5", "--budget_min_threshold=0.4"])
    b, t = torch.load(base / "ckpt.pt"), torch.load(tuned / "ckpt.pt")
    assert all(torch.equal(start[k], v) for k, v in b["model"].items())  # it started from the base weights
    assert t["model_config"] == b["model_config"] and t["epoch"] == 2  # its own schedule, the base's architecture
    drawn = [e for e in seen if e is not None]
    assert seen.count(None) and drawn  # some batches at the model's threshold, some at a drawn one
    assert all(0.4 - 1e-9 <= 1 - e <= 0.99 + 1e-9 for e in drawn)
    mc = ModelConfig()
    assert train.step_eps(train.TrainConfig(), mc, torch.Generator(), 0) is None  # off by default


def test_halting_off_warm_up_then_act_with_budgets_only_from_their_epoch(cifar_archive, tmp_path, monkeypatch):
    out = tmp_path / "warm"
    with pytest.raises(SystemExit, match="zero_init_last_bn=False"):  # no ponder cost in the warm-up
        train.main(TINY_RUN + [f"--data={cifar_archive}", f"--out={out}", "--halting_off_epochs=1"])
    calls = []
    step = train.train_step
    monkeypatch.setattr(train, "train_step", lambda *a: calls.append((a[5], a[7], a[8])) or step(*a))  # tau, eps, halting
    train.main(TINY_RUN + [f"--data={cifar_archive}", f"--out={out}", "--halting_off_epochs=1", "--zero_init_last_bn=False",
                           "--budget_sampling=1", "--budget_sampling_from=2", "--ponder_early_epochs=1"])
    rows = log_rows(out)
    assert [r["halting"] for r in rows] == [False, True, True]
    assert [r["tau"] for r in rows] == [0.0, 0.01, 0.005]  # the early tau counts from ACT's first epoch
    assert rows[0]["test_iters"] == [2.0, 3.0]  # the warm-up's test pass runs every iteration, like its training
    per_epoch = len(calls) // 3
    warm, act, budget = calls[:per_epoch], calls[per_epoch:2 * per_epoch], calls[2 * per_epoch:]
    assert all(c == (0.0, None, False) for c in warm)
    assert all(c == (0.01, None, True) for c in act)  # no budgets before budget_sampling_from
    assert all(t == 0.005 and e is not None and h for t, e, h in budget)


def test_train_step_without_halting_runs_every_iteration_and_outputs_the_final_state():
    torch.manual_seed(0)
    model = IamNN(ModelConfig(stem_channels=8, widths=(8, 16), bottlenecks=(4, 8), max_iters=(2, 3), act_hidden=8,
                              zero_init_last_bn=False))
    x, y = torch.randn(4, 3, 32, 32), torch.tensor([0, 1, 2, 3])
    tc = train.TrainConfig(precision="fp32", device="cpu", lr=0.0, weight_decay=0.0)
    model.eval()  # batchnorm from running statistics: the two forwards see the same function
    expected, iters, _ = model(x, halting=False)
    logits, n_iters, _, _, ponder = train.train_step(model, train.make_optimizer(model, tc), x, y, None, 0.0, tc,
                                                     halting=False)
    assert torch.allclose(logits, expected) and n_iters.tolist() == [[2, 3]] * 4 and ponder.item() == 0.0


def test_low_res_epochs_train_on_downsampled_batches_and_test_at_full_size(cifar_archive, tmp_path, monkeypatch):
    with pytest.raises(SystemExit, match="must be 2 or more"):
        train.main(TINY_RUN + [f"--data={cifar_archive}", f"--out={tmp_path / 'bad'}", "--low_res_epochs=1",
                               "--low_res_factor=1"])
    with pytest.raises(SystemExit, match="does not divide the 32x32 images"):
        train.main(TINY_RUN + [f"--data={cifar_archive}", f"--out={tmp_path / 'bad'}", "--low_res_epochs=1",
                               "--low_res_factor=3"])
    sides, tested = [], []
    step, predict = train.train_step, train.predict
    monkeypatch.setattr(train, "train_step", lambda *a: sides.append(a[2].shape[-1]) or step(*a))
    monkeypatch.setattr(train, "predict", lambda m, x, *a, **k: tested.append(x.shape[-1]) or predict(m, x, *a, **k))
    train.main(TINY_RUN + [f"--data={cifar_archive}", f"--out={tmp_path / 'run'}", "--low_res_epochs=2"])
    per_epoch = len(sides) // 3
    assert sides == [16] * (2 * per_epoch) + [32] * per_epoch  # two epochs at 16x16, then full size
    assert tested == [32, 32, 32]  # every test pass at the size it ships at


def test_depth_sampling_trains_some_batches_with_halting_off_at_random_depths(cifar_archive, tmp_path, monkeypatch):
    mc = ModelConfig(max_iters=(2, 4, 12))
    gen = torch.Generator().manual_seed(0)
    assert train.step_depth(train.TrainConfig(), mc, gen, 0) is None
    assert torch.equal(gen.get_state(), torch.Generator().manual_seed(0).get_state())  # off: nothing drawn
    drawn = [train.step_depth(train.TrainConfig(depth_sampling=1.0), mc, gen, 0) for _ in range(300)]
    assert all(1 <= n <= t for caps in drawn for n, t in zip(caps, mc.max_iters))
    assert {caps[2] for caps in drawn} == set(range(1, 13))  # every depth of the 12-iteration stage comes up
    assert train.step_depth(train.TrainConfig(depth_sampling=1.0, halting_off_epochs=1), mc, gen, 0) is None
    with pytest.raises(SystemExit, match="only IamNN halts"):
        train.main(TINY_RUN + [f"--data={cifar_archive}", f"--out={tmp_path / 'bad'}", "--depth_sampling=0.5",
                               "--shared=False", "--zero_init_last_bn=False"])
    calls = []
    step = train.train_step
    monkeypatch.setattr(train, "train_step", lambda *a: calls.append((a[5], a[7], a[8], a[9])) or step(*a))
    train.main(TINY_RUN + [f"--data={cifar_archive}", f"--out={tmp_path / 'run'}", "--depth_sampling=0.5",
                           "--budget_sampling=1"])
    depth = [c for c in calls if c[3] is not None]
    act = [c for c in calls if c[3] is None]
    assert depth and act
    assert all(not halting and eps is None and all(1 <= n <= t for n, t in zip(caps, (2, 3)))
               for _, eps, halting, caps in depth)
    assert all(halting and eps is not None for _, eps, halting, _ in act)  # the rest: budgets, as before


def test_train_step_at_a_sampled_depth_outputs_that_state():
    torch.manual_seed(0)
    model = IamNN(ModelConfig(stem_channels=8, widths=(8, 16), bottlenecks=(4, 8), max_iters=(2, 3), act_hidden=8,
                              zero_init_last_bn=False)).eval()
    x, y = torch.randn(4, 3, 32, 32), torch.tensor([0, 1, 2, 3])
    tc = train.TrainConfig(precision="fp32", device="cpu", lr=0.0, weight_decay=0.0)
    expected, _, _ = model(x, max_iters=(1, 2), halting=False)
    logits, n_iters, _, _, ponder = train.train_step(model, train.make_optimizer(model, tc), x, y, None, 0.005, tc,
                                                     None, False, (1, 2))
    assert torch.allclose(logits, expected) and n_iters.tolist() == [[1, 2]] * 4 and ponder.item() == 0.0
