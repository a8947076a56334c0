"""Deterministic data for the stored GLM references (no random generator, whose streams
may change between numpy versions): trigonometric covariates and outcomes."""

import numpy as np

N = 400


def design() -> np.ndarray:
    """Covariates: a treatment indicator and two smooth, bounded columns (no intercept)."""
    i = np.arange(N, dtype=float)
    treated = (np.arange(N) % 3 == 0).astype(float)
    return np.column_stack([treated, np.sin(i), np.cos(1.7 * i)])


def outcomes() -> tuple[np.ndarray, ...]:
    """``(treated, counts, exposure, cost, event)``: Poisson-like counts with exposure,
    a positive skewed cost and a yes/no event, each depending on the covariates."""
    i = np.arange(N, dtype=float)
    X = design()
    treated, x1, x2 = X[:, 0], X[:, 1], X[:, 2]
    exposure = 1.0 + (np.arange(N) % 7)
    rate = np.exp(-1.0 + 0.5 * treated + 0.4 * x1 - 0.3 * x2)
    counts = np.floor(exposure * rate * (0.2 + 1.6 * np.sin(2.3 * i) ** 2))
    cost = np.exp(1.0 + 0.5 * treated + 0.3 * x1) * (0.25 + 1.5 * ((i * 0.6180339887) % 1.0))
    event = (np.sin(3.1 * i) + 0.8 * x1 + 0.5 * treated > 0.2).astype(float)
    return treated, counts, exposure, cost, event
