"""The pooled report moved to :mod:`techeval.report.pooled`.

``cli.py`` imports :func:`summary_lines` from here; delete this module once it imports
``techeval.report.pooled``.
"""

from techeval.report.pooled import summary_lines as summary_lines
