"""Arena accounting of hil's engine on the shared models: the figure it
reports is exactly what a load needs (one byte less is refused with that
figure; that figure loads and runs), and far too small arenas get a figure
that is enough. Outputs at the exact arena equal those at a roomy one, so
nothing the engine keeps overlaps the activations."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from hil.devtools.engine_host import EngineError, HostEngine

MODELS = (
    "hello_world_int8",
    "micro_speech_int8",
    "mlperf_tiny_ad_autoencoder_int8",
    "mlperf_tiny_ic_resnet8_int8",
    "mlperf_tiny_kws_ds_cnn_int8",
    "mlperf_tiny_vww_mobilenet_int8",
    "person_detect_int8",
)


def need_of(err: EngineError) -> int:
    match = re.fullmatch(r"arena too small: need (\d+) bytes, have \d+", err.message)
    assert match, err.message
    return int(match.group(1))


def run(data: bytes, arena: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    with HostEngine(data, arena) as engine:
        for i, spec in enumerate(engine.inputs):
            if spec.dtype.kind == "f":
                engine.set_input(i, rng.standard_normal(spec.shape).astype(spec.dtype))
            else:
                info = np.iinfo(spec.dtype)
                engine.set_input(i, rng.integers(info.min, info.max + 1, spec.shape, spec.dtype))
        engine.invoke()
        return [engine.get_output(i) for i in range(len(engine.outputs))]


@pytest.mark.parametrize("name", MODELS)
def test_arena_used_is_exact(models_dir: Path, name: str) -> None:
    data = (models_dir / f"{name}.tflite").read_bytes()
    with HostEngine(data, 1 << 20) as engine:
        used = engine.arena_used
    for arena in (used - 16, used - 1):
        with pytest.raises(EngineError) as info:
            HostEngine(data, arena)
        assert need_of(info.value) == used
    for arena in (256, used // 2):
        with pytest.raises(EngineError) as info:
            HostEngine(data, arena)
        need = need_of(info.value)
        assert need >= used
        HostEngine(data, need).close()
    roomy = run(data, 1 << 20, seed=1)
    exact = run(data, used, seed=1)
    assert all(np.array_equal(a, b) for a, b in zip(roomy, exact, strict=True))
