"""Estimators: the contract, the registry and the built-in families."""

from techeval.estimators.base import Estimator, Tags
from techeval.estimators.registry import (
    available_estimators,
    get_estimator,
    register,
)

__all__ = ["Estimator", "Tags", "available_estimators", "get_estimator", "register"]
