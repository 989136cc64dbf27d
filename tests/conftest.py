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
