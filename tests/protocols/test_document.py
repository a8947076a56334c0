"""protocols/document.py: what of a run is published, row and frame."""

import dataclasses

import pandas as pd

from techeval.protocols.document import report_frames
from techeval.results import EffectResult


def _row(estimator, *, suppressed=False, subgroup=None, technique="undercover"):
    return EffectResult(
        technique=technique,
        outcome="cost_total",
        measure="incremental_cost",
        scale="mean_difference",
        estimand="ATE",
        method="gamma_dr",
        estimate=1000.0,
        std_error=100.0,
        ci_low=800.0,
        ci_high=1200.0,
        p_value=0.01,
        n_treated=40,
        n_control=400,
        family="cost",
        estimator=estimator,
        subgroup=subgroup,
        suppressed=suppressed,
    )


def _frames(published):
    originals = [dataclasses.replace(r, suppressed=False) for r in published]
    plane = pd.DataFrame({"technique": ["undercover"], "delta_cost": [1.0]})
    made = [("ce_plane", "undercover", "cost.effectiveness", plane)]
    return report_frames(made, [], originals, published, min_cell=10)


def test_a_frame_is_withheld_with_a_suppressed_row_of_its_family_from_another_estimator():
    """The CE plane shows the incremental cost: withheld when that row is, by any estimator."""
    shown = [_row("cost.incremental"), _row("cost.effectiveness")]
    assert "ce_plane" in _frames(shown)
    withheld = [_row("cost.incremental", suppressed=True), _row("cost.effectiveness")]
    assert "ce_plane" not in _frames(withheld)
    own = [_row("cost.incremental"), _row("cost.effectiveness", suppressed=True)]
    assert "ce_plane" not in _frames(own)


def test_a_suppressed_subgroup_row_of_another_estimator_leaves_the_frame():
    rows = [
        _row("cost.incremental", suppressed=True, subgroup="offence=arms"),
        _row("cost.effectiveness"),
    ]
    assert "ce_plane" in _frames(rows)
