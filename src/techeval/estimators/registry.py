"""Stable names for estimators, and the plug-in entry point for third-party ones.

Estimators are registered under dotted names (``"outcome.aipw"``, ``"cost.gamma_glm"``)
with :func:`register`. Packages outside techeval add theirs through the
``techeval.estimators`` entry-point group: each entry point names a module (imported for
its ``@register`` side effect) or an :class:`~techeval.estimators.base.Estimator`
subclass (registered under the entry point's name). Names are never guessed from class
names.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable
from importlib.metadata import entry_points

from techeval.errors import EstimatorError, UnknownEstimatorError
from techeval.estimators.base import Estimator

ENTRY_POINT_GROUP = "techeval.estimators"

_REGISTRY: dict[str, type[Estimator]] = {}
_BUILTIN_MODULES = (
    "techeval.estimators.outcome",
    "techeval.estimators.cost",
    "techeval.estimators.harm",
)
_loaded = False


#: The estimator of subgroup effects when a protocol's ``subgroups`` names none.
DEFAULT_SUBGROUP_ESTIMATOR = "outcome.aipw"


def register(name: str) -> Callable[[type[Estimator]], type[Estimator]]:
    """Class decorator registering an estimator under ``name`` (``"family.method"``).

    Examples
    --------
    >>> from techeval.estimators import Estimator, register
    >>> @register("outcome.example_doc")
    ... class Example(Estimator):
    ...     '''Does nothing useful.'''
    >>> Example.name
    'outcome.example_doc'
    """
    if name.count(".") != 1 or not all(name.split(".")):
        raise ValueError(f"estimator names look like 'family.method', got {name!r}")

    def decorate(cls: type[Estimator]) -> type[Estimator]:
        if not (isinstance(cls, type) and issubclass(cls, Estimator)):
            raise TypeError(f"{cls!r} is not a techeval Estimator subclass")
        existing = _REGISTRY.get(name)
        if existing is not None and existing is not cls and _qualname(existing) != _qualname(cls):
            raise ValueError(f"estimator name {name!r} is already taken by {_qualname(existing)}")
        cls.name = name
        if "family" not in vars(cls):  # a class may declare its family ("synthesis")
            cls.family = name.split(".")[0]
        _REGISTRY[name] = cls
        return cls

    return decorate


def _qualname(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _load_all() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module in _BUILTIN_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:  # a family not built yet
            if exc.name != module:
                raise
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        try:
            loaded = entry_point.load()
        except Exception as exc:  # a broken plug-in must not break techeval
            raise EstimatorError(
                f"the plug-in estimator {entry_point.name!r} ({entry_point.value}) failed "
                f"to load: {exc}",
                hint="Reinstall or uninstall the package that provides it",
            ) from exc
        if isinstance(loaded, type) and issubclass(loaded, Estimator) and loaded.name is None:
            register(entry_point.name)(loaded)


def available_estimators(family: str | None = None) -> dict[str, type[Estimator]]:
    """Every registered estimator (built-in and plug-in), sorted by name."""
    _load_all()
    return {
        name: cls
        for name, cls in sorted(_REGISTRY.items())
        if family is None or cls.family == family
    }


def get_estimator(name: str) -> type[Estimator]:
    """The estimator class registered under ``name``.

    Raises
    ------
    UnknownEstimatorError
        When no estimator has that name; the message suggests close matches.
    """
    known = available_estimators()
    if name in known:
        return known[name]
    close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.5)
    hint = f"Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise UnknownEstimatorError(
        f"no estimator is registered as {name!r}",
        hint=(hint + " " if hint else "") + "Run `techeval estimators` to list the available ones",
    )


def summary_line(cls: type[Estimator]) -> str:
    """What an estimator does, in its own words: :meth:`Estimator.description`."""
    return cls.description()
