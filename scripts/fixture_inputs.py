"""The seeded inputs of the reference fixtures, mirrored line by line by
``tests/fixture_inputs.ts``.

A fixture case stores an input *recipe* (a mulberry32 seed, the shapes, the
dtypes and a few structural choices) instead of its arrays; both this module
and the TypeScript loader turn the recipe into the same arrays, bit for bit.
To make that hold on every engine (CPython, V8, JavaScriptCore), the arrays are
built from 32-bit integer arithmetic, integer sums and products that stay
below 2**53, floor divisions by powers of two, and multiplications by powers
of two: every step is exact, so no step can round differently anywhere. No
logarithm, cosine or square root is involved (those may differ in the last bit
between V8 and JavaScriptCore).

The recipe's fields (``camelCase``, as stored in the JSON):

- ``seed``: the mulberry32 seed (an unsigned 32-bit integer);
- ``batchSize`` B, ``featureShape`` (X's shape is ``[B, *featureShape]``,
  F = prod(featureShape)), ``confounds`` M, ``nVector`` (N of shape ``(B)``
  instead of ``(M, B)``, only with M = 1);
- ``strength``: the integer scale of the features' loadings on the confounds
  (0: independent noise);
- ``xDtype``, ``nDtype``: ``"float64"`` or ``"float32"``;
- ``exponentShift``: added to every feature's power of two (-40 for data of
  about 1e-12);
- ``offset``: ``null``, or ``{"x": 1e9, "n": -1e9 or 0}``, the ``1e9 + noise``
  cases: a column becomes ``offset + q * 2**-21`` with ``|q| <= 2**23``, exact
  in float64 because ``|offset + noise| < 2**30``;
- ``constantFeatures`` / ``constantConfounds``: ``[[column, value], ...]``,
  columns overwritten by a constant (the value is already rounded to the
  array's dtype). Feature columns count in X's natural row-major order over
  ``featureShape``.

The data, drawn in this order from one mulberry32 stream (``int24`` is the
draw's top 24 bits, ``gauss`` the sum of four ``int24`` minus 2**25, an
Irwin-Hall approximation of a normal in integers):

1. ``zN[m][b] = gauss()`` for every confound m, then sample b;
2. for every confound: ``mult = 2 * (int24 >> 17) + 1`` (odd, 1 to 255),
   ``off = (int24 >> 16) - 128``, ``exp = (int24 >> 21) - 4``; the column is
   ``(mult * zN + off * 2**22) * 2**(exp - 26)``;
3. for every feature column f: ``w = int24 >> 20``; for every confound
   ``a[m] = (int24 >> 20) - 8``; for every sample ``noise = gauss()`` and
   ``xInt = sum_m a[m] * w * strength * zN[m][b] + 32 * noise``; then
   ``mult = 2 * (int24 >> 17) + 1``, ``off = (int24 >> 13) - 1024``,
   ``exp = (int24 >> 20) - 8``; the column is
   ``(mult * xInt + off * 2**30) * 2**(exp - 30 + exponentShift)``.

A float32 column keeps the top 24 bits of its integers (``v >> s`` with the
smallest ``s`` that makes every ``|v| >> s`` fit), so it is exact in float32.
An offset column keeps the top 23 bits of ``xInt`` (features) or
``mult * zN`` (confounds) and adds them, times 2**-21, to the offset.
"""

from __future__ import annotations

import hashlib
import math
from fractions import Fraction

import numpy as np

M32 = 0xFFFFFFFF
EXACT_LIMIT = 2**53
RECIPE_VERSION = 1


class Mulberry32:
    """mulberry32 as ``src/cli/input/mulberry32.ts`` writes it, in unsigned 32-bit arithmetic."""

    def __init__(self, seed: int) -> None:
        self.state = seed & M32

    def next_u32(self) -> int:
        self.state = (self.state + 0x6D2B79F5) & M32
        t = self.state
        t = ((t ^ (t >> 15)) * (t | 1)) & M32
        t ^= (t + (((t ^ (t >> 7)) * (t | 61)) & M32)) & M32
        return (t ^ (t >> 14)) & M32

    def int24(self) -> int:
        return self.next_u32() >> 8

    def gauss(self) -> int:
        return self.int24() + self.int24() + self.int24() + self.int24() - 2**25


def rng_check(seed: int = 1, count: int = 6) -> dict:
    """The first raw draws of one seed, which the TypeScript loader compares with its own."""
    generator = Mulberry32(seed)
    return {"seed": seed, "u32": [generator.next_u32() for _ in range(count)]}


def _exact(value: int) -> int:
    if abs(value) >= EXACT_LIMIT:
        raise OverflowError(f"an input integer {value} is not exact in float64")
    return value


def _top_bits_shift(values: list[int], bits: int) -> int:
    """Smallest s >= 0 with every |v| < 2**(bits + s)."""
    largest = max((abs(v) for v in values), default=0)
    return max(0, largest.bit_length() - bits)


def _scaled_column(values: list[int], exponent: int, dtype: str) -> list[float]:
    if dtype == "float32":
        shift = _top_bits_shift(values, 24)
        return [math.ldexp(v >> shift, shift + exponent) for v in values]
    return [math.ldexp(_exact(v), exponent) for v in values]


def _offset_column(values: list[int], offset: float) -> list[float]:
    shift = _top_bits_shift(values, 23)
    out = []
    for v in values:
        noise = math.ldexp(v >> shift, -21)
        total = offset + noise
        if Fraction(total) != Fraction(offset) + Fraction(noise):
            raise ArithmeticError(f"{offset} + {noise} is not exact in float64")
        out.append(total)
    return out


def build_inputs(recipe: dict) -> tuple[np.ndarray, np.ndarray]:
    """X of shape ``(B, *featureShape)`` and N of shape ``(M, B)`` or ``(B)``, from a recipe."""
    B = recipe["batchSize"]
    dims = list(recipe["featureShape"])
    M = recipe["confounds"]
    F = int(np.prod(dims, dtype=np.int64)) if dims else 1
    strength = recipe["strength"]
    offset = recipe.get("offset")
    rng = Mulberry32(recipe["seed"])

    z_n = [[rng.gauss() for _ in range(B)] for _ in range(M)]
    n_columns = []
    for m in range(M):
        mult = 2 * (rng.int24() >> 17) + 1
        off = (rng.int24() >> 16) - 128
        exponent = (rng.int24() >> 21) - 4
        if offset is not None and offset["n"] != 0:
            n_columns.append(_offset_column([mult * z for z in z_n[m]], offset["n"]))
        else:
            ints = [_exact(mult * z + off * 2**22) for z in z_n[m]]
            n_columns.append(_scaled_column(ints, exponent - 26, recipe["nDtype"]))

    x_columns = []
    for _ in range(F):
        weight = rng.int24() >> 20
        loadings = [((rng.int24() >> 20) - 8) * weight * strength for _ in range(M)]
        x_int = []
        for b in range(B):
            noise = rng.gauss()
            x_int.append(_exact(sum(loadings[m] * z_n[m][b] for m in range(M)) + 32 * noise))
        mult = 2 * (rng.int24() >> 17) + 1
        off = (rng.int24() >> 13) - 1024
        exponent = (rng.int24() >> 20) - 8
        if offset is not None:
            x_columns.append(_offset_column(x_int, offset["x"]))
        else:
            ints = [_exact(mult * v + off * 2**30) for v in x_int]
            x_columns.append(_scaled_column(ints, exponent - 30 + recipe.get("exponentShift", 0), recipe["xDtype"]))

    for column, value in recipe.get("constantFeatures", []):
        x_columns[column] = [value] * B
    for column, value in recipe.get("constantConfounds", []):
        n_columns[column] = [value] * B

    x_dtype = np.float32 if recipe["xDtype"] == "float32" else np.float64
    n_dtype = np.float32 if recipe["nDtype"] == "float32" else np.float64
    X = np.array(x_columns, dtype=np.float64).T.reshape((B, *dims)) if dims else np.array(x_columns[0], dtype=np.float64)
    N = np.array(n_columns, dtype=np.float64)
    if recipe["nVector"]:
        N = N[0]
    X32, N32 = X.astype(x_dtype), N.astype(n_dtype)
    if not (np.array_equal(X32.astype(np.float64), X) and np.array_equal(N32.astype(np.float64), N)):
        raise ArithmeticError("an input value is not exact in its dtype")
    return np.ascontiguousarray(X32), np.ascontiguousarray(N32)


def input_digest(X: np.ndarray, N: np.ndarray) -> str:
    """The first 16 hex digits of the SHA-256 of X's and then N's little-endian bytes."""
    data = b"".join(np.ascontiguousarray(a.astype(a.dtype.newbyteorder("<"))).tobytes() for a in (X, N))
    return hashlib.sha256(data).hexdigest()[:16]
