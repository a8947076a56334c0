"""Synthesis: what a run concludes beyond the estimators' own rows.

:func:`synthesise` is the one call the protocol runner makes after estimation: today
the witness-protection programme model (:mod:`techeval.synthesis.programme`), fed by
the estimators' rows. The evidence grades (:mod:`techeval.synthesis.grades`) read the
published rows after disclosure control.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from techeval.results import EffectResult
from techeval.synthesis import programme as _programme

__all__ = ["Synthesis", "synthesise"]


@dataclass(frozen=True)
class Synthesis:
    """The rows, report frames and warnings synthesis adds to a run.

    Attributes
    ----------
    rows
        Result rows, each naming what made it in ``estimator`` (not a registered
        estimator).
    frames
        Report tables as ``(frame name, technique, maker, table)``: withheld with any
        suppressed row of the same technique and maker.
    warnings
        Why a part of the synthesis did not run.
    descriptions
        For each maker in ``rows``, its method text (``result.json``'s ``estimators``
        section).
    """

    rows: tuple[EffectResult, ...] = ()
    frames: tuple[tuple[str, str, str, pd.DataFrame], ...] = ()
    warnings: tuple[str, ...] = ()
    descriptions: Mapping[str, str] = field(default_factory=dict)


def synthesise(
    rows: Sequence[EffectResult],
    cases: pd.DataFrame,
    *,
    techniques: Sequence[str],
    programme: _programme.ProgrammePlan | None,
    values: Mapping[str, float],
    currency: str,
    ci_level: float,
) -> Synthesis:
    """Everything a run synthesises from its estimators' rows and the case records.

    Parameters
    ----------
    rows
        The estimators' result rows (before disclosure control).
    cases
        The validated case records.
    techniques
        The techniques the protocol evaluates.
    programme
        The protocol's witness-programme planning figures, or ``None``: the programme
        model runs when they are given and the protocol evaluates witness protection.
    values
        Expected monetary values.
    currency
        The protocol's currency.
    ci_level
        The run's confidence level.

    Returns
    -------
    Synthesis
    """
    if programme is None or "witness_protection" not in techniques:
        return Synthesis()
    # offences per protected witness-year, from the harm estimator that measures them
    offence_rate = next(
        (
            r.estimate
            for r in rows
            if r.measure == "witness_offence_rate" and r.technique == "witness_protection"
        ),
        math.nan,
    )
    model = _programme.programme_rows(
        programme,
        cases,
        offence_rate=offence_rate,
        values=values,
        currency=currency,
        ci_level=ci_level,
    )
    frames = ()
    if model.projection is not None:
        frames = (
            ("programme_projection", "witness_protection", _programme.MAKER, model.projection),
        )
    return Synthesis(
        rows=model.rows,
        frames=frames,
        warnings=model.warnings,
        descriptions={_programme.MAKER: _programme.DESCRIPTION} if model.rows else {},
    )
