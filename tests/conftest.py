"""Shared fixtures: run numeric tests on every instruction-set level this machine has."""
import numpy as np
import pytest

import fastbce
from fastbce import _core, _inputs

ISAS = _core.available_isas()


@pytest.fixture(params=ISAS)
def each_isa(request):
    """Switch the active kernel table to each available ISA in turn (restored after)."""
    before = _core.isa()
    _core.set_isa(request.param)
    try:
        assert fastbce.isa() == request.param
        yield request.param
    finally:
        _core.set_isa(before)


@pytest.fixture(params=[1, 7, 64])
def small_chunk(request, monkeypatch):
    """Force the chunked path to use tiny blocks so every branch of it runs."""
    monkeypatch.setattr(_inputs, "CHUNK", request.param)
    return request.param


@pytest.fixture
def rng():
    return np.random.default_rng(20240611)
