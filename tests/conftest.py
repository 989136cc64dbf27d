import numpy as np
import pytest

from gaitfeat.testing import stick_walker


@pytest.fixture
def walker():
    """A clean BODY_25 walker, 300 frames at 30 fps, walking towards +x."""
    return stick_walker(300)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture
def no_hang():
    """Fail (instead of blocking for ever) if a reader opens a FIFO: a 10 s alarm around the test."""
    import signal

    if not hasattr(signal, "SIGALRM"):
        pytest.skip("needs SIGALRM")

    def boom(*_):
        raise TimeoutError("reader blocked")

    old = signal.signal(signal.SIGALRM, boom)
    signal.alarm(10)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


@pytest.fixture(scope="session")
def quick_bundle(tmp_path_factory):
    """A small GMFCS + GDI bundle trained on a simulated cohort, and that cohort (its raw walks are the
    training children). Feature models, the baseline and a quick ST-GCN; 3-fold ensemble."""
    from evaluation.bundle import train_bundle
    from evaluation.data import Dataset
    from gaitfeat.simulate import simulate_cohort

    cohort = simulate_cohort(24, random_state=3, n_jobs=1)
    data = Dataset(cohort.clips, cohort.meta, "synthetic", "SIMULATED test cohort (24 children)", simulated=True,
                   layout="coco17", report=cohort.report)
    out = tmp_path_factory.mktemp("bundle") / "model"
    train_bundle(out, suites=["gmfcs", "gdi"], data=data, n_splits=3, deep_profile="quick", n_bootstrap=20,
                 models={"gmfcs": ["majority", "logreg_all", "xgb_all", "stgcn"], "gdi": ["ridge_all", "xgb_all"]},
                 random_state=0)
    return out, cohort
