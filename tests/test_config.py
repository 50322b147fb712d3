"""get_config / from_config and Reduction, against what tf_keras 2.21.0 produces."""
import pytest

import fastbce
from fastbce import BinaryCrossentropy, Reduction

# printed by tf_keras 2.21.0: tf_keras.losses.BinaryCrossentropy().get_config()
TF_DEFAULT_CONFIG = {'reduction': 'auto', 'name': 'binary_crossentropy', 'from_logits': False,
                     'label_smoothing': 0.0, 'axis': -1, 'fn': 'binary_crossentropy'}
# printed by tf_keras 2.21.0: tf_keras.losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.2,
#     axis=0, reduction="sum", name="x").get_config()
TF_CUSTOM_CONFIG = {'reduction': 'sum', 'name': 'x', 'from_logits': True, 'label_smoothing': 0.2,
                    'axis': 0, 'fn': 'binary_crossentropy'}


def test_default_config_equals_tf_keras():
    cfg = BinaryCrossentropy().get_config()
    assert cfg == TF_DEFAULT_CONFIG
    assert list(cfg) == list(TF_DEFAULT_CONFIG)  # same key order too
    assert all(type(cfg[k]) is type(v) for k, v in TF_DEFAULT_CONFIG.items())


def test_custom_config_equals_tf_keras():
    bce = BinaryCrossentropy(from_logits=True, label_smoothing=0.2, axis=0, reduction="sum", name="x")
    assert bce.get_config() == TF_CUSTOM_CONFIG


@pytest.mark.parametrize("cfg", [TF_DEFAULT_CONFIG, TF_CUSTOM_CONFIG])
def test_tf_keras_config_loads(cfg):
    original = dict(cfg)
    bce = BinaryCrossentropy.from_config(cfg)
    assert cfg == original  # not modified (tf_keras pops "fn" from the dict it is given)
    assert bce.get_config() == cfg
    assert (bce.reduction, bce.name, bce.from_logits, bce.label_smoothing, bce.axis) == (
        cfg["reduction"], cfg["name"], cfg["from_logits"], cfg["label_smoothing"], cfg["axis"])


def test_round_trip_behaves_the_same():
    bce = BinaryCrossentropy(from_logits=True, label_smoothing=0.1, reduction="none", name="b")
    again = BinaryCrossentropy.from_config(bce.get_config())
    y, x = [[0., 1., 1.], [1., 0., 0.]], [[-2., 3., 0.5], [1., -1., 7.]]
    assert (bce(y, x) == again(y, x)).all()
    # config without "fn" (tf_keras with saving v3 disabled) loads too
    cfg = bce.get_config()
    del cfg["fn"]
    assert BinaryCrossentropy.from_config(cfg).get_config() == bce.get_config()


def test_config_for_another_function_is_rejected():
    with pytest.raises(ValueError, match="mean_squared_error"):
        BinaryCrossentropy.from_config({**TF_DEFAULT_CONFIG, "fn": "mean_squared_error"})
    with pytest.raises(TypeError):
        BinaryCrossentropy.from_config({**TF_DEFAULT_CONFIG, "gamma": 2.0})


def test_reduction_values_like_tf_keras():
    assert (Reduction.AUTO, Reduction.NONE, Reduction.SUM, Reduction.SUM_OVER_BATCH_SIZE) == (
        "auto", "none", "sum", "sum_over_batch_size")
    # tf_keras's four, then Keras 3's two new names ("none" is shared; None is also accepted)
    assert Reduction.all() == ("auto", "none", "sum", "sum_over_batch_size", "mean", "mean_with_sample_weight")
    assert (Reduction.MEAN, Reduction.MEAN_WITH_SAMPLE_WEIGHT) == ("mean", "mean_with_sample_weight")
    for key in Reduction.all():
        Reduction.validate(key)
        assert BinaryCrossentropy(reduction=key).reduction == key


@pytest.mark.parametrize("key", ["AUTO", "average", "", 1, "sum "])
def test_invalid_reduction_is_a_value_error_at_construction(key):
    # tf_keras 2.21.0's message: ValueError: Invalid Reduction Key: AUTO. Expected keys are
    # "('auto', 'none', 'sum', 'sum_over_batch_size')" -- here with Keras 3's names added
    msg = (f'Invalid Reduction Key: {key}. Expected keys are "(\'auto\', \'none\', \'sum\', '
           '\'sum_over_batch_size\', \'mean\', \'mean_with_sample_weight\')"')
    with pytest.raises(ValueError) as ei:
        BinaryCrossentropy(reduction=key)
    assert str(ei.value) == msg
    with pytest.raises(ValueError):
        Reduction.validate(key)


def test_auto_is_sum_over_batch_size():
    y, x = [[0., 1.], [1., 1.]], [[0.3, 0.8], [0.6, 0.1]]
    assert BinaryCrossentropy()(y, x) == BinaryCrossentropy(reduction="sum_over_batch_size")(y, x)
    s = BinaryCrossentropy(reduction="sum")(y, x)
    assert BinaryCrossentropy()(y, x) == s / 2


def test_public_names():
    assert set(fastbce.__all__) == {"BinaryCrossentropy", "binary_crossentropy", "Reduction", "isa",
                                    "available_isas", "set_num_threads", "get_num_threads", "__version__",
                                    # for annotations (issue 12): result types and the reduction names
                                    "LossResult", "LossArray", "LossFloat16", "LossFloat32", "LossFloat64",
                                    "ReductionName",
                                    # training (issue 10): gradient-boosting derivatives
                                    "grad_hess",
                                    # evaluation at scale (issue 11): the streaming metric
                                    "metrics"}
    for name in fastbce.__all__:
        assert hasattr(fastbce, name)
    assert isinstance(fastbce.__version__, str) and fastbce.__version__[0].isdigit()
    assert fastbce.isa() in fastbce.available_isas()
    assert "scalar" in fastbce.available_isas()


def test_repr():
    assert repr(BinaryCrossentropy(from_logits=True)) == (
        "BinaryCrossentropy(from_logits=True, label_smoothing=0.0, axis=-1, reduction='auto', "
        "name='binary_crossentropy')")
