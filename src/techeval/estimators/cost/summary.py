"""``cost.summary``: costs of the cases with the technique and of the comparator, unadjusted."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Self

import numpy as np
import pandas as pd

from techeval.cases import comparison_frame
from techeval.errors import EstimatorError
from techeval.estimators._columns import require_columns, treatment_column
from techeval.estimators._rows import Constraint, check_parameters, result_row
from techeval.estimators.base import Estimator, Tags
from techeval.estimators.registry import register
from techeval.inference import Interval, wald_from_influence
from techeval.results import EffectResult

__all__ = ["CostSummary"]


@register("cost.summary")
class CostSummary(Estimator):
    """Mean, median and per-suspect and per-officer-day cost in each arm (unadjusted).

    Parameters
    ----------
    comparator : {"without_technique", "traditional_only"}
        Cases compared with those that used the technique: all other cases, or only
        cases that used no special technique.
    ci_level : float
        Confidence level of the Wald intervals of means and ratios.

    Notes
    -----
    Rows per arm (``subgroup`` is ``"<technique>=True"`` or the comparator,
    ``"<technique>=False"`` / ``"traditional_only=True"``):

    * ``cost_mean`` (scale ``mean``), with Wald interval (influence ``c_i - mean``);
    * ``cost_median`` (scale ``median``), IQR in ``diagnostics`` (no interval);
    * ``cost_per_suspect`` and ``cost_per_officer_day`` (ratio of means
      ``sum c / sum s``, delta-method influence ``(c_i - R s_i) / mean(s)``) when the
      columns exist;
    * ``technique_cost_share`` (treated arm only): ``sum cost_<T> / sum cost_total``
      over treated cases with ``cost_<T>`` recorded, when that column exists;

    plus one unadjusted ``cost_mean`` row on scale ``mean_difference`` (treated minus
    comparator), labelled as unadjusted: techniques go to bigger cases, so use
    ``cost.incremental`` for the effect of the technique on cost.

    Missing data: each statistic uses the cases where its columns are recorded.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"t": [True, True, False, False], "cost_total": [4.0, 6.0, 1.0, 3.0]})
    >>> rows = CostSummary().fit(frame, treatment="t").results_
    >>> [(r.subgroup, r.measure, r.estimate) for r in rows if r.measure == "cost_mean"]
    [('t=True', 'cost_mean', 5.0), ('t=False', 'cost_mean', 2.0), (None, 'cost_mean', 3.0)]
    """

    tags = Tags(roles="treatment_only", adjusted=False)

    _parameter_constraints: ClassVar[dict[str, Constraint]] = {
        "comparator": (
            lambda v: v in ("without_technique", "traditional_only"),
            "without_technique or traditional_only",
        ),
    }

    family: ClassVar[str] = "cost"

    def __init__(self, *, comparator: str = "without_technique", ci_level: float = 0.95):
        self.comparator = comparator
        self.ci_level = ci_level

    def fit(
        self,
        frame: pd.DataFrame,
        *,
        treatment: str,
        outcome: str = "cost_total",
        covariates: Sequence[str] = (),
    ) -> Self:
        """Describe ``outcome`` (a cost column) by use of ``treatment``; covariates are ignored."""
        require_columns(frame, [(treatment, "treatment"), (outcome, "outcome")])
        check_parameters(self, self._parameter_constraints)
        if self.comparator == "traditional_only":
            frame = comparison_frame(frame, treatment, "traditional_only")
        used, missing = treatment_column(frame, treatment)
        cost = pd.to_numeric(frame[outcome], errors="coerce").astype("float64")
        arms = {
            f"{treatment}=True": used,
            (
                f"{treatment}=False"
                if self.comparator == "without_technique"
                else "traditional_only=True"
            ): ~used & ~missing,
        }
        n_treated, n_control = (int(rows.sum()) for rows in arms.values())
        if min(n_treated, n_control) == 0:
            raise EstimatorError(
                f"cost summary of {treatment!r} needs cases with and without it "
                f"({n_treated} with, {n_control} without)"
            )
        common = dict(
            technique=treatment,
            outcome=outcome,
            estimand=None,
            method="summary",
            n_treated=n_treated,
            n_control=n_control,
            family="cost",
            ci_level=float(self.ci_level),
        )
        rows: list[EffectResult] = []
        means = {}
        for label, rows_in_arm in arms.items():
            values = cost.to_numpy()[rows_in_arm]
            values = values[np.isfinite(values)]
            mean = float(values.mean())
            means[label] = (mean, values)
            interval = wald_from_influence(mean, values - mean, level=self.ci_level, null=0.0)
            rows.append(
                result_row(
                    interval,
                    measure="cost_mean",
                    scale="mean",
                    subgroup=label,
                    **common,
                    diagnostics={"n_cases": int(values.size)},
                )
            )
            q25, median, q75 = np.quantile(values, [0.25, 0.5, 0.75])
            rows.append(
                result_row(
                    measure="cost_median",
                    scale="median",
                    subgroup=label,
                    estimate=float(median),
                    diagnostics={"q25": float(q25), "q75": float(q75), "iqr": float(q75 - q25)},
                    **common,
                )
            )
            for denominator, measure in (
                ("n_suspects", "cost_per_suspect"),
                ("officer_days", "cost_per_officer_day"),
            ):
                if denominator in frame.columns:
                    ratio = _ratio_of_means(cost, frame[denominator], rows_in_arm, self.ci_level)
                    if ratio is not None:
                        rows.append(
                            result_row(
                                ratio,
                                measure=measure,
                                scale=f"currency_per_{measure.removeprefix('cost_per_')}",
                                subgroup=label,
                                **common,
                            )
                        )
            share_column = f"cost_{treatment}"
            if (
                label.endswith("=True")
                and label.startswith(treatment)
                and share_column in frame.columns
            ):
                part = pd.to_numeric(frame[share_column], errors="coerce").to_numpy(dtype=float)
                ok = rows_in_arm & np.isfinite(part) & np.isfinite(cost.to_numpy())
                if ok.any() and cost.to_numpy()[ok].sum() > 0:
                    share = float(part[ok].sum() / cost.to_numpy()[ok].sum())
                    rows.append(
                        result_row(
                            measure="technique_cost_share",
                            scale="proportion",
                            subgroup=label,
                            estimate=share,
                            diagnostics={"n_cases": int(ok.sum())},
                            **common,
                        )
                    )
        (m1, v1), (m0, v0) = means.values()
        n1, n0 = v1.size, v0.size
        n = n1 + n0
        influence = np.concatenate([(v1 - m1) * n / n1, -(v0 - m0) * n / n0])
        difference = wald_from_influence(m1 - m0, influence, level=self.ci_level)
        rows.append(
            result_row(
                difference,
                measure="cost_mean",
                scale="mean_difference",
                **common,
                warnings=(
                    "unadjusted difference: techniques go to bigger, harder cases; "
                    "see the adjusted incremental cost (cost.incremental)",
                ),
            )
        )
        self.results_ = tuple(rows)
        return self


def _ratio_of_means(
    cost: pd.Series, denominator: pd.Series, rows: np.ndarray, level: float
) -> Interval | None:
    c = cost.to_numpy(dtype=float)
    s = pd.to_numeric(denominator, errors="coerce").astype("float64").to_numpy()
    ok = rows & np.isfinite(c) & np.isfinite(s)
    if not ok.any() or s[ok].sum() <= 0:
        return None
    c, s = c[ok], s[ok]
    ratio = float(c.sum() / s.sum())
    return wald_from_influence(ratio, (c - ratio * s) / s.mean(), level=level)
