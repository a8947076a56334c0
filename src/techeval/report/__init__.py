"""Reports policymakers read, rendered from a run's result file alone.

A report never recomputes a statistic: :func:`render_reports` takes the result document
(``result.json``) and the run's plot-ready frames (``frames/*.csv``) and returns the
report files. ``techeval run --format html,md,pdf`` calls it on a fresh run;
``techeval report DIR`` calls it on a folder written earlier (:func:`rerender`).

Modules:

- :mod:`~techeval.report.pipeline`: result document and frames → report files;
- :mod:`~techeval.report.document`: the result document read by named questions
  (rows chosen by what they are, never by estimator name);
- :mod:`~techeval.report.content`: what the report says, assembled from
  :mod:`~techeval.report.findings`, :mod:`~techeval.report.league`,
  :mod:`~techeval.report.subgroups`, :mod:`~techeval.report.programme`,
  :mod:`~techeval.report.technique` (with :mod:`~techeval.report.costs` and
  :mod:`~techeval.report.harms`) and :mod:`~techeval.report.methods`, in the shapes of
  :mod:`~techeval.report.model`, with numbers as parts from :mod:`~techeval.report.parts`;
- :mod:`~techeval.report.text`: plain words and rounding;
- :mod:`~techeval.report.figures`: seaborn/matplotlib figures;
- :mod:`~techeval.report.render`: HTML, Markdown and PDF.
"""

from techeval.report.pipeline import (
    REPORT_FORMATS,
    load_run,
    render_context,
    render_folder,
    render_reports,
    rerender,
)

__all__ = [
    "REPORT_FORMATS",
    "load_run",
    "render_context",
    "render_folder",
    "render_reports",
    "rerender",
]
