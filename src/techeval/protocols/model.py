"""The protocol: a typed, versioned description of one standard assessment.

A protocol says which techniques to evaluate against which comparator, which covariates
to adjust for, which registered estimators to run with which parameters, the inference
settings and seed, the monetary values (with their uncertainty) and harm weights, the
disclosure threshold, how to read the case file and which report formats to write.

Protocols are data, never code: they are parsed with :mod:`techeval.protocols.load`
(safe YAML, size-capped) and checked here by strict pydantic models. Unknown keys are
errors that list the valid keys; wrong types are errors naming the key and the line of
the protocol is found by the key path.

Evaluators do not write code: they run a shipped protocol (``protocols/*.yaml``), so
that assessments from different periods and regions are comparable (A/CONF.213/15,
paras 33 and 60: standard, periodic assessments).
"""

from __future__ import annotations

import hashlib
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic import model_validator as _model_validator

from techeval.assumptions import (
    DEFAULT_HARM_UNIT_COSTS,
    DEFAULT_HARM_WEIGHTS,
    DEFAULT_WILLINGNESS_TO_PAY,
)
from techeval.cases.schema import DEFAULT_COVARIATES, TECHNIQUES
from techeval.errors import ProtocolError, TechevalError
from techeval.estimators.registry import DEFAULT_SUBGROUP_ESTIMATOR
from techeval.protocols.load import parse_yaml, read_protocol_text

if TYPE_CHECKING:  # pragma: no cover
    from techeval.economics import MonetaryValues

__all__ = [
    "DEFAULT_COVARIATES",
    "DEFAULT_OUTCOMES",
    "Disclosure",
    "Economics",
    "EstimatorSpec",
    "Inference",
    "LoadedProtocol",
    "PlannedFigure",
    "Protocol",
    "Subgroups",
    "WitnessProgramme",
    "list_protocols",
    "load_protocol",
    "protocol_from_mapping",
    "resolve_protocol",
    "shipped_protocols_dir",
]


#: Outcomes the outcome family estimates unless a protocol names its own.
DEFAULT_OUTCOMES: tuple[str, ...] = ("conviction", "high_level_conviction", "group_disrupted")

Technique = Literal[TECHNIQUES]  # type: ignore[valid-type]


class _Strict(BaseModel):
    """Strict: no type coercion, unknown keys are errors, values are frozen."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class EstimatorSpec(_Strict):
    """One registered estimator the protocol runs, with its parameters.

    ``techniques`` restricts it to some of the protocol's techniques (e.g.
    ``harm.collateral_intrusion`` to electronic surveillance); ``outcomes`` names the
    outcome columns it is fitted to (outcome family: default the protocol's
    ``outcomes``; ``harm.rates``: the harm columns, required).
    """

    name: str
    params: dict[str, Any] = Field(default_factory=dict)
    techniques: list[Technique] | None = None
    outcomes: list[str] | None = None


class Subgroups(_Strict):
    """Which case types to estimate effects within (which kinds of case a technique suits)."""

    by: list[str] = Field(default_factory=list)
    outcomes: list[str] = Field(default_factory=lambda: ["conviction"])
    estimator: str = DEFAULT_SUBGROUP_ESTIMATOR
    min_cases: int = Field(default=20, ge=1)


class Inference(_Strict):
    """How uncertainty is quantified, and the seed every random step derives from."""

    method: Literal["influence_function", "bootstrap"] = "influence_function"
    n_bootstrap: int = Field(default=200, ge=20)
    #: Above this many cases in a technique's comparison, estimators use
    #: influence-function (analytic) intervals instead of a bootstrap, and say so in each
    #: row's ``diagnostics.inference``: a refit per replicate costs seconds at a million
    #: cases. ``null``: always bootstrap where the protocol asks for it.
    bootstrap_max_n: int | None = Field(default=50_000, ge=1)
    seed: int = Field(default=0, ge=0)
    ci_level: float = Field(default=0.95, gt=0, lt=1)
    n_jobs: int = Field(default=1, ge=1)
    n_draws: int = Field(default=10_000, ge=100)
    #: Where the work runs: ``local`` (joblib processes), ``dask`` (a local dask
    #: cluster) or ``dask:tcp://HOST:PORT`` (an existing one). The numbers never depend
    #: on it. ``techeval run --backend`` overrides it.
    backend: str = Field(default="local", pattern=r"^(local|dask|dask:.+)$")


class Economics(_Strict):
    """Monetary values with their uncertainty (numbers or distribution mappings).

    Each value is a number (fixed) or ``{distribution: triangular, low, mode, high}``
    (see :class:`techeval.economics.UncertainValue`). Values left out take the
    documented defaults of :data:`techeval.economics.DEFAULT_MONETARY_VALUES` (their
    values and sources: :mod:`techeval.assumptions`).
    """

    currency: str = "USD"
    value_conviction: float | dict[str, Any] | None = None
    value_high_level_conviction: float | dict[str, Any] | None = None
    value_group_disrupted: float | dict[str, Any] | None = None
    asset_recovery_share: float | dict[str, Any] | None = None
    cost_per_witness_offence: float | dict[str, Any] | None = None
    willingness_to_pay: float | None = Field(default=None, ge=0)
    harm_unit_costs: dict[str, float] | None = None

    @_model_validator(mode="after")
    def _values_parse(self) -> Economics:
        try:
            self.monetary_values()
        except TechevalError as exc:
            raise ValueError(exc.describe()) from None
        for name, cost in (self.harm_unit_costs or {}).items():
            if not cost >= 0:
                raise ValueError(f"harm_unit_costs.{name} must be >= 0 (got {cost})")
        return self

    def monetary_values(self) -> MonetaryValues:
        """The values as :class:`techeval.economics.MonetaryValues`."""
        from techeval.economics import MonetaryValues

        spec: dict[str, Any] = {"currency": self.currency}
        for name in (
            "value_conviction",
            "value_high_level_conviction",
            "value_group_disrupted",
            "asset_recovery_share",
            "cost_per_witness_offence",
        ):
            value = getattr(self, name)
            if value is not None:
                spec[name] = value
        return MonetaryValues.from_dict(spec)

    def wtp(self) -> float:
        """Willingness to pay per additional conviction (protocol or default)."""
        return (
            float(self.willingness_to_pay)
            if self.willingness_to_pay is not None
            else DEFAULT_WILLINGNESS_TO_PAY
        )

    def unit_costs(self) -> dict[str, float]:
        """Harm column → cost per event (protocol or :data:`DEFAULT_HARM_UNIT_COSTS`)."""
        chosen = DEFAULT_HARM_UNIT_COSTS if self.harm_unit_costs is None else self.harm_unit_costs
        return {k: float(v) for k, v in chosen.items()}


class Disclosure(_Strict):
    """Statistical disclosure control: no published number rests on fewer cases."""

    min_cell: int = Field(default=10, ge=1)


class WitnessProgramme(_Strict):
    """Planning figures of a witness-protection programme (the programme model).

    See :func:`techeval.synthesis.programme.project_programme` and
    :func:`techeval.synthesis.programme.plan_vs_actual`. Offences per witness-year and
    high-level prosecutions per witness are taken from the case data, never from here.
    """

    plan_witnesses_per_year: list[float] = Field(min_length=1, max_length=2)
    plan_annual_budget: float | None = Field(default=None, ge=0)
    family_per_witness: float = Field(ge=0)
    annual_cost_per_person: float = Field(ge=0)
    mean_years_in_programme: float = Field(gt=0)
    attrition: float = Field(default=0.0, ge=0, lt=1)
    horizon_years: int = Field(default=10, ge=1, le=100)


class PlannedFigure(_Strict):
    """A figure the programme planned, set beside the actual one in trend reports.

    ``techeval trend --protocol`` compares each period's ``measure`` row (for
    ``technique``, ``subgroup`` and, if given, ``scale``) with ``planned`` — one figure or a ``[low, high]``
    range — and flags, in words, a departure beyond ``threshold`` (a share: 0.25 flags
    an actual more than 25% above the plan's upper or below its lower figure).
    The witness programme's ``plan_witnesses_per_year`` is compared this way without
    being repeated here.
    """

    technique: Technique
    measure: str = Field(min_length=1)
    planned: list[float] = Field(min_length=1, max_length=2)
    threshold: float = Field(default=0.25, gt=0)
    subgroup: str | None = None
    scale: str | None = None
    unit: str = ""
    source: str = ""

    @field_validator("planned")
    @classmethod
    def _ordered(cls, values: list[float]) -> list[float]:
        if values[0] > values[-1] or values[0] < 0:
            raise ValueError("planned must be a figure >= 0 or [low, high] with low <= high")
        return values


class Report(_Strict):
    """Output formats (``json`` writes result.json, results.csv and run.log)."""

    formats: list[Literal["json", "html", "md", "pdf"]] = Field(default_factory=lambda: ["json"])


class Protocol(_Strict):
    """A standard, versioned assessment protocol.

    Attributes
    ----------
    name, version, description
        Identity of the protocol; ``version`` is text (``"1.0.0"``).
    techniques
        Techniques to evaluate, in report order.
    comparator
        ``without_technique`` (all other cases) or ``traditional_only`` (cases using no
        special technique).
    covariates
        Columns to adjust for (default :data:`DEFAULT_COVARIATES`).
    outcomes
        Outcomes of the outcome family (default :data:`DEFAULT_OUTCOMES`).
    estimators
        Registered estimators with parameters, run for every technique unless
        restricted.
    subgroups
        Case-type breakdowns (``by``) of the adjusted effect.
    inference
        Method, bootstrap replications, confidence level, workers and seed.
    economics
        Monetary values with uncertainty, willingness to pay, harm unit costs.
    harm_weights
        Severity weight per harm event for the harm index (default
        :data:`techeval.assumptions.DEFAULT_HARM_WEIGHTS`).
    disclosure
        ``min_cell``: the fewest distinct cases any published number may rest on.
    columns, aliases
        Column mapping and extra technique labels for reading the case file.
    witness_programme
        Planning figures for the witness-protection programme model (optional).
    plan
        Other planned figures that trend reports set beside the actual ones
        (:class:`PlannedFigure`).
    report
        Output formats.
    """

    name: str = Field(min_length=1)
    version: str = Field(min_length=1)
    description: str = ""
    techniques: list[Technique] = Field(min_length=1)
    comparator: Literal["without_technique", "traditional_only"] = "without_technique"
    covariates: list[str] = Field(default_factory=lambda: list(DEFAULT_COVARIATES))
    outcomes: list[str] = Field(default_factory=lambda: list(DEFAULT_OUTCOMES))
    estimators: list[EstimatorSpec] = Field(min_length=1)
    subgroups: Subgroups = Field(default_factory=Subgroups)
    inference: Inference = Field(default_factory=Inference)
    economics: Economics = Field(default_factory=Economics)
    harm_weights: dict[str, float] | None = None
    disclosure: Disclosure = Field(default_factory=Disclosure)
    columns: dict[str, str] = Field(default_factory=dict)
    aliases: dict[str, str] = Field(default_factory=dict)
    witness_programme: WitnessProgramme | None = None
    plan: list[PlannedFigure] = Field(default_factory=list)
    report: Report = Field(default_factory=Report)

    @field_validator("techniques", "covariates", "outcomes")
    @classmethod
    def _no_repeats(cls, values: list[str]) -> list[str]:
        repeated = sorted({v for v in values if values.count(v) > 1})
        if repeated:
            raise ValueError(f"listed more than once: {', '.join(repeated)}")
        return values

    def weights(self) -> dict[str, float]:
        """Harm-index weights (protocol or :data:`DEFAULT_HARM_WEIGHTS`)."""
        chosen = DEFAULT_HARM_WEIGHTS if self.harm_weights is None else self.harm_weights
        return {k: float(v) for k, v in chosen.items()}


# ---- errors that speak to the person --------------------------------------------------


def _submodel(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside ``annotation`` (``X``, ``X | None``, ``list[X]``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _submodel(arg)
        if found is not None:
            return found
    return None


def _model_at(path: Sequence[Any]) -> type[BaseModel] | None:
    """The model that holds the key at ``path`` (for listing its valid keys)."""
    model: type[BaseModel] | None = Protocol
    for part in path:
        if model is None:
            return None
        if isinstance(part, int):
            continue
        field = model.model_fields.get(str(part))
        if field is None:
            return None
        model = _submodel(field.annotation)
    return model


def _describe_errors(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        loc = tuple(item["loc"])
        where = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in loc)
        where = where.replace(".[", "[")
        if item["type"] == "extra_forbidden":
            owner = _model_at(loc[:-1])
            valid = ", ".join(owner.model_fields) if owner is not None else "?"
            lines.append(f"unknown key {where!r} (valid keys here: {valid})")
        elif item["type"] == "missing":
            lines.append(f"{where!r} is required")
        elif item["type"] == "literal_error":
            lines.append(f"{where!r}: {item['msg'].replace('Input should be', 'must be')}")
        else:
            message = item["msg"].removeprefix("Value error, ")
            shown = item.get("input")
            value = f" (got {shown!r})" if isinstance(shown, str | int | float) else ""
            lines.append(f"{where or 'the protocol'}: {message}{value}")
    return "; ".join(lines)


def protocol_from_mapping(data: Any, *, source: str = "<protocol>") -> Protocol:
    """Check parsed protocol data against :class:`Protocol`.

    Raises
    ------
    ProtocolError
        Listing every problem (unknown keys with the valid ones, wrong types, missing
        keys) in one paragraph.
    """
    if not isinstance(data, Mapping):
        raise ProtocolError(
            "a protocol must be a mapping of keys to values at the top level", where=source
        )
    try:
        return Protocol.model_validate(dict(data))
    except ValidationError as exc:
        raise ProtocolError(
            _describe_errors(exc),
            where=source,
            hint="See protocols/README.md for every key and its meaning",
        ) from None


# ---- finding and loading protocols ----------------------------------------------------


def shipped_protocols_dir() -> Path | None:
    """The folder holding the shipped ``*.yaml`` protocols, if it can be found.

    Looked for inside the installed package (``techeval/_protocols``, when a wheel
    bundles them), then in the source checkout the package was installed from
    (``protocols/`` at the repository root), then in the working directory.
    """
    here = Path(__file__).resolve()
    for candidate in (
        here.parents[1] / "_protocols",
        here.parents[3] / "protocols",
        Path.cwd() / "protocols",
    ):
        if candidate.is_dir() and any(candidate.glob("*.yaml")):
            return candidate
    return None


def list_protocols() -> list[Path]:
    """The shipped protocol files, sorted by name."""
    folder = shipped_protocols_dir()
    return sorted(folder.glob("*.yaml")) if folder is not None else []


def resolve_protocol(name_or_path: str | Path) -> Path:
    """A protocol file from a path or a shipped name (``standard-v1``)."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    shipped = {p.stem: p for p in list_protocols()}
    stem = path.name.removesuffix(".yaml").removesuffix(".yml")
    if stem in shipped and (path.parent == Path(".") or not path.exists()):
        return shipped[stem]
    known = ", ".join(shipped) or "(none found)"
    raise ProtocolError(
        f"no protocol file or shipped protocol called {str(name_or_path)!r}",
        hint=f"Give a path to a .yaml file or one of: {known}",
    )


@dataclass(frozen=True)
class LoadedProtocol:
    """A checked protocol with its provenance.

    Attributes
    ----------
    protocol
        The typed protocol.
    sha256
        SHA-256 of the protocol file's bytes, recorded in every result.
    path
        Where it was read from.
    text
        The file's text (for ``techeval protocols show``).
    """

    protocol: Protocol
    sha256: str
    path: Path
    text: str


def load_protocol(name_or_path: str | Path, *, check_estimators: bool = True) -> LoadedProtocol:
    """Read, parse and check a protocol file (or a shipped protocol by name).

    Parameters
    ----------
    name_or_path
        A ``.yaml`` path, or the name of a shipped protocol such as ``"standard-v1"``.
    check_estimators
        Also check that every named estimator is available and accepts the given
        parameters (:func:`check_estimators`).

    Returns
    -------
    LoadedProtocol

    Raises
    ------
    ProtocolError
        For an unreadable, unsafe or invalid protocol, or an estimator that is not
        available.

    Examples
    --------
    >>> loaded = load_protocol("quick-v1")  # doctest: +SKIP
    >>> loaded.protocol.name, len(loaded.sha256)  # doctest: +SKIP
    ('quick', 64)
    """
    path = resolve_protocol(name_or_path)
    text, raw = read_protocol_text(path)
    protocol = protocol_from_mapping(parse_yaml(text, source=str(path)), source=str(path))
    if check_estimators:
        check_estimators_available(protocol, source=str(path))
    return LoadedProtocol(
        protocol=protocol, sha256=hashlib.sha256(raw).hexdigest(), path=path, text=text
    )


def check_estimators_available(protocol: Protocol, *, source: str = "<protocol>") -> None:
    """Every named estimator is registered and accepts the parameters given.

    Raises
    ------
    ProtocolError
        Naming the estimator that is not available (a family not built or a plug-in
        not installed) or the parameter it does not take, with the valid ones.
    """
    from techeval.estimators.registry import available_estimators

    known = available_estimators()
    names = [spec.name for spec in protocol.estimators]
    if protocol.subgroups.by:
        names.append(protocol.subgroups.estimator)
    for name in names:
        if name not in known:
            family = name.split(".")[0]
            have = [n for n in known if n.startswith(family + ".")]
            raise ProtocolError(
                f"the estimator {name!r} is not available in this installation of techeval",
                where=source,
                hint=(
                    f"Available {family} estimators: {', '.join(have)}"
                    if have
                    else f"No {family!r} estimators are installed; "
                    "run `techeval estimators` to list what is available"
                ),
            )
    for index, spec in enumerate(protocol.estimators):
        valid = known[spec.name].param_names()
        unknown = sorted(set(spec.params) - set(valid))
        if unknown:
            raise ProtocolError(
                f"estimators[{index}] ({spec.name}) has no parameter(s) {', '.join(unknown)}",
                where=source,
                hint=f"Its parameters are: {', '.join(valid)}",
            )
        if known[spec.name].tags.needs_outcomes and not spec.outcomes:
            raise ProtocolError(
                f"estimators[{index}] ({spec.name}) needs 'outcomes': the columns to "
                "estimate it for",
                where=source,
                hint="e.g. outcomes: [officer_injuries, third_party_harms] for harm.rates",
            )
