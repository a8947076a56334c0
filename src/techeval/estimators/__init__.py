"""Estimators: the contract, the registry and the built-in families.

:class:`ArmMeansEstimator` (the base class of the outcome family, for new outcome
estimators) is imported on first use, so that the registry loads without the
statistical stack.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from techeval.estimators.base import Estimator, Tags
from techeval.estimators.registry import (
    available_estimators,
    get_estimator,
    register,
)

if TYPE_CHECKING:  # pragma: no cover
    from techeval.estimators.outcome import ArmMeansEstimator

__all__ = [
    "ArmMeansEstimator",
    "Estimator",
    "Tags",
    "available_estimators",
    "get_estimator",
    "register",
]


def __getattr__(name: str) -> Any:
    if name == "ArmMeansEstimator":
        from techeval.estimators.outcome import ArmMeansEstimator

        return ArmMeansEstimator
    raise AttributeError(f"module 'techeval.estimators' has no attribute {name!r}")
