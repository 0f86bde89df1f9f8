"""Data files of the ``fixedq`` command: ``.npz`` archives or folders of images.

A ``.npz`` file (read with ``allow_pickle=False``) holds the model inputs under one of these keys:

* ``x``: float inputs, used as they are (float32 after conversion);
* ``images``: uint8 images, scaled to ``images / 255`` (the embedded data's convention);

and, optionally, the integer class labels under ``y`` or ``labels`` (needed for accuracy) and
calibration inputs under ``calibration`` (uint8 images scaled by 1/255 like ``images``, float
arrays used as they are). ``fixedq quantize --calibration FILE`` takes the ``calibration`` key if
the file has one and the inputs otherwise.

A folder holds image files (PNG, JPEG, BMP, PGM...; read with Pillow), either directly (no
labels) or in one sub-folder per class named by its integer label (``0/``, ``1/``, ...). Images
are converted to grey or RGB to match the model's input channels (1 or 3), must already have the
model's height and width, and are scaled to [0, 1].
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import numpy as np

__all__ = ["Dataset", "load_data"]

_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".pgm", ".ppm", ".gif", ".tif", ".tiff", ".webp")


@dataclass
class Dataset:
    """Inputs, optional labels and optional calibration inputs read from one data file or folder."""

    x: np.ndarray
    y: Optional[np.ndarray]
    calibration: Optional[np.ndarray]
    source: str


def _inputs(arr: np.ndarray, key: str, path: str) -> np.ndarray:
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) / np.float32(255)
    if arr.dtype.kind not in "fiu":
        raise ValueError(f"{path}: key {key!r} must hold numbers, got dtype {arr.dtype}")
    return arr.astype(np.float32)


def _labels(arr: np.ndarray, n: int, path: str) -> np.ndarray:
    if arr.dtype.kind not in "iu" or arr.ndim != 1:
        raise ValueError(f"{path}: labels must be a 1-D integer array, got dtype {arr.dtype} shape {arr.shape}")
    if arr.shape[0] != n:
        raise ValueError(f"{path}: {arr.shape[0]} labels for {n} inputs")
    return arr.astype(np.int64)


def _load_npz(path: str) -> Dataset:
    try:
        f = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: not a readable .npz file ({exc})") from exc
    with f:
        if not hasattr(f, "files"):
            raise ValueError(f"{path}: expected a .npz archive, got a single array")
        keys = set(f.files)
        key = "x" if "x" in keys else "images" if "images" in keys else None
        cal = _inputs(f["calibration"], "calibration", path) if "calibration" in keys else None
        if key is None and cal is None:
            raise ValueError(f"{path}: no inputs: expected a key 'x' (float) or 'images' (uint8); keys: {sorted(keys)}")
        x = _inputs(f[key], key, path) if key is not None else cal
        lkey = "y" if "y" in keys else "labels" if "labels" in keys else None
        y = _labels(f[lkey], x.shape[0], path) if lkey is not None and key is not None else None
    return Dataset(x, y, cal, path)


def _read_image(path: str, channels: int, hw: Tuple[Optional[int], Optional[int]]) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        im = im.convert("L" if channels == 1 else "RGB")
        a = np.asarray(im, dtype=np.uint8)
    a = a[None] if a.ndim == 2 else a.transpose(2, 0, 1)
    if any(want is not None and want != got for want, got in zip(hw, a.shape[1:])):
        want = "x".join("?" if d is None else str(d) for d in hw)
        raise ValueError(f"{path}: image is {a.shape[2]}x{a.shape[1]} (WxH), the model takes HxW {want}")
    return a


def _load_folder(path: str, input_shape: Optional[Sequence[Optional[int]]]) -> Dataset:
    try:
        from PIL import Image  # noqa: F401
    except ImportError as exc:
        raise ImportError("reading a folder of images needs Pillow: pip install pillow") from exc
    shape = tuple(input_shape) if input_shape is not None else (None, 1, None, None)
    if len(shape) != 4 or shape[1] not in (1, 3):
        raise ValueError(f"{path}: image folders need a model input of shape Nx1xHxW or Nx3xHxW, got {shape}")
    channels, hw = int(shape[1]), (shape[2], shape[3])
    entries = sorted(os.listdir(path))
    subdirs = [e for e in entries if os.path.isdir(os.path.join(path, e))]
    files: list = []
    labels: list = []
    if subdirs:
        for d in subdirs:
            if not d.isdigit():
                raise ValueError(f"{path}: class folders must be named by their integer label, got {d!r}")
            for e in sorted(os.listdir(os.path.join(path, d))):
                if e.lower().endswith(_IMAGE_SUFFIXES):
                    files.append(os.path.join(path, d, e))
                    labels.append(int(d))
    else:
        files = [os.path.join(path, e) for e in entries if e.lower().endswith(_IMAGE_SUFFIXES)]
    if not files:
        raise ValueError(f"{path}: no image files ({', '.join(_IMAGE_SUFFIXES)})")
    x = np.stack([_read_image(f, channels, hw) for f in files]).astype(np.float32) / np.float32(255)
    return Dataset(x, np.asarray(labels, np.int64) if subdirs else None, None, path)


def load_data(path: str, input_shape: Optional[Sequence[Optional[int]]] = None) -> Dataset:
    """Read a ``.npz`` data file or a folder of images (see the module docstring for the layout).

    Parameters
    ----------
    path : str
        The file or folder.
    input_shape : sequence, optional
        The model's input shape (``None`` for a free dimension): images are read with its
        channel count and checked against its height and width.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    ValueError
        Unknown keys, wrong dtypes, label count mismatch, images of the wrong size.
    """
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such data file or folder: {path}")
    if os.path.isdir(path):
        return _load_folder(path, input_shape)
    return _load_npz(path)
