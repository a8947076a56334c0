"""techeval: evidence-based evaluation of special investigative techniques.

Turns case records tagged with techniques (electronic surveillance, undercover
operations, controlled delivery, witness protection) into adjusted estimates of their
effect on convictions, their cost and their harms.

Public names are imported on first use, so that ``techeval --version`` does not load
the statistical stack.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from techeval._version import __version__

_PUBLIC = {
    "load_cases": "techeval.cases",
    "validate_frame": "techeval.cases",
    "estimate_effect": "techeval.effect",
    "run_protocol": "techeval.protocols.run",
    "EffectResult": "techeval.results",
    "TechevalError": "techeval.errors",
}

__all__ = [
    "EffectResult",
    "TechevalError",
    "__version__",
    "estimate_effect",
    "load_cases",
    "run_protocol",
    "validate_frame",
]

if TYPE_CHECKING:  # pragma: no cover
    from techeval.cases import load_cases, validate_frame
    from techeval.effect import estimate_effect
    from techeval.errors import TechevalError
    from techeval.protocols.run import run_protocol
    from techeval.results import EffectResult


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'techeval' has no attribute {name!r}")
