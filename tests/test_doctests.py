"""The examples in fastbce's docstrings run and print what they show."""
import doctest

import numpy as np
import pytest

import fastbce
import fastbce._grad
import fastbce._results
import fastbce.losses
import fastbce.metrics

pytestmark = pytest.mark.usefixtures("each_isa")


@pytest.mark.skipif(np.lib.NumpyVersion(np.__version__) < "2.0.0", reason="docstrings show NumPy 2 reprs")
@pytest.mark.parametrize("module", [fastbce, fastbce.losses, fastbce._results, fastbce._grad, fastbce.metrics],
                         ids=lambda m: m.__name__)
def test_docstring_examples(module):
    res = doctest.testmod(module, extraglobs={"fastbce": fastbce, "np": np}, optionflags=doctest.ELLIPSIS,
                          report=True, verbose=False)
    assert res.attempted > 0
    assert res.failed == 0
