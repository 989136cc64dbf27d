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
