"""Periodic assessments: ``techeval trend RESULT.json ... [--period ...] [--protocol ...]``.

Assessments repeated on a standard basis show trends and the impact of new initiatives
(A/CONF.213/15, paras 33 and 60). This module orders result files by period, follows
every effect across periods, tests for change by a random-effects meta-regression of
the estimates on the period's mid-year (:func:`techeval.pooling.meta.meta_regression`)
and, given the protocol, sets planned figures beside the actual ones and flags any
departure beyond a threshold — the witness-protection programme that was planned for
25–50 witnesses a year and took in some 340 a year (para 43) is the example. The words
(the plan sentences recorded in ``trend.json``, the report and the terminal summary)
are :mod:`techeval.report.trend`'s; this module computes only numbers.

It reads only result files (and the protocol for the plan), never case records, and
carries disclosure control through as pooling does: a withheld estimate is shown as
withheld and never enters a test.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from scipy import stats

from techeval._version import __version__
from techeval.errors import ArgumentError
from techeval.pooling.meta import meta_regression, random_effects
from techeval.pooling.pool import (
    LOG_SCALES,
    ResultFile,
    _region_entry,
    check_compatible,
    is_poolable,
    read_result_file,
)
from techeval.report.trend import plan_sentence
from techeval.results import ROW_KEY, canonical_value, row_key
from techeval.results.disclosure import rests_on_too_few

__all__ = [
    "DEFAULT_THRESHOLD",
    "TREND_CSV_COLUMNS",
    "TREND_SCHEMA",
    "parse_period",
    "plan_versus_actual",
    "trend_from_files",
    "trend_results",
    "trend_table",
]

TREND_SCHEMA = "techeval.trend/1"

#: Departure from plan flagged by default: more than 25% beyond the planned range
#: (assumption: a common tolerance in budget monitoring; set per figure in the protocol's
#: ``plan`` or with ``--threshold``).
DEFAULT_THRESHOLD = 0.25

_PERIOD = re.compile(r"^\s*(\d{4})\s*(?:[-–/]\s*(\d{4}))?\s*$")


def parse_period(label: str) -> tuple[int, int]:
    """A period label as its first and last data year: ``"2019"``, ``"2015-2018"``.

    Raises
    ------
    ArgumentError
        If the label is not a year or a span of years (first <= last).
    """
    match = _PERIOD.match(str(label))
    if match is None:
        raise ArgumentError(
            f"cannot read the period {label!r}",
            where="--period",
            hint="Give a year (2019) or a span of data years (2015-2018) per result file",
        )
    first = int(match.group(1))
    last = int(match.group(2) or first)
    if last < first:
        raise ArgumentError(f"the period {label!r} ends before it starts", where="--period")
    return first, last


def _file_period(file: ResultFile, given: str | None) -> tuple[str, int, int]:
    if given is not None:
        first, last = parse_period(given)
        return given.strip(), first, last
    years = file.document["data"].get("years")
    if isinstance(years, Mapping) and isinstance(years.get("first"), int):
        first, last = int(years["first"]), int(years.get("last", years["first"]))
        return (f"{first}" if first == last else f"{first}–{last}"), first, last
    raise ArgumentError(
        "the result file does not record the years its data span",
        where=str(file.path),
        hint="Give --period for every result file, in order (e.g. --period 2015-2017)",
    )


# ---- the plan ------------------------------------------------------------------------------


def _planned_figures(protocol, threshold: float | None) -> list[dict[str, Any]]:
    """The protocol's planned figures, the witness programme's intake plan included."""
    figures = []
    for figure in protocol.plan:
        figures.append(
            {
                "technique": figure.technique,
                "measure": figure.measure,
                "subgroup": figure.subgroup,
                "scale": figure.scale,
                "planned_low": float(figure.planned[0]),
                "planned_high": float(figure.planned[-1]),
                "threshold": float(threshold if threshold is not None else figure.threshold),
                "unit": figure.unit,
                "source": figure.source,
                "annual_budget": None,
            }
        )
    programme = protocol.witness_programme
    explicit = {(f["technique"], f["measure"]) for f in figures}
    if programme is not None and (
        ("witness_protection", "witnesses_admitted_per_year") not in explicit
    ):
        figures.append(
            {
                "technique": "witness_protection",
                "measure": "witnesses_admitted_per_year",
                "subgroup": None,
                "scale": None,
                "planned_low": float(programme.plan_witnesses_per_year[0]),
                "planned_high": float(programme.plan_witnesses_per_year[-1]),
                "threshold": float(threshold if threshold is not None else DEFAULT_THRESHOLD),
                "unit": "witnesses a year",
                "source": "witness_programme.plan_witnesses_per_year",
                "annual_budget": programme.plan_annual_budget,
            }
        )
    return figures


def plan_versus_actual(
    figure: Mapping[str, Any],
    period: str,
    years: int,
    row: Mapping[str, Any] | None,
    currency: str,
) -> dict[str, Any]:
    """One planned figure against one period's actual, with a plain-words sentence.

    Parameters
    ----------
    figure
        A planned figure (``technique``, ``measure``, ``planned_low``, ``planned_high``,
        ``threshold``, ``unit``, optional ``annual_budget``).
    period, years
        The period's label and its length in data years.
    row
        The period's result row for the figure's measure, or ``None``.
    currency
        Currency of a budget.

    Returns
    -------
    dict
        ``period``, ``actual``, ``ratio_to_plan`` (actual over the nearest planned
        figure), ``departure`` (share beyond the planned range, 0 inside it),
        ``direction`` (``above``, ``below``, ``within``, ``withheld`` or ``absent``),
        ``flagged`` and ``sentence`` (:func:`techeval.report.trend.plan_sentence`).

    Notes
    -----
    Above the plan, ``departure = actual / high - 1``; below it,
    ``1 - actual / low``; flagged when ``departure > threshold``.
    """
    low, high = figure["planned_low"], figure["planned_high"]
    out: dict[str, Any] = {
        "period": period,
        "actual": None,
        "ratio_to_plan": None,
        "departure": None,
        "direction": "absent",
        "flagged": False,
    }
    if row is not None and (
        row.get("suppressed") or not isinstance(row.get("estimate"), int | float)
    ):
        out["direction"] = "withheld"
    elif row is not None:
        actual = float(row["estimate"])
        if actual > high:
            direction, ratio, departure = "above", actual / high, actual / high - 1
        elif actual < low:
            direction = "below"
            ratio = actual / low if low > 0 else math.nan
            departure = 1 - actual / low if low > 0 else math.nan
        else:
            direction, ratio, departure = "within", actual / high if high > 0 else math.nan, 0.0
        out.update(
            actual=actual,
            ratio_to_plan=ratio,
            departure=departure,
            direction=direction,
            flagged=bool(math.isfinite(departure) and departure > figure["threshold"]),
        )
    out["sentence"] = plan_sentence(figure, out, years=years, row=row, currency=currency)
    return out


# ---- trends --------------------------------------------------------------------------------


def _trend_row(
    key: tuple,
    periods: list[dict[str, Any]],
    *,
    ci_level: float,
    hartung_knapp: bool,
) -> dict[str, Any]:
    row: dict[str, Any] = dict(zip(ROW_KEY, key, strict=True))
    log_scale = row["scale"] in LOG_SCALES
    used = [p for p in periods if p["status"] == "pooled"]
    for p in periods:
        p["status"] = "used" if p["status"] == "pooled" else p["status"]
        p.pop("weight", None)
    k = len(used)
    centre = sum(p["position"] for p in periods) / len(periods)
    numbers = dict.fromkeys(
        (
            "slope_per_year",
            "slope_std_error",
            "slope_ci_low",
            "slope_ci_high",
            "slope_p_value",
            "intercept",
            "tau2",
            "q",
            "q_df",
            "q_p_value",
        )
    )
    warnings: list[str] = []
    test = None
    withheld = sum(p["status"] == "suppressed" for p in periods)
    if withheld:
        warnings.append(
            f"{withheld} period(s) withheld this estimate under disclosure control; "
            "left out of the test"
        )
    effects = [math.log(p["estimate"]) if log_scale else p["estimate"] for p in used]
    variances = [
        (p["std_error"] / p["estimate"]) ** 2 if log_scale else p["std_error"] ** 2 for p in used
    ]
    positions = [p["position"] - centre for p in used]
    distinct = len(set(positions))
    if k >= 2:
        heterogeneity = random_effects(effects, variances, ci_level=ci_level)
        numbers.update(
            q=heterogeneity.q, q_df=heterogeneity.q_df, q_p_value=heterogeneity.q_p_value
        )
    if k >= 3 and distinct >= 3:
        fit = meta_regression(
            effects,
            variances,
            positions,
            names=["year"],
            hartung_knapp=hartung_knapp,
            ci_level=ci_level,
        )
        test = "meta_regression"
        numbers.update(
            slope_per_year=fit.coefficients[1],
            slope_std_error=fit.std_errors[1],
            slope_ci_low=fit.ci_low[1],
            slope_ci_high=fit.ci_high[1],
            slope_p_value=fit.p_values[1],
            intercept=fit.coefficients[0],
            tau2=fit.tau2,
        )
    elif k >= 2 and distinct >= 2:
        # two periods: the change between them, with no between-period variance to
        # estimate (a fixed-effect contrast)
        first, last = (
            min(range(k), key=lambda i: positions[i]),
            max(range(k), key=lambda i: positions[i]),
        )
        span = positions[last] - positions[first]
        slope = (effects[last] - effects[first]) / span
        se = math.sqrt(variances[last] + variances[first]) / span
        z = float(stats.norm.ppf(0.5 + ci_level / 2))
        weights = [1 / v for v in variances]
        mean = sum(w * e for w, e in zip(weights, effects, strict=True)) / sum(weights)
        test = "two_periods"
        numbers.update(
            slope_per_year=slope,
            slope_std_error=se,
            slope_ci_low=slope - z * se,
            slope_ci_high=slope + z * se,
            slope_p_value=float(2 * stats.norm.sf(abs(slope / se))),
            intercept=mean
            - slope * sum(w * x for w, x in zip(weights, positions, strict=True)) / sum(weights),
            tau2=0.0,
        )
        warnings.append(
            "only two periods: the change between them is tested, without allowing for "
            "variation between periods beyond chance"
        )
    else:
        warnings.append("fewer than two periods with an estimate: no test of change")
    row.update(
        numbers,
        ci_level=ci_level,
        k=k,
        test=test,
        trend_on="log" if log_scale else "identity",
        ci_method="hartung_knapp" if hartung_knapp else "z",
        centre=centre,
        periods=periods,
        warnings=warnings,
    )
    return row


def trend_results(
    files: Sequence[ResultFile],
    periods: Sequence[tuple[str, int, int]],
    *,
    plan: Sequence[Mapping[str, Any]] = (),
    plan_protocol: Mapping[str, Any] | None = None,
    hartung_knapp: bool = False,
) -> dict[str, Any]:
    """Follow every effect across periods, test for change and compare plan with actual.

    Parameters
    ----------
    files
        Result files, one per period.
    periods
        ``(label, first_year, last_year)`` per file, in the same order.
    plan
        Planned figures (as :func:`_planned_figures` returns them).
    plan_protocol
        Name, version and SHA-256 of the protocol the plan came from (recorded).
    hartung_knapp
        Knapp–Hartung test of the slope (``t`` on ``k - 2`` df).

    Returns
    -------
    dict
        The trend document (``trend.json``, schema ``techeval.trend/1``): ``inputs`` in
        period order, ``settings``, ``trends`` (one row per technique × measure × case
        type with every period's estimate and the test of change), ``plan`` (per
        planned figure, every period against the plan) and ``warnings``.

    Notes
    -----
    A period sits at its mid-year (``(first + last) / 2``); the slope is per year,
    centred on the mean position. With three or more periods:
    :func:`~techeval.pooling.meta.meta_regression` (REML ``tau^2``); with two: the
    difference between them over the years between their mid-points, ``z`` test.
    Ratios are followed on the log scale (the slope is the change in the log ratio per
    year). Cochran's Q across periods tests whether the periods share one value.
    """
    if len(periods) != len(files):
        raise ArgumentError(f"{len(periods)} periods for {len(files)} result files")
    warnings = check_compatible(files, what="compare", minimum=1)
    order = sorted(
        range(len(files)), key=lambda i: ((periods[i][1] + periods[i][2]) / 2, periods[i][0])
    )
    ordered = [files[i] for i in order]
    ordered_periods = [periods[i] for i in order]
    first = ordered[0].document
    settings = first["settings"]
    ci_level = float(settings["ci_level"])
    min_cell = max(int(f.document["settings"]["min_cell"]) for f in ordered)
    currency = settings["currency"]
    mappings: list[dict[tuple, Mapping[str, Any]]] = []
    keys: dict[tuple, None] = {}
    for f in ordered:
        mapping: dict[tuple, Mapping[str, Any]] = {}
        for row in f.document["results"]:
            if is_poolable(row):
                mapping.setdefault(row_key(row), row)
                keys.setdefault(row_key(row), None)
        mappings.append(mapping)
    trends = []
    for key in keys:
        entries = []
        for (label, start, end), mapping in zip(ordered_periods, mappings, strict=True):
            entry = _region_entry(label, mapping.get(key), min_cell)
            entry["period"] = entry.pop("label")
            entry.update(first_year=start, last_year=end, position=(start + end) / 2)
            entries.append(entry)
        trends.append(_trend_row(key, entries, ci_level=ci_level, hartung_knapp=hartung_knapp))
    plan_rows = []
    for figure in plan:
        compared = []
        for (label, start, end), f in zip(ordered_periods, ordered, strict=True):
            row = next(
                (
                    r
                    for r in f.document["results"]
                    if r.get("technique") == figure["technique"]
                    and r.get("measure") == figure["measure"]
                    and r.get("subgroup") == figure["subgroup"]
                    and figure.get("scale") in (None, r.get("scale"))
                ),
                None,
            )
            if row is not None and not row.get("suppressed") and rests_on_too_few(row, min_cell):
                row = {**row, "suppressed": True}
            compared.append(plan_versus_actual(figure, label, end - start + 1, row, currency))
        plan_rows.append({**figure, "periods": compared})
    protocol = first["protocol"]
    document = {
        "schema": TREND_SCHEMA,
        "techeval_version": __version__,
        "protocol": {
            "name": protocol.get("name"),
            "version": protocol.get("version"),
            "sha256": sorted({str(f.document["protocol"].get("sha256")) for f in ordered}),
        },
        "inputs": [
            {
                "period": label,
                "first_year": start,
                "last_year": end,
                "sha256": f.sha256,
                "data_sha256": f.document["data"].get("sha256"),
                "protocol_sha256": f.document["protocol"].get("sha256"),
            }
            for (label, start, end), f in zip(ordered_periods, ordered, strict=True)
        ],
        "settings": {
            "ci_level": ci_level,
            "ci_method": "hartung_knapp" if hartung_knapp else "z",
            "tau2_method": "reml",
            "min_cell": min_cell,
            "currency": currency,
            "techniques": settings.get("techniques"),
            "outcomes": settings.get("outcomes"),
            "plan_protocol": dict(plan_protocol) if plan_protocol else None,
        },
        "trends": trends,
        "plan": plan_rows,
        "warnings": warnings,
    }
    return canonical_value(document)


def trend_from_files(
    paths: Sequence[str | Path],
    *,
    periods: Sequence[str] | None = None,
    protocol: str | Path | None = None,
    threshold: float | None = None,
    hartung_knapp: bool = False,
) -> dict[str, Any]:
    """Read result files (and a protocol for the plan) and build the trend document.

    Raises
    ------
    ArgumentError
        Unreadable or incompatible files, a period per file missing or unreadable, a
        threshold ``<= 0``, or a protocol that is not the one the results were made with.
    """
    if periods and len(periods) != len(paths):
        raise ArgumentError(
            f"{len(periods)} --period value(s) for {len(paths)} result file(s)",
            where="--period",
            hint="Give one --period per result file, in the same order, or none",
        )
    if threshold is not None and not threshold > 0:
        raise ArgumentError(f"the threshold must be > 0 (got {threshold})", where="--threshold")
    raw = [read_result_file(path) for path in paths]
    labelled = []
    for i, f in enumerate(raw):
        label, start, end = _file_period(f, periods[i] if periods else None)
        labelled.append((ResultFile(label, f.path, f.sha256, f.document), (label, start, end)))
    plan: list[dict[str, Any]] = []
    plan_protocol = None
    if protocol is not None:
        from techeval.protocols.model import load_protocol

        loaded = load_protocol(protocol, check_estimators=False)
        spec = loaded.protocol
        used = labelled[0][0].document["protocol"]
        if (spec.name, spec.version) != (used.get("name"), used.get("version")):
            raise ArgumentError(
                f"the protocol {spec.name} {spec.version} is not the one the results were "
                f"made with ({used.get('name')} {used.get('version')})",
                where="--protocol",
                hint="Give the protocol the periods were assessed with",
            )
        plan = _planned_figures(spec, threshold)
        plan_protocol = {"name": spec.name, "version": spec.version, "sha256": loaded.sha256}
        if not plan:
            raise ArgumentError(
                f"the protocol {spec.name} {spec.version} states no planned figures",
                where="--protocol",
                hint="Add a 'plan' section (or witness_programme planning figures)",
            )
    return trend_results(
        [f for f, _ in labelled],
        [p for _, p in labelled],
        plan=plan,
        plan_protocol=plan_protocol,
        hartung_knapp=hartung_knapp,
    )


# ---- outputs -------------------------------------------------------------------------------

TREND_CSV_COLUMNS = (
    *ROW_KEY,
    "period",
    "status",
    "estimate",
    "std_error",
    "ci_low",
    "ci_high",
    "ci_level",
    "first_year",
    "last_year",
    "k",
    "test",
    "slope_per_year",
    "slope_std_error",
    "slope_ci_low",
    "slope_ci_high",
    "slope_p_value",
    "tau2",
    "q",
    "q_df",
    "q_p_value",
    "trend_on",
    "ci_method",
    "warnings",
)


def trend_table(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``trend.csv`` as rows: per quantity, the test of change then one row per period."""
    rows = []
    for trend in document["trends"]:
        key = {c: trend.get(c) for c in ROW_KEY}
        summary = {c: v for c, v in trend.items() if c not in key and c != "periods"}
        rows.append({**key, "period": "(trend)", "status": trend["test"] or "no test", **summary})
        rows[-1]["warnings"] = "; ".join(trend["warnings"])
        for period in trend["periods"]:
            rows.append({**key, **period, "ci_level": trend["ci_level"]})
    return rows
