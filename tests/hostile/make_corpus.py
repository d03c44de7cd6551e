"""Generate the hostile-model corpus: valid models from tests/model_builder.py,
then corrupted (truncations, bit flips, out-of-range indices, huge and
overflowing shapes, an operator writing its own input, empty and
non-flatbuffer files).

    python -m tests.hostile.make_corpus OUT_DIR

Each entry has the message hil must give, or None where the corruption may
leave a valid model (a bit flip in a weight): then any verdict is right, but
never a crash or a traceback.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

from tests.model_builder import ModelBuilder

OP = schema.BuiltinOperator


@dataclass(frozen=True)
class Hostile:
    name: str
    data: bytes
    #: a fragment of the one-line error hil must give; None: any verdict will do
    expect: str | None


def fc_relu_builder() -> ModelBuilder:
    """FULLY_CONNECTED [1,4] -> [1,3], then RELU: small, float, bit-exact on TFLM."""
    b = ModelBuilder()
    x = b.tensor((1, 4), np.float32, name="x")
    w = b.tensor((3, 4), np.float32, data=np.arange(12, dtype=np.float32) / 10, name="w")
    bias = b.tensor((3,), np.float32, data=np.zeros(3, np.float32), name="bias")
    h = b.tensor((1, 3), np.float32, name="h")
    y = b.tensor((1, 3), np.float32, name="y")
    b.operator(OP.FULLY_CONNECTED, [x, w, bias], [h], schema.BuiltinOptions.FullyConnectedOptions,
               schema.FullyConnectedOptionsT())  # fmt: skip
    b.operator(OP.RELU, [h], [y])
    b.inputs, b.outputs = [x], [y]
    return b


def good_model() -> bytes:
    return fc_relu_builder().build()


def _edited(edit: Callable[[ModelBuilder], None]) -> bytes:
    b = fc_relu_builder()
    edit(b)
    return b.build()


def _set(obj: object, attr: str, value: object) -> Callable[[ModelBuilder], None]:
    return lambda b: setattr(obj(b) if callable(obj) else obj, attr, value)


def _structural() -> list[Hostile]:
    def tensor(i: int) -> Callable[[ModelBuilder], schema.TensorT]:
        return lambda b: b.tensors[i]

    def op(i: int) -> Callable[[ModelBuilder], schema.OperatorT]:
        return lambda b: b.operators[i]

    def quantized_mismatch(b: ModelBuilder) -> None:
        q = schema.QuantizationParametersT()
        q.scale, q.zeroPoint = [0.5, 0.25], [0]
        b.tensors[0].quantization = q

    def external_buffer(b: ModelBuilder) -> None:
        buf = schema.BufferT()
        buf.offset, buf.size = 1 << 40, 48
        b.buffers[1] = buf

    def two_writers(b: ModelBuilder) -> None:
        b.operators[1].inputs, b.operators[1].outputs = [0], [3]

    def short_weights(b: ModelBuilder) -> None:
        b.buffers[1].data = b.buffers[1].data[:44]

    edits: list[tuple[str, Callable[[ModelBuilder], None], str]] = [
        (
            "weights_buffer_out_of_range",
            _set(tensor(1), "buffer", 99),
            "buffer index 99 out of range",
        ),
        ("input_buffer_huge", _set(tensor(0), "buffer", 2**31), "buffer index 2147483648 out of"),
        (
            "op_input_out_of_range",
            _set(op(0), "inputs", [0, 50, 2]),
            "input 1: tensor index 50 out",
        ),
        ("op_input_negative", _set(op(0), "inputs", [0, -2, 2]), "tensor index -2 out of range"),
        ("op_input_int_min", _set(op(1), "inputs", [-(2**31)]), "tensor index -2147483648"),
        ("op_output_out_of_range", _set(op(1), "outputs", [5]), "output 0: tensor index 5 out"),
        ("op_output_minus_one", _set(op(1), "outputs", [-1]), "tensor index -1 out of range"),
        (
            "graph_input_out_of_range",
            lambda b: setattr(b, "inputs", [7]),
            "subgraph 0 input 0: tensor index 7",
        ),
        (
            "graph_output_out_of_range",
            lambda b: setattr(b, "outputs", [4000]),
            "output 0: tensor index 4000",
        ),
        ("graph_output_negative", lambda b: setattr(b, "outputs", [-1]), "tensor index -1 out"),
        ("no_outputs", lambda b: setattr(b, "outputs", []), "subgraph 0 has no outputs"),
        ("opcode_out_of_range", _set(op(1), "opcodeIndex", 9), "opcode index 9 out of range"),
        ("opcode_huge", _set(op(0), "opcodeIndex", 2**32 - 1), "opcode index 4294967295"),
        (
            "huge_input_shape",
            _set(tensor(0), "shape", [65536, 65536]),
            "more than 67,108,864 bytes",
        ),
        ("huge_activation", _set(tensor(3), "shape", [1, 2**31 - 1]), "more than 67,108,864 bytes"),
        ("overflowing_shape", _set(tensor(0), "shape", [2**31 - 1] * 8), "more than 67,108,864"),
        (
            "overflow_to_zero_shape",
            _set(tensor(4), "shape", [65536, 65536, 65536, 65536]),
            "more than",
        ),
        ("negative_input_dim", _set(tensor(0), "shape", [1, -4]), "dimension 1 = -4"),
        ("dynamic_output_dim", _set(tensor(4), "shape", [-1, 3]), "dimension 0 = -1"),
        ("min_int_dim", _set(tensor(3), "shape", [-(2**31), 3]), "dimension 0 = -2147483648"),
        ("rank_9", _set(tensor(0), "shape", [1] * 9), "rank 9"),
        (
            "op_writes_own_input",
            _set(op(1), "outputs", [3]),
            "tensor 3 is both input 0 and output 0",
        ),
        (
            "fc_writes_own_input",
            _set(op(0), "outputs", [0]),
            "tensor 0 is both input 0 and output 0",
        ),
        ("two_writers", two_writers, "which operator 0 already writes"),
        ("short_weights", short_weights, "buffer 1 holds 44 bytes"),
        ("unknown_type", _set(tensor(4), "type", 99), "unknown type code 99"),
        ("scales_without_zero_points", quantized_mismatch, "2 scales but 1 zero points"),
        ("buffer_outside_file", external_buffer, "offset/size lie outside"),
    ]
    out = [Hostile(name, _edited(edit), expect) for name, edit, expect in edits]
    out.append(Hostile("no_subgraph", _model_object(subgraphs=[]), "the model has no subgraph"))
    out.append(
        Hostile("schema_version_2", _model_object(version=2), "schema version 2, expected 3")
    )
    return out


def _model_object(**fields: object) -> bytes:
    """The good model with top-level Model fields replaced."""
    import flatbuffers

    model = schema.ModelT.InitFromPackedBuf(good_model(), 0)
    for name, value in fields.items():
        setattr(model, name, value)
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _raw() -> list[Hostile]:
    rng = random.Random(18)
    good = good_model()
    return [
        Hostile("empty", b"", "0 bytes, too short"),
        Hostile("four_bytes", b"TFL3", "4 bytes, too short"),
        Hostile("text_file", b"this is not a model\n" * 8, "not a TFLite model"),
        Hostile("random_bytes", rng.randbytes(2048), "not a TFLite model"),
        Hostile("zip_header", b"PK\x03\x04" + rng.randbytes(200), "not a TFLite model"),
        Hostile("zeros_with_identifier", b"\0" * 4 + b"TFL3" + b"\0" * 1016, "vtable"),
        Hostile(
            "root_past_end", (1 << 20).to_bytes(4, "little") + good[4:], "root table: table at"
        ),
        Hostile(
            "root_negative_vtable",
            _put(good, int.from_bytes(good[:4], "little"), -(2**31)),
            "vtable of the table",
        ),
        Hostile("options_vtable_outside", _options_vtable_outside(), "builtin options: vtable"),
        Hostile("identifier_only", b"\x08\0\0\0TFL3", "root table"),
        Hostile("random_with_identifier", rng.randbytes(4) + b"TFL3" + rng.randbytes(500), None),
    ]


def _options_vtable_outside() -> bytes:
    """The FULLY_CONNECTED options table's vtable pointed far outside the file
    (found by tests/unit/test_host_model_fuzz.py in a shared model)."""
    data = good_model()
    options = schema.Model.GetRootAs(data, 0).Subgraphs(0).Operators(0).BuiltinOptions()
    return _put(data, options.Pos, -(2**30))


def _put(data: bytes, pos: int, value: int) -> bytes:
    return data[:pos] + value.to_bytes(4, "little", signed=True) + data[pos + 4 :]


def _truncations() -> list[Hostile]:
    good = good_model()
    n = len(good)
    points = sorted({8, 12, 16, 24, 32, 48, 64, 96, 128, n // 5, n // 4, n // 3, n // 2,
                     2 * n // 3, 3 * n // 4, 4 * n // 5, n - 64, n - 32, n - 16, n - 8, n - 4,
                     n - 1})  # fmt: skip
    return [Hostile(f"truncated_at_{p}", good[:p], "invalid model") for p in points]


def _bit_flips(count: int = 16) -> list[Hostile]:
    """Single bit flips, seeded: most hit structure (offsets, indices), some a
    weight or padding, which leaves a valid model."""
    rng = random.Random(2026)
    good = bytearray(good_model())
    out = []
    for i in range(count):
        flipped = bytearray(good)
        bit = rng.randrange(8, len(good) * 8)  # the identifier is checked on its own
        flipped[bit // 8] ^= 1 << (bit % 8)
        out.append(Hostile(f"bitflip_{i:02d}_byte{bit // 8}_bit{bit % 8}", bytes(flipped), None))
    return out


def corpus() -> list[Hostile]:
    """Every hostile model, in a fixed order (names are unique)."""
    return [*_structural(), *_raw(), *_truncations(), *_bit_flips()]


def write_corpus(out: Path) -> list[tuple[Path, Hostile]]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for h in corpus():
        path = out / f"{h.name}.tflite"
        path.write_bytes(h.data)
        written.append((path, h))
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    written = write_corpus(args.out)
    (args.out / "good.tflite").write_bytes(good_model())
    print(f"{len(written)} hostile models and good.tflite written to {args.out}")


if __name__ == "__main__":
    main()
