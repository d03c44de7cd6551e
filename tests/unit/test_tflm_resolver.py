"""The op resolver hil compiles into a TFLM image (hil.firmware.tflm_resolver):
a model's operator codes become exactly its Add*() calls, every builtin for
`all`; custom and unknown operators are refused with one clear line. Read
against the real TFLM tree beside the checkout; no compiler is run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

from hil.boards.board import load_board
from hil.case.model_case import ModelCase
from hil.errors import BoardFileError, BuildError, CaseDefinitionError
from hil.firmware import tflm_tree
from hil.firmware.build import build_firmware
from hil.firmware.tflm_resolver import (
    check_ops_mode,
    choose_ops_mode,
    ops_key,
    ops_mode_of,
    resolver_methods,
    resolver_source,
)
from hil.model.file import ModelFile
from tests.model_builder import fully_connected_then
from tests.streaming_model import accumulator_model

TREE = tflm_tree.default_tree()
ADD_CALL = re.compile(r"resolver->(Add\w+)\(\);")


@pytest.fixture
def methods() -> dict[str, str]:
    if not TREE.is_dir():
        pytest.fail(f"TFLM tree not found at {TREE}", pytrace=False)
    return resolver_methods(TREE)


def _capacity(source: str) -> int:
    match = re.search(r"MicroMutableOpResolver<(\d+)>", source)
    assert match is not None, source
    return int(match.group(1))


def test_methods_come_from_the_trees_resolver_header(methods: dict[str, str]) -> None:
    assert methods["CONV_2D"] == "AddConv2D" and methods["VAR_HANDLE"] == "AddVarHandle"
    assert methods["DEPTHWISE_CONV_2D"] == "AddDepthwiseConv2D"
    assert len(methods) >= 90


def test_all_registers_every_builtin_once(methods: dict[str, str]) -> None:
    source = resolver_source(methods)
    calls = ADD_CALL.findall(source)
    assert sorted(calls) == sorted(set(methods.values()))
    assert _capacity(source) == len(calls)
    assert "const tflite::MicroOpResolver& hil_tflm_resolver()" in source


def test_a_models_operator_codes_become_exactly_its_add_calls(methods: dict[str, str]) -> None:
    model = ModelFile("fc_relu.tflite", fully_connected_then(schema.BuiltinOperator.RELU))
    assert model.operator_set == ("FULLY_CONNECTED", "RELU")
    source = resolver_source(methods, model.operator_set)
    assert ADD_CALL.findall(source) == ["AddFullyConnected", "AddRelu"]
    assert _capacity(source) == 2
    # Repeats and order do not change the source, nor the cache key.
    again = resolver_source(methods, ["RELU", "FULLY_CONNECTED", "RELU"])
    assert again == source
    assert ops_key(["RELU", "FULLY_CONNECTED"]) == ops_key(model.operator_set)
    assert ops_key(["RELU"]) != ops_key(model.operator_set) != ops_key(None)


def test_a_streaming_models_resolver_has_its_resource_variable_ops(
    methods: dict[str, str],
) -> None:
    model = ModelFile("acc.tflite", accumulator_model())
    calls = ADD_CALL.findall(resolver_source(methods, model.operator_set))
    assert calls == ["AddAdd", "AddAssignVariable", "AddCallOnce", "AddReadVariable",
                     "AddVarHandle"]  # fmt: skip


def test_a_custom_operator_is_refused_with_its_name(methods: dict[str, str]) -> None:
    model = ModelFile("custom.tflite", fully_connected_then(schema.BuiltinOperator.CUSTOM, "MyOp"))
    assert "CUSTOM:MyOp" in model.operator_set
    with pytest.raises(BuildError, match=r"^custom operator 'MyOp': hil registers only") as info:
        resolver_source(methods, model.operator_set)
    assert "\n" not in str(info.value)


def test_an_operator_this_tflm_lacks_is_refused(methods: dict[str, str]) -> None:
    with pytest.raises(BuildError, match=r"^TFLM's op resolver has no builtin operator NOT_AN_OP$"):
        resolver_source(methods, ["FULLY_CONNECTED", "NOT_AN_OP"])


def test_ops_mode_choice_and_hello() -> None:
    assert choose_ops_mode(None) == "all"
    assert choose_ops_mode(None, "model") == "model"
    assert choose_ops_mode("all", "model") == "all"
    with pytest.raises(BuildError, match="'some' is not one of all, model"):
        check_ops_mode("some")
    assert ops_mode_of("0123abcd cmsis-nn release_with_logs -Os/-O2 ops=model") == "model"
    assert ops_mode_of("0.1.0") == ""


def test_case_and_board_file_settings_are_checked(tmp_path: Path) -> None:
    assert ModelCase(Path("m.tflite"), tflm_ops="model").tflm_ops == "model"
    with pytest.raises(CaseDefinitionError, match="tflm_ops must be one of all, model"):
        ModelCase(Path("m.tflite"), tflm_ops="mine")
    text = Path(load_board("corstone300").path).read_text()
    good = tmp_path / "good.toml"
    good.write_text(text.replace("[firmware]", '[firmware]\ntflm_ops = "model"', 1))
    assert load_board(str(good)).tflm_ops == "model"
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("[firmware]", '[firmware]\ntflm_ops = "few"', 1))
    with pytest.raises(BoardFileError, match=r"firmware\.tflm_ops: 'few' is not one of all, model"):
        load_board(str(bad))


def test_hils_engine_takes_no_op_set() -> None:
    with pytest.raises(BuildError, match="hil's engine has its own"):
        build_firmware(load_board("corstone300"), engine="hil", tflm_ops=["FULLY_CONNECTED"])
