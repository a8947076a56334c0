"""Monetary values with their uncertainty: what a conviction, a disrupted group, ... is worth.

* :class:`UncertainValue` — a monetary value with its uncertainty (fixed, triangular,
  lognormal, uniform or normal), parseable from a plain dict;
* :class:`MonetaryValues` and :data:`DEFAULT_MONETARY_VALUES` — the values a
  benefit–cost analysis needs (a conviction, a high-level conviction, a disrupted
  group, the recovered share of assets seized, the cost of an offence committed by a
  protected witness); the default values are in :mod:`techeval.assumptions`, with
  their sources.

References
----------
McCollister, K. E., French, M. T., & Fang, H. (2010). The cost of crime to society: new
crime-specific estimates for policy and program evaluation. *Drug and Alcohol
Dependence*, 108(1–2), 98–109.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Literal

import numpy as np

from techeval.assumptions import DEFAULT_CURRENCY, DEFAULT_MONETARY_VALUE_SPECS
from techeval.errors import ArgumentError

__all__ = ["DEFAULT_MONETARY_VALUES", "MonetaryValues", "UncertainValue"]

Distribution = Literal["fixed", "triangular", "lognormal", "uniform", "normal"]

_REQUIRED: dict[str, tuple[str, ...]] = {
    "fixed": ("value",),
    "triangular": ("low", "mode", "high"),
    "lognormal": ("mean", "sd"),
    "uniform": ("low", "high"),
    "normal": ("mean", "sd"),
}


@dataclass(frozen=True)
class UncertainValue:
    """A monetary value (or share) with its uncertainty distribution.

    Parameters
    ----------
    distribution : {"fixed", "triangular", "lognormal", "uniform", "normal"}
        The distribution. Parameters by distribution: ``fixed``: ``value``;
        ``triangular``: ``low``, ``mode``, ``high``; ``uniform``: ``low``, ``high``;
        ``normal``: ``mean``, ``sd``; ``lognormal``: ``mean`` and ``sd`` **on the natural
        scale** (the value's own mean and standard deviation, converted to
        ``mu, sigma`` of the log by the method of moments).
    value, low, mode, high, mean, sd
        Distribution parameters; the ones a distribution does not use must be ``None``.
    bounds
        Optional ``(lower, upper)`` the draws are clipped to (e.g. ``(0, 1)`` for a
        share given a normal distribution). ``None`` for no clipping.

    Notes
    -----
    The plain-dict form (what protocols write) is ``{"distribution": "triangular",
    "low": 1, "mode": 2, "high": 3}``; a bare number means a fixed value. Use
    :meth:`from_spec` to parse it and :meth:`to_dict` to write it back.

    :attr:`expected` is the distribution's mean; point estimates use it so that a
    point estimate is the mean of the Monte Carlo draws when the value enters linearly.

    Examples
    --------
    >>> import numpy as np
    >>> v = UncertainValue.from_spec({"distribution": "triangular", "low": 0, "mode": 3, "high": 6})
    >>> v.expected
    3.0
    >>> v.sample(np.random.default_rng(0), 3).shape
    (3,)
    >>> UncertainValue.from_spec(5).to_dict()
    {'distribution': 'fixed', 'value': 5.0}
    """

    distribution: Distribution = "fixed"
    value: float | None = None
    low: float | None = None
    mode: float | None = None
    high: float | None = None
    mean: float | None = None
    sd: float | None = None
    bounds: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        # A value object: checking on construction keeps invalid values out of protocols.
        if self.distribution not in _REQUIRED:
            raise ArgumentError(
                f"unknown distribution {self.distribution!r}",
                hint=f"Use one of {', '.join(_REQUIRED)}",
            )
        required = _REQUIRED[self.distribution]
        given = {
            name: getattr(self, name)
            for name in ("value", "low", "mode", "high", "mean", "sd")
            if getattr(self, name) is not None
        }
        missing = [name for name in required if name not in given]
        extra = [name for name in given if name not in required]
        if missing or extra:
            raise ArgumentError(
                f"a {self.distribution} value needs exactly {', '.join(required)}"
                + (f"; missing {', '.join(missing)}" if missing else "")
                + (f"; not used: {', '.join(extra)}" if extra else ""),
                hint='e.g. {"distribution": "triangular", "low": 1, "mode": 2, "high": 3}',
            )
        for name, number in given.items():
            if not math.isfinite(float(number)):
                raise ArgumentError(f"the {name} of a {self.distribution} value must be finite")
            object.__setattr__(self, name, float(number))
        d = self.distribution
        if d == "triangular" and not (self.low <= self.mode <= self.high and self.low < self.high):
            raise ArgumentError(
                f"a triangular value needs low <= mode <= high and low < high "
                f"(got {self.low}, {self.mode}, {self.high})"
            )
        if d == "uniform" and not self.low < self.high:
            raise ArgumentError(f"a uniform value needs low < high (got {self.low}, {self.high})")
        if d in ("normal", "lognormal") and not self.sd >= 0:
            raise ArgumentError(f"the sd of a {d} value must be >= 0 (got {self.sd})")
        if d == "lognormal" and not self.mean > 0:
            raise ArgumentError(f"a lognormal value needs mean > 0 (got {self.mean})")
        if self.bounds is not None:
            low, high = (float(b) for b in self.bounds)
            if not low <= high:
                raise ArgumentError(f"bounds must be (lower, upper), got {self.bounds}")
            object.__setattr__(self, "bounds", (low, high))

    @classmethod
    def fixed(cls, value: float) -> UncertainValue:
        """A value without uncertainty."""
        return cls("fixed", value=value)

    @classmethod
    def from_spec(cls, spec: UncertainValue | float | int | Mapping[str, Any]) -> UncertainValue:
        """Parse a number (fixed) or ``{"distribution": ..., <parameters>}``."""
        if isinstance(spec, UncertainValue):
            return spec
        if isinstance(spec, bool):
            raise ArgumentError(f"a monetary value must be a number or a mapping, not {spec!r}")
        if isinstance(spec, (int, float, np.integer, np.floating)):
            return cls.fixed(float(spec))
        if not isinstance(spec, Mapping):
            raise ArgumentError(
                f"a monetary value must be a number or a mapping, not {type(spec).__name__}",
                hint='e.g. 150000 or {"distribution": "lognormal", "mean": 150000, "sd": 50000}',
            )
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(spec) - known)
        if unknown:
            raise ArgumentError(
                f"unknown key(s) {', '.join(map(repr, unknown))} in a monetary value",
                hint=f"Valid keys: {', '.join(sorted(known))}",
            )
        params = dict(spec)
        if "distribution" not in params:
            raise ArgumentError(
                "a monetary value given as a mapping needs a 'distribution' key",
                hint=f"One of {', '.join(_REQUIRED)}",
            )
        if params.get("bounds") is not None:
            params["bounds"] = tuple(params["bounds"])
        return cls(**params)

    def to_dict(self) -> dict[str, Any]:
        """The plain-dict form (JSON-compatible), inverse of :meth:`from_spec`."""
        out: dict[str, Any] = {"distribution": self.distribution}
        for name in _REQUIRED[self.distribution]:
            out[name] = getattr(self, name)
        if self.bounds is not None:
            out["bounds"] = list(self.bounds)
        return out

    def _lognormal_parameters(self) -> tuple[float, float]:
        # method of moments: mean = exp(mu + s^2/2), var = (exp(s^2) - 1) mean^2
        sigma2 = math.log1p((self.sd / self.mean) ** 2)
        return math.log(self.mean) - sigma2 / 2, math.sqrt(sigma2)

    @property
    def expected(self) -> float:
        """The mean of the distribution (before clipping to ``bounds``)."""
        d = self.distribution
        if d == "fixed":
            value = self.value
        elif d == "triangular":
            value = (self.low + self.mode + self.high) / 3
        elif d == "uniform":
            value = (self.low + self.high) / 2
        else:
            value = self.mean
        return float(value)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """``size`` independent draws."""
        d = self.distribution
        if d == "fixed":
            draws = np.full(size, self.value)
        elif d == "triangular":
            draws = rng.triangular(self.low, self.mode, self.high, size)
        elif d == "uniform":
            draws = rng.uniform(self.low, self.high, size)
        elif d == "normal":
            draws = rng.normal(self.mean, self.sd, size)
        else:
            mu, sigma = self._lognormal_parameters()
            draws = rng.lognormal(mu, sigma, size)
        if self.bounds is not None:
            draws = np.clip(draws, *self.bounds)
        return draws


@dataclass(frozen=True)
class MonetaryValues:
    """Monetary values of outcomes, per unit, in one currency.

    Parameters
    ----------
    value_conviction
        Value to society of a case ending in at least one conviction.
    value_high_level_conviction
        *Additional* value when the conviction includes a high-level target (a
        high-level conviction is also a conviction, so this is added on top of
        ``value_conviction``, never instead of it, to avoid counting it twice).
    value_group_disrupted
        Value of an organised-crime group disrupted.
    asset_recovery_share
        Share of the value of assets seized that is finally recovered (confiscated);
        a benefit per unit of currency seized.
    cost_per_witness_offence
        Cost to society of one offence committed by a protected witness.
    currency
        Currency label for reports.

    Notes
    -----
    :meth:`from_dict` accepts any subset of the field names (missing ones take the
    defaults of :data:`DEFAULT_MONETARY_VALUES`), each value a number or an
    :class:`UncertainValue` dict.
    """

    value_conviction: UncertainValue
    value_high_level_conviction: UncertainValue
    value_group_disrupted: UncertainValue
    asset_recovery_share: UncertainValue
    cost_per_witness_offence: UncertainValue
    currency: str = "USD"

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any] | MonetaryValues | None = None) -> MonetaryValues:
        """Parse ``{"value_conviction": 150000, "asset_recovery_share": {...}, ...}``."""
        if isinstance(spec, MonetaryValues):
            return spec
        spec = dict(spec or {})
        names = [f.name for f in fields(cls)]
        unknown = sorted(set(spec) - set(names))
        if unknown:
            raise ArgumentError(
                f"unknown monetary value(s) {', '.join(map(repr, unknown))}",
                hint=f"Valid names: {', '.join(names)}",
            )
        params: dict[str, Any] = {}
        for name in names:
            if name == "currency":
                params[name] = str(spec.get(name, DEFAULT_MONETARY_VALUES.currency))
            elif name in spec:
                params[name] = UncertainValue.from_spec(spec[name])
            else:
                params[name] = getattr(DEFAULT_MONETARY_VALUES, name)
        return cls(**params)

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-compatible form (inverse of :meth:`from_dict`)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = value.to_dict() if isinstance(value, UncertainValue) else value
        return out

    def sample(self, rng: np.random.Generator, size: int) -> dict[str, np.ndarray]:
        """Independent draws of every value, keyed by field name."""
        return {
            f.name: getattr(self, f.name).sample(rng, size)
            for f in fields(self)
            if f.name != "currency"
        }

    def expected(self) -> dict[str, float]:
        """The mean of every value, keyed by field name."""
        return {
            f.name: getattr(self, f.name).expected for f in fields(self) if f.name != "currency"
        }


#: Default monetary values: :data:`techeval.assumptions.DEFAULT_MONETARY_VALUE_SPECS`
#: (ILLUSTRATIVE ASSUMPTIONS apart from the asset-recovery share; each value's source is
#: given there) in :data:`techeval.assumptions.DEFAULT_CURRENCY`.
DEFAULT_MONETARY_VALUES = MonetaryValues(
    **{name: UncertainValue.from_spec(spec) for name, spec in DEFAULT_MONETARY_VALUE_SPECS.items()},
    currency=DEFAULT_CURRENCY,
)
