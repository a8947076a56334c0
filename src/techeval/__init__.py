"""techeval: evidence-based evaluation of special investigative techniques.

Turns case records tagged with techniques (electronic surveillance, undercover
operations, controlled delivery, witness protection) into adjusted estimates of their
effect on convictions, their cost and their harms.
"""

from techeval._version import __version__

__all__ = ["__version__"]
