"""The protocol model: strict types, unknown keys listed, shipped protocols valid."""

import hashlib

import pytest

from techeval.assumptions import (
    DEFAULT_CURRENCY,
    DEFAULT_HARM_UNIT_COSTS,
    DEFAULT_HARM_WEIGHTS,
    DEFAULT_MONETARY_VALUE_SPECS,
    DEFAULT_WILLINGNESS_TO_PAY,
)
from techeval.errors import ProtocolError
from techeval.protocols.load import parse_yaml
from techeval.protocols.model import (
    DEFAULT_COVARIATES,
    list_protocols,
    load_protocol,
    protocol_from_mapping,
)

MINIMAL = """
name: mini
version: "1"
techniques: [undercover]
estimators:
  - name: outcome.naive
"""

SHIPPED = (
    "electronic-surveillance-v1",
    "quick-v1",
    "standard-v1",
    "undercover-v1",
    "witness-protection-v1",
)


def _check(text):
    return protocol_from_mapping(parse_yaml(text), source="test.yaml")


def test_minimal_protocol_takes_documented_defaults():
    protocol = _check(MINIMAL)
    assert protocol.covariates == list(DEFAULT_COVARIATES)
    assert protocol.comparator == "without_technique"
    assert protocol.disclosure.min_cell == 10
    assert protocol.outcomes == ["conviction", "high_level_conviction", "group_disrupted"]
    assert protocol.report.formats == ["json"]


@pytest.mark.parametrize("name", [None, *SHIPPED])
def test_protocol_defaults_are_the_values_in_assumptions(name):
    """A protocol without economics or harm weights takes techeval.assumptions' values;
    the shipped protocols write the same values out (their comments say "Same as")."""
    protocol = _check(MINIMAL) if name is None else load_protocol(name).protocol
    assert protocol.weights() == DEFAULT_HARM_WEIGHTS
    assert protocol.economics.unit_costs() == DEFAULT_HARM_UNIT_COSTS
    assert protocol.economics.wtp() == DEFAULT_WILLINGNESS_TO_PAY
    assert protocol.economics.monetary_values().to_dict() == {
        **DEFAULT_MONETARY_VALUE_SPECS,
        "currency": DEFAULT_CURRENCY,
    }


def test_unknown_key_is_an_error_listing_the_valid_keys():
    with pytest.raises(ProtocolError) as caught:
        _check(MINIMAL + "disclosur:\n  min_cell: 5\n")
    message = caught.value.describe()
    assert "unknown key 'disclosur'" in message
    assert "disclosure" in message and "techniques" in message


def test_unknown_nested_key_lists_the_keys_of_that_section():
    with pytest.raises(ProtocolError) as caught:
        _check(MINIMAL + "inference:\n  seeds: 3\n")
    message = caught.value.describe()
    assert "inference.seeds" in message
    assert "n_bootstrap" in message and "seed" in message


def test_unknown_key_inside_an_estimator_entry():
    with pytest.raises(
        ProtocolError, match=r"estimators\[0\]\.parms.*valid keys here: name, params"
    ):
        _check(MINIMAL.replace("  - name: outcome.naive", "  - name: outcome.naive\n    parms: {}"))


def test_types_are_strict():
    with pytest.raises(ProtocolError, match="version"):
        _check(MINIMAL.replace('version: "1"', "version: 1"))
    with pytest.raises(ProtocolError, match="min_cell"):
        _check(MINIMAL + "disclosure:\n  min_cell: '10'\n")


def test_unknown_technique_and_comparator_are_refused():
    with pytest.raises(ProtocolError, match="techniques"):
        _check(MINIMAL.replace("[undercover]", "[telepathy]"))
    with pytest.raises(ProtocolError, match="comparator"):
        _check(MINIMAL + "comparator: nobody\n")


def test_repeated_entries_and_bad_economic_values_are_refused():
    with pytest.raises(ProtocolError, match="more than once"):
        _check(MINIMAL.replace("[undercover]", "[undercover, undercover]"))
    with pytest.raises(ProtocolError, match="triangular"):
        _check(
            MINIMAL
            + "economics:\n  value_conviction: {distribution: triangular, low: 5, mode: 1, high: 3}\n"
        )


def test_unavailable_estimator_fails_with_not_available(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(MINIMAL.replace("outcome.naive", "synthesis.meta_analysis"))
    with pytest.raises(ProtocolError, match="not available"):
        load_protocol(path)
    path.write_text(
        MINIMAL.replace(
            "  - name: outcome.naive", "  - name: outcome.naive\n    params: {folds: 3}"
        )
    )
    with pytest.raises(ProtocolError, match="no parameter.*folds"):
        load_protocol(path)


def test_protocol_must_be_a_mapping():
    with pytest.raises(ProtocolError, match="mapping"):
        protocol_from_mapping(["a"])


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_protocols_load_and_hash_their_bytes(name):
    loaded = load_protocol(name)
    assert loaded.sha256 == hashlib.sha256(loaded.path.read_bytes()).hexdigest()
    assert loaded.protocol.version and loaded.protocol.description
    assert {"threat_level", "transnational"} <= set(loaded.protocol.covariates)


def test_every_shipped_protocol_is_listed():
    assert tuple(p.stem for p in list_protocols()) == tuple(sorted(SHIPPED))


def test_quick_protocol_uses_no_bootstrap():
    protocol = load_protocol("quick-v1").protocol
    assert protocol.inference.method == "influence_function"
    bootstrapping = {"cost.effectiveness", "cost.benefit"}
    assert not bootstrapping & {spec.name for spec in protocol.estimators}


@pytest.mark.parametrize("name", SHIPPED)
def test_every_real_world_default_has_a_source_or_says_assumption(name):
    """Every numeric value line of a shipped protocol carries a comment."""
    text = load_protocol(name).text
    section = None
    for line in text.splitlines():
        stripped = line.split("#", 1)[0].rstrip()
        if stripped and not line.startswith(" "):
            section = stripped.split(":")[0]
        if section not in ("economics", "harm_weights", "disclosure", "witness_programme"):
            continue
        key, _, value = stripped.strip().partition(":")
        value = value.strip()
        if not value or key in ("distribution", "low", "mode", "high", "mean", "sd"):
            continue
        if value.replace(".", "", 1).isdigit():
            assert "#" in line, f"{name}: no source or 'assumption' comment on: {line.strip()}"
