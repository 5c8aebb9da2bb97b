"""Generate tests/fixtures/grad_jax.json: JAX gradients of hypercoil's batch
correlation loss, for tests/gradient_test.ts.

The loss is written here the way hypercoil writes it (``batch_corr``:
``X.swapaxes(0, -1).reshape(-1, B)``, ``jnp.atleast_2d(N)``, paired
correlation, soft threshold; the scalarisations as ``hypercoil.loss.scalarise``)
and differentiated by ``jax.grad`` in float64, so the TypeScript closed form is
checked against autodiff rather than against itself.

Run: /work/venv/bin/python scripts/gen_grad_fixtures.py
"""

import base64
import json
import pathlib

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from scipy.stats import t as student_t  # noqa: E402

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "grad_jax.json"

# Inputs are redrawn until every |r| is at least this far from tol and the
# largest two |values| differ by at least this much, so no case sits on a kink.
KINK_MARGIN = 1e-3


def auto_tol(batch_size, significance=0.1, tails=2):
    t = student_t.ppf(1 - significance / tails, batch_size - 2)
    return float(np.sqrt(t**2 / (batch_size - 2 + t**2)))


def paired_corr(X, Y):
    Xc = X - X.mean(-1, keepdims=True)
    Yc = Y - Y.mean(-1, keepdims=True)
    cov = Xc @ Yc.T
    sx = jnp.sqrt((Xc * Xc).sum(-1))
    sy = jnp.sqrt((Yc * Yc).sum(-1))
    return cov / (sx[:, None] * sy[None, :])


def batch_corr(X, N, tol, abs_):
    batch_size = X.shape[0]
    r = paired_corr(X.swapaxes(0, -1).reshape(-1, batch_size), jnp.atleast_2d(N))
    thr = jnp.maximum(jnp.abs(r) - tol, 0)
    return (thr if abs_ else jnp.sign(r) * thr), r


SCALARISATIONS = {
    "sum": jnp.sum,
    "mean": jnp.mean,
    "meansq": lambda v: jnp.mean(v**2),
    "max": jnp.max,
    "vnorm(1)": lambda v: jnp.linalg.norm(v.ravel(), ord=1),
    "vnorm(2)": lambda v: jnp.linalg.norm(v.ravel(), ord=2),
    "vnorm(3)": lambda v: jnp.linalg.norm(v.ravel(), ord=3),
    "vnorm(Infinity)": lambda v: jnp.linalg.norm(v.ravel(), ord=jnp.inf),
}


def away_from_kinks(values, r, tol, scalarisation):
    if np.min(np.abs(np.abs(r) - tol)) < KINK_MARGIN:
        return False
    if scalarisation in ("max", "vnorm(Infinity)"):
        flat = np.sort(np.abs(values).ravel() if scalarisation != "max" else values.ravel())
        if flat.size > 1 and flat[-1] - flat[-2] < KINK_MARGIN:
            return False
        if flat[-1] == 0:
            return False
    return True


def draw(rng, x_shape, m, vector_n):
    B = x_shape[0]
    n = rng.standard_normal((m, B))
    x = rng.standard_normal(x_shape)
    # Leak the confounds into the features with mixed strengths and signs so
    # that some correlations clear even the "auto" tolerance of a small batch.
    flat = x.reshape(B, -1)
    for f in range(flat.shape[1]):
        flat[:, f] += rng.uniform(-2.5, 2.5) * n[f % m]
    x = flat.reshape(x_shape)
    return x, (n[0] if vector_n else n)


def b64(array):
    return base64.b64encode(np.ascontiguousarray(array, dtype="<f8").tobytes()).decode("ascii")


def make_case(rng, index, x_shape, m, vector_n, scalarisation, abs_, tol_form, nu):
    B = x_shape[0]
    tol = auto_tol(B) if tol_form == "auto" else float(tol_form)
    reduce = SCALARISATIONS[scalarisation]

    def loss(X, N):
        values, _ = batch_corr(X, N, tol, abs_)
        return nu * reduce(values)

    for _ in range(1000):
        x, n = draw(rng, x_shape, m, vector_n)
        values, r = batch_corr(jnp.asarray(x), jnp.asarray(n), tol, abs_)
        values, r = np.asarray(values), np.asarray(r)
        if np.count_nonzero(values) >= 2 and away_from_kinks(values, r, tol, scalarisation):
            break
    else:
        raise RuntimeError(f"case {index}: no input away from the kinks")
    value, (grad_x, grad_n) = jax.value_and_grad(loss, argnums=(0, 1))(jnp.asarray(x), jnp.asarray(n))
    return {
        "name": f"{index}: {scalarisation} abs={abs_} tol={tol_form} X{list(x_shape)} N{list(np.shape(n))}",
        "xShape": list(x_shape),
        "nShape": list(np.shape(n)),
        "x": b64(x),
        "n": b64(n),
        "options": {"scalarisation": scalarisation, "abs": abs_, "tol": tol_form, "nu": nu},
        "tolUsed": tol,
        "value": float(value),
        "gradX": b64(np.asarray(grad_x)),
        "gradN": b64(np.asarray(grad_n)),
    }


def main():
    rng = np.random.default_rng(20240604)
    layouts = [((11, 4), 1, True), ((9, 2, 3), 3, False), ((12, 5), 2, False), ((10, 2, 2, 2), 1, False)]
    tols = [0, 0.15, "auto"]
    cases = []
    index = 0
    for s_index, scalarisation in enumerate(SCALARISATIONS):
        for variant in range(4):
            x_shape, m, vector_n = layouts[(s_index + variant) % len(layouts)]
            abs_ = variant % 2 == 0
            tol_form = tols[(s_index + variant) % len(tols)]
            nu = [1.0, 0.5, 2.0, -1.5][variant]
            cases.append(make_case(rng, index, x_shape, m, vector_n, scalarisation, abs_, tol_form, nu))
            index += 1
    OUT.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "generator": "scripts/gen_grad_fixtures.py",
        "jax": jax.__version__,
        "dtype": "float64, little-endian, base64",
        "cases": cases,
    }
    OUT.write_text(json.dumps(payload, indent=1) + "\n")
    print(f"wrote {len(cases)} cases to {OUT}")


if __name__ == "__main__":
    main()
