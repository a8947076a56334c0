"""Planning a run: which estimator calls a protocol asks for, with which columns and seeds.

:func:`plan_tasks` turns a protocol into one :class:`Task` per ``fit`` call, reading each
estimator's :class:`~techeval.estimators.base.Tags` (never its name) for the columns it
takes (:func:`roles_for`), the techniques it applies to and the bootstrap it shares;
:func:`derive_seed` gives every call its own seed, so the plan's order never changes a
number.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from techeval.errors import ProtocolError
from techeval.estimators.base import Tags
from techeval.estimators.registry import get_estimator
from techeval.protocols.model import Protocol

__all__ = [
    "Task",
    "check_columns",
    "derive_seed",
    "inference_for_size",
    "label",
    "plan_tasks",
    "roles_for",
]


@dataclass
class Task:
    """One estimator call of a run: which estimator, with what, on which technique's cases.

    Attributes
    ----------
    technique
        The technique whose comparison cases the call fits.
    spec_index
        Position of the estimator in the protocol (orders the result rows).
    name
        The registered estimator name.
    params
        Keyword arguments of the estimator's ``__init__``.
    fit
        Keyword arguments of its ``fit`` (``treatment``, ``outcome``, ``covariates``).
    subgroup_by
        The subgroup column, for a subgroup call (:func:`techeval.effect.estimate_by_subgroup`).
    min_cases
        Smallest subgroup estimated.
    """

    technique: str
    spec_index: int
    name: str
    params: dict[str, Any]
    fit: dict[str, Any]
    subgroup_by: str | None = None
    min_cases: int = 20


def derive_seed(seed: int, key: str) -> int:
    """A 32-bit seed for one estimator call, from the run seed and the call's label.

    Each call's randomness depends only on the run seed and what the call is (technique,
    estimator, outcome, subgroup), so adding or reordering estimators in a protocol never
    changes the numbers of the others.
    """
    digest = hashlib.sha256(f"{int(seed)}|{key}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


def check_columns(protocol: Protocol, cases: pd.DataFrame, source: str) -> None:
    """Every column the protocol names is in the case data.

    Raises
    ------
    ProtocolError
        Naming the missing columns and what the protocol wanted each for.
    """
    columns = set(cases.columns)
    needed: list[tuple[str, str]] = [(c, "covariate") for c in protocol.covariates]
    needed += [(c, "outcome") for c in protocol.outcomes]
    needed += [(c, "subgroup") for c in protocol.subgroups.by]
    needed += [
        (c, "subgroup outcome") for c in protocol.subgroups.outcomes if protocol.subgroups.by
    ]
    for spec in protocol.estimators:
        if get_estimator(spec.name).tags.roles == "per_outcome":
            needed += [(c, f"{spec.name} outcome") for c in spec.outcomes or ()]
    missing = [(c, role) for c, role in needed if c not in columns]
    if missing:
        listed = ", ".join(f"{c!r} ({role})" for c, role in dict(missing).items())
        raise ProtocolError(
            f"the protocol names column(s) the case data do not have: {listed}",
            where=source,
            hint="Map your column names with the protocol's 'columns' section, or remove "
            "them from the protocol",
        )


def _shared_params(
    tags: Tags, names: Sequence[str], protocol: Protocol, seed: int, key: str
) -> dict[str, Any]:
    inference = protocol.inference
    economics = protocol.economics
    shared: dict[str, Any] = {
        "random_state": derive_seed(seed, key),
        "ci_level": inference.ci_level,
        "n_jobs": inference.n_jobs,
        "n_bootstrap": inference.n_bootstrap,
        "bootstrap_max_n": inference.bootstrap_max_n,
        "n_draws": inference.n_draws,
        "inference": tags.inference_name(inference.method),
        "comparator": protocol.comparator,
        "values": economics.monetary_values(),
        "willingness_to_pay": economics.wtp(),
        "weights": protocol.weights(),
        "unit_costs": economics.unit_costs(),
        # cost.benefit prices offences by protected witnesses itself (the
        # cost_per_witness_offence value); leaving them in the harm costs would count
        # them twice
        "harm_unit_costs": {
            k: v for k, v in economics.unit_costs().items() if k != "witness_offences"
        },
    }
    return {k: v for k, v in shared.items() if k in names}


def roles_for(tags: Tags, spec: Any, protocol: Protocol, technique: str) -> list[dict[str, Any]]:
    """The keyword arguments of each ``fit`` call for one protocol entry (from its tags)."""
    role: dict[str, Any] = {"treatment": technique}
    if tags.covariates == "subgroups":
        if protocol.subgroups.by:
            role["covariates"] = list(protocol.subgroups.by)
    elif tags.roles != "treatment_only":
        role["covariates"] = list(protocol.covariates)
    if tags.roles != "per_outcome":
        return [role]
    outcomes = spec.outcomes or tags.default_outcomes or protocol.outcomes
    return [{"treatment": technique, "outcome": o, **role} for o in outcomes]


def plan_tasks(protocol: Protocol, seed: int) -> list[Task]:
    """One task per estimator call, technique by technique, in the protocol's order.

    An estimator runs for the techniques its protocol entry names, else those its tags
    name, else every technique; subgroup effects follow each technique's estimators.
    """
    tasks: list[Task] = []
    for technique in protocol.techniques:
        for index, spec in enumerate(protocol.estimators):
            cls = get_estimator(spec.name)
            tags = cls.tags
            allowed = spec.techniques or tags.techniques or protocol.techniques
            if technique not in allowed:
                continue
            names = cls.param_names()
            for role in roles_for(tags, spec, protocol, technique):
                # estimators of one bootstrap group share one seed: the same bootstrap
                # resamples, computed once (techeval.estimators.cost._bootstrap)
                name = tags.bootstrap_group or spec.name
                key = f"{technique}|{name}|{role.get('outcome', '')}"
                params = {**_shared_params(tags, names, protocol, seed, key), **spec.params}
                tasks.append(Task(technique, index, spec.name, params, role))
        if protocol.subgroups.by:
            name = protocol.subgroups.estimator
            cls = get_estimator(name)
            names = cls.param_names()
            base = next((s.params for s in protocol.estimators if s.name == name), {})
            for outcome in protocol.subgroups.outcomes:
                for by in protocol.subgroups.by:
                    key = f"{technique}|{name}|{outcome}|{by}"
                    params = {**_shared_params(cls.tags, names, protocol, seed, key), **base}
                    spec_index = next(
                        (i for i, s in enumerate(protocol.estimators) if s.name == name),
                        len(protocol.estimators),
                    )
                    tasks.append(
                        Task(
                            technique,
                            spec_index,
                            name,
                            params,
                            {
                                "treatment": technique,
                                "outcome": outcome,
                                "covariates": list(protocol.covariates),
                            },
                            subgroup_by=by,
                            min_cases=protocol.subgroups.min_cases,
                        )
                    )
    return tasks


def inference_for_size(task: Task, n_cases: int, limit: int | None) -> Task:
    """Influence-function inference instead of a bootstrap above ``limit`` cases.

    Estimators with a ``bootstrap_max_n`` parameter decide themselves (on the cases
    they use); for the others the runner switches ``inference`` here. Each row's
    ``diagnostics.inference`` says which was used.
    """
    if limit is None or n_cases <= limit or "bootstrap_max_n" in task.params:
        return task
    tags = get_estimator(task.name).tags
    if task.params.get("inference") != tags.inference_name("bootstrap"):
        return task
    analytic = tags.inference_name("influence_function")
    return replace(task, params={**task.params, "inference": analytic})


def label(task: Task) -> str:
    """A task in words, for progress, warnings and ``run.log``."""
    outcome = task.fit.get("outcome")
    parts = [task.technique.replace("_", " "), task.name] + ([outcome] if outcome else [])
    if task.subgroup_by:
        parts.append(f"by {task.subgroup_by}")
    return " · ".join(parts)
