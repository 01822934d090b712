"""The compute dial as a picture: accuracy against mean FLOPs for every per-call setting in a report.json
(halting thresholds and the mirror vote's gates as curves, iteration caps as points), with the unshared baseline and the static peers.

    /usr/bin/python3 -m training.plot_dial --report=models/cifar10/report.json --out=docs/dial-cifar10.png

Needs matplotlib (Debian: python3-matplotlib); nothing else in training/ does.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path


def main(argv: list[str]) -> None:
    args = dict(a.lstrip("-").partition("=")[::2] for a in argv)
    report = json.loads(Path(args.get("report", "models/cifar10/report.json")).read_text())
    out = Path(args.get("out", "docs/dial-cifar10.png"))
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = report["rows"]
    mflops = lambda r: r["flops_mean"] / 1e6  # noqa: E731
    acc = lambda r: 100 * r["accuracy"]  # noqa: E731
    shipped = rows[0]
    curve = sorted([r for r in rows if r["name"].startswith("IamNN threshold") or r is shipped], key=mflops)
    gates = sorted([r for r in rows if r["name"].startswith("IamNN mirror vote") or r is shipped], key=mflops)
    caps = [r for r in rows if r.get("caps")]
    fixed = [r for r in rows if r["name"].startswith(("Unshared baseline", "Static ResNet"))]
    previous = [r for r in rows if r["name"].startswith("IamNN, other run") and r.get("epochs", 0) >= 60 and not r.get("carried_from")]
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
    ax.plot([mflops(r) for r in curve], [acc(r) for r in curve], "o-", color="#2a6df4", label="IamNN, halting threshold")
    for r in curve:
        ax.annotate(f"{r['threshold']:g}", (mflops(r), acc(r)), textcoords="offset points", xytext=(4, -10), fontsize=7, color="#2a6df4")
    ax.plot([mflops(r) for r in gates], [acc(r) for r in gates], "^-", color="#1a9e5c", label="IamNN, mirror vote gate")
    for r in gates:
        ax.annotate(f"{r['mirror_below']:g}", (mflops(r), acc(r)), textcoords="offset points", xytext=(4, 4), fontsize=7, color="#1a9e5c")
    ax.plot([mflops(r) for r in caps], [acc(r) for r in caps], "s", color="#e07b00", label="IamNN, iteration caps")
    for r in caps:
        ax.annotate("/".join(map(str, r["caps"])), (mflops(r), acc(r)), textcoords="offset points", xytext=(4, 4), fontsize=7, color="#e07b00")
    ax.plot([mflops(shipped)], [acc(shipped)], "*", ms=14, color="#2a6df4", label=f"IamNN default ({acc(shipped):.2f}%)")
    for r in fixed:
        ax.plot([mflops(r)], [acc(r)], "D", color="#555")
        flip = ", every image mirrored" if r.get("mirrored") == 1 else ""
        ax.annotate(f"{r['name'].split(' (')[0]}, {r.get('epochs', '?')} epochs{flip}", (mflops(r), acc(r)),
                    textcoords="offset points", xytext=(-6, -3), fontsize=7, ha="right")
    for r in previous:  # the model this one was fine-tuned from, at its own threshold
        ax.plot([mflops(r)], [acc(r)], "o", mfc="none", color="#888", ms=9, label="previous model (default setting)")
    ax.set_xlabel("mean MFLOPs per image")
    ax.set_ylabel(f"top-1 accuracy (%), {report['dataset'].split(' (')[0]}")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title("The compute dial: accuracy against compute per call setting", fontsize=10)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main(sys.argv[1:])
