"""Property-based and fuzz tests (issue #11).

Strategies generate valid case frames from the schema itself
(:data:`techeval.cases.schema.COLUMNS` and its cross-column rules) and corrupt them one
cell at a time. Properties: rows in = used + set aside, no valid row set aside, row
order does not matter, doubling every cost doubles cost estimates, an interval
contains its estimate, no output names a case ID. A bounded fuzz run feeds the CSV,
Excel and YAML loaders arbitrary and mutated input: each either loads or raises a
techeval error, never anything else (a few dozen examples by default; thousands with
``-m slow``).
"""

from __future__ import annotations

import io
import math
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from techeval.cases import comparison_frame, load_cases, validate_frame
from techeval.cases.schema import COLUMNS, GROUP_STRUCTURES, OFFENCES, TECHNIQUES
from techeval.effect import estimate_effect
from techeval.errors import TechevalError
from techeval.estimators.registry import get_estimator
from techeval.protocols.load import parse_yaml
from techeval.protocols.model import load_protocol
from techeval.protocols.run import run_protocol, write_outputs
from techeval.simulate import generate_cases

from .._helpers import scan_output_folder

QUICK = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
#: validation runs pandera on every example: fewer examples (tests/cases/test_properties.py
#: runs 60 more of the same kind)
FEW = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# ---- strategies: valid rows from the schema, and corruptions ---------------------------------


@st.composite
def valid_case(draw):
    """One valid case record as text cells, every column of the schema filled or empty."""
    n_suspects = draw(st.integers(1, 30))
    targets = draw(st.integers(0, n_suspects))
    charged = draw(st.integers(0, n_suspects))
    convicted = draw(st.integers(0, charged))
    high_level = draw(st.integers(0, min(convicted, targets)))
    techniques = draw(st.lists(st.sampled_from(TECHNIQUES), unique=True, max_size=4))
    intercepts = draw(st.integers(0, 500))
    row = {
        "jurisdiction": draw(st.sampled_from(["North", "São Tomé", "NA", "  East  "])),
        "year": str(draw(st.integers(1950, 2100))),
        "offence": draw(st.sampled_from(OFFENCES)),
        "group_structure": draw(st.sampled_from([*GROUP_STRUCTURES, ""])),
        "n_suspects": str(n_suspects),
        "high_level_targets": str(targets),
        "techniques": ";".join(techniques),
        "cost_total": draw(st.sampled_from(["0", "1,250.50", "99999", "3.5e4"])),
        "charged": str(charged),
        "convicted": str(convicted),
        "high_level_convicted": str(high_level),
        "intercepts_total": str(intercepts),
        "intercepts_incriminating": str(draw(st.integers(0, intercepts))),
        "group_disrupted": draw(st.sampled_from(["", "yes", "no", "1", "0", "TRUE"])),
        "evidence_excluded": draw(st.sampled_from(["", "y", "n"])),
    }
    for technique in TECHNIQUES:
        used = technique in techniques
        row[f"cost_{technique}"] = str(draw(st.integers(0, 5000))) if used else "0"
    for spec in COLUMNS:
        if spec.name not in row and spec.name != "case_id" and spec.kind == "integer":
            row[spec.name] = draw(st.sampled_from(["", "0", "2"]))
        elif spec.name not in row and spec.name != "case_id":
            row[spec.name] = draw(st.sampled_from(["", "0", "12.5"]))
    return row


def _corrupt(row: dict, spec) -> None:
    """Break exactly one column's own rule in ``row``."""
    if spec.kind == "text":
        row[spec.name] = ""
    elif spec.kind == "category":
        row[spec.name] = "piracy"
    elif spec.kind == "boolean":
        row[spec.name] = "perhaps"
    elif spec.kind == "techniques":
        row[spec.name] = "telepathy"
    else:
        row[spec.name] = str(int(spec.minimum) - 1) if spec.minimum is not None else "abc"


CORRUPTIBLE = [c for c in COLUMNS if c.name != "case_id"]


@st.composite
def case_frame(draw, *, max_size=25):
    """(frame, rows corrupted) with 1-based row numbers of the corrupted rows."""
    rows = draw(
        st.lists(
            st.tuples(valid_case(), st.one_of(st.none(), st.sampled_from(CORRUPTIBLE))),
            min_size=1,
            max_size=max_size,
        )
    )
    ids = draw(
        st.lists(
            st.text("0123456789ABCXYZ-", min_size=1, max_size=8),
            min_size=len(rows),
            max_size=len(rows),
            unique=True,
        )
    )
    records, corrupted = [], set()
    for number, ((row, spec), case_id) in enumerate(zip(rows, ids, strict=True), start=1):
        row = dict(row, case_id=case_id)
        if spec is not None:
            _corrupt(row, spec)
            corrupted.add(number)
        records.append(row)
    return pd.DataFrame(records, dtype="str"), corrupted


# ---- properties of validation ------------------------------------------------------------------


@FEW
@given(case_frame())
def test_nothing_lost_and_no_valid_row_set_aside(generated):
    frame, corrupted = generated
    report = validate_frame(frame)
    assert report.rows_in == len(frame) == report.rows_used + report.rows_set_aside
    assert set(report.set_aside["row"]) == corrupted
    assert set(report.cases.index) == set(range(1, len(frame) + 1)) - corrupted
    assert report.cases["case_id"].tolist() == [
        frame["case_id"].iloc[i - 1].strip() for i in report.cases.index
    ]


@FEW
@given(case_frame(), st.randoms(use_true_random=False))
def test_row_order_does_not_change_validation(generated, random):
    frame, _ = generated
    order = list(range(len(frame)))
    random.shuffle(order)
    first = validate_frame(frame)
    second = validate_frame(frame.iloc[order])

    def by_id(cases):
        return cases.set_index("case_id").sort_index()

    pd.testing.assert_frame_equal(by_id(first.cases), by_id(second.cases))
    assert set(first.set_aside["case_id"]) == set(second.set_aside["case_id"])
    assert sorted((p.column, p.rule) for p in first.problems) == sorted(
        (p.column, p.rule) for p in second.problems
    )


# ---- properties of estimates -------------------------------------------------------------------

COVARIATES = ["offence", "n_suspects", "year"]


def _analysis(seed: int, n: int = 600) -> pd.DataFrame:
    report = validate_frame(generate_cases(n, seed=seed).cases.astype(str))
    return comparison_frame(report.cases, "undercover", "without_technique")


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 10_000), permutation_seed=st.integers(0, 10_000))
@pytest.mark.parametrize("method", ["naive", "regression", "ipw"])
def test_row_order_does_not_change_estimates(method, seed, permutation_seed):
    cases = _analysis(seed)
    shuffled = cases.sample(frac=1, random_state=permutation_seed)
    kwargs = dict(treatment="undercover", outcome="conviction", covariates=COVARIATES)
    a = estimate_effect(cases, method=method, **kwargs)
    b = estimate_effect(shuffled, method=method, **kwargs)
    assert b.estimate == pytest.approx(a.estimate, rel=1e-9, abs=1e-12)
    assert b.ci_low == pytest.approx(a.ci_low, rel=1e-9, abs=1e-12)


def test_row_order_does_not_change_the_aipw_estimate():
    cases = _analysis(2, n=800)
    shuffled = cases.sample(frac=1, random_state=3)
    kwargs = dict(treatment="undercover", outcome="conviction", covariates=COVARIATES)
    a = estimate_effect(cases, method="aipw", **kwargs)
    b = estimate_effect(shuffled, method="aipw", **kwargs)
    assert b.estimate == pytest.approx(a.estimate, rel=1e-6)


@settings(max_examples=4, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_doubling_every_cost_doubles_the_cost_estimates(seed):
    cases = _analysis(seed)
    costs = [c for c in cases.columns if c.startswith("cost_")]
    doubled = cases.assign(**{c: cases[c] * 2 for c in costs})
    cls = get_estimator("cost.incremental")
    kwargs = dict(treatment="undercover", outcome="cost_total", covariates=COVARIATES)
    first = cls(inference="influence_function", random_state=0).fit(cases, **kwargs).results_
    second = cls(inference="influence_function", random_state=0).fit(doubled, **kwargs).results_
    assert len(first) == len(second) >= 1
    for a, b in zip(first, second, strict=True):
        if a.scale in ("mean_difference", "currency", "mean"):
            for name in ("estimate", "ci_low", "ci_high"):
                assert getattr(b, name) == pytest.approx(2 * getattr(a, name), rel=1e-6), name
        elif a.scale == "ratio":
            assert b.estimate == pytest.approx(a.estimate, rel=1e-6)


@settings(max_examples=5, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(150, 600))
@pytest.mark.parametrize("method", ["naive", "regression", "ipw", "aipw"])
def test_every_interval_contains_its_estimate(method, seed, n):
    cases = _analysis(seed, n)
    assume(cases["undercover"].sum() >= 5)
    cls = get_estimator(f"outcome.{method}")
    params = {"random_state": 0} if "random_state" in cls.param_names() else {}
    estimator = cls(**params).fit(
        cases, treatment="undercover", outcome="conviction", covariates=COVARIATES
    )
    for row in estimator.results_:
        if all(math.isfinite(v) for v in (row.estimate, row.ci_low, row.ci_high)):
            assert row.ci_low <= row.estimate <= row.ci_high, row


PROTOCOL = """\
name: property
version: "0.1"
techniques: [undercover]
covariates: [offence, n_suspects]
outcomes: [conviction]
estimators:
  - name: outcome.naive
subgroups:
  by: [offence]
  estimator: outcome.naive
  min_cases: 1
"""


@settings(max_examples=4, deadline=None)
@given(
    alphabet=st.lists(
        st.sampled_from("ABCDEFGHJKLMNPQRSTUVWXYZ"), min_size=5, max_size=24, unique=True
    ),
    id_seed=st.integers(0, 2**32 - 1),
    seed=st.integers(0, 1000),
)
def test_no_output_contains_a_case_id(alphabet, id_seed, seed):
    letters = np.array(list(alphabet))
    rng = np.random.default_rng(id_seed)
    ids = sorted({"".join(rng.choice(letters, 10)) for _ in range(400)})
    assume(len(ids) == 400)
    frame = generate_cases(400, seed=seed).cases.copy()
    frame["case_id"] = ids
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        data = folder / "cases.csv"
        frame.to_csv(data, index=False)
        protocol = folder / "p.yaml"
        protocol.write_text(PROTOCOL, encoding="utf-8")
        out = folder / "out"
        write_outputs(run_protocol(protocol, data), out)
        assert scan_output_folder(out, ids) == []


# ---- fuzzing the loaders ---------------------------------------------------------------------

_VALID_CSV = generate_cases(30, seed=3).cases.to_csv(index=False).encode()


def _valid_xlsx() -> bytes:
    buffer = io.BytesIO()
    generate_cases(10, seed=3).cases.to_excel(buffer, index=False)
    return buffer.getvalue()


_VALID_XLSX = _valid_xlsx()


def _load_or_refuse(data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"fuzz{suffix}"
        path.write_bytes(data)
        try:
            report = load_cases(path)
        except TechevalError:
            return
        assert report.rows_in == report.rows_used + report.rows_set_aside


@st.composite
def mutated(draw, original: bytes):
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 8))):
        position = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["flip", "delete", "insert"]))
        if action == "flip":
            data[position] = draw(st.integers(0, 255))
        elif action == "delete":
            del data[position : position + draw(st.integers(1, 64))]
        else:
            data[position:position] = draw(st.binary(min_size=1, max_size=16))
        if not data:
            data = bytearray(b"x")
    return bytes(data)


def _fuzz_csv(data):
    _load_or_refuse(data, ".csv")


def _fuzz_xlsx(data):
    _load_or_refuse(data, ".xlsx")


def _fuzz_yaml(text):
    try:
        value = parse_yaml(text)
    except TechevalError:
        return
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "p.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            load_protocol(path)
        except TechevalError:
            return
    assert isinstance(value, dict)


_CSV_INPUT = st.one_of(st.binary(max_size=2000), mutated(_VALID_CSV))
_XLSX_INPUT = st.one_of(st.binary(max_size=200), mutated(_VALID_XLSX))
_YAML_INPUT = st.one_of(
    st.text(max_size=400),
    st.builds(
        lambda base, cut, extra: base[:cut] + extra + base[cut:],
        st.just(PROTOCOL),
        st.integers(0, len(PROTOCOL)),
        st.text("[]{}:&*!|>-'\"#%@ \n\tabc0123", max_size=20),
    ),
)


@QUICK
@given(_CSV_INPUT)
def test_fuzz_csv_loader(data):
    _fuzz_csv(data)


@QUICK
@given(_XLSX_INPUT)
def test_fuzz_excel_loader(data):
    _fuzz_xlsx(data)


@QUICK
@given(_YAML_INPUT)
def test_fuzz_protocol_loader(text):
    _fuzz_yaml(text)


@pytest.mark.slow
@SLOW
@given(_CSV_INPUT)
def test_fuzz_csv_loader_long(data):
    _fuzz_csv(data)


@pytest.mark.slow
@SLOW
@given(_XLSX_INPUT)
def test_fuzz_excel_loader_long(data):
    _fuzz_xlsx(data)


@pytest.mark.slow
@SLOW
@given(_YAML_INPUT)
def test_fuzz_protocol_loader_long(text):
    _fuzz_yaml(text)


def test_fuzz_inputs_include_valid_files():
    """The mutation fuzzers start from files that load (so they test near-valid input)."""
    with tempfile.TemporaryDirectory() as folder:
        for suffix, data in ((".csv", _VALID_CSV), (".xlsx", _VALID_XLSX)):
            path = Path(folder) / f"ok{suffix}"
            path.write_bytes(data)
            assert load_cases(path).rows_in > 0
    assert isinstance(parse_yaml(PROTOCOL), dict)
