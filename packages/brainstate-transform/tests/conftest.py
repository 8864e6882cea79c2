"""Shared test helpers of brainstate-transform."""

import pytest


@pytest.fixture
def counted():
    """``counted(fun)``: ``fun`` with ``.calls``, one entry per Python call (that is, per trace)."""

    def wrap(fun):
        calls = []

        def counting(*args, **kwargs):
            calls.append(1)
            return fun(*args, **kwargs)

        counting.calls = calls
        return counting

    return wrap
