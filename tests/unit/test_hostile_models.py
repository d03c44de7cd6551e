"""The hostile-model corpus (tests/hostile/make_corpus.py) through hil's host
side: `hil run` refuses each with exit 2 and one specific line before any board,
build or emulator is touched; a model the checks let through (a bit flip in a
weight) is read without error (tests/e2e/test_hostile_models.py runs those)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hil.cli import main
from hil.errors import HilError, InvalidModelError
from hil.model.check import check_model
from hil.model.facts import model_facts
from hil.model.file import ModelFile
from tests.hostile.make_corpus import Hostile, corpus, good_model

CORPUS = corpus()


def test_corpus_is_large_and_varied() -> None:
    names = [h.name for h in CORPUS]
    assert len(names) == len(set(names)) and len(names) >= 50
    for kind in ("truncated_at_", "bitflip_", "out_of_range", "huge", "overflow", "own_input",
                 "empty", "text_file", "negative"):  # fmt: skip
        assert any(kind in n for n in names), kind


def test_the_good_model_passes_every_check() -> None:
    checked = check_model(good_model())
    assert checked.operators == 2 and len(checked.subgraphs[0]) == 5


@pytest.mark.parametrize("hostile", CORPUS, ids=lambda h: h.name)
def test_hil_run_refuses_with_one_specific_line(
    hostile: Hostile, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / f"{hostile.name}.tflite"
    path.write_bytes(hostile.data)
    try:
        check_model(hostile.data, str(path))
    except InvalidModelError:
        pass
    else:  # a valid model after all: the host reads it without error
        assert hostile.expect is None, f"{hostile.name} passed the checks"
        model = ModelFile(path)
        try:
            _ = (model.inputs, model.outputs, model.op_names, model.has_variables)
            model_facts(model)
        except HilError:
            pass  # e.g. an input type hil does not drive: refused, not crashed
        return
    # --board of a board that does not exist: the model is refused before it is looked up
    code = main(["run", str(path), "--board", "no-such-board", "--vectors", "1"])
    out = capsys.readouterr()
    lines = [line for line in out.out.splitlines() if line.strip()]
    assert code == 2, out.out
    assert len(lines) == 1 and lines[0].startswith("error: "), out.out
    assert f"{path}: invalid model: " in lines[0]
    if hostile.expect is not None:
        assert hostile.expect in lines[0]
    assert out.err == ""
