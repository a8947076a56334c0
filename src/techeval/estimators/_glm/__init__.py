"""The numerical core shared by the estimators' GLM fits (private).

* :mod:`~techeval.estimators._glm.design`: the passes over a design in row blocks
  (``X' diag(w) X``, subsets read in place, designs assembled from parts);
* :mod:`~techeval.estimators._glm.newton`: the one damped Newton–Cholesky driver that
  the logistic propensity and outcome models and the harm family's Poisson and NB2
  count models minimise their losses with;
* :mod:`~techeval.estimators._glm.workspace`: the :class:`Workspace` in which the
  estimators of one unit of work share designs, balance matrices, full-data propensity
  fits and bootstrap replicate columns (no module-level caches).
"""
