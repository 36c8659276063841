"""The catalogue contract every lab (mine and the language labs) must keep, and --set validation."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from labs.catalog import all_labs, get_lab, lab_ids
from labs.catalog.base import ParamError
from labs.datasets import dataset_names

AGREED = {  # lab id -> node id, from the agreed skill graph
    "model-size": "large-models", "classic-vs-deep": "classic-vs-deep", "gd-linear": "gradient-descent",
    "backprop-spirals": "backpropagation", "ffnn-digits": "ffnn", "cnn-digits": "cnn",
    "rnn-chars": "rnn", "transformer-chars": "attention", "scaling-laws": "scaling",
    "capstone-ml-engineer": "ml-engineer", "capstone-cv-engineer": "cv-engineer",
    "capstone-llm-engineer": "llm-engineer", "capstone-research-scientist": "research-scientist",
    "capstone-data-scientist": "data-scientist", "capstone-mlops-engineer": "mlops-engineer",
    "capstone-ai-product-manager": "ai-product-manager",
    "optimisers": "optimisation", "deep-nets": "deep-networks",
    "transfer-digits": "augmentation-transfer",
    "bpe-tokens": "tokenization", "decoding-sweep": "decoding", "modern-lm": "modern-transformer",
}
MINE = {"model-size", "classic-vs-deep", "gd-linear", "backprop-spirals", "ffnn-digits", "cnn-digits",
        "capstone-ml-engineer", "capstone-cv-engineer", "capstone-research-scientist",
        "capstone-data-scientist", "capstone-mlops-engineer", "capstone-ai-product-manager"}


def test_every_catalogued_lab_is_an_agreed_one_on_its_node():
    assert MINE <= set(lab_ids()) <= set(AGREED)
    for lab in all_labs():
        assert AGREED[lab.id] == lab.node_id, lab.id


@pytest.mark.parametrize("lab", all_labs(), ids=lambda lab: lab.id)
def test_lab_declares_the_contract(lab):
    assert lab.title and len(lab.description) > 80 and lab.dataset in dataset_names()
    assert lab.unit in ("step", "epoch") and 0 < lab.pass_mark <= 100 and lab.time_limit_s > 0
    ids = [c.id for c in lab.checks]
    assert ids and len(ids) == len(set(ids))
    assert lab.Params.model_config.get("extra") == "forbid"
    for spec in lab.param_specs():
        assert spec.description, f"{lab.id}.{spec.name} has no help text"
    lab.validate_params({})  # defaults are valid
    with pytest.raises(ValidationError):
        lab.Params(no_such_field=1)


def test_unknown_lab_lists_the_known_ids():
    with pytest.raises(KeyError, match=r"unknown lab .gd-linaer.; known labs: .*gd-linear"):
        get_lab("gd-linaer")


def test_set_strings_become_typed_params():
    p = get_lab("ffnn-digits").validate_params({"lr": "0.01", "epochs": "5", "activation": "tanh"})
    assert (p.lr, p.epochs, p.activation) == (0.01, 5, "tanh")
    assert get_lab("capstone-cv-engineer").validate_params({"augment": "false"}).augment is False


@pytest.mark.parametrize(("raw", "expected"), [
    ({"lr": "-1"}, r"lr='-1'.*greater than 0.*allowed: > 0 and <= 10"),
    ({"epochs": "0"}, r"epochs='0'.*allowed: >= 1 and <= 200"),
    ({"epochs": "ten"}, r"epochs='ten'.*valid integer"),
    ({"activation": "swish"}, r"activation='swish'.*one of relu, leaky_relu, tanh, sigmoid, gelu"),
    ({"learning_rate": "0.1"}, r"unknown parameter 'learning_rate'; valid keys: hidden_layers, width"),
])
def test_bad_set_values_get_messages_naming_key_value_and_bounds(raw, expected):
    with pytest.raises(ParamError, match=expected):
        get_lab("ffnn-digits").validate_params(raw)


def test_param_specs_describe_bounds_and_choices_for_forms():
    specs = {s.name: s for s in get_lab("cnn-digits").param_specs()}
    assert (specs["filters1"].ge, specs["filters1"].le, specs["filters1"].default) == (1, 64, 16)
    assert specs["pool"].choices == ["max", "avg"] and specs["pool"].type == "choice"
    assert specs["lr"].bounds_text() == "> 0 and <= 10"
