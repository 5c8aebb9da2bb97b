"""Checks the exported batchCorr ONNX model against onnx.checker, Python
onnxruntime and a numpy float64 reference.

Not part of CI (it needs the Python venv). Run from the repository root:

    /work/wt/venv/bin/python scripts/check_onnx.py   (a venv with onnx, onnxruntime, numpy)

It asks Deno to export a few model variants into a temporary folder
(through src/onnx/export_batch_corr_onnx.ts), then for each one: runs
onnx.checker.check_model(full_check=True), runs the model in onnxruntime
(CPUExecutionProvider) on random batches of two sizes (B is symbolic), with a
constant feature and a constant confound, and compares every output with
numpy. Exits non-zero on any failure.
"""

import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DENO = os.path.join(ROOT, "node_modules", ".bin", "deno")
TOLERANCE = 1e-4

VARIANTS = [
    {"features": 6, "confounds": 3, "abs": True, "zeroVariance": "zero"},
    {"features": 9, "confounds": 1, "abs": False, "zeroVariance": "zero"},
    {"features": 4, "confounds": 2, "abs": True, "zeroVariance": "nan"},
]

EXPORTER = """
import { exportBatchCorrOnnx } from "%s";
const [dir, variants] = [Deno.args[0], JSON.parse(Deno.args[1])];
variants.forEach((v, i) => Deno.writeFileSync(`${dir}/model_${i}.onnx`, exportBatchCorrOnnx(v)));
"""


def export_models(directory):
    script = os.path.join(directory, "export.ts")
    with open(script, "w") as handle:
        handle.write(EXPORTER % os.path.join(ROOT, "src", "onnx", "export_batch_corr_onnx.ts"))
    subprocess.run(
        [DENO, "run", "-A", "--config", os.path.join(ROOT, "deno.json"), script, directory, json.dumps(VARIANTS)],
        check=True,
        cwd=ROOT,
    )
    return [os.path.join(directory, f"model_{i}.onnx") for i in range(len(VARIANTS))]


def reference(x, n, tol, abs_, zero_variance):
    """The TypeScript path's rules in float64: two-pass moments, 0 (or NaN) for 0/0."""
    x = x.astype(np.float64)
    n = n.astype(np.float64)
    mean_x = x.mean(axis=0)
    mean_n = n.mean(axis=1)
    dx = x - mean_x
    dn = n - mean_n[:, None]
    const_x = x.max(axis=0) == x.min(axis=0)
    const_n = n.max(axis=1) == n.min(axis=1)
    m2_x = np.where(const_x, 0.0, (dx * dx).sum(axis=0))
    m2_n = np.where(const_n, 0.0, (dn * dn).sum(axis=1))
    denominator = np.sqrt(m2_x)[:, None] * np.sqrt(m2_n)[None, :]
    degenerate = denominator == 0
    comoment = np.where(degenerate, 0.0, dx.T @ dn.T)
    with np.errstate(invalid="ignore", divide="ignore"):
        raw = np.where(degenerate, np.nan if zero_variance == "nan" else 0.0, comoment / denominator)
    shrunk = np.maximum(np.abs(raw) - tol, 0.0)
    thresholded = shrunk if abs_ else np.sign(raw) * shrunk
    if zero_variance == "nan":
        thresholded = np.where(degenerate, np.nan, thresholded)
    return {
        "raw": raw,
        "thresholded": thresholded,
        "mean_x": mean_x,
        "mean_n": mean_n,
        "m2_x": m2_x,
        "m2_n": m2_n,
        "comoment": comoment,
    }


def relative_error(got, want):
    scale = np.maximum(1.0, np.abs(want))
    both_nan = np.isnan(got) & np.isnan(want)
    diff = np.where(both_nan, 0.0, np.abs(got - want) / scale)
    return float(np.nan_to_num(diff, nan=np.inf).max())


def check_variant(path, variant, rng):
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    opset = {o.domain: o.version for o in model.opset_import}[""]
    print(f"{os.path.basename(path)}: {variant} ir_version={model.ir_version} opset={opset} "
          f"nodes={len(inferred.graph.node)} checker=ok")
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    F, M = variant["features"], variant["confounds"]
    worst = 0.0
    for B in (5, 64, 200):
        # B = 200: a large offset, which a one-pass Σx² − (Σx)²/B would not survive in float32.
        offset = 1e3 if B == 200 else 0.0
        x = (offset + rng.standard_normal((B, F))).astype(np.float32)
        n = (rng.standard_normal((M, B)) + 0.3 * x[:, :M].T if M <= F else rng.standard_normal((M, B))).astype(np.float32)
        x[:, 1] = offset + 0.1  # a constant feature whose float32 mean is not exactly 0.1
        if M > 1:
            n[M - 1, :] = 3.0
        tol = 0.0 if B == 5 else 0.1
        feeds = {"x": x, "n": n, "tol": np.array(tol, dtype=np.float32)}
        outputs = dict(zip(names, session.run(None, feeds)))
        want = reference(x, n, tol, variant["abs"], variant["zeroVariance"])
        for key, value in want.items():
            got = outputs[key]
            if got.shape != value.shape:
                raise AssertionError(f"{key}: shape {got.shape} != {value.shape}")
            error = relative_error(got.astype(np.float64), value)
            worst = max(worst, error)
            if error > TOLERANCE:
                raise AssertionError(f"{key} (B={B}): max error {error:.3e} > {TOLERANCE}")
    print(f"  onnxruntime {ort.__version__} vs numpy float64: max error {worst:.2e} over B in (5, 64, 200 with offset 1e3)")
    return worst


def main():
    rng = np.random.default_rng(7)
    with tempfile.TemporaryDirectory() as directory:
        paths = export_models(directory)
        worst = max(check_variant(p, v, rng) for p, v in zip(paths, VARIANTS))
    print(f"all {len(VARIANTS)} variants ok; worst error {worst:.2e} (limit {TOLERANCE})")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as error:
        print(f"FAILED: {error}", file=sys.stderr)
        sys.exit(1)
