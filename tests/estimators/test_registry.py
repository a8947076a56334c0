import pytest

from techeval.errors import EstimatorError, UnknownEstimatorError
from techeval.estimators import Estimator, available_estimators, get_estimator, register, registry


@pytest.fixture
def clean_registry(monkeypatch):
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))


def test_register_sets_name_and_family(clean_registry):
    @register("outcome.test_dummy")
    class Dummy(Estimator):
        """A dummy estimator for tests."""

        def __init__(self, *, alpha=1.0):
            self.alpha = alpha

    assert Dummy.name == "outcome.test_dummy"
    assert Dummy.family == "outcome"
    assert get_estimator("outcome.test_dummy") is Dummy
    assert "outcome.test_dummy" in available_estimators("outcome")
    assert Dummy(alpha=2).get_params() == {"alpha": 2}


def test_unknown_name_suggests_close_matches(clean_registry):
    @register("outcome.test_aipw_like")
    class Dummy(Estimator):
        """Dummy."""

    with pytest.raises(UnknownEstimatorError, match="outcome.test_aipw_like") as info:
        get_estimator("outcome.test_aipw_lik")
    assert "Did you mean 'outcome.test_aipw_like'" in info.value.describe()
    assert "?." not in info.value.describe()


def test_names_must_be_dotted():
    with pytest.raises(ValueError):
        register("aipw")


def test_positional_parameters_are_refused(clean_registry):
    @register("outcome.test_positional")
    class Bad(Estimator):
        """Bad."""

        def __init__(self, alpha=1.0):
            self.alpha = alpha

    with pytest.raises(TypeError, match="keyword-only"):
        Bad().get_params()


def test_set_params_rejects_unknown_names(clean_registry):
    @register("outcome.test_params")
    class Dummy(Estimator):
        """Dummy."""

        def __init__(self, *, alpha=1.0):
            self.alpha = alpha

    with pytest.raises(EstimatorError, match="alpha"):
        Dummy().set_params(beta=2)


def test_unfitted_estimator_says_so():
    with pytest.raises(EstimatorError, match="not fitted"):
        _ = Estimator().result_
