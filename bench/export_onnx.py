"""Export the shipped IamNN (models/cifar10), forced to every stage's maximum, to ONNX for the
onnxruntime-web peer.

    /usr/bin/python3 -m bench.export_onnx --model=models/cifar10 --out=bench/onnx/cifar10-max.onnx

Input: float32 NCHW [batch, 3, 32, 32], already normalized ((x/255 - mean)/std); output: logits.
With halting forced off, every image runs every iteration: the same FLOPs as our `earlyExit: false`.
"""
import sys
from pathlib import Path

import torch

from training.export import load_web_model


class MaxIterations(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(x, eps=-1e9)[0]


def main(argv):
    args = dict(a.lstrip("-").partition("=")[::2] for a in argv)
    model, _ = load_web_model(Path(args.get("model", "models/cifar10")))
    out = Path(args.get("out", "bench/onnx/cifar10-max.onnx"))
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(MaxIterations(model), torch.zeros(1, 3, 32, 32), str(out), input_names=["x"], output_names=["logits"],
                      dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}}, opset_version=13)
    print(f"wrote {out}")


if __name__ == "__main__":
    main(sys.argv[1:])
