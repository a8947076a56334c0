"""Estimators: the contract, the registry and the built-in families."""

from techeval.estimators.base import Estimator
from techeval.estimators.registry import (
    available_estimators,
    get_estimator,
    register,
)

__all__ = ["Estimator", "available_estimators", "get_estimator", "register"]
