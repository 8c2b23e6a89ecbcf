"""A drop-in `conv_general_dilated` for nnx.Conv whose input gradient XLA:CPU computes fast.

The forward pass is XLA's own convolution (bit-identical outputs) and so is the kernel gradient.
Only the input gradient differs: autodiff's transposed strided convolution is one of XLA:CPU's
slow paths (1.7 s single-threaded for the estimator's 3 x 6 x 256 -> 2 x 4 x 512 layer at batch
64, against 0.02 s as a matmul; docs/benchmarks.md). A stride-s convolution is a stride-1
convolution of the space-to-depth input (s x s pixel blocks stacked on channels) with the kernel
rearranged the same way, and the transpose of *that* is an ordinary stride-1 convolution.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
from jax import lax

_NHWC = ("NHWC", "HWIO", "NHWC")


def conv_general_dilated(
    lhs: jax.Array,
    rhs: jax.Array,
    window_strides,
    padding,
    lhs_dilation=None,
    rhs_dilation=None,
    dimension_numbers=None,
    feature_group_count: int = 1,
    precision=None,
    **kwargs,
) -> jax.Array:
    """`lax.conv_general_dilated`'s signature (what nnx.Conv calls); strided NHWC/HWIO 2-D
    convolutions with explicit padding get the fast input gradient, anything else is passed on."""
    plain = lambda: lax.conv_general_dilated(  # noqa: E731
        lhs, rhs, window_strides, padding, lhs_dilation, rhs_dilation, dimension_numbers,
        feature_group_count, precision=precision, **kwargs,
    )  # fmt: skip
    is_nhwc = lhs.ndim == 4 and dimension_numbers == lax.conv_dimension_numbers(
        lhs.shape, rhs.shape, _NHWC
    )
    if (
        not is_nhwc
        or isinstance(padding, str)
        or any(d != 1 for d in (*(lhs_dilation or ()), *(rhs_dilation or ())))
        or feature_group_count != 1
        or all(s == 1 for s in window_strides)
        or kwargs.get("preferred_element_type") is not None
    ):
        return plain()
    return _strided_conv(
        lhs, rhs, tuple(window_strides), tuple(tuple(p) for p in padding), precision
    )


def _xla_conv(x, w, strides, padding, precision):
    return lax.conv_general_dilated(
        x, w, strides, padding, dimension_numbers=_NHWC, precision=precision
    )


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3, 4))
def _strided_conv(x_BxHxWxC, w_KxKxCxO, strides, padding, precision):
    return _xla_conv(x_BxHxWxC, w_KxKxCxO, strides, padding, precision)


def _strided_conv_fwd(x, w, strides, padding, precision):
    return _xla_conv(x, w, strides, padding, precision), (x, w)


def _strided_conv_bwd(strides, padding, precision, residuals, dy):
    x, w = residuals
    _, kernel_vjp = jax.vjp(lambda w_: _xla_conv(x, w_, strides, padding, precision), w)
    _, input_vjp = jax.vjp(lambda x_: _space_to_depth_conv(x_, w, strides, padding, precision), x)
    return input_vjp(dy)[0], kernel_vjp(dy)[0]


_strided_conv.defvjp(_strided_conv_fwd, _strided_conv_bwd)


def _space_to_depth_conv(x_BxHxWxC, w_KxKxCxO, strides, padding, precision):
    """The same convolution as `_xla_conv`, written as a stride-1 one on s x s pixel blocks."""
    (kh, kw), (sh, sw) = w_KxKxCxO.shape[:2], strides
    _, h, w, c = x_BxHxWxC.shape
    out_h = (h + sum(padding[0]) - kh) // sh + 1
    out_w = (w + sum(padding[1]) - kw) // sw + 1
    # Blocks covering exactly the rows/columns the strided windows read (rounded up to whole
    # blocks; rows past the last window are cropped by a negative high padding).
    bh, bw = math.ceil(kh / sh), math.ceil(kw / sw)
    rows, cols = sh * (out_h - 1 + bh), sw * (out_w - 1 + bw)
    x_pad = lax.pad(
        x_BxHxWxC,
        jnp.zeros((), x_BxHxWxC.dtype),
        (
            (0, 0, 0),
            (padding[0][0], rows - h - padding[0][0], 0),
            (padding[1][0], cols - w - padding[1][0], 0),
            (0, 0, 0),
        ),
    )
    n = x_BxHxWxC.shape[0]
    blocks = x_pad.reshape(n, rows // sh, sh, cols // sw, sw, c).transpose(0, 1, 3, 2, 4, 5)
    blocks = blocks.reshape(n, rows // sh, cols // sw, sh * sw * c)
    w_pad = jnp.pad(w_KxKxCxO, ((0, bh * sh - kh), (0, bw * sw - kw), (0, 0), (0, 0)))
    o = w_KxKxCxO.shape[3]
    w_blocks = w_pad.reshape(bh, sh, bw, sw, c, o).transpose(0, 2, 1, 3, 4, 5)
    w_blocks = w_blocks.reshape(bh, bw, sh * sw * c, o)
    return lax.conv_general_dilated(
        blocks, w_blocks, (1, 1), "VALID", dimension_numbers=_NHWC, precision=precision
    )
