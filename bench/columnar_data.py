#!/usr/bin/env python3
"""The monitor throughput benchmark's inputs: one CSV, the same data as Arrow and Parquet.

Takes a CSV (for example from ``batch-corr generate --features 200 --batches 500
--batch-size 100 -o drift.csv``, about 197 MB) and writes beside it, with pyarrow,
the same float64 values as

- ``<name>.arrow``: Arrow IPC file format, record batches of ``--batch-rows`` rows;
- ``<name>.arrows``: Arrow IPC stream format, the same record batches;
- ``<name>.parquet``: Parquet, row groups of ``--row-group-rows`` rows, Snappy
  (pyarrow's default codec), dictionary encoding off (random floats gain nothing
  from it).

The CSV is parsed with every column as float64, so the three files hold exactly
the values ``Number()`` gives for the CSV's cells. Prints one JSON object with the
sizes. Run from a venv with pyarrow (``/work/wt/venv/bin/python``).
"""

from __future__ import annotations

import argparse
import json
import os

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.ipc as ipc
import pyarrow.parquet as pq


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv")
    parser.add_argument("--batch-rows", type=int, default=65_536, help="rows per Arrow record batch")
    parser.add_argument("--row-group-rows", type=int, default=65_536, help="rows per Parquet row group")
    args = parser.parse_args()

    stem = os.path.splitext(args.csv)[0]
    with open(args.csv) as csv:
        names = csv.readline().rstrip("\r\n").split(",")
    types = {name: pa.float64() for name in names}
    table = pacsv.read_csv(args.csv, convert_options=pacsv.ConvertOptions(column_types=types))
    batches = table.to_batches(max_chunksize=args.batch_rows)

    with ipc.new_file(f"{stem}.arrow", table.schema) as writer:
        for batch in batches:
            writer.write_batch(batch)
    with ipc.new_stream(f"{stem}.arrows", table.schema) as writer:
        for batch in batches:
            writer.write_batch(batch)
    pq.write_table(table, f"{stem}.parquet", row_group_size=args.row_group_rows, use_dictionary=False, compression="snappy")

    sizes = {ext: os.path.getsize(f"{stem}{ext}") for ext in (".csv", ".arrow", ".arrows", ".parquet")}
    print(json.dumps({"rows": table.num_rows, "columns": table.num_columns, "bytes": sizes}))


if __name__ == "__main__":
    main()
