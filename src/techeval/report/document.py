"""The result document as the report reads it: rows selected by what they are.

:class:`ResultDocument` wraps a parsed ``result.json`` and answers the report's
questions ("the adjusted effect of undercover operations on conviction", "its
incremental cost") with the row that holds the answer and that row's index, so every
number the report shows can cite its source row and field. The report never looks a
row up by estimator name: it selects by the row's fields (``family``, ``adjusted``,
``measure``, ``scale``, ``outcome``, ``subgroup``, ``technique``; see
``docs/result-schema.md``), so a plug-in estimator's rows appear wherever a built-in's
of the same family, adjustment and measure would, and it is described by the
``description`` the run copied from its docstring.

Where several rows answer a question, the first in document order wins: the runner
orders a technique's rows by family, then by the protocol's list of estimators. The one
exception is the adjusted effect, which prefers the method the technique's evidence
grade rests on, so the effect shown is the effect graded.

The settings a reader needs (``ci_level``, ``min_cell``, ``currency`` and the others
the runner always writes) are read without defaults: a document without them was not
written by ``techeval run`` and is refused with an error saying so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from techeval.errors import ArgumentError

__all__ = ["PRIMARY_SCALE", "Found", "ReportSettings", "ResultDocument"]

#: The scale of the effects the report states (percentage points are risk differences).
PRIMARY_SCALE = "risk_difference"

#: The ``method`` of the witness-protection programme model's rows (docs/result-schema.md).
PROGRAMME_METHOD = "programme_model"

#: Measures of the cost family that the cost table leaves out: the quadrant is said in
#: words beside the ICER, and the incremental effect is the outcome family's number.
_NOT_IN_COST_TABLE = ("icer_quadrant", "incremental_effect")


class Found(NamedTuple):
    """A result row and its index in ``document["results"]`` (the source a number cites)."""

    index: int
    row: Mapping[str, Any]


@dataclass(frozen=True)
class ReportSettings:
    """The run's settings a report needs, as the runner wrote them (no defaults).

    Attributes
    ----------
    techniques, outcomes, covariates
        In protocol order; the first outcome is the primary (graded) one.
    comparator, inference_method
        As in the protocol (``without_technique``, ``influence_function``, ...).
    n_bootstrap
        Bootstrap replicates where a joint distribution is needed (``None`` if unset).
    ci_level
        Confidence level of every interval, e.g. ``0.95``.
    min_cell
        Disclosure threshold: the fewest distinct cases behind a published number.
    currency
        Currency of costs and monetary values, e.g. ``USD``.
    """

    techniques: tuple[str, ...]
    outcomes: tuple[str, ...]
    covariates: tuple[str, ...]
    comparator: str
    inference_method: str
    n_bootstrap: int | None
    ci_level: float
    min_cell: int
    currency: str

    @property
    def primary(self) -> str:
        """The primary outcome: the protocol's first, the one the grades rest on."""
        return self.outcomes[0]

    @property
    def level_text(self) -> str:
        """The confidence level as shown: ``95%``."""
        return f"{100 * self.ci_level:.0f}%"


_REQUIRED_SETTINGS = (
    "techniques",
    "outcomes",
    "covariates",
    "comparator",
    "inference_method",
    "n_bootstrap",
    "ci_level",
    "min_cell",
    "currency",
)


def _refuse(what: str) -> ArgumentError:
    return ArgumentError(
        f"result.json: {what}",
        hint="Give a result file written by `techeval run` with this version of techeval "
        "(run the protocol again to rewrite an older one)",
    )


class ResultDocument:
    """Named questions over a result document; each answer is a :class:`Found` row.

    Parameters
    ----------
    document
        The parsed ``result.json``.

    Raises
    ------
    ArgumentError
        If a part the runner always writes is missing (``results``, ``settings`` and
        its keys, ``estimators``, ``grades``).

    Examples
    --------
    >>> row = {"technique": "undercover", "family": "outcome", "adjusted": True,
    ...        "outcome": "conviction", "scale": "risk_difference", "subgroup": None,
    ...        "method": "aipw", "estimate": 0.083}
    >>> settings = {"techniques": ["undercover"], "outcomes": ["conviction"],
    ...             "covariates": [], "comparator": "without_technique",
    ...             "inference_method": "influence_function", "n_bootstrap": 200,
    ...             "ci_level": 0.95, "min_cell": 10, "currency": "USD"}
    >>> results = ResultDocument(
    ...     {"results": [row], "settings": settings, "estimators": {}, "grades": {}}
    ... )
    >>> found = results.adjusted_effect("undercover", "conviction")
    >>> found.index, found.row["estimate"]
    (0, 0.083)
    >>> results.naive_effect("undercover", "conviction") is None
    True
    >>> results.settings.level_text, results.settings.min_cell
    ('95%', 10)
    """

    def __init__(self, document: Mapping[str, Any]):
        for key in ("results", "settings", "estimators", "grades"):
            if key not in document:
                raise _refuse(f"no {key!r} section")
        raw = document["settings"]
        missing = [key for key in _REQUIRED_SETTINGS if key not in raw]
        if missing:
            raise _refuse("no " + ", ".join(f"settings.{key}" for key in missing))
        if not raw["outcomes"]:
            raise _refuse("settings.outcomes is empty")
        self.document = document
        self.rows: list[Mapping[str, Any]] = list(document["results"])
        self.settings = ReportSettings(
            techniques=tuple(raw["techniques"]),
            outcomes=tuple(raw["outcomes"]),
            covariates=tuple(raw["covariates"]),
            comparator=str(raw["comparator"]),
            inference_method=str(raw["inference_method"]),
            n_bootstrap=raw["n_bootstrap"],
            ci_level=float(raw["ci_level"]),
            min_cell=int(raw["min_cell"]),
            currency=str(raw["currency"]),
        )
        self._estimators: Mapping[str, Mapping[str, Any]] = document["estimators"]
        self.grades: Mapping[str, Any] = document["grades"]

    # ---- any question ------------------------------------------------------------------------

    def where(self, **fields: Any) -> list[Found]:
        """Every row whose ``fields`` equal the given values, in document order."""
        return [
            Found(index, row)
            for index, row in enumerate(self.rows)
            if all(row.get(key) == value for key, value in fields.items())
        ]

    def first(self, **fields: Any) -> Found | None:
        """The first row (document order) whose ``fields`` equal the given values."""
        for index, row in enumerate(self.rows):
            if all(row.get(key) == value for key, value in fields.items()):
                return Found(index, row)
        return None

    # ---- estimators and grades -----------------------------------------------------------------

    def description(self, estimator: str) -> str:
        """What an estimator does, in its own words (its docstring's first paragraph)."""
        entry = self._estimators.get(estimator)
        if entry is None or "description" not in entry:
            raise _refuse(f"the 'estimators' section does not describe {estimator!r}")
        return str(entry["description"])

    def estimators_used(self) -> dict[str, list[str]]:
        """Estimator names in the order their first row appears, with their methods (sorted)."""
        used: dict[str, set[str]] = {}
        for row in self.rows:
            used.setdefault(str(row.get("estimator")), set()).add(str(row.get("method")))
        return {name: sorted(methods) for name, methods in used.items()}

    def grade(self, technique: str) -> Mapping[str, Any]:
        """The technique's evidence grade (``grade``, ``reasons``, ``method``, ...); ``{}`` if none."""
        return self.grades.get(technique) or {}

    def graded_method(self, technique: str) -> str | None:
        """The ``method`` of the row the technique's grade rests on."""
        return self.grade(technique).get("method")

    # ---- outcomes ------------------------------------------------------------------------------

    def adjusted_effect(self, technique: str, outcome: str) -> Found | None:
        """The adjusted risk difference on ``outcome`` over all cases.

        Of the rows with ``family == "outcome"`` and ``adjusted`` true, the one whose
        method the technique's grade rests on, else the first in document order.
        """
        found = self.where(
            technique=technique,
            family="outcome",
            adjusted=True,
            outcome=outcome,
            scale=PRIMARY_SCALE,
            subgroup=None,
        )
        method = self.graded_method(technique)
        return next(
            (f for f in found if f.row.get("method") == method), found[0] if found else None
        )

    def naive_effect(self, technique: str, outcome: str) -> Found | None:
        """The unadjusted (raw) risk difference on ``outcome`` over all cases."""
        return self.first(
            technique=technique,
            family="outcome",
            adjusted=False,
            outcome=outcome,
            scale=PRIMARY_SCALE,
            subgroup=None,
        )

    def subgroup_effect(self, technique: str, outcome: str, label: str) -> Found | None:
        """The effect in one kind of case (``label`` is ``variable=level``).

        The first adjusted row for that kind of case, else the first row at all (a
        protocol may estimate kinds of case without adjustment).
        """
        found = self.where(
            technique=technique,
            family="outcome",
            outcome=outcome,
            scale=PRIMARY_SCALE,
            subgroup=label,
        )
        adjusted = [f for f in found if f.row.get("adjusted") is True]
        return (adjusted or found or [None])[0]

    def subgroup_labels(self) -> list[str]:
        """``variable=level`` labels of the subgroup effects on the primary outcome, in order."""
        labels: list[str] = []
        for row in self.rows:
            label = row.get("subgroup")
            if (
                row.get("family") == "outcome"
                and row.get("scale") == PRIMARY_SCALE
                and row.get("outcome") == self.settings.primary
                and label
                and "=" in label
                and label not in labels
            ):
                labels.append(label)
        return labels

    def heterogeneity_variables(self) -> list[str]:
        """The variables whose levels were tested for differing effects (Cochran's Q)."""
        variables: list[str] = []
        for row in self.rows:
            label = row.get("subgroup")
            if row.get("scale") == "heterogeneity_q" and label and label not in variables:
                variables.append(label)
        return variables

    def heterogeneity_test(self, technique: str, variable: str) -> Found | None:
        """Cochran's Q for the technique's effect across the levels of ``variable``."""
        return self.first(technique=technique, scale="heterogeneity_q", subgroup=variable)

    # ---- costs and synthesis -------------------------------------------------------------------

    def incremental_cost(self, technique: str) -> Found | None:
        """The adjusted difference in cost per case (the first such row in document order)."""
        return self.first(
            technique=technique,
            family="cost",
            adjusted=True,
            measure="incremental_cost",
            subgroup=None,
        )

    def icer(self, technique: str, outcome: str) -> Found | None:
        """Cost per additional ``outcome`` (the incremental cost-effectiveness ratio)."""
        return self.first(
            technique=technique, family="cost", measure="icer", outcome=outcome, subgroup=None
        )

    def icer_quadrant(self, technique: str, outcome: str) -> Found | None:
        """The ICER's quadrant row (the quadrant is in ``diagnostics.quadrant``)."""
        return self.first(
            technique=technique,
            family="cost",
            measure="icer_quadrant",
            outcome=outcome,
            subgroup=None,
        )

    def prob_cost_effective(self, technique: str, outcome: str) -> Found | None:
        """The probability of being cost-effective at the protocol's willingness to pay."""
        return self.first(
            technique=technique,
            family="cost",
            measure="prob_cost_effective",
            outcome=outcome,
            subgroup=None,
        )

    def benefit_cost_ratio(self, technique: str) -> Found | None:
        """Monetised benefits over costs (the benefit–cost synthesis)."""
        return self.first(
            technique=technique, family="synthesis", measure="benefit_cost_ratio", subgroup=None
        )

    def prob_benefits_exceed_costs(self, technique: str) -> Found | None:
        """The probability that monetised benefits exceed costs."""
        return self.first(
            technique=technique,
            family="synthesis",
            measure="prob_benefits_exceed_costs",
            subgroup=None,
        )

    def cost_rows(self, technique: str) -> list[Found]:
        """The cost and benefit–cost rows over all cases (the programme model's aside)."""
        return [
            found
            for found in self.where(technique=technique, subgroup=None)
            if found.row.get("family") in ("cost", "synthesis")
            and found.row.get("method") != PROGRAMME_METHOD
            and found.row.get("measure") not in _NOT_IN_COST_TABLE
        ]

    def programme_rows(self) -> list[Found]:
        """The witness-protection programme model's rows (plan, actual, projection)."""
        return self.where(method=PROGRAMME_METHOD)

    # ---- harms ---------------------------------------------------------------------------------

    def harm_rows(self, technique: str) -> list[Found]:
        """Every harm row of the technique, in document order."""
        return self.where(technique=technique, family="harm")

    def harm_rate_ratios(self, technique: str) -> list[Found]:
        """Every adjusted rate ratio of a harm over all cases, in document order.

        A harm can have several (one per count model the protocol ran); the first in
        document order is the protocol's first choice.
        """
        return self.where(
            technique=technique, family="harm", adjusted=True, scale="rate_ratio", subgroup=None
        )

    def harm_rate(self, technique: str, measure: str, scale: str | None = None) -> Found | None:
        """A harm's rate over all the technique's cases (on ``scale``, if given)."""
        fields = {"scale": scale} if scale is not None else {}
        return self.first(
            technique=technique, family="harm", measure=measure, subgroup=None, **fields
        )
