"""QTensor: integer codes with the parameters that give them a value (private module)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

if TYPE_CHECKING:
    from ._metrics import QuantMetrics


@dataclass(frozen=True, eq=False)
class QTensor:
    """A quantized tensor: integer codes, the scheme's parameters and the storage they take.

    Made by :func:`fixedq.quant.quantize`; not meant to be built by hand.

    Attributes
    ----------
    codes : numpy.ndarray
        The integer codes, with the source's shape. What a code means is the scheme's
        (see :func:`fixedq.quant.quantize`).
    scheme : str
        The scheme's name.
    bits : int
        Bits per stored code.
    params : Mapping[str, Any]
        The scheme's parameters (``scale``, ``zero_point``, ``axis``, ``codebook``, ...). Arrays
        in it are per channel along ``params["axis"]`` when that is not None.
    dtype : numpy.dtype
        The floating-point type :meth:`dequantize` returns (the source's: float32 or float64).
    """

    codes: np.ndarray
    scheme: str
    bits: int
    params: Mapping[str, Any] = field(default_factory=dict)
    dtype: np.dtype = field(default_factory=lambda: np.dtype(np.float64))

    @property
    def shape(self) -> tuple[int, ...]:
        """The tensor's shape."""
        return tuple(self.codes.shape)

    @property
    def axis(self) -> int | None:
        """The channel axis of per-channel parameters, or None for per-tensor parameters."""
        return self.params.get("axis")

    @property
    def storage_bits(self) -> int:
        """Bits needed to store the tensor: ``codes.size * bits`` plus the parameters.

        Scales, centroids and other real parameters count 32 bits each (float32, as ONNX and
        TensorRT store them); integer zero points count ``bits`` each; exponents and lengths that
        are fixed by the format are not counted. For ``"kmeans"`` this is the paper's
        ``n * log2(k) + k * b`` (b = 32) when the tensor has no zeros.
        """
        return int(self.codes.size) * int(self.bits) + int(self.params.get("param_bits", 0))

    def dequantize(self) -> np.ndarray:
        """The real values the codes stand for.

        Returns
        -------
        numpy.ndarray
            An array of :attr:`dtype` with :attr:`shape`.
        """
        from ._schemes import decode

        return decode(self)

    def limits(self) -> tuple[np.ndarray, np.ndarray]:
        """The smallest and largest representable values (per channel when :attr:`axis` is set,
        shaped to broadcast against the tensor). Values beyond them saturate."""
        from ._schemes import limits

        return limits(self)

    @property
    def fixed_type(self) -> type | None:
        """For ``"dynamic_fixed_point"``: the fixedq scalar type whose raws the codes are
        (``Q7``, ``Fixed16_16``, ...), or None when no named format has this bit width and
        fractional length (and for every other scheme)."""
        return self.params.get("fixed_type")

    def to_fixed(self) -> np.ndarray:
        """The codes viewed as the matching fixedq array (no copy).

        Raises
        ------
        ValueError
            If :attr:`fixed_type` is None.
        """
        if self.fixed_type is None:
            raise ValueError(f"no fixedq format matches this {self.scheme} tensor (bits={self.bits}, "
                             f"params={dict(self.params)!r})")
        return self.codes.view(self.fixed_type)

    def metrics(self, reference: Any) -> QuantMetrics:
        """Error metrics of :meth:`dequantize` against the float source (see
        :func:`fixedq.quant.error_metrics`)."""
        from ._metrics import error_metrics

        return error_metrics(self, reference)

    def __repr__(self) -> str:
        shown = {k: v for k, v in self.params.items() if k not in ("param_bits",)}
        return (f"QTensor(scheme={self.scheme!r}, shape={self.shape}, bits={self.bits}, "
                f"params={shown!r})")
