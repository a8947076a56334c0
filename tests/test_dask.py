"""The dask back-end: the same result.json as the local back-end, byte for byte."""

import pytest

from techeval.protocols.run import run_protocol
from techeval.results import canonical_json
from techeval.simulate import generate_cases, write_cases

try:
    from dask.distributed import LocalCluster
except ImportError:  # pragma: no cover - dask is in the test extra
    LocalCluster = None

# a small protocol with every kind of parallel work: per-technique tasks, the joint
# bootstrap of cost.effectiveness and cost.benefit, and the benefit-cost Monte Carlo
PROTOCOL = """
name: dask-check
version: "0.1"
techniques: [electronic_surveillance, undercover]
covariates: [offence, group_structure, n_suspects, threat_level]
outcomes: [conviction]
estimators:
  - name: outcome.aipw
    params: {n_folds: 2}
  - name: cost.effectiveness
    params: {effects: [conviction]}
  - name: cost.benefit
  - name: harm.rates
    outcomes: [officer_injuries]
inference:
  n_bootstrap: 30
  n_draws: 2000
  n_jobs: 2
  seed: 7
"""


@pytest.mark.skipif(LocalCluster is None, reason="dask.distributed is not installed")
def test_dask_cluster_gives_the_byte_identical_result(tmp_path):
    cases = tmp_path / "cases.csv"
    write_cases(generate_cases(1500, seed=3), cases)
    protocol = tmp_path / "protocol.yaml"
    protocol.write_text(PROTOCOL, encoding="utf-8")
    local = run_protocol(protocol, cases, backend="local")
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        on_dask = run_protocol(protocol, cases, backend=f"dask:{cluster.scheduler_address}")
    assert canonical_json(on_dask.document) == canonical_json(local.document)
    assert any("dask" in line for line in on_dask.log)
    inference = {r["diagnostics"].get("inference") for r in local.document["results"]}
    assert "bootstrap_percentile_one_step" in inference
