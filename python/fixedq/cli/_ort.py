"""ONNX Runtime rows of ``fixedq compare``/``fixedq demo``: the same ONNX model run by onnxruntime
in float and after ``onnxruntime.quantization.quantize_static`` (the peer a user would otherwise
call), timed the same way as fixedq's rows and with the same number of threads."""

from __future__ import annotations

import logging
import os
import tempfile
from typing import Any, Dict, List, Optional

import numpy as np

from ._demo import timed

__all__ = ["ort_rows", "ORT_STATIC_METHOD"]

#: The method name of the quantize_static row.
ORT_STATIC_METHOD = "onnxruntime int8 (quantize_static, u8s8 QOperator, per-channel minmax)"


def _session(ort: Any, path: str, threads: int) -> Any:
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.log_severity_level = 3
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def ort_rows(model_path: str, calibration: np.ndarray, x: np.ndarray, y: Optional[np.ndarray], *, threads: int,
             base: Dict[str, Any], batch_size: int = 100, repeats: int = 3) -> List[Dict[str, Any]]:
    """Rows (in :func:`fixedq.cli.compare_table`'s format) for onnxruntime float and int8.

    The int8 model is made by ``quantize_static`` with u8 activations, s8 per-channel weights,
    QOperator format (QLinearConv/QLinearMatMul: ONNX Runtime's fast CPU path) and MinMax
    calibration on ``calibration`` in batches of ``batch_size``. ``base`` is the fixedq float
    row: losses and speed ratios are against it. Returns [] if onnxruntime is not installed.
    """
    try:
        import onnxruntime as ort
        from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                              quantize_static)
    except ImportError:
        return []
    name = _session(ort, model_path, 1).get_inputs()[0].name

    class Reader(CalibrationDataReader):  # type: ignore[misc]
        def __init__(self) -> None:
            self.batches = iter(calibration[i:i + batch_size] for i in range(0, len(calibration), batch_size))

        def get_next(self) -> Optional[Dict[str, np.ndarray]]:
            b = next(self.batches, None)
            return None if b is None else {name: np.ascontiguousarray(b, dtype=np.float32)}

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        qpath = os.path.join(tmp, "int8.onnx")
        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.ERROR)  # quantize_static logs advice on the root logger
        try:
            quantize_static(model_path, qpath, Reader(), quant_format=QuantFormat.QOperator, per_channel=True,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                            calibrate_method=CalibrationMethod.MinMax)
        finally:
            root.setLevel(level)
        for method, path, wb, ab in (("onnxruntime float32", model_path, 32, 32), (ORT_STATIC_METHOD, qpath, 8, 8)):
            sess = _session(ort, path, threads)

            def run(batch: np.ndarray, sess: Any = sess) -> np.ndarray:
                return sess.run(None, {name: np.ascontiguousarray(batch, dtype=np.float32)})[0]

            pred, secs = timed(run, x, repeats)
            size = base["size_bytes"] if wb == 32 else _weight_bytes(path)
            acc = 100.0 * float((pred.argmax(1) == y).mean()) if y is not None else float("nan")
            rows.append({"method": method, "mode": "onnxruntime", "weight_bits": wb, "activation_bits": ab,
                         "accuracy": acc, "loss": base["accuracy"] - acc, "size_bytes": size,
                         "compression": base["size_bytes"] / size, "seconds": secs,
                         "speedup": base["seconds"] / secs})
    return rows


def _weight_bytes(path: str) -> float:
    """Bytes of the quantized model's initializers (weight codes, int32 biases, scales, zero points)."""
    import onnx
    from onnx import numpy_helper

    return float(sum(numpy_helper.to_array(t).nbytes for t in onnx.load(path).graph.initializer))
