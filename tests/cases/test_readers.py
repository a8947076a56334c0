import sqlite3

import pandas as pd
import pytest

from techeval.cases import load_cases
from techeval.cases.readers import MAX_XLSX_COMPRESSION_RATIO, read_table
from techeval.errors import CaseFileError

from .conftest import HEADER, VALID_ROWS


def test_leading_zero_ids_survive_csv(write_csv):
    report = load_cases(write_csv(VALID_ROWS))
    assert list(report.cases["case_id"])[:2] == ["007", "00060"]


def test_utf8_bom_is_skipped(write_csv):
    report = load_cases(write_csv(VALID_ROWS, prefix=b"\xef\xbb\xbf"))
    assert report.ok and "case_id" in report.cases.columns
    assert any("byte-order mark" in note for note in report.notes)


def test_semicolon_delimited(write_csv):
    rows = [[cell.replace(";", "|") for cell in row] for row in VALID_ROWS]
    report = load_cases(write_csv(rows, sep=";"))
    assert report.ok
    assert report.cases["electronic_surveillance"].tolist() == [True, False, False, False]
    assert any("semicolons" in note for note in report.notes)


def test_tab_delimited(write_csv):
    report = load_cases(write_csv(VALID_ROWS, sep="\t", name="cases.tsv"))
    assert report.ok and report.rows_used == 4


def test_latin1_file(write_csv):
    rows = [row.copy() for row in VALID_ROWS]
    rows[0][1] = "São Paulo"
    report = load_cases(write_csv(rows, encoding="latin-1"))
    assert report.cases["jurisdiction"].iloc[0] == "São Paulo"


def test_mixed_utf8_and_latin1_lines(tmp_path):
    from .conftest import to_csv

    rows = [row.copy() for row in VALID_ROWS]
    rows[0][1] = "São Paulo"
    rows[1][1] = "Zürich"
    text = to_csv(rows)
    lines = text.split("\n")
    data = (lines[0] + "\n" + lines[1] + "\n").encode("utf-8") + (lines[2] + "\n").encode("latin-1")
    data += ("\n".join(lines[3:])).encode("utf-8")
    path = tmp_path / "mixed.csv"
    path.write_bytes(data)
    report = load_cases(path)
    assert report.cases["jurisdiction"].tolist()[:2] == ["São Paulo", "Zürich"]


def test_zero_byte_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(CaseFileError, match=r"empty \(0 bytes\)") as info:
        load_cases(path)
    assert str(path) in str(info.value)


def test_header_only_file(write_csv):
    with pytest.raises(CaseFileError, match="no data rows"):
        load_cases(write_csv([]))


def test_missing_file(tmp_path):
    with pytest.raises(CaseFileError, match="not found"):
        load_cases(tmp_path / "nope.csv")


def test_binary_garbage(tmp_path):
    path = tmp_path / "garbage.csv"
    path.write_bytes(bytes(range(256)) * 10)
    with pytest.raises(CaseFileError, match="binary"):
        load_cases(path)


def test_duplicate_headers(write_csv):
    header = HEADER[:-1] + ["year"]
    with pytest.raises(CaseFileError, match="'year' more than once"):
        load_cases(write_csv(VALID_ROWS, header=header))


def test_ragged_line_names_the_line(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("case_id,jurisdiction\n1,a\n2,b,extra,more\n")
    with pytest.raises(CaseFileError, match="line 3"):
        load_cases(path)


def test_wrong_delimiter_hint(tmp_path):
    from .conftest import to_csv

    path = tmp_path / "colon.csv"
    path.write_text(to_csv(VALID_ROWS, sep=":"))
    with pytest.raises(CaseFileError, match="missing required column"):
        load_cases(path)


def test_unknown_suffix_and_pickle_refused(tmp_path):
    path = tmp_path / "cases.pkl"
    pd.DataFrame({"a": [1]}).to_pickle(path)
    with pytest.raises(CaseFileError, match="never read"):
        read_table(path)


def test_excel_workbook(tmp_path, valid_frame):
    path = tmp_path / "cases.xlsx"
    valid_frame.to_excel(path, index=False)
    report = load_cases(path)
    assert report.ok
    assert report.cases["case_id"].tolist()[:2] == ["007", "00060"]
    assert report.cases["cost_total"].tolist()[2] == pytest.approx(55000.5)


def test_excel_with_numeric_cells(tmp_path, valid_frame):
    frame = valid_frame.copy()
    for column in ("year", "n_suspects", "charged", "convicted", "cost_total"):
        frame[column] = pd.to_numeric(frame[column])
    path = tmp_path / "typed.xlsx"
    frame.to_excel(path, index=False)
    report = load_cases(path)
    assert report.ok
    assert report.cases["year"].tolist() == [2015, 2016, 2017, 2018]


def test_excel_zip_bomb_refused_before_parsing(tmp_path):
    import zipfile

    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "xl/worksheets/sheet1.xml", b"<" + b"a" * (MAX_XLSX_COMPRESSION_RATIO * 2000)
        )
    with pytest.raises(CaseFileError, match="zip bomb"):
        load_cases(path)


def test_parquet_keeps_text_ids(tmp_path, valid_frame):
    path = tmp_path / "cases.parquet"
    valid_frame.to_parquet(path)
    report = load_cases(path)
    assert report.ok and report.cases["case_id"].iloc[0] == "007"


def test_parquet_with_typed_columns(tmp_path, valid_frame):
    frame = valid_frame.copy()
    for column in ("year", "n_suspects", "charged", "convicted", "cost_total"):
        frame[column] = pd.to_numeric(frame[column])
    frame["group_disrupted"] = [True, False, None, True]
    path = tmp_path / "typed.parquet"
    frame.to_parquet(path)
    report = load_cases(path)
    assert report.ok
    assert report.cases["group_disrupted"].tolist()[:2] == [True, False]


def test_sqlite_table(tmp_path, valid_frame):
    path = tmp_path / "cases.db"
    with sqlite3.connect(path) as connection:
        valid_frame.to_sql("cases", connection, index=False)
    report = load_cases(f"sqlite:///{path}?table=cases")
    assert report.ok and report.rows_used == 4
    assert report.cases["case_id"].iloc[0] == "007"
    query = load_cases(f"sqlite:///{path}?query=SELECT * FROM cases WHERE jurisdiction = 'North'")
    assert query.rows_used == 1


def test_sqlite_missing_table_lists_tables(tmp_path, valid_frame):
    path = tmp_path / "cases.db"
    with sqlite3.connect(path) as connection:
        valid_frame.to_sql("cases", connection, index=False)
    with pytest.raises(CaseFileError, match="Tables there: cases"):
        load_cases(f"sqlite:///{path}?table=investigations")


def test_sql_url_needs_table_or_query(tmp_path):
    path = tmp_path / "cases.db"
    sqlite3.connect(path).close()
    with pytest.raises(CaseFileError, match="exactly one"):
        load_cases(f"sqlite:///{path}")


def test_sql_password_never_shown():
    with pytest.raises(CaseFileError) as info:
        load_cases("postgresql+nosuchdriver://user:s3cret@127.0.0.1/db?table=cases")
    assert "s3cret" not in str(info.value)
