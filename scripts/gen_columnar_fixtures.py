#!/usr/bin/env python3
"""Columnar fixtures for batch-corr's Arrow and Parquet readers, written by pyarrow.

Run from the repository root with a Python that has pyarrow and numpy
(``python3 -m venv /work/wt/venv && /work/wt/venv/bin/pip install pyarrow``,
then ``/work/wt/venv/bin/python scripts/gen_columnar_fixtures.py``). The output
is deterministic (fixed seed, fixed writer options) and small; it goes to
``tests/fixtures/columnar/``. Every binary file has a CSV twin holding the same
values, written with Python's shortest round-trip ``repr`` (so parsing the CSV
with ``Number()`` gives exactly the float64 the reader must produce); an empty
CSV cell is a null.

- ``drift.parquet`` / ``drift.csv``: 400 rows, float64, float32, int32, int64
  and int16 columns, row groups of 96 rows, small data pages, dictionary
  encoding on some columns and plain encoding on the others, snappy.
- ``drift.arrow`` (IPC file) / ``drift.arrows`` (IPC stream): the same table in
  record batches of 96 rows, for the CLI's tests that the three formats give
  the same results.
- ``gzip.parquet``: the first 100 rows of ``f_a`` and ``motion``, gzip-compressed.
- ``nulls.parquet`` / ``nulls.csv``: 40 rows with nulls in a feature and in a
  confound, row groups of 16.
- ``types.parquet``: one column of each type the readers must refuse (string,
  timestamp, boolean, decimal, date), an int64 column holding 2^53 + 1, and
  two float64 columns.
- ``mixed.arrow`` (IPC file) / ``mixed.arrows`` (IPC stream) / ``mixed.csv``:
  60 rows in 3 record batches: float64 with nulls, float32, a dictionary of
  float64, int32, int64, a fixed-size list of float32 (3 per row, written out
  as ``emb[0]``… in the CSV), a dictionary of strings, and two confounds.
- ``wide.arrows``: the int64 value 2^53 + 1 in row 5 of a 12-row stream.
- ``flat_v1.parquet`` / ``flat_v2.parquet``: float64 and float32 columns, required
  and optional (no nulls), for the Parquet reader's flat-column fast path: v1
  data pages with plain encoding, Snappy, 3 row groups and pages of about 1 KiB;
  v2 data pages with dictionary encoding, one column uncompressed. The values
  repeat (so dictionaries stay) and include -0.0, the smallest subnormal and
  1e308.
- ``flat.arrows`` / ``flat.arrow`` / ``flat_arrow.csv``: 150 rows in record
  batches of 37: float64 and float32 columns beside string, int32 and boolean
  ones, for the Arrow reader's own flat-column path; ``flat_nulls.arrows`` /
  ``flat_nulls.csv``: the same with nulls in a feature and in the confound.
- ``lz4_tail.arrows`` / ``lz4_tail.csv``: the float columns, record batches 0
  and 1 plain and 2 and 3 LZ4-compressed: the flat path hands the stream to
  apache-arrow midway.
- ``snappy_blocks.json``: Snappy blocks compressed by pyarrow (``pa.compress``)
  with their originals (base64): literals, long literals, near and far copies,
  overlapping copies.
- ``streamed_v1.parquet`` / ``streamed_v2.parquet``: 14,000 rows in row groups
  of 12,000 and 2,000, data pages of 9,000 and 3,000 rows in the first (so a
  float64 page spans two Snappy fragments), plain encoding, v1 and v2 data pages, for the reader that
  streams a row group a slice at a time. The values follow formulas of the row
  ``r`` that the tests recompute, so no CSV twin is needed: ``h64`` (float64,
  optional) ``((r * 2654435761 + 12345) % 2**32 - 2**31) / 2**20``; ``h32``
  (float32, required, uncompressed in v1) ``((r * 40503 + 777) % 2**24 - 2**23) / 2**10``;
  ``r64`` (float64, required) ``(r % 97) * 0.5 - 20``; ``motion``
  ``((r * 31) % 101) / 8``; and, in v1 only, ``late`` (float64, optional,
  without statistics) ``(r % 53) * 0.25`` with a null at row 10,500, in its
  second page.
"""

from __future__ import annotations

import csv
import datetime
import decimal
import os

import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

SEED = 20_251_202
OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "columnar")
TWO_53 = 2**53


def cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def write_csv(name: str, header: list[str], rows: list[list]) -> None:
    with open(os.path.join(OUT_DIR, name), "w", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow([cell(v) for v in row])


def table_rows(table: pa.Table) -> list[list]:
    columns = [table.column(i).to_pylist() for i in range(table.num_columns)]
    return [list(row) for row in zip(*columns)]


def drift(rng: np.random.Generator) -> None:
    n = 400
    t = np.arange(n)
    motion = rng.normal(0.2, 0.05, n) + 0.1 * (t > 250)
    table = pa.table({
        "f_a": pa.array(1e3 + rng.normal(0, 1, n) + 3 * motion, pa.float64()),
        # few distinct values, so the dictionary encoding below is kept for the whole chunk
        "f_b": pa.array(np.round(rng.normal(0, 2, n), 1), pa.float64()),
        "f_c": pa.array((rng.normal(0, 1, n) - motion).astype(np.float32), pa.float32()),
        "f_d": pa.array(rng.integers(-50, 50, n), pa.int32()),
        "f_e": pa.array(rng.integers(-(2**40), 2**40, n), pa.int64()),
        "motion": pa.array(motion, pa.float64()),
        "age": pa.array(rng.integers(18, 90, n), pa.int16()),
    })
    pq.write_table(
        table,
        os.path.join(OUT_DIR, "drift.parquet"),
        row_group_size=96,
        data_page_size=512,
        use_dictionary=["f_b", "f_d", "age"],
        compression="snappy",
    )
    for name, new in (("drift.arrow", ipc.new_file), ("drift.arrows", ipc.new_stream)):
        with new(os.path.join(OUT_DIR, name), table.schema) as writer:
            writer.write_table(table, max_chunksize=96)
    # The CSV holds the float32 column's values widened to float64, as the reader sees them.
    write_csv("drift.csv", table.column_names, table_rows(table))
    # The same first 100 rows of two columns, gzip-compressed: a codec the reader needs a decompressor for.
    pq.write_table(table.select(["f_a", "motion"]).slice(0, 100), os.path.join(OUT_DIR, "gzip.parquet"), compression="gzip")


def nulls(rng: np.random.Generator) -> None:
    n = 40
    x = rng.normal(0, 1, n).tolist()
    y = rng.normal(5, 2, n).tolist()
    motion = rng.normal(0.3, 0.1, n).tolist()
    for i in (3, 17, 18, 31):
        x[i] = None
    motion[25] = None
    table = pa.table({
        "x": pa.array(x, pa.float64()),
        "y": pa.array(y, pa.float64()),
        "motion": pa.array(motion, pa.float64()),
    })
    pq.write_table(table, os.path.join(OUT_DIR, "nulls.parquet"), row_group_size=16, compression="snappy")
    write_csv("nulls.csv", table.column_names, table_rows(table))


def types() -> None:
    n = 8
    table = pa.table({
        "label": pa.array([f"r{i}" for i in range(n)], pa.string()),
        "when": pa.array([datetime.datetime(2025, 1, 1, i) for i in range(n)], pa.timestamp("us")),
        "flag": pa.array([i % 2 == 0 for i in range(n)], pa.bool_()),
        "price": pa.array([decimal.Decimal(f"{i}.25") for i in range(n)], pa.decimal128(10, 2)),
        "day": pa.array([datetime.date(2025, 1, 1 + i) for i in range(n)], pa.date32()),
        "big": pa.array([i if i != 5 else TWO_53 + 1 for i in range(n)], pa.int64()),
        "ok": pa.array([float(i) * 0.5 for i in range(n)], pa.float64()),
        "motion": pa.array([float(i * i) for i in range(n)], pa.float64()),
    })
    pq.write_table(table, os.path.join(OUT_DIR, "types.parquet"), compression="snappy")


def mixed(rng: np.random.Generator) -> None:
    batches = []
    rows: list[list] = []
    width = 3
    levels = np.array([0.5, 1.5, 2.25, 4.0])
    names = ["lo", "mid", "hi"]
    for b in range(3):
        n = 20
        x = rng.normal(0, 1, n).tolist()
        for i in ((2, 11) if b == 0 else (7,) if b == 2 else ()):
            x[i] = None
        y = rng.normal(0, 1, n).astype(np.float32)
        d_idx = rng.integers(0, len(levels), n)
        i32 = rng.integers(-1000, 1000, n)
        i64 = rng.integers(-(2**52), 2**52, n)
        emb = rng.normal(0, 1, (n, width)).astype(np.float32)
        s_idx = rng.integers(0, len(names), n)
        motion = rng.normal(0.2, 0.05, n)
        age = rng.integers(20, 80, n).astype(np.float64)
        batch = pa.record_batch({
            "x": pa.array(x, pa.float64()),
            "y": pa.array(y, pa.float32()),
            "d": pa.DictionaryArray.from_arrays(pa.array(d_idx, pa.int8()), pa.array(levels, pa.float64())),
            "i32": pa.array(i32, pa.int32()),
            "i64": pa.array(i64, pa.int64()),
            "emb": pa.FixedSizeListArray.from_arrays(pa.array(emb.reshape(-1), pa.float32()), width),
            "s": pa.DictionaryArray.from_arrays(pa.array(s_idx, pa.int32()), pa.array(names, pa.string())),
            "motion": pa.array(motion, pa.float64()),
            "age": pa.array(age, pa.float64()),
        })
        batches.append(batch)
        for r in range(n):
            rows.append([
                x[r], float(y[r]), float(levels[d_idx[r]]), int(i32[r]), int(i64[r]),
                *[float(v) for v in emb[r]], names[s_idx[r]], float(motion[r]), float(age[r]),
            ])
    schema = batches[0].schema
    with ipc.new_file(os.path.join(OUT_DIR, "mixed.arrow"), schema) as writer:
        for batch in batches:
            writer.write_batch(batch)
    with ipc.new_stream(os.path.join(OUT_DIR, "mixed.arrows"), schema) as writer:
        for batch in batches:
            writer.write_batch(batch)
    header = ["x", "y", "d", "i32", "i64", *[f"emb[{k}]" for k in range(width)], "s", "motion", "age"]
    write_csv("mixed.csv", header, rows)


def wide() -> None:
    n = 12
    table = pa.table({
        "big": pa.array([i if i != 5 else TWO_53 + 1 for i in range(n)], pa.int64()),
        "motion": pa.array([float(i) for i in range(n)], pa.float64()),
    })
    with ipc.new_stream(os.path.join(OUT_DIR, "wide.arrows"), table.schema) as writer:
        writer.write_table(table)


def flat(rng: np.random.Generator) -> None:
    n = 300
    pool = np.concatenate([rng.standard_normal(40), [-0.0, 5e-324, 1e308, -1e-300]])
    values = pool[rng.integers(0, len(pool), n)]
    schema = pa.schema([
        pa.field("req64", pa.float64(), nullable=False),
        pa.field("opt64", pa.float64()),
        pa.field("req32", pa.float32(), nullable=False),
        pa.field("opt32", pa.float32()),
        pa.field("motion", pa.float64()),
    ])
    table = pa.table({
        "req64": values,
        "opt64": values[::-1].copy(),
        "req32": np.clip(values, -3e38, 3e38).astype(np.float32),
        "opt32": rng.standard_normal(n).astype(np.float32),
        "motion": rng.standard_normal(n),
    }, schema=schema)
    pq.write_table(table, os.path.join(OUT_DIR, "flat_v1.parquet"), row_group_size=128, data_page_size=1024,
                   use_dictionary=False, compression="snappy", data_page_version="1.0")
    pq.write_table(table, os.path.join(OUT_DIR, "flat_v2.parquet"), row_group_size=200, data_page_size=512,
                   use_dictionary=True, data_page_version="2.0",
                   compression={"req64": "snappy", "opt64": "none", "req32": "snappy", "opt32": "snappy", "motion": "snappy"})
    write_csv("flat.csv", list(table.column_names), table_rows(table))


def snappy_blocks(rng: np.random.Generator) -> None:
    import base64
    import json
    originals = [
        b"",
        b"a",
        b"abcd" * 50,
        b"x" * 1000,
        rng.bytes(70),
        rng.bytes(5000),
        (b"the quick brown fox " * 20) + rng.bytes(300) + (b"the quick brown fox " * 20),
        bytes(range(256)) * 20 + rng.bytes(9000) + bytes(range(256)) * 30,
    ]
    blocks = [
        {"compressed": base64.b64encode(pa.compress(o, codec="snappy", asbytes=True)).decode(),
         "original": base64.b64encode(o).decode()}
        for o in originals
    ]
    with open(os.path.join(OUT_DIR, "snappy_blocks.json"), "w") as out:
        json.dump(blocks, out)


def flat_ipc(rng: np.random.Generator) -> None:
    n = 150
    schema = pa.schema([
        pa.field("a", pa.float64()),
        pa.field("label", pa.string()),
        pa.field("b", pa.float32(), nullable=False),
        pa.field("site", pa.int32()),
        pa.field("flag", pa.bool_()),
        pa.field("motion", pa.float64()),
    ])
    motion = rng.normal(0.3, 0.1, n)
    columns = {
        "a": rng.normal(0, 1, n) + 2 * motion,
        "label": [f"s{i % 7}" for i in range(n)],
        "b": (rng.normal(0, 1, n) - motion).astype(np.float32),
        "site": rng.integers(0, 5, n).astype(np.int32),
        "flag": rng.integers(0, 2, n).astype(bool),
        "motion": motion,
    }
    table = pa.table(columns, schema=schema)
    for name, new in (("flat.arrows", ipc.new_stream), ("flat.arrow", ipc.new_file)):
        with new(os.path.join(OUT_DIR, name), schema) as writer:
            writer.write_table(table, max_chunksize=37)
    write_csv("flat_arrow.csv", table.column_names, table_rows(table))
    with_nulls = table.set_column(0, "a", pa.array([None if i in (4, 40) else v for i, v in enumerate(columns["a"].tolist())], pa.float64()))
    with_nulls = with_nulls.set_column(5, "motion", pa.array([None if i == 77 else v for i, v in enumerate(motion.tolist())], pa.float64()))
    with ipc.new_stream(os.path.join(OUT_DIR, "flat_nulls.arrows"), schema) as writer:
        writer.write_table(with_nulls, max_chunksize=37)
    write_csv("flat_nulls.csv", with_nulls.column_names, table_rows(with_nulls))
    # Record batches 0 and 1 plain, 2 and 3 with LZ4 body compression, spliced into one stream.
    floats = table.select(["a", "b", "motion"])
    plain, squeezed = pa.BufferOutputStream(), pa.BufferOutputStream()
    with ipc.new_stream(plain, floats.schema) as writer:
        writer.write_table(floats.slice(0, 74), max_chunksize=37)
    options = ipc.IpcWriteOptions(compression="lz4")
    with ipc.new_stream(squeezed, floats.schema, options=options) as writer:
        writer.write_table(floats.slice(74), max_chunksize=38)

    def messages(buffer):
        reader = ipc.MessageReader.open_stream(buffer)
        out = []
        while True:
            try:
                out.append(reader.read_next_message())
            except StopIteration:
                return out

    first, second = messages(plain.getvalue()), messages(squeezed.getvalue())
    with open(os.path.join(OUT_DIR, "lz4_tail.arrows"), "wb") as out:
        for message in first + second[1:]:
            out.write(message.serialize().to_pybytes())
        out.write(b"\xff\xff\xff\xff\x00\x00\x00\x00")
    write_csv("lz4_tail.csv", floats.column_names, table_rows(floats))


def streamed_value(name: str, r: int) -> float:
    if name == "h64":
        return ((r * 2654435761 + 12345) % 2**32 - 2**31) / 2**20
    if name == "h32":
        return ((r * 40503 + 777) % 2**24 - 2**23) / 2**10
    if name == "r64":
        return (r % 97) * 0.5 - 20
    if name == "motion":
        return ((r * 31) % 101) / 8
    return (r % 53) * 0.25


def streamed() -> None:
    n = 14_000
    for version, late in (("1.0", True), ("2.0", False)):
        fields = [
            pa.field("h64", pa.float64()),
            pa.field("h32", pa.float32(), nullable=False),
            pa.field("r64", pa.float64(), nullable=False),
            pa.field("motion", pa.float64()),
        ] + ([pa.field("late", pa.float64())] if late else [])
        columns = {
            field.name: [None if field.name == "late" and r == 10_500 else streamed_value(field.name, r) for r in range(n)]
            for field in fields
        }
        table = pa.table(columns, schema=pa.schema(fields))
        compression = {field.name: "snappy" for field in fields}
        if late:
            compression["h32"] = "none"
        pq.write_table(
            table,
            os.path.join(OUT_DIR, f"streamed_v{version[0]}.parquet"),
            row_group_size=12_000,
            write_batch_size=1_000,
            use_dictionary=False,
            compression=compression,
            data_page_size=70_000,
            data_page_version=version,
            write_statistics=["h64", "h32", "r64", "motion"],
        )


def main() -> None:
    os.makedirs(OUT_DIR, exist_ok=True)
    rng = np.random.default_rng(SEED)
    drift(rng)
    nulls(rng)
    types()
    mixed(rng)
    wide()
    flat(rng)
    snappy_blocks(rng)
    flat_ipc(rng)
    streamed()
    for name in sorted(os.listdir(OUT_DIR)):
        print(f"{name}: {os.path.getsize(os.path.join(OUT_DIR, name))} bytes")


if __name__ == "__main__":
    main()
