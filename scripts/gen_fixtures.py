#!/usr/bin/env python3
"""Reference fixtures for batch-corr's parity tests.

Run from the repository root with a Python that has numpy, scipy, jax and
mpmath (``.venv/bin/python scripts/gen_fixtures.py``, about 7 minutes; see
docs/fixtures.md; ``... gen_fixtures.py auto_tol`` writes only that file, and
likewise ``batch_corr`` and ``grad``). The output is deterministic (fixed
seeds) and goes to ``tests/fixtures/``:

- ``batch_corr.json``: random cases of hypercoil's ``batch_corr`` and every
  scalarisation of ``BatchCorrelationLoss``;
- ``auto_tol.json``: ``auto_tol`` on a grid of batch sizes, significance
  levels and tails, from scipy and to 40 digits with mpmath (scipy's ``t.ppf``
  is itself off by up to 1.4e-11 relative on that grid);
- ``grad.json``: JAX gradients of the loss with respect to X and N.

hypercoil's formulas (``batch_corr``, ``auto_tol``, the scalarisations) are
written out twice, once with numpy/scipy and once under JAX with float64
enabled, and the script refuses to write anything unless both agree to 1e-13.
Correlations with a zero-variance feature or confound are 0/0: hypercoil
returns NaN; this library's default is 0, so both are recorded.

The inputs X and N are not stored: each case holds a recipe (a mulberry32
seed, shapes, dtypes, a few structural choices) from which
``scripts/fixture_inputs.py`` here and ``tests/fixture_inputs.ts`` in the tests
build the same arrays bit for bit, with exact integer arithmetic only, plus a
digest of the arrays that the tests check. Computed arrays are stored as
``{"dtype", "shape", "b64"}``: base64 of the row-major little-endian float64
bytes. Scalars are JSON numbers (Python writes the shortest repr, which
round-trips exactly). See docs/fixtures.md for the schema.
"""

from __future__ import annotations

import base64
import json
import math
import os
import sys
from fractions import Fraction
from functools import partial

import mpmath
import numpy as np
import scipy.stats

import jax
from fixture_inputs import RECIPE_VERSION, build_inputs, input_digest, rng_check

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402  (x64 must be enabled before use)

SEED = 20_240_611
OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures")
AGREE = 1e-13  # numpy vs JAX, absolute on r, relative on losses
KINK_MARGIN = 1e-9  # no |r| this close to tol in value fixtures
GRAD_KINK_MARGIN = 1e-5  # nor, in gradient fixtures, this close to a kink or a tie
FD_STEP_SCALE = 10  # finite-difference step, in 1e-6 of a column's spread: moves r by < 1e-5

# Scalarisations by fixture key: (kind, p)
SCALARISATIONS = {
    "sum": ("sum", None),
    "mean": ("mean", None),
    "meansq": ("meansq", None),
    "max": ("max", None),
    "vnorm1": ("vnorm", 1),
    "vnorm2": ("vnorm", 2),
    "vnorm3": ("vnorm", 3),
    "vnormInf": ("vnorm", math.inf),
}

SPEC_AUTO_TOL = [  # SPEC section 1, hypercoil under JAX with float64
    ((20, 0.1), 0.3783408610435194),
    ((3, 0.1), 0.9876883405951377),
    ((1_000_000, 0.1), 0.0016448545704628797),
    ((5, 1e-6), 0.9999114650784537),
]


# ---------------------------------------------------------------- encoding


def encode(array: np.ndarray) -> dict:
    array = np.asarray(array)
    if array.dtype not in (np.float32, np.float64):
        raise TypeError(f"cannot encode dtype {array.dtype}")
    little = array.astype(array.dtype.newbyteorder("<"), copy=False)
    return {
        "dtype": "float32" if array.dtype == np.float32 else "float64",
        "shape": list(array.shape),
        "b64": base64.b64encode(np.ascontiguousarray(little).tobytes()).decode("ascii"),
    }


def write_json(name: str, payload: dict) -> int:
    path = os.path.join(OUT_DIR, name)
    text = json.dumps(payload, separators=(",", ":"), allow_nan=False)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.write("\n")
    return len(text) + 1


# ---------------------------------------------------------------- auto_tol


def auto_tol(batch_size: int, significance: float = 0.1, tails: int = 2) -> float:
    """hypercoil's auto_tol with scipy's Student t quantile."""
    df = batch_size - 2
    t = scipy.stats.t.ppf(1 - significance / tails, df)
    tsq = t * t
    return float(np.sqrt(tsq / (df + tsq)))


def auto_tol_exact(batch_size: int, significance: float, tails: int, guess: float) -> float:
    """auto_tol to 40 digits, rounded once: the quantile level is the same
    float64 ``1 - significance / tails`` that hypercoil forms, then
    ``P(|T| <= t) = I_x(1/2, df/2)`` with ``x = t² / (df + t²) = tol²`` is
    solved for x by Newton's method on mpmath's regularised incomplete beta."""
    with mpmath.workdps(40):
        q = 1 - significance / tails
        p = abs(2 * mpmath.mpf(q) - 1)
        if p == 0:
            return 0.0
        a, b = mpmath.mpf(1) / 2, mpmath.mpf(batch_size - 2) / 2
        log_beta = mpmath.log(mpmath.beta(a, b))
        x = mpmath.mpf(guess) ** 2
        for _ in range(100):
            residual = mpmath.betainc(a, b, 0, x, regularized=True) - p
            density = mpmath.exp((a - 1) * mpmath.log(x) + (b - 1) * mpmath.log1p(-x) - log_beta)
            step = residual / density
            x -= step
            if abs(step) <= x * mpmath.mpf(10) ** -32:
                return float(mpmath.sqrt(x))
    raise RuntimeError(f"Newton's method did not converge for auto_tol({batch_size}, {significance}, {tails})")


def auto_tol_tail_exact(batch_size: int, significance: float, tails: int) -> float:
    """auto_tol for an upper tail ``q = significance / tails`` given exactly,
    without the float64 level ``1 - q`` (which rounds to 1 below about 1.1e-16):
    ``P(T > t) = I_w(df/2, 1/2) / 2`` at ``w = df / (df + t²) = 1 - tol²``, so
    ``I_w(df/2, 1/2) = 2q`` is solved for ``log w`` by bisection at 80 digits
    (w can be far below float64's range), then ``tol = sqrt(1 - w)``."""
    with mpmath.workdps(80):
        q = mpmath.mpf(significance) / tails
        a, b = mpmath.mpf(batch_size - 2) / 2, mpmath.mpf(1) / 2
        target = mpmath.log(2 * q)
        def below(log_w):
            value = mpmath.betainc(a, b, 0, mpmath.exp(log_w), regularized=True)
            return value <= 0 or mpmath.log(value) < target

        # w^a / (a·B(a, 1/2)) <= I_w(a, 1/2) <= w^a / (a·B(a, 1/2)·sqrt(1 - w)): the root is at
        # or below the w where the lower bound is 2q, and a little under it (in log w) is below.
        hi = min((target + mpmath.log(a * mpmath.beta(a, b))) / a, mpmath.mpf(0))
        width = 60 / a
        while not below(hi - width):
            width *= 2
        lo = hi - width
        for _ in range(400):
            mid = (lo + hi) / 2
            if below(mid):
                lo = mid
            else:
                hi = mid
        return float(mpmath.sqrt(1 - mpmath.exp((lo + hi) / 2)))


def auto_tol_tiny_tails() -> dict:
    sizes = [3, 4, 5, 10, 20, 100, 1000, 100_000, 10_000_000]
    sigs = [1e-9, 2e-9, 1e-10, 1e-12, 1e-14, 1e-16, 2.2e-16, 1e-17, 1e-20, 1e-50, 1e-100, 1e-200, 1e-300, 2.2250738585072014e-308]
    entries = []
    for tails in (1, 2):
        for B in sizes:
            for sig in sigs:
                exact = auto_tol_tail_exact(B, sig, tails)
                t = scipy.stats.t.isf(sig / tails, B - 2)
                scipy_tol = float(np.sqrt(1 / (1 + (B - 2) / t / t))) if math.isfinite(t) and t > 0 else None
                entries.append([B, sig, tails, exact, scipy_tol])
    return {
        "description": "[batchSize, significance, tails, exact, scipy]: tol = sqrt(t^2 / (B - 2 + t^2)) with t the Student t "
        "quantile of the upper tail significance / tails taken exactly (not the float64 level 1 - significance / tails, which "
        "rounds to 1 below about 1.1e-16); exact: 80-digit mpmath rounded once; scipy: from scipy.stats.t.isf, null where "
        "it is not finite",
        "versions": {"scipy": scipy.__version__, "mpmath": mpmath.__version__},
        "entries": entries,
    }


def auto_tol_wide_grid() -> dict:
    """auto_tol at random points off the fixed grid: batch sizes log-uniform in
    [3, 1e10], half of them fractional (a decayed stream's effective count),
    significance log-uniform in [1e-9, 0.999], one or two tails."""
    # Written for the library's own t quantile (src/core/_inverse_beta_half.ts), which replaced @stdlib's.
    rng = np.random.default_rng(20261204)
    entries = []
    for i in range(300):
        size = 3 + float(10 ** rng.uniform(-2, 10))
        B = size if i % 2 else float(math.floor(size))
        sig = float(10 ** rng.uniform(-9, math.log10(0.999)))
        tails = int(rng.integers(1, 3))
        scipy_tol = auto_tol(B, sig, tails)
        if sig / tails < 2**-30:  # where autoTol, too, takes the tail itself rather than the level
            exact = auto_tol_tail_exact(B, sig, tails)
        else:
            exact = auto_tol_exact(B, sig, tails, scipy_tol) if scipy_tol > 0 else 0.0
        entries.append([B, sig, tails, exact, scipy_tol])
    return {
        "description": "[batchSize, significance, tails, exact, scipy]: auto_tol at random points (seed 20261204); "
        "exact: 40-digit mpmath from the float64 level 1 - significance / tails (80-digit from the upper tail itself "
        "below a tail of 2^-30, as autoTol), rounded once; scipy: scipy.stats.t.ppf",
        "versions": {"scipy": scipy.__version__, "mpmath": mpmath.__version__},
        "entries": entries,
    }


# ---------------------------------------------------------------- numpy reference


def features_of(X: np.ndarray) -> np.ndarray:
    """hypercoil's feature matrix: X.swapaxes(0, -1).reshape(-1, B), shape (F, B)."""
    B = X.shape[0]
    return X.swapaxes(0, -1).reshape(-1, B)


def centred(a: np.ndarray) -> np.ndarray:
    # Second pass removes the rounding left in the first mean (1e9 + noise data).
    d = a - a.mean(-1, keepdims=True)
    return d - d.mean(-1, keepdims=True)


def constant_rows(a: np.ndarray) -> np.ndarray:
    return np.all(a == a[:, :1], axis=1)


def numpy_corr(X: np.ndarray, N: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pearson r (F, M) in float64, NaN where a side has zero variance (hypercoil)."""
    Xf = features_of(X.astype(np.float64))
    Nm = np.atleast_2d(N.astype(np.float64))
    dx, dn = centred(Xf), centred(Nm)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (dx @ dn.T) / np.outer(np.sqrt((dx * dx).sum(-1)), np.sqrt((dn * dn).sum(-1)))
    zf, zn = constant_rows(Xf), constant_rows(Nm)
    r[zf, :] = np.nan
    r[:, zn] = np.nan
    return r, zf, zn


def threshold_np(r: np.ndarray, tol: float, abs_: bool) -> np.ndarray:
    thr = np.maximum(np.abs(r) - tol, 0.0)
    return thr if abs_ else np.sign(r) * thr


def scalarise_np(kind: str, p, values: np.ndarray) -> float:
    if kind == "sum":
        return float(np.sum(values))
    if kind == "mean":
        return float(np.mean(values))
    if kind == "meansq":
        return float(np.mean(values**2))
    if kind == "max":
        return float(np.max(values))
    flat = values.ravel()
    if p == math.inf:
        return float(np.max(np.abs(flat)))
    return float(np.sum(np.abs(flat) ** p) ** (1.0 / p))


def loss_scale_np(kind: str, p, values: np.ndarray) -> float:
    """The size against which a loss's relative error is judged: the value
    itself, except for sums of signed values, which may cancel."""
    if kind == "sum":
        return float(np.sum(np.abs(values)))
    if kind == "mean":
        return float(np.mean(np.abs(values)))
    return abs(scalarise_np(kind, p, values))


# ---------------------------------------------------------------- JAX reference


def jax_corr(X, N):
    B = X.shape[0]
    Xf = jnp.swapaxes(X, 0, -1).reshape(-1, B)
    Nm = jnp.atleast_2d(N)
    dx = Xf - Xf.mean(-1, keepdims=True)
    dx = dx - dx.mean(-1, keepdims=True)
    dn = Nm - Nm.mean(-1, keepdims=True)
    dn = dn - dn.mean(-1, keepdims=True)
    cov = dx @ dn.T
    return cov / (jnp.sqrt((dx * dx).sum(-1))[:, None] * jnp.sqrt((dn * dn).sum(-1))[None, :])


def jax_batch_corr(X, N, tol: float, abs_: bool):
    r = jax_corr(X, N)
    thr = jnp.maximum(jnp.abs(r) - tol, 0.0)
    return thr if abs_ else jnp.sign(r) * thr


def scalarise_jax(kind: str, p, values):
    if kind == "sum":
        return jnp.sum(values)
    if kind == "mean":
        return jnp.mean(values)
    if kind == "meansq":
        return jnp.mean(values**2)
    if kind == "max":
        return jnp.max(values)
    # hypercoil's vnorm_scalarise(axis=None) unfolds the whole tensor.
    return jnp.linalg.norm(values.reshape(-1), ord=p)


def jax_loss(X, N, tol, abs_: bool, kind: str, p, nu):
    return nu * scalarise_jax(kind, p, jax_batch_corr(X, N, tol, abs_))


# One compiled function per case (XLA compiles per shape; op-by-op dispatch
# would compile every primitive for every new shape).
@partial(jax.jit, static_argnames="abs_")
def _jax_all_values(X, N, tol, nu, abs_):
    thr = jax_batch_corr(X, N, tol, abs_)
    return jax_corr(X, N), thr, jnp.stack([nu * scalarise_jax(kind, p, thr) for kind, p in SCALARISATIONS.values()])


def jax_values(X, N, tol: float, abs_: bool, nu: float):
    """r, the thresholded values and every loss under JAX, as numpy."""
    r, thr, losses = _jax_all_values(jnp.asarray(X, dtype=jnp.float64), jnp.asarray(N, dtype=jnp.float64), tol, nu, abs_=abs_)
    return np.asarray(r), np.asarray(thr), dict(zip(SCALARISATIONS, np.asarray(losses).tolist()))


@partial(jax.jit, static_argnames="abs_")
def _jax_all_grads(X, N, tol, nu, abs_):
    out = {}
    for key, (kind, p) in SCALARISATIONS.items():
        value, grads = jax.value_and_grad(jax_loss, argnums=(0, 1))(X, N, tol, abs_, kind, p, nu)
        out[key] = (value, grads[0], grads[1])
    return out


def jax_grads(X, N, tol: float, abs_: bool, nu: float) -> dict:
    """{key: (value, dL/dX, dL/dN)} for every scalarisation, under JAX."""
    out = _jax_all_grads(jnp.asarray(X), jnp.asarray(N), tol, nu, abs_=abs_)
    return {key: tuple(np.asarray(v) for v in out[key]) for key in SCALARISATIONS}


# ---------------------------------------------------------------- exact check


def exact_corr(x: np.ndarray, n: np.ndarray) -> float:
    """Pearson r of two float64 vectors in exact rational arithmetic, rounded once."""
    xs = [Fraction(float(v)) for v in x]
    ns = [Fraction(float(v)) for v in n]
    mx, mn = sum(xs) / len(xs), sum(ns) / len(ns)
    dx = [v - mx for v in xs]
    dn = [v - mn for v in ns]
    c = sum(a * b for a, b in zip(dx, dn))
    sx = sum(a * a for a in dx)
    sn = sum(b * b for b in dn)
    return math.copysign(math.sqrt(float(c * c / (sx * sn))), float(c))


# ---------------------------------------------------------------- case generation


def feature_shape(rng: np.random.Generator, rank: int, max_features: int) -> tuple[int, ...]:
    limits = {1: 0, 2: 40, 3: 8, 4: 5}
    while True:
        dims = tuple(int(rng.integers(1, limits[rank] + 1)) for _ in range(rank - 1))
        if int(np.prod(dims, dtype=np.int64)) <= max_features:
            return dims


def recipe(rng, B: int, dims: tuple[int, ...], M: int, strength: int, x_dtype: str, n_dtype: str, n_vector: bool) -> dict:
    """An input recipe for scripts/fixture_inputs.py: a fresh mulberry32 seed and the shapes.
    Features load on the confounds with integer weights scaled by ``strength``,
    so that correlations span the whole range rather than hugging 0; columns
    get their own scale and offset."""
    return {
        "seed": int(rng.integers(0, 2**32)),
        "batchSize": B,
        "featureShape": list(dims),
        "confounds": M,
        "nVector": n_vector,
        "strength": strength,
        "xDtype": x_dtype,
        "nDtype": n_dtype,
    }


def in_dtype(value: float, dtype: str) -> float:
    return float(np.float32(value)) if dtype == "float32" else float(value)


def log_uniform_int(rng, low: int, high: int) -> int:
    return int(round(math.exp(rng.uniform(math.log(low), math.log(high)))))


def choose_tol(rng):
    kind = rng.choice(["zero", "number", "auto"])
    tol_sig = float(rng.choice([1e-6, 1e-3, 0.01, 0.05, 0.1, 0.2, 0.5, 0.9, rng.uniform(0.001, 0.999)]))
    if kind == "zero":
        return (0.0 if rng.random() < 0.5 else None), tol_sig
    if kind == "number":
        return float(rng.choice([0.05, 0.1, 0.25, 0.5, rng.uniform(0.001, 0.8)])), tol_sig
    return "auto", tol_sig


def near_kink(r: np.ndarray, tol: float, margin: float) -> bool:
    finite = r[np.isfinite(r)]
    return bool(np.any(np.abs(np.abs(finite) - tol) < margin))


def make_value_case(rng, index: int, special: str | None) -> dict:
    while True:
        rank = int(rng.integers(1, 5))
        B = int(rng.choice([3, 4, 5, 500])) if rng.random() < 0.12 else log_uniform_int(rng, 3, 500)
        M = int(rng.integers(1, 5))
        dims = feature_shape(rng, rank, max(1, 3000 // B))
        x_dtype = "float32" if (rng.random() < 0.25 and special != "huge") else "float64"
        n_dtype = "float32" if (x_dtype == "float32" and rng.random() < 0.5) else "float64"
        n_vector = bool(M == 1 and rng.random() < 0.6)
        spec = recipe(rng, B, dims, M, int(rng.choice([0, 1, 2, 8])), x_dtype, n_dtype, n_vector)
        if special == "huge":
            spec["offset"] = {"x": 1e9, "n": -1e9 if rng.random() < 0.5 else 0}
        elif special == "tiny":
            spec["exponentShift"] = -40  # about 1e-12 times the usual data
        elif special == "constant":
            F = int(np.prod(dims, dtype=np.int64)) if dims else 1
            columns = sorted(int(f) for f in rng.choice(F, size=max(1, F // 3), replace=False))
            spec["constantFeatures"] = [[f, in_dtype(rng.choice([0.0, 0.1, 3.7, -1e9, 1 / 3]), x_dtype)] for f in columns]
            if M > 1 and rng.random() < 0.6:
                spec["constantConfounds"] = [[int(rng.integers(M)), in_dtype(rng.choice([0.0, 0.3, 2.5]), n_dtype)]]
        X, N = build_inputs(spec)
        tol_option, tol_sig = choose_tol(rng)
        tol = 0.0 if tol_option is None else (auto_tol(B, tol_sig) if tol_option == "auto" else tol_option)
        r_nan, zf, zn = numpy_corr(X, N)
        if near_kink(r_nan, tol, KINK_MARGIN):
            continue
        if special == "constant" and not (zf.any() or zn.any()):
            continue
        if special != "constant" and (zf.any() or zn.any()):
            continue
        break

    options: dict = {}
    if tol_option is not None:
        options["tol"] = tol_option
    if tol_option == "auto" or rng.random() < 0.2:
        options["tolSig"] = tol_sig
    abs_choice = rng.choice(["true", "false", "default"])
    if abs_choice != "default":
        options["abs"] = bool(abs_choice == "true")
    abs_ = options.get("abs", True)
    if tol_option == "auto" and tol_sig == 0.1 and rng.random() < 0.3:
        del options["tolSig"]  # the default significance
    nu = float(rng.choice([1.0, rng.uniform(0.01, 10), -rng.uniform(0.1, 3)]))

    check_references(X, N, r_nan, zf, zn, tol, abs_, nu, special)

    r = np.where(np.isnan(r_nan), 0.0, r_nan)  # the library's default policy
    thr = threshold_np(r, tol, abs_)
    losses, scales = {}, {}
    for key, (kind, p) in SCALARISATIONS.items():
        losses[key] = nu * scalarise_np(kind, p, thr)
        scales[key] = abs(nu) * loss_scale_np(kind, p, thr)
    dims_text = "x".join(str(d) for d in X.shape)
    name = (
        f"#{index} X {X.dtype.name} [{dims_text}] N [{'x'.join(str(d) for d in N.shape)}]"
        f" tol={options.get('tol', 'default')} abs={options.get('abs', 'default')}"
        + (f" ({special})" if special else "")
    )
    return {
        "id": index,
        "name": name,
        "special": special,
        "input": spec,
        "inputDigest": input_digest(X, N),
        "options": options,
        "nu": nu,
        "tolUsed": tol,
        "r": encode(r),
        "thresholded": encode(thr),
        "zeroVarianceFeatures": int(zf.sum()),
        "zeroVarianceConfounds": int(zn.sum()),
        # hypercoil's NaN: every r of these output rows (features) and columns (confounds).
        "hypercoilNaN": {"features": [int(i) for i in np.flatnonzero(zf)], "confounds": [int(i) for i in np.flatnonzero(zn)]},
        "losses": losses,
        "lossScales": scales,
    }


def check_references(X, N, r_nan, zf, zn, tol, abs_, nu, special) -> None:
    """numpy vs JAX (and corrcoef or exact arithmetic) before anything is written."""
    good = ~np.isnan(r_nan)
    r_jax, thr_jax, losses_jax = jax_values(X, N, tol, abs_, nu)
    assert np.max(np.abs(r_jax[good] - r_nan[good]), initial=0) <= AGREE, f"numpy and JAX disagree on r ({special}): {np.max(np.abs(r_jax[good] - r_nan[good]))}"
    if special == "constant":
        return
    thr_np = threshold_np(r_nan, tol, abs_)
    assert np.max(np.abs(thr_np - thr_jax)) <= AGREE, "numpy and JAX disagree on the thresholded values"
    for key, (kind, p) in SCALARISATIONS.items():
        a = nu * scalarise_np(kind, p, thr_np)
        b = losses_jax[key]
        scale = abs(nu) * loss_scale_np(kind, p, thr_np)
        assert abs(a - b) <= AGREE * max(scale, 1e-300), f"numpy and JAX disagree on {key}: {a} vs {b}"
    Xf = features_of(X.astype(np.float64))
    Nm = np.atleast_2d(N.astype(np.float64))
    if special == "huge":
        for f in range(Xf.shape[0]):
            for m in range(Nm.shape[0]):
                exact = exact_corr(Xf[f], Nm[m])
                assert abs(exact - r_nan[f, m]) <= 1e-14, f"reference r off the exact value: {r_nan[f, m]} vs {exact}"
    else:
        full = np.corrcoef(np.vstack([Xf, Nm]))[: Xf.shape[0], Xf.shape[0]:]
        assert np.max(np.abs(full - r_nan)) <= 1e-13, "reference r disagrees with np.corrcoef"


def value_cases(rng) -> list[dict]:
    specials = [None] * 226 + ["constant"] * 10 + ["huge"] * 6 + ["tiny"] * 3
    order = rng.permutation(len(specials))
    return [make_value_case(rng, i, specials[j]) for i, j in enumerate(order)]


def feature_order_case() -> dict:
    """SPEC's 4-D example: row (d*A + a)*C + c of the output is X[:, a, c, d]."""
    B, A, C, D = 7, 2, 3, 4
    spec = recipe(np.random.default_rng(SEED + 1), B, (A, C, D), 1, 2, "float64", "float64", True)
    X, N = build_inputs(spec)
    r, _, _ = numpy_corr(X, N)
    for a in range(A):
        for c in range(C):
            for d in range(D):
                direct = np.corrcoef(X[:, a, c, d], N)[0, 1]
                assert abs(r[(d * A + a) * C + c, 0] - direct) <= 1e-14
    return {"input": spec, "inputDigest": input_digest(X, N), "r": encode(r)}


# ---------------------------------------------------------------- auto_tol grid


def auto_tol_grid() -> dict:
    sizes = sorted(set(range(3, 21)) | {int(round(v)) for v in np.logspace(np.log10(3), 7, 40)})
    sigs = [1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5,
            0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999]
    entries = []
    for tails in (1, 2):
        for B in sizes:
            for sig in sigs:
                value = auto_tol(B, sig, tails)
                assert 0 <= value < 1 and math.isfinite(value)
                exact = auto_tol_exact(B, sig, tails, value) if value > 0 else 0.0
                assert abs(value - exact) <= 1e-10 * exact, f"scipy and mpmath disagree on auto_tol({B}, {sig}, {tails})"
                entries.append([B, sig, tails, exact, value])
    for (B, sig), expected in SPEC_AUTO_TOL:
        got = auto_tol(B, sig)
        assert abs(got - expected) <= 1e-15 * expected, f"scipy auto_tol({B}, {sig}) = {got}, SPEC says {expected}"
        exact = auto_tol_exact(B, sig, 2, got)
        assert abs(exact - expected) <= 1e-15 * expected, f"mpmath auto_tol({B}, {sig}) = {exact}, SPEC says {expected}"
    return {
        "description": "[batchSize, significance, tails, exact, scipy]: tol = sqrt(t^2 / (B - 2 + t^2)) with t the Student t quantile "
        "at the float64 level 1 - significance / tails and B - 2 degrees of freedom; exact: 40-digit mpmath rounded once; "
        "scipy: scipy.stats.t.ppf",
        "versions": {"scipy": scipy.__version__, "mpmath": mpmath.__version__},
        "entries": entries,
        "spec": [{"batchSize": B, "significance": sig, "tol": v} for (B, sig), v in SPEC_AUTO_TOL],
    }


# ---------------------------------------------------------------- gradients


def top_gap(values: np.ndarray) -> float:
    flat = np.sort(values.ravel())[::-1]
    return float("inf") if flat.size < 2 else float(flat[0] - flat[1])


def grad_case_ok(r: np.ndarray, tol: float, abs_: bool) -> bool:
    if not np.all(np.isfinite(r)):
        return False
    if np.any(np.abs(np.abs(r) - tol) < GRAD_KINK_MARGIN):
        return False
    thr = threshold_np(r, tol, abs_)
    if not np.any(thr != 0):
        return False  # vnorm's gradient at the zero tensor is 0/0
    return top_gap(thr) > GRAD_KINK_MARGIN and top_gap(np.abs(thr)) > GRAD_KINK_MARGIN


def finite_difference_check(rng, X, N, tol, abs_, kind, p, nu, gX, gN) -> None:
    """Central differences on a few coordinates: guards the JAX function itself."""
    def value(Xv, Nv):
        return nu * scalarise_np(kind, p, threshold_np(numpy_corr(Xv, Nv)[0], tol, abs_))

    for target, grad in ((X, gX), (N, gN)):
        for flat_index in rng.choice(target.size, size=min(6, target.size), replace=False):
            idx = np.unravel_index(flat_index, target.shape)
            # Step relative to the spread of the coordinate's own column (features
            # along the first axis of X, confounds along the last axis of N).
            column = target[(slice(None), *idx[1:])] if target is X else target[(*idx[:-1], slice(None))]
            h = 1e-6 * FD_STEP_SCALE * float(np.std(column))
            plus, minus = target.copy(), target.copy()
            plus[idx] += h
            minus[idx] -= h
            if target is X:
                fd = (value(plus, N) - value(minus, N)) / (2 * h)
            else:
                fd = (value(X, plus) - value(X, minus)) / (2 * h)
            # Relative, plus the rounding of centring data far from 0 (offsets up
            # to 50 standard deviations) divided by the step.
            allowed = 1e-6 * (abs(grad[idx]) + float(np.abs(grad).max()))
            assert abs(fd - grad[idx]) <= allowed, f"JAX gradient disagrees with finite differences ({kind}{p}): {grad[idx]} vs {fd}"


def make_grad_case(rng, index: int) -> dict:
    while True:
        rank = int(rng.integers(1, 5))
        B = int(rng.integers(5, 41))
        M = int(rng.integers(1, 4))
        dims = feature_shape(rng, rank, 12)
        if rank == 2:
            dims = (int(rng.integers(1, 13)),)
        n_vector = bool(M == 1 and rng.random() < 0.5)
        spec = recipe(rng, B, dims, M, int(rng.choice([1, 2, 4])), "float64", "float64", n_vector)
        X, N = build_inputs(spec)
        tol_option, tol_sig = choose_tol(rng)
        if isinstance(tol_option, float) and tol_option > 0:
            tol_option = float(rng.uniform(0.01, 0.3))
        tol = 0.0 if tol_option is None else (auto_tol(B, tol_sig) if tol_option == "auto" else tol_option)
        abs_ = bool(rng.random() < 0.5)
        r = numpy_corr(X, N)[0]
        if grad_case_ok(r, tol, abs_):
            break
    nu = float(rng.choice([1.0, rng.uniform(0.1, 5)]))
    options: dict = {"abs": abs_}
    if tol_option is not None:
        options["tol"] = tol_option
    if tol_option == "auto":
        options["tolSig"] = tol_sig
    results = {}
    for key, (value, gX, gN) in jax_grads(X, N, tol, abs_, nu).items():
        kind, p = SCALARISATIONS[key]
        value = float(value)
        assert gX.shape == X.shape and gN.shape == N.shape
        assert np.all(np.isfinite(gX)) and np.all(np.isfinite(gN)), f"non-finite gradient in grad case {index} {key}"
        expected_value = nu * scalarise_np(kind, p, threshold_np(numpy_corr(X, N)[0], tol, abs_))
        assert abs(value - expected_value) <= AGREE * max(abs(expected_value), 1e-300), "numpy and JAX disagree on a loss"
        finite_difference_check(rng, X, N, tol, abs_, kind, p, nu, gX, gN)
        results[key] = {"value": value, "gradX": encode(gX), "gradN": encode(gN)}
    return {
        "id": index,
        "name": f"#{index} X [{'x'.join(map(str, X.shape))}] N [{'x'.join(map(str, N.shape))}] tol={options.get('tol', 'default')} abs={abs_}",
        "input": spec,
        "inputDigest": input_digest(X, N),
        "options": options,
        "nu": nu,
        "tolUsed": tol,
        "minKinkDistance": float(np.min(np.abs(np.abs(r) - tol))),
        "scalarisations": results,
    }


# ---------------------------------------------------------------- main


def main(targets: list[str]) -> int:
    known = ("batch_corr", "auto_tol", "auto_tol_tiny", "auto_tol_wide", "grad")
    targets = targets or list(known)
    unknown = [t for t in targets if t not in known]
    if unknown:
        print(f"unknown fixture {unknown}; choose from {known}", file=sys.stderr)
        return 2
    os.makedirs(OUT_DIR, exist_ok=True)
    versions = {"numpy": np.__version__, "scipy": scipy.__version__, "jax": jax.__version__, "mpmath": mpmath.__version__}
    scalarisations = {k: {"kind": kind, "p": ("inf" if p == math.inf else p)} for k, (kind, p) in SCALARISATIONS.items()}
    inputs = {"recipeVersion": RECIPE_VERSION, "builder": "scripts/fixture_inputs.py", "rngCheck": rng_check()}
    sizes = {}
    if "batch_corr" in targets:
        cases = value_cases(np.random.default_rng(SEED))
        sizes["batch_corr.json"] = write_json("batch_corr.json", {
            "generator": "scripts/gen_fixtures.py",
            "seed": SEED,
            "versions": versions,
            "scalarisations": scalarisations,
            "inputs": inputs,
            "featureOrder": feature_order_case(),
            "cases": cases,
        })
        print(f"{len(cases)} value cases")
    if "auto_tol" in targets:
        sizes["auto_tol.json"] = write_json("auto_tol.json", auto_tol_grid())
    if "auto_tol_tiny" in targets:
        sizes["auto_tol_tiny.json"] = write_json("auto_tol_tiny.json", auto_tol_tiny_tails())
    if "auto_tol_wide" in targets:
        sizes["auto_tol_wide.json"] = write_json("auto_tol_wide.json", auto_tol_wide_grid())
    if "grad" in targets:
        grad_rng = np.random.default_rng(SEED + 2)
        grads = [make_grad_case(grad_rng, i) for i in range(40)]
        sizes["grad.json"] = write_json("grad.json", {
            "generator": "scripts/gen_fixtures.py",
            "seed": SEED + 2,
            "versions": versions,
            "scalarisations": scalarisations,
            "inputs": inputs,
            "cases": grads,
        })
        print(f"{len(grads)} gradient cases")
    for name, size in sizes.items():
        print(f"{name}: {size / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
