"""The result document: rows in order, serialised, with the data, settings and frames.

What ``result.json`` holds is a stable contract (``docs/result-schema.md``): the same
data, protocol, seed and techeval version give byte-identical output. The functions
here take plain values (rows, techniques, ``min_cell``), not the protocol.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from techeval.estimators.registry import get_estimator
from techeval.results import EffectResult
from techeval.results.disclosure import scrub_text

__all__ = [
    "KEPT_DIAGNOSTICS",
    "RESULT_SCHEMA",
    "RunOutcome",
    "data_sha256",
    "estimators_section",
    "order_rows",
    "report_frames",
    "serialise",
    "set_aside_ledger",
    "slim_diagnostics",
    "year_span",
]

#: Identifier of the result-file format (``docs/result-schema.md``).
RESULT_SCHEMA = "techeval.result/1"

_FAMILY_ORDER = ("outcome", "cost", "harm", "synthesis")


@dataclass(frozen=True)
class RunOutcome:
    """Everything a run produced, ready to be written.

    Attributes
    ----------
    document
        The result document (``result.json``), JSON-ready.
    frames
        Small aggregated, disclosure-controlled tables for the reports
        (``frames/<name>.csv``).
    set_aside
        Set-aside ledger: counts by column and rule.
    log
        Lines of ``run.log`` (timings, versions; no case data).
    elapsed
        Run time in seconds.
    protocol_text
        The protocol file as run (written beside the result as ``protocol.yaml``).
    """

    document: dict[str, Any]
    frames: dict[str, pd.DataFrame]
    set_aside: pd.DataFrame
    log: tuple[str, ...]
    elapsed: float
    protocol_text: str = ""


def data_sha256(source: str | Path, cases: pd.DataFrame) -> str:
    """SHA-256 of the case file's bytes, or of the analysis table as read from a database."""
    path = Path(str(source))
    if path.is_file():
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()
    # a database table or query: hash the analysis table as read
    return hashlib.sha256(cases.to_csv(index=False).encode("utf-8")).hexdigest()


def year_span(cases: pd.DataFrame) -> dict[str, int] | None:
    """The first and last data year of the cases used (the period ``techeval trend`` reads)."""
    if "year" not in cases.columns:
        return None
    years = pd.to_numeric(cases["year"], errors="coerce").dropna()
    if years.empty:
        return None
    return {"first": int(years.min()), "last": int(years.max())}


def order_rows(
    rows: Sequence[tuple[tuple, EffectResult]], techniques: Sequence[str]
) -> list[tuple[str, EffectResult]]:
    """Rows in the result file's order, each with its registered estimator name.

    ``rows`` are ``((technique, position in the protocol, estimator name), row)``. The
    order: technique (as the protocol lists them), family (outcome, cost, harm,
    synthesis), position, name, then the row's own labels.
    """
    techniques = list(techniques)

    def key(item: tuple[tuple, EffectResult]) -> tuple:
        (technique, spec_index, name), result = item
        family = result.family
        return (
            techniques.index(technique) if technique in techniques else len(techniques),
            _FAMILY_ORDER.index(family) if family in _FAMILY_ORDER else len(_FAMILY_ORDER),
            spec_index,
            name,
            result.outcome,
            result.measure,
            result.scale,
            result.method,
            result.subgroup is not None,
            result.subgroup or "",
        )

    return [(name, result) for (_, _, name), result in sorted(rows, key=key)]


def _get(mapping: Any, *path: str) -> Any:
    for part in path:
        if not isinstance(mapping, Mapping) or part not in mapping:
            return None
        mapping = mapping[part]
    return mapping


#: The diagnostics kept in the result file: small, aggregated, useful to reports.
KEPT_DIAGNOSTICS: dict[str, tuple[str, ...]] = {
    "max_abs_smd_before": ("balance", "max_abs_smd_before"),
    "max_abs_smd_after": ("balance", "max_abs_smd_after"),
    "share_outside_common_support": ("overlap", "share_outside_common_support"),
    "share_clipped": ("overlap", "share_clipped"),
    "effective_sample_size_treated": ("overlap", "effective_sample_size", "treated"),
    "effective_sample_size_control": ("overlap", "effective_sample_size", "control"),
    "e_value_point": ("e_value", "point"),
    "e_value_ci_limit": ("e_value", "ci_limit"),
    "arm_mean_treated": ("arm_means", "treated"),
    "arm_mean_control": ("arm_means", "control"),
    "rows_used": ("rows_used",),
    "inference": ("inference",),
    "n_bootstrap": ("n_bootstrap",),
    "bootstrap_max_n": ("bootstrap_max_n",),
    "quadrant": ("quadrant",),
    "quadrant_probabilities": ("quadrant_probabilities",),
    "willingness_to_pay": ("willingness_to_pay",),
    "harms_included": ("harms_included",),
    "p_value_holm": ("p_value_holm",),
    "p_value_bh": ("p_value_bh",),
    "df": ("df",),
    "i_squared": ("i_squared",),
    "pooled_estimate": ("pooled_estimate",),
    "too_few_cases": ("too_few_cases",),
    "overdispersed": ("overdispersion", "overdispersed"),
    "benchmark": ("benchmark",),
    "benchmark_source": ("benchmark_source",),
    "above_benchmark": ("above_benchmark",),
    "interval_excludes_benchmark": ("interval_excludes_benchmark",),
    "exposure": ("exposure",),
    "suppression": ("suppression",),
    "programme": ("programme",),
}


def slim_diagnostics(diagnostics: Mapping[str, Any]) -> dict[str, Any]:
    """The diagnostics of :data:`KEPT_DIAGNOSTICS` found in ``diagnostics``, flattened."""
    out = {}
    for name, path in KEPT_DIAGNOSTICS.items():
        value = _get(diagnostics, *path)
        if value is not None:
            out[name] = value
    ratio = _get(diagnostics, "overlap", "effective_sample_size_ratio")
    if isinstance(ratio, Mapping) and ratio:
        out["effective_sample_size_ratio_min"] = min(float(v) for v in ratio.values())
    return out


def serialise(result: EffectResult, estimator: str, min_cell: int) -> dict[str, Any]:
    """One result row as written to result.json (see docs/result-schema.md)."""
    row = {
        "technique": result.technique,
        "family": result.family,
        "estimator": result.estimator or estimator,
        "adjusted": bool(result.adjusted),
        "outcome": result.outcome,
        "measure": result.measure,
        "scale": result.scale,
        "subgroup": result.subgroup,
        "estimand": result.estimand,
        "method": result.method,
        "estimate": result.estimate,
        "std_error": result.std_error,
        "ci_low": result.ci_low,
        "ci_high": result.ci_high,
        "ci_level": result.ci_level,
        "p_value": result.p_value,
        "n_treated": None if result.suppressed else int(result.n_treated),
        "n_control": None if result.suppressed else int(result.n_control),
        "suppressed": bool(result.suppressed),
        "warnings": [scrub_text(w, min_cell=min_cell) for w in result.warnings],
        "diagnostics": slim_diagnostics(result.diagnostics),
    }
    for name in ("estimate", "std_error", "ci_low", "ci_high", "p_value"):
        value = row[name]
        row[name] = float(value) if value is not None and math.isfinite(value) else None
    return row


def set_aside_ledger(report: Any) -> pd.DataFrame:
    """Rows set aside by validation, counted by column and rule (``set_aside.csv``).

    ``report`` is the :class:`techeval.cases.ValidationReport` of the case file.
    """
    columns = ["column", "rule", "count"]
    if not report.problems:
        return pd.DataFrame(columns=columns)
    problems = pd.DataFrame([{"column": p.column, "rule": p.rule} for p in report.problems])
    counts = problems.groupby(["column", "rule"]).size().rename("count").reset_index()
    counts["count"] = counts["count"].astype(int)
    return counts.sort_values(["column", "rule"], ignore_index=True)[columns]


def estimators_section(
    rows: Sequence[Mapping[str, Any]], descriptions: Mapping[str, str]
) -> dict[str, dict[str, Any]]:
    """What made the rows: for each estimator name, its family, adjustment and method text.

    The report quotes ``description`` (the first paragraph of the estimator's
    docstring) instead of keeping its own text per estimator name, so a plug-in
    estimator is described in the report in its own words. Rows made outside a
    registered estimator (synthesis) take their text from ``descriptions``.
    """
    section: dict[str, dict[str, Any]] = {}
    for row in rows:
        name = row["estimator"]
        if name in section:
            continue
        if name in descriptions:
            section[name] = {
                "family": row["family"],
                "adjusted": bool(row["adjusted"]),
                "description": descriptions[name],
            }
            continue
        cls = get_estimator(name)
        section[name] = {
            "family": cls.family,
            "adjusted": bool(cls.tags.adjusted),
            "description": cls.description(),
        }
    return dict(sorted(section.items()))


def report_frames(
    estimator_frames: Sequence[tuple[str, str, str, pd.DataFrame]],
    synthesis_frames: Sequence[tuple[str, str, str, pd.DataFrame]],
    originals: Sequence[EffectResult],
    published: Sequence[EffectResult],
    min_cell: int,
) -> dict[str, pd.DataFrame]:
    """Plot-ready aggregated frames; anything behind a suppressed row is left out.

    ``estimator_frames`` and ``synthesis_frames`` are ``(frame name, technique, maker,
    table)``; each is withheld with any suppressed row of the same technique and maker,
    and with any suppressed whole-population row of the same technique and family (two
    estimators of one family compare the same cases: the cost-effectiveness plane goes
    with the incremental cost, whichever estimator's row was withheld).
    """
    frames: dict[str, pd.DataFrame] = {}
    # an estimator's frames describe the cases behind its rows: withheld with any of them
    withheld = {(r.technique, r.estimator) for r in published if r.suppressed}
    family_of = {r.estimator: r.family for r in originals}
    withheld_family = {
        (r.technique, r.family) for r in published if r.suppressed and r.subgroup is None
    }
    parts: dict[str, list[pd.DataFrame]] = {}
    for name, technique, estimator, table in estimator_frames:
        if (technique, estimator) in withheld:
            continue
        if (technique, family_of.get(estimator)) in withheld_family:
            continue
        parts.setdefault(name, []).append(table)
    for name, tables in parts.items():
        table = pd.concat(tables, ignore_index=True)
        first = ["technique"] + [c for c in table.columns if c != "technique"]
        frames[name] = table[first]

    balance, overlap = [], []
    for result, shown in zip(originals, published, strict=True):
        if result.family != "outcome" or result.subgroup is not None or shown.suppressed:
            continue
        if result.scale not in ("risk_difference", "mean_difference"):
            continue
        table = _get(result.diagnostics, "balance", "covariates")
        for item in table or ():
            balance.append(
                {
                    "technique": result.technique,
                    "outcome": result.outcome,
                    "method": result.method,
                    "covariate": item["covariate"],
                    "smd_before": item["smd_before"],
                    "smd_after": item["smd_after"],
                }
            )
        quantiles = _get(result.diagnostics, "overlap", "propensity_quantiles") or {}
        for arm, values in quantiles.items():
            size = result.n_treated if arm == "treated" else result.n_control
            for label, value in values.items():
                q = float(label[1:])
                # a quantile with fewer than min_cell cases beyond it describes those
                # few cases (q0 and q1 are single cases): left out
                if min(q, 1 - q) * size < min_cell:
                    continue
                overlap.append(
                    {
                        "technique": result.technique,
                        "outcome": result.outcome,
                        "method": result.method,
                        "arm": arm,
                        "quantile": q,
                        "propensity": value,
                    }
                )
    if balance:
        frames["balance"] = pd.DataFrame(balance)
    if overlap:
        frames["propensity_quantiles"] = pd.DataFrame(overlap)
    # a synthesis table is built from what its rows report (the programme projection
    # from the intake): withheld whenever any of them is
    synthesised: dict[str, list[pd.DataFrame]] = {}
    for name, technique, maker, table in synthesis_frames:
        if (technique, maker) not in withheld:
            synthesised.setdefault(name, []).append(table)
    for name, tables in synthesised.items():
        frames[name] = pd.concat(tables, ignore_index=True)
    return frames
