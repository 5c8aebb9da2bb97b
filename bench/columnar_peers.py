#!/usr/bin/env python3
"""Python peers of ``batch-corr monitor`` for the columnar throughput benchmark.

Each peer streams one input in mini-batches of ``--batch-size`` rows and does
the monitor's per-batch work in numpy float64: the batch's Pearson
correlations of every feature with every confound, the running correlations
over every row so far (Chan's merge of means, sums of squares and
co-moments, as the monitor's accumulator), and the loss ``mean |r|`` of both.

- ``polars-csv``: ``polars.read_csv_batched`` (all columns float64, its default
  50,000 rows per read);
- ``pyarrow-parquet``: ``pyarrow.parquet.ParquetFile.iter_batches`` (its
  default 65,536 rows per read);
- ``pyarrow-ipc``: ``pyarrow.ipc`` over a memory map (IPC file or stream);
- ``pandas-csv``: ``pandas.read_csv(chunksize=batch size)``, when pandas is installed.

Rows are regrouped into batches of exactly ``--batch-size`` (the last may be
shorter), whatever chunk sizes the reader yields, so every peer correlates the
same batches as ``monitor --batch-size``. Prints one JSON object: seconds from
opening the input to the last batch, MB/s of input, peak RSS, batches, rows,
and the final batch and running losses (to check the peers agree with each
other and with the monitor).

Usage: ``python bench/columnar_peers.py PEER FILE --confounds c --batch-size 100``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
import warnings
from typing import Iterator

import numpy as np


class Running:
    """Chan's parallel merge of (count, means, M2 of x, M2 of n, co-moments)."""

    def __init__(self, features: int, confounds: int) -> None:
        self.count = 0
        self.mean_x = np.zeros(features)
        self.mean_n = np.zeros(confounds)
        self.m2_x = np.zeros(features)
        self.m2_n = np.zeros(confounds)
        self.c = np.zeros((features, confounds))

    def merge(self, count, mean_x, mean_n, m2_x, m2_n, c) -> None:
        if self.count == 0:
            self.count, self.mean_x, self.mean_n, self.m2_x, self.m2_n, self.c = count, mean_x, mean_n, m2_x, m2_n, c
            return
        total = self.count + count
        dx = mean_x - self.mean_x
        dn = mean_n - self.mean_n
        weight = self.count * count / total
        self.m2_x = self.m2_x + m2_x + dx * dx * weight
        self.m2_n = self.m2_n + m2_n + dn * dn * weight
        self.c = self.c + c + np.outer(dx, dn) * weight
        self.mean_x = self.mean_x + dx * (count / total)
        self.mean_n = self.mean_n + dn * (count / total)
        self.count = total

    def correlations(self) -> np.ndarray:
        return pearson(self.m2_x, self.m2_n, self.c)


def pearson(m2_x: np.ndarray, m2_n: np.ndarray, c: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        r = c / np.sqrt(np.outer(m2_x, m2_n))
    return np.nan_to_num(r, nan=0.0)


def moments(x: np.ndarray, n: np.ndarray):
    """Two-pass moments of one batch: x is (B, F), n is (B, M)."""
    mean_x = x.mean(axis=0)
    mean_n = n.mean(axis=0)
    x0 = x - mean_x
    n0 = n - mean_n
    return x.shape[0], mean_x, mean_n, np.einsum("bf,bf->f", x0, x0), np.einsum("bm,bm->m", n0, n0), x0.T @ n0


def rebatch(chunks: Iterator[np.ndarray], batch_size: int) -> Iterator[np.ndarray]:
    """(rows, columns) chunks of any size into (batch_size, columns) batches, the last one shorter."""
    pending: list[np.ndarray] = []
    held = 0
    for chunk in chunks:
        at = 0
        while at < chunk.shape[0]:
            take = min(batch_size - held, chunk.shape[0] - at)
            pending.append(chunk[at:at + take])
            held += take
            at += take
            if held == batch_size:
                yield pending[0] if len(pending) == 1 else np.concatenate(pending)
                pending, held = [], 0
    if held:
        yield np.concatenate(pending)


def polars_csv(path: str, columns: list[str], read_rows: int | None) -> Iterator[np.ndarray]:
    import polars as pl

    with open(path) as f:
        names = f.readline().rstrip("\r\n").split(",")
    with warnings.catch_warnings():
        # Deprecated in polars 1.3x in favour of scan_csv().collect_batches(); kept as the benchmark's named peer.
        warnings.simplefilter("ignore", DeprecationWarning)
        reader = pl.read_csv_batched(path, batch_size=read_rows or 50_000, schema_overrides={n: pl.Float64 for n in names})
    while True:
        frames = reader.next_batches(8)
        if not frames:
            return
        for frame in frames:
            yield frame.select(columns).to_numpy()


def pandas_csv(path: str, columns: list[str], read_rows: int | None) -> Iterator[np.ndarray]:
    import pandas as pd

    for frame in pd.read_csv(path, chunksize=read_rows or 100, usecols=columns, dtype="float64"):
        yield frame[columns].to_numpy()


def record_batch_array(batch, columns: list[str]) -> np.ndarray:
    return np.column_stack([batch.column(name).to_numpy(zero_copy_only=False) for name in columns])


def pyarrow_parquet(path: str, columns: list[str], read_rows: int | None) -> Iterator[np.ndarray]:
    import pyarrow.parquet as pq

    for batch in pq.ParquetFile(path).iter_batches(batch_size=read_rows or 65_536, columns=columns):
        yield record_batch_array(batch, columns)


def pyarrow_ipc(path: str, columns: list[str], read_rows: int | None) -> Iterator[np.ndarray]:
    import pyarrow as pa
    import pyarrow.ipc as ipc

    with pa.memory_map(path) as source:
        try:
            reader = ipc.open_file(source)
            batches = (reader.get_batch(i) for i in range(reader.num_record_batches))
        except pa.ArrowInvalid:
            source.seek(0)
            batches = iter(ipc.open_stream(source))
        for batch in batches:
            yield record_batch_array(batch, columns)


PEERS = {"polars-csv": polars_csv, "pandas-csv": pandas_csv, "pyarrow-parquet": pyarrow_parquet, "pyarrow-ipc": pyarrow_ipc}


def header(path: str, peer: str) -> list[str]:
    if peer.endswith("-csv"):
        with open(path) as f:
            return f.readline().rstrip("\r\n").split(",")
    if peer == "pyarrow-parquet":
        import pyarrow.parquet as pq

        return pq.ParquetFile(path).schema_arrow.names
    import pyarrow as pa
    import pyarrow.ipc as ipc

    with pa.memory_map(path) as source:
        try:
            return ipc.open_file(source).schema.names
        except pa.ArrowInvalid:
            source.seek(0)
            return ipc.open_stream(source).schema.names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("peer", choices=sorted(PEERS))
    parser.add_argument("file")
    parser.add_argument("--confounds", required=True, help="comma-separated confound columns")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument(
        "--read-rows",
        type=int,
        default=None,
        help="rows per read of the underlying reader (default: its own: polars 50,000, iter_batches 65,536, "
        "pandas the batch size); rows are regrouped into --batch-size batches either way",
    )
    args = parser.parse_args()

    confounds = args.confounds.split(",")
    names = header(args.file, args.peer)
    features = [name for name in names if name not in confounds]
    columns = features + confounds
    F = len(features)

    start = time.perf_counter()
    running = Running(F, len(confounds))
    batches = rows = 0
    batch_loss = float("nan")
    read_rows = args.read_rows if args.read_rows is not None else (args.batch_size if args.peer == "pandas-csv" else None)
    for batch in rebatch(PEERS[args.peer](args.file, columns, read_rows), args.batch_size):
        count, mean_x, mean_n, m2_x, m2_n, c = moments(batch[:, :F], batch[:, F:])
        batch_loss = float(np.abs(pearson(m2_x, m2_n, c)).mean())
        running.merge(count, mean_x, mean_n, m2_x, m2_n, c)
        running_loss = float(np.abs(running.correlations()).mean())
        batches += 1
        rows += count
    seconds = time.perf_counter() - start
    size = os.path.getsize(args.file)
    print(json.dumps({
        "peer": args.peer,
        "file": args.file,
        "seconds": seconds,
        "mb_per_s": size / 1e6 / seconds,
        "input_mb": size / 1e6,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "batches": batches,
        "rows": rows,
        "features": F,
        "confounds": len(confounds),
        "last_batch_loss": batch_loss,
        "final_running_loss": running_loss if batches else float("nan"),
    }))


if __name__ == "__main__":
    main()
