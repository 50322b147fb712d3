"""bfloat16 tensors of torch and JAX: the float32 result of the widened values (in bfloat16), on every ISA; torch's
memory is read in place (no copy). Skips without torch / JAX (the frameworks CI step fails on a skip)."""
import numpy as np
import pytest

import fastbce

pytestmark = pytest.mark.usefixtures("each_isa")


def test_torch_bfloat16_in_place(rng):
    torch = pytest.importorskip("torch")
    from fastbce._frameworks import torch as adapter

    x32 = rng.random((4096, 3)).astype(np.float32)
    y32 = rng.integers(0, 2, (4096, 3)).astype(np.float32)
    x = torch.from_numpy(x32).to(torch.bfloat16)
    view = adapter._host(x, "y_pred")
    assert view.__array_interface__["data"][0] == x.data_ptr()  # the tensor's own memory
    for reduction in ("auto", "none"):
        bce = fastbce.BinaryCrossentropy(reduction=reduction)
        got = bce(torch.from_numpy(y32), x)
        assert got.dtype == torch.bfloat16
        want = bce(y32, x.float().numpy())  # float32 of the widened values
        np.testing.assert_array_equal(got.float().numpy(), np.asarray(want).astype(view.dtype).astype(np.float32))


def test_jax_bfloat16(rng):
    jnp = pytest.importorskip("jax.numpy")
    x32 = rng.normal(size=(2048, 1)).astype(np.float32)
    y32 = rng.integers(0, 2, (2048, 1)).astype(np.float32)
    x = jnp.asarray(x32, dtype=jnp.bfloat16)
    bce = fastbce.BinaryCrossentropy(from_logits=True)
    got = bce(jnp.asarray(y32), x)
    assert got.dtype == jnp.bfloat16
    want = bce(y32, np.asarray(x).astype(np.float32))
    assert float(got) == float(np.asarray(want).astype(jnp.bfloat16))
