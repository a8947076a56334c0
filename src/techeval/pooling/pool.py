"""Pooling result files across regions: ``techeval pool RESULT.json ... --out DIR``.

Case records cannot leave an agency; result files can (A/CONF.213/15, paras 33 and 60:
regional assessments synthesised so that regions learn from one another). Each agency
runs the same standard protocol on its own cases and shares ``result.json``; this
module combines the same technique × measure × case type across those files by
random-effects meta-analysis (:mod:`techeval.pooling.meta`) and says how much the
effect varies between regions. It reads only result files, never case records.

Rules
-----
* Files must come from the same protocol name and version, with the same confidence
  level, comparator, covariates and currency; anything else is refused with a message
  naming the files. The same case data (same data hash) may not be pooled twice.
* Only effect rows (``estimand`` set) with an estimate and a standard error on a
  poolable scale are pooled: differences (:data:`ADDITIVE_SCALES`) as they are, ratios
  (:data:`LOG_SCALES`) on the log scale with ``se(log r) = std_error / r`` (the
  delta-method standard error the runner reports) and back-transformed.
* Disclosure control carries through: a suppressed row is never pooled and is shown as
  suppressed; a region's row resting on fewer cases than the strictest ``min_cell`` of
  all files (:func:`techeval.results.disclosure.rests_on_too_few` on the counts a
  result file publishes, ``n_treated`` and ``n_control``) is suppressed here too. Every pooled number is a function of published
  numbers only, so it cannot reveal a withheld one.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from techeval._version import __version__
from techeval.errors import ArgumentError
from techeval.pooling.meta import TAU2_METHODS, random_effects
from techeval.results import ROW_KEY, canonical_value, row_key
from techeval.results.disclosure import rests_on_too_few

__all__ = [
    "ADDITIVE_SCALES",
    "LOG_SCALES",
    "MIN_STUDIES",
    "POOLED_SCHEMA",
    "ResultFile",
    "check_compatible",
    "pool_results",
    "read_result_file",
]

POOLED_SCHEMA = "techeval.pooled/1"
RESULT_SCHEMA = "techeval.result/1"

#: Scales pooled as they are (differences between arms).
ADDITIVE_SCALES = frozenset({"risk_difference", "mean_difference", "currency_per_case"})
#: Ratio scales, pooled on the log scale and back-transformed.
LOG_SCALES = frozenset({"risk_ratio", "odds_ratio", "rate_ratio"})

#: Fewer studies than this gives a warning: tau^2, I^2 and the prediction interval are
#: then very imprecise (assumption: a common rule of thumb, e.g. Jackson & Turner 2017,
#: Research Synthesis Methods 8, 290–302, find random-effects analyses with fewer than
#: five studies unreliable).
MIN_STUDIES = 5

#: Settings that must agree across files for their estimates to mean the same thing.
_MUST_AGREE = ("ci_level", "comparator", "covariates", "currency")


# ---- reading ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResultFile:
    """One result file to pool.

    Attributes
    ----------
    label
        The region or agency it stands for (``--label`` or its folder's name).
    path
        Where it was read from.
    sha256
        SHA-256 of the file's bytes (recorded in the pooled result).
    document
        The parsed ``result.json``.
    """

    label: str
    path: Path
    sha256: str
    document: dict[str, Any]


def default_label(path: str | Path) -> str:
    """The label of a result file: its folder's name (``reports/north/result.json`` → ``north``)."""
    path = Path(path)
    return path.resolve().parent.name or path.stem


def read_result_file(path: str | Path, label: str | None = None) -> ResultFile:
    """Read and check one ``result.json``.

    Parameters
    ----------
    path
        The result file (or the folder holding ``result.json``).
    label
        Region label; default the folder's name.

    Returns
    -------
    ResultFile

    Raises
    ------
    ArgumentError
        If the file is missing, not JSON, not a techeval result file, or its settings do
        not record ``min_cell``, ``ci_level`` and ``currency``.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "result.json"
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ArgumentError(
            f"cannot read the result file ({exc.strerror or exc})",
            where=str(path),
            hint="Give the result.json written by `techeval run`",
        ) from None
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArgumentError(
            f"not a JSON file ({exc})", where=str(path), hint="Give a result.json"
        ) from None
    if not isinstance(document, dict) or document.get("schema") != RESULT_SCHEMA:
        found = document.get("schema") if isinstance(document, dict) else None
        raise ArgumentError(
            f"not a techeval result file (schema {found!r}, expected {RESULT_SCHEMA!r})",
            where=str(path),
            hint="Pool the result.json files that `techeval run` writes",
        )
    for key in ("protocol", "settings", "results", "data"):
        if not isinstance(document.get(key), dict | list):
            raise ArgumentError(f"the result file has no {key!r} section", where=str(path))
    _check_settings(document["settings"], path)
    chosen = default_label(path) if label is None else label.strip()
    if not chosen:
        raise ArgumentError("a region label may not be empty", where=str(path))
    return ResultFile(
        label=chosen, path=path, sha256=hashlib.sha256(raw).hexdigest(), document=document
    )


def _check_settings(settings: Any, path: Path) -> None:
    """Refuse a result file whose settings lack what pooling reads (the runner writes all)."""
    if not isinstance(settings, dict):
        raise ArgumentError("the result file's 'settings' is not a mapping", where=str(path))
    min_cell, ci_level, currency = (settings.get(k) for k in ("min_cell", "ci_level", "currency"))
    problems = []
    if not (isinstance(min_cell, int) and not isinstance(min_cell, bool) and min_cell >= 1):
        problems.append(f"min_cell {min_cell!r} (a whole number of cases, at least 1)")
    if not (
        isinstance(ci_level, int | float) and not isinstance(ci_level, bool) and 0 < ci_level < 1
    ):
        problems.append(f"ci_level {ci_level!r} (a level between 0 and 1)")
    if not (isinstance(currency, str) and currency):
        problems.append(f"currency {currency!r} (a currency code)")
    if problems:
        raise ArgumentError(
            "the result file's settings do not record " + "; ".join(problems),
            where=str(path),
            hint="Pool the result.json files that `techeval run` writes: they always record "
            "min_cell, ci_level and currency",
        )


def read_result_files(
    paths: Sequence[str | Path], labels: Sequence[str] | None = None
) -> list[ResultFile]:
    """Read several result files, labelled by ``labels`` (in order) or their folders."""
    if labels and len(labels) != len(paths):
        raise ArgumentError(
            f"{len(labels)} --label value(s) for {len(paths)} result file(s)",
            where="--label",
            hint="Give one --label per result file, in the same order, or none",
        )
    return [read_result_file(path, labels[i] if labels else None) for i, path in enumerate(paths)]


def _files_text(files: Sequence[ResultFile]) -> str:
    return ", ".join(f"{f.path} ({f.label})" for f in files)


def check_compatible(
    files: Sequence[ResultFile], *, what: str = "pool", minimum: int = 2
) -> list[str]:
    """Refuse result files that cannot be combined; return warnings for the rest.

    Raises
    ------
    ArgumentError
        Fewer than ``minimum`` files, settings without ``min_cell``, ``ci_level`` or
        ``currency``, repeated labels, the same case data twice, different protocols or
        protocol versions, or different confidence levels, comparators, covariates or
        currencies — naming the files concerned.
    """
    if len(files) < minimum:
        raise ArgumentError(
            f"{what} needs at least {'two' if minimum == 2 else minimum} result files "
            f"(got {len(files)})",
            hint="Give the result.json of every region or period",
        )
    for f in files:
        _check_settings(f.document["settings"], f.path)
    by_label: dict[str, list[ResultFile]] = {}
    for f in files:
        by_label.setdefault(f.label, []).append(f)
    repeated = {label: fs for label, fs in by_label.items() if len(fs) > 1}
    if repeated:
        label, fs = next(iter(repeated.items()))
        raise ArgumentError(
            f"two result files have the same label {label!r}: {_files_text(fs)}",
            hint="Put each region's result in its own folder or give --label for each file",
        )
    by_data: dict[str, list[ResultFile]] = {}
    for f in files:
        by_data.setdefault(str(f.document["data"].get("sha256")), []).append(f)
    for fs in by_data.values():
        if len(fs) > 1:
            raise ArgumentError(
                f"these result files come from the same case data: {_files_text(fs)}",
                hint="Pooling the same cases twice would count them twice; give each once",
            )
    versions: dict[tuple, list[ResultFile]] = {}
    for f in files:
        protocol = f.document["protocol"]
        versions.setdefault((protocol.get("name"), protocol.get("version")), []).append(f)
    if len(versions) > 1:
        listed = "; ".join(
            f"{name} {version}: {_files_text(fs)}" for (name, version), fs in versions.items()
        )
        raise ArgumentError(
            f"cannot {what} results made with different protocols or protocol versions ({listed})",
            hint="Run the same standard protocol (name and version) in every region",
        )
    for setting in _MUST_AGREE:
        values: dict[str, list[ResultFile]] = {}
        for f in files:
            values.setdefault(json.dumps(f.document["settings"].get(setting)), []).append(f)
        if len(values) > 1:
            listed = "; ".join(f"{value}: {_files_text(fs)}" for value, fs in values.items())
            raise ArgumentError(
                f"cannot {what} results with different {setting} ({listed})",
                hint="Their estimates do not measure the same thing; rerun with one protocol",
            )
    warnings = []
    hashes = {f.document["protocol"].get("sha256") for f in files}
    if len(hashes) > 1:
        warnings.append(
            "the protocol files differ in their bytes although name and version agree "
            "(a local column mapping or comment?); check that the analysis settings are "
            "the same"
        )
    min_cells = {f.document["settings"]["min_cell"] for f in files}
    if len(min_cells) > 1:
        warnings.append(
            "the files used different disclosure thresholds; the strictest, "
            f"{max(min_cells)}, is applied to every region's rows here"
        )
    return warnings


# ---- pooling ------------------------------------------------------------------------------


def is_poolable(row: Mapping[str, Any]) -> bool:
    """Whether a result row is an effect on a scale that can be pooled."""
    return row.get("estimand") is not None and (
        row.get("scale") in ADDITIVE_SCALES or row.get("scale") in LOG_SCALES
    )


def _region_entry(label: str, row: Mapping[str, Any] | None, min_cell: int) -> dict[str, Any]:
    """One region's contribution: its published numbers, or why it has none."""
    entry: dict[str, Any] = {
        "label": label,
        "status": "absent",
        "estimate": None,
        "std_error": None,
        "ci_low": None,
        "ci_high": None,
        "n_treated": None,
        "n_control": None,
        "weight": None,
    }
    if row is None:
        return entry
    # a withheld row, or one resting on fewer cases than the strictest threshold among
    # the files pooled (the runner's own rule)
    if row.get("suppressed") or rests_on_too_few(row, min_cell):
        entry["status"] = "suppressed"
        return entry
    estimate, std_error = row.get("estimate"), row.get("std_error")
    usable = (
        isinstance(estimate, int | float)
        and isinstance(std_error, int | float)
        and math.isfinite(estimate)
        and math.isfinite(std_error)
        and std_error > 0
        and (row.get("scale") not in LOG_SCALES or estimate > 0)
    )
    entry.update(
        status="pooled" if usable else "not_estimated",
        estimate=estimate,
        std_error=std_error,
        ci_low=row.get("ci_low"),
        ci_high=row.get("ci_high"),
        n_treated=row.get("n_treated"),
        n_control=row.get("n_control"),
    )
    return entry


def _pooled_row(
    key: tuple,
    regions: list[dict[str, Any]],
    *,
    ci_level: float,
    tau2_method: str,
    hartung_knapp: bool,
    min_studies: int,
) -> dict[str, Any]:
    row: dict[str, Any] = dict(zip(ROW_KEY, key, strict=True))
    scale = row["scale"]
    log_scale = scale in LOG_SCALES
    used = [r for r in regions if r["status"] == "pooled"]
    k = len(used)
    suppressed = sum(r["status"] == "suppressed" for r in regions)
    not_estimated = sum(r["status"] == "not_estimated" for r in regions)
    numbers = dict.fromkeys(
        (
            "estimate",
            "std_error",
            "ci_low",
            "ci_high",
            "p_value",
            "tau2",
            "tau2_std_error",
            "tau",
            "i_squared",
            "h_squared",
            "q",
            "q_df",
            "q_p_value",
            "prediction_low",
            "prediction_high",
        )
    )
    warnings: list[str] = []
    if suppressed:
        warnings.append(
            f"{suppressed} region(s) withheld this estimate under disclosure control; "
            "it is not pooled and stays withheld"
        )
    if not_estimated:
        warnings.append(f"{not_estimated} region(s) could not estimate it; not pooled")
    if k == 0:
        warnings.append("no region has a published estimate: nothing to pool")
    elif k == 1:
        warnings.append("only one region has a published estimate: nothing to pool")
    else:
        effects = [math.log(r["estimate"]) if log_scale else r["estimate"] for r in used]
        variances = [
            (r["std_error"] / r["estimate"]) ** 2 if log_scale else r["std_error"] ** 2
            for r in used
        ]
        meta = random_effects(
            effects,
            variances,
            tau2_method=tau2_method,  # type: ignore[arg-type]
            hartung_knapp=hartung_knapp,
            ci_level=ci_level,
        )
        back = math.exp if log_scale else (lambda value: value)
        numbers.update(
            estimate=back(meta.estimate),
            std_error=back(meta.estimate) * meta.std_error if log_scale else meta.std_error,
            ci_low=back(meta.ci_low),
            ci_high=back(meta.ci_high),
            p_value=meta.p_value,
            tau2=meta.tau2,
            tau2_std_error=meta.tau2_std_error,
            tau=meta.tau,
            i_squared=meta.i_squared,
            h_squared=meta.h_squared,
            q=meta.q,
            q_df=meta.q_df,
            q_p_value=meta.q_p_value,
            prediction_low=back(meta.prediction_low),
            prediction_high=back(meta.prediction_high),
        )
        for region, weight in zip(used, meta.weights, strict=True):
            region["weight"] = weight
        if not meta.converged:
            warnings.append("the tau² estimator did not converge; treat tau² with caution")
        if k < min_studies:
            warnings.append(
                f"only {k} regions: the between-region variance, I² and the prediction "
                "interval are very imprecise"
                + (
                    ""
                    if hartung_knapp
                    else "; the Hartung–Knapp interval is safer (--hartung-knapp)"
                )
            )
        if k < 3:
            warnings.append("a prediction interval needs at least 3 regions")
    row.update(
        numbers,
        ci_level=ci_level,
        k=k,
        k_suppressed=suppressed,
        k_not_estimated=not_estimated,
        k_absent=sum(r["status"] == "absent" for r in regions),
        pooled_on="log" if log_scale else "identity",
        tau2_method=tau2_method,
        ci_method="hartung_knapp" if hartung_knapp else "z",
        n_treated=sum(r["n_treated"] for r in used) if used else None,
        n_control=sum(r["n_control"] for r in used) if used else None,
        regions=regions,
        warnings=warnings,
    )
    return row


def pool_results(
    files: Sequence[ResultFile],
    *,
    tau2_method: str = "reml",
    hartung_knapp: bool = False,
    min_studies: int = MIN_STUDIES,
) -> dict[str, Any]:
    """Pool the same quantities across result files by random-effects meta-analysis.

    Parameters
    ----------
    files
        The result files (:func:`read_result_file`), one per region or agency.
    tau2_method
        Between-region variance estimator: ``"reml"`` (default), ``"dl"`` or ``"pm"``.
    hartung_knapp
        Use Hartung–Knapp intervals (``t`` on ``k - 1`` df, scale from the data).
    min_studies
        Warn when fewer regions than this contribute to a pooled estimate.

    Returns
    -------
    dict
        The pooled document (``pooled.json``, schema ``techeval.pooled/1``; see
        ``docs/pooling.md``): ``schema``, ``techeval_version``, ``protocol``,
        ``inputs`` (label and hashes per file), ``settings``, ``pooled`` (one row per
        technique × measure × case type, with every region's contribution) and
        ``warnings``. Inputs are ordered by label, so the order of ``files`` does not
        change the document.

    Raises
    ------
    ArgumentError
        For files that cannot be combined (see :func:`check_compatible`) or an unknown
        ``tau2_method``.

    Notes
    -----
    Per quantity, each region's estimate and standard error enter
    :func:`~techeval.pooling.meta.random_effects` (ratios as logs with
    ``se(log r) = std_error / r``). A region's row is left out, and listed with its
    status, when it is suppressed, rests on fewer cases than the strictest
    ``min_cell``, has no standard error, or is absent from its file.
    """
    if tau2_method not in TAU2_METHODS:
        raise ArgumentError(
            f"unknown tau² estimator {tau2_method!r}",
            where="--tau2",
            hint="Use one of: " + ", ".join(TAU2_METHODS),
        )
    warnings = check_compatible(files)
    ordered = sorted(files, key=lambda f: f.label)
    first = ordered[0].document
    settings = first["settings"]
    ci_level = float(settings["ci_level"])
    min_cell = max(int(f.document["settings"]["min_cell"]) for f in ordered)
    rows_by_file: list[dict[tuple, Mapping[str, Any]]] = []
    keys: dict[tuple, None] = {}
    for f in ordered:
        mapping: dict[tuple, Mapping[str, Any]] = {}
        for row in f.document["results"]:
            if is_poolable(row):
                key = row_key(row)
                mapping.setdefault(key, row)
                keys.setdefault(key, None)
        rows_by_file.append(mapping)
    pooled = []
    for key in keys:
        regions = [
            _region_entry(f.label, mapping.get(key), min_cell)
            for f, mapping in zip(ordered, rows_by_file, strict=True)
        ]
        pooled.append(
            _pooled_row(
                key,
                regions,
                ci_level=ci_level,
                tau2_method=tau2_method,
                hartung_knapp=hartung_knapp,
                min_studies=min_studies,
            )
        )
    if len(ordered) < min_studies:
        warnings.append(
            f"{len(ordered)} result files: with fewer than {min_studies} regions the "
            "between-region variation is estimated very imprecisely"
        )
    protocol = first["protocol"]
    document = {
        "schema": POOLED_SCHEMA,
        "techeval_version": __version__,
        "protocol": {
            "name": protocol.get("name"),
            "version": protocol.get("version"),
            "sha256": sorted({str(f.document["protocol"].get("sha256")) for f in ordered}),
        },
        "inputs": [
            {
                "label": f.label,
                "sha256": f.sha256,
                "data_sha256": f.document["data"].get("sha256"),
                "protocol_sha256": f.document["protocol"].get("sha256"),
                "techeval_version": f.document.get("techeval_version"),
            }
            for f in ordered
        ],
        "settings": {
            "tau2_method": tau2_method,
            "ci_method": "hartung_knapp" if hartung_knapp else "z",
            "ci_level": ci_level,
            "prediction_interval": "t_{k-2} (Higgins, Thompson & Spiegelhalter 2009)",
            "min_cell": min_cell,
            "min_studies": min_studies,
            "currency": settings["currency"],
            "comparator": settings.get("comparator"),
            "covariates": settings.get("covariates"),
            "techniques": settings.get("techniques"),
            "outcomes": settings.get("outcomes"),
        },
        "pooled": pooled,
        "warnings": warnings,
    }
    # the document as pooled.json holds it (12 significant digits, null for nan), so
    # figures and reports drawn from it show exactly what the file says
    return canonical_value(document)


def pool_files(
    paths: Sequence[str | Path],
    *,
    labels: Sequence[str] | None = None,
    tau2_method: str = "reml",
    hartung_knapp: bool = False,
) -> dict[str, Any]:
    """Read result files and pool them (:func:`read_result_files`, :func:`pool_results`)."""
    return pool_results(
        read_result_files(paths, labels), tau2_method=tau2_method, hartung_knapp=hartung_knapp
    )
