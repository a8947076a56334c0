"""Errors that speak to the person running techeval.

Every problem with the user's input (a case file, a protocol, an argument) is a
:class:`TechevalError` subclass carrying *what* is wrong, *where* and *how to fix it*.
The CLI prints these as one paragraph and exits with code 2; anything else is a bug
and exits with code 1.
"""

from __future__ import annotations


class TechevalError(Exception):
    """Base class for problems the user can fix (exit code 2 at the CLI).

    Parameters
    ----------
    message
        What is wrong, in plain words.
    where
        The file, row and/or column concerned, if any.
    hint
        How to fix it, if known.
    """

    exit_code = 2

    def __init__(self, message: str, *, where: str | None = None, hint: str | None = None):
        self.message = message
        self.where = where
        self.hint = hint
        super().__init__(self.describe())

    def describe(self) -> str:
        """The whole message as one paragraph."""
        parts = [f"{self.where}: {self.message}" if self.where else self.message]
        if self.hint:
            parts.append(self.hint)
        return " ".join(p if p.endswith(("?", "!", ".")) else p + "." for p in parts)


class CaseFileError(TechevalError):
    """A case file cannot be used as a whole (unreadable, empty, missing a column...)."""


class ArgumentError(TechevalError):
    """An argument or option has a value techeval cannot use."""


class EstimatorError(TechevalError):
    """An estimator was asked for something it cannot do with this data."""


class UnknownEstimatorError(EstimatorError):
    """No estimator is registered under the requested name."""


class ProtocolError(TechevalError):
    """A protocol file is malformed or asks for something unavailable."""
