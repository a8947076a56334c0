"""Writing synthetic case records: the case table (CSV or Parquet) and truth.json."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from techeval.errors import ArgumentError
from techeval.simulate.dgp import SyntheticCases


def write_cases(
    synthetic: SyntheticCases, out_path: str | Path, truth_path: str | Path | None = None
) -> Path:
    """Write the cases (CSV, or Parquet for ``.parquet``/``.pq``) and optionally the truth.

    Parameters
    ----------
    synthetic
        The result of :func:`generate_cases`.
    out_path
        Destination of the case table; the extension chooses the format.
    truth_path
        Destination of ``truth.json`` (2-space indent, keys in a fixed order), if wanted.

    Returns
    -------
    Path
        The path of the case table.

    Raises
    ------
    ArgumentError
        If the extension is not supported or a file cannot be written.

    Notes
    -----
    Output is byte-identical for the same input: UTF-8, ``\\n`` line endings, integers
    only (money in whole dollars), empty cells for missing values.
    """
    import json

    out = Path(out_path)
    suffix = out.suffix.lower()
    if suffix not in {".csv", ".parquet", ".pq"}:
        raise ArgumentError(
            f"cannot tell the format of {out.name!r}",
            where="--out",
            hint="Use a .csv or .parquet file name",
        )
    try:
        if suffix == ".csv":
            _write_csv(synthetic.cases, out)
        else:
            synthetic.cases.to_parquet(out, index=False)
        if truth_path is not None:
            text = json.dumps(
                synthetic.truth, indent=2, sort_keys=False, ensure_ascii=False, allow_nan=False
            )
            Path(truth_path).write_text(text + "\n", encoding="utf-8")
    except OSError as exc:
        raise ArgumentError(
            f"cannot write the file ({exc.strerror or exc})",
            where=str(exc.filename or out),
            hint="Check that the folder exists and that you may write there",
        ) from None
    return out


def _write_csv(frame: pd.DataFrame, out: Path) -> None:
    """CSV as pandas writes it (``\n``, empty cells for missing), via Arrow for speed.

    Arrow writes the same bytes as ``DataFrame.to_csv`` when no text cell needs quoting
    (the generator's vocabulary never does); otherwise pandas writes the file. Rows go
    out in blocks, so the text of only one block is held at a time.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    table = pa.Table.from_pandas(frame, preserve_index=False)
    if _needs_quotes(table):
        frame.to_csv(out, index=False, lineterminator="\n", encoding="utf-8")
        return
    texts = [_decimal_texts(column) for column in table.columns]
    options = pacsv.WriteOptions(include_header=False, quoting_style="none", eol="\n")
    with open(out, "wb") as handle:
        handle.write((",".join(map(str, frame.columns)) + "\n").encode("utf-8"))
        for start in range(0, table.num_rows, _CSV_BLOCK_ROWS):
            block = table.slice(start, _CSV_BLOCK_ROWS)
            columns = [
                column if text is None else pc.take(text, column)
                for column, text in zip(block.columns, texts, strict=True)
            ]
            pacsv.write_csv(pa.table(columns, names=table.column_names), handle, options)


def _needs_quotes(table: Any) -> bool:
    """Whether a text cell of the Arrow ``table`` holds ``"``, a comma, CR or LF.

    Looks at the character buffers directly (a regular expression per cell takes
    0.4 s at 10⁶ rows). A buffer may hold bytes outside its array's slice: they can only
    make the answer a needless yes, and pandas then writes the file.
    """
    import pyarrow as pa

    for column in table.columns:
        if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            continue
        for chunk in column.chunks:
            data = chunk.buffers()[2]
            text = b"" if data is None else data.to_pybytes()
            if any(special in text for special in (b'"', b",", b"\r", b"\n")):
                return True
    return False


#: Rows per block written by :func:`_write_csv`.
_CSV_BLOCK_ROWS = 1 << 16

#: Integer columns whose values all lie in [0, this) are written through a table of
#: their decimal texts: Arrow formats an integer in about 45 ns, looks one up in 10.
_DECIMAL_TABLE_SIZE = 1 << 16


def _decimal_texts(column: Any) -> Any:
    """The decimal texts of 0 … max of an Arrow integer column of small values ≥ 0.

    ``None`` for any other column (written as it is). The texts are Python's
    ``str(int)``, which is what Arrow and pandas write for a non-negative integer;
    taking them by the column's values keeps nulls null (empty cells).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if not pa.types.is_integer(column.type) or column.null_count == len(column):
        return None
    low, high = (value.as_py() for value in pc.min_max(column).values())
    if low < 0 or high >= _DECIMAL_TABLE_SIZE:
        return None
    return pa.array([str(value) for value in range(high + 1)], type=pa.large_string())
