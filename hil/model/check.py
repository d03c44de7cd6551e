"""Validate a TFLite model's bytes before anything else reads them.

hil's own bounds-checked reader, held to the checks of the device's C reader
(firmware/engine/flatbuf.c, model.c, which is fuzzed): every offset, vtable,
vector and string lies inside the file; buffer, tensor and opcode indices are in
range; shapes are static with non-negative dimensions and a byte size within
MAX_TENSOR_BYTES, computed before anything is allocated; constant data covers
its tensor exactly; no operator writes its own input or a tensor another
operator writes. Anything else raises InvalidModelError naming what and where,
so that TFLM's or LiteRT's host interpreters, the flatbuffers-generated schema
reader and numpy never see a malformed model.

Field ids follow the declaration order of TFLite's schema.fbs (the vtable slot
of field id n is 4 + 2 * n), as in the C reader.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from hil.errors import InvalidModelError

SCHEMA_VERSION = 3
IDENTIFIER = b"TFL3"
#: Larger than the RAM of any Cortex-M board hil drives; keeps a hostile shape
#: from making the host allocate gigabytes for its input vectors.
MAX_TENSOR_BYTES = 64 * 1024 * 1024
#: Flatbuffers address at most 2 GiB; a microcontroller's flash far less.
MAX_MODEL_BYTES = 256 * 1024 * 1024
MAX_RANK = 8

# TensorType code -> bits per element (0: no fixed size, e.g. STRING, RESOURCE)
TYPE_BITS = {
    0: 32, 1: 16, 2: 32, 3: 8, 4: 64, 5: 0, 6: 8, 7: 16, 8: 64, 9: 8, 10: 64, 11: 128,
    12: 64, 13: 0, 14: 0, 15: 32, 16: 16, 17: 4, 18: 16, 19: 2, 20: 4, 21: 8, 22: 8,
}  # fmt: skip

MODEL_VERSION, MODEL_OPCODES, MODEL_SUBGRAPHS, MODEL_BUFFERS = 0, 1, 2, 4
OPCODE_CUSTOM = 1
SG_TENSORS, SG_INPUTS, SG_OUTPUTS, SG_OPERATORS, SG_NAME = 0, 1, 2, 3, 4
T_SHAPE, T_TYPE, T_BUFFER, T_NAME, T_QUANT, T_VARIABLE, T_SIGNATURE = 0, 1, 2, 3, 4, 5, 7
Q_MIN, Q_MAX, Q_SCALE, Q_ZERO_POINT = 0, 1, 2, 3
OP_OPCODE, OP_INPUTS, OP_OUTPUTS, OP_INTERMEDIATES = 0, 1, 2, 8
# (type field, value field) of the two builtin options unions
OP_OPTION_UNIONS = ((3, 4), (11, 12))
OP_CUSTOM_OPTIONS = 5
B_DATA, B_OFFSET, B_SIZE = 0, 1, 2


@dataclass(frozen=True)
class CheckedTensor:
    """What the checks established about one tensor."""

    type: int
    shape: tuple[int, ...]
    nbytes: int  # 0 for types without a fixed element size
    buffer: int
    constant: bool


@dataclass(frozen=True)
class CheckedModel:
    """A model that passed every check: counts the rest of hil may rely on."""

    size: int
    subgraphs: tuple[tuple[CheckedTensor, ...], ...]
    operators: int
    buffers: int


class _Table:
    __slots__ = ("pos", "size", "vsize", "vtab", "what")

    def __init__(self, pos: int, vtab: int, vsize: int, size: int, what: str) -> None:
        self.pos, self.vtab, self.vsize, self.size, self.what = pos, vtab, vsize, size, what


class _Reader:
    """Bounds-checked reads of flatbuffer primitives; every failure raises."""

    def __init__(self, data: bytes, source: str) -> None:
        self.data = data
        self.size = len(data)
        self.source = source

    def fail(self, text: str) -> InvalidModelError:
        return InvalidModelError(f"{self.source}: invalid model: {text}")

    def _fits(self, pos: int, n: int) -> bool:
        return pos >= 0 and n >= 0 and pos + n <= self.size

    def u16(self, pos: int) -> int:
        return int(struct.unpack_from("<H", self.data, pos)[0])

    def u32(self, pos: int) -> int:
        return int(struct.unpack_from("<I", self.data, pos)[0])

    def table(self, pos: int, what: str) -> _Table:
        if not self._fits(pos, 4):
            raise self.fail(f"{what}: table at byte {pos} is outside the {self.size}-byte file")
        vtab = pos - struct.unpack_from("<i", self.data, pos)[0]
        if not self._fits(vtab, 4):
            raise self.fail(f"{what}: vtable of the table at byte {pos} is out of bounds")
        vsize, size = self.u16(vtab), self.u16(vtab + 2)
        if vsize < 4 or vsize % 2 or not self._fits(vtab, vsize):
            raise self.fail(f"{what}: bad vtable size {vsize} for the table at byte {pos}")
        if size < 4 or not self._fits(pos, size):
            raise self.fail(f"{what}: table at byte {pos} ({size} bytes) overruns the file")
        return _Table(pos, vtab, vsize, size, what)

    def field(self, t: _Table, field: int, width: int) -> int | None:
        """Position of a scalar or offset field, or None when it is absent."""
        slot = 4 + 2 * field
        if slot + 2 > t.vsize:
            return None
        rel = self.u16(t.vtab + slot)
        if rel == 0:
            return None
        if rel + width > t.size:
            raise self.fail(f"{t.what}: field {field} does not fit its {t.size}-byte table")
        return t.pos + rel

    def scalar(self, t: _Table, field: int, fmt: str, default: int) -> int:
        pos = self.field(t, field, struct.calcsize(fmt))
        return default if pos is None else int(struct.unpack_from("<" + fmt, self.data, pos)[0])

    def _follow(self, pos: int, what: str) -> int:
        target = pos + self.u32(pos)
        if not self._fits(target, 4):
            raise self.fail(
                f"{what}: offset at byte {pos} points outside the {self.size}-byte file"
            )
        return target

    def sub_table(self, t: _Table, field: int, what: str) -> _Table | None:
        pos = self.field(t, field, 4)
        return None if pos is None else self.table(self._follow(pos, what), what)

    def vector(self, t: _Table, field: int, elem: int, what: str) -> tuple[int, int]:
        """(position of element 0, length); (0, 0) when absent."""
        pos = self.field(t, field, 4)
        if pos is None:
            return 0, 0
        start = self._follow(pos, what)
        length = self.u32(start)
        if length * elem > self.size - start - 4:
            raise self.fail(
                f"{what}: vector of {length} x {elem} bytes at byte {start} overruns the "
                f"{self.size}-byte file"
            )
        return start + 4, length

    def ints(self, t: _Table, field: int, what: str) -> tuple[int, ...]:
        pos, length = self.vector(t, field, 4, what)
        return struct.unpack_from(f"<{length}i", self.data, pos) if length else ()

    def tables(self, t: _Table, field: int, what: str) -> list[_Table]:
        pos, length = self.vector(t, field, 4, what)
        return [self.table(self._follow(pos + 4 * i, what), f"{what}[{i}]") for i in range(length)]

    def string(self, t: _Table, field: int, what: str) -> None:
        pos, length = self.vector(t, field, 1, what)
        if pos and (not self._fits(pos, length + 1) or self.data[pos + length] != 0):
            raise self.fail(f"{what}: string at byte {pos} is not NUL-terminated")


def _tensor_bytes(r: _Reader, where: str, shape: tuple[int, ...], bits: int) -> int:
    """Byte size of a shape, refused as soon as the running product passes the limit
    (so an overflowing shape never reaches a multiplication that would wrap in C)."""
    if len(shape) > MAX_RANK:
        raise r.fail(f"{where} has rank {len(shape)} (at most {MAX_RANK})")
    elements = 1
    for d, dim in enumerate(shape):
        if dim < 0:
            raise r.fail(f"{where} has dimension {d} = {dim}; shapes must be static and >= 0")
    for dim in shape:
        elements *= dim
        if elements * max(bits, 8) > MAX_TENSOR_BYTES * 8:
            raise r.fail(
                f"{where} has shape {list(shape)}: more than {MAX_TENSOR_BYTES:,} bytes "
                f"(hil's limit per tensor)"
            )
    return (elements * bits + 7) // 8


def _buffer_bytes(r: _Reader, buf: _Table, index: int) -> int:
    offset = r.scalar(buf, B_OFFSET, "Q", 0)
    size = r.scalar(buf, B_SIZE, "Q", 0)
    if offset > 1:  # data outside the flatbuffer (models over 2 GB); 1 means "unset"
        if offset > r.size or size > r.size - offset:
            raise r.fail(f"buffer {index}: offset/size lie outside the {r.size}-byte file")
        return size
    return r.vector(buf, B_DATA, 1, f"buffer {index} data")[1]


def _check_tensor(
    r: _Reader, t: _Table, where: str, buffers: list[_Table], buffer_sizes: dict[int, int]
) -> CheckedTensor:
    code = r.scalar(t, T_TYPE, "b", 0)
    if code not in TYPE_BITS:
        raise r.fail(f"{where} has unknown type code {code}")
    shape = r.ints(t, T_SHAPE, f"{where} shape")
    r.ints(t, T_SIGNATURE, f"{where} shape_signature")  # may hold -1: only bounds
    r.string(t, T_NAME, f"{where} name")
    nbytes = _tensor_bytes(r, where, shape, TYPE_BITS[code])
    buffer = r.scalar(t, T_BUFFER, "I", 0)
    if buffer >= len(buffers) and not (buffer == 0 and not buffers):
        raise r.fail(f"{where}: buffer index {buffer} out of range ({len(buffers)} buffers)")
    quant = r.sub_table(t, T_QUANT, f"{where} quantization")
    if quant is not None:
        r.vector(quant, Q_MIN, 4, f"{where} quantization min")
        r.vector(quant, Q_MAX, 4, f"{where} quantization max")
        scales = r.vector(quant, Q_SCALE, 4, f"{where} quantization scale")[1]
        zero_points = r.vector(quant, Q_ZERO_POINT, 8, f"{where} quantization zero_point")[1]
        if scales and zero_points and scales != zero_points:
            raise r.fail(f"{where}: {scales} scales but {zero_points} zero points")
    variable = r.scalar(t, T_VARIABLE, "B", 0) != 0
    constant = False
    if buffers and not variable:  # variable tensors start from zeros: data never read
        if buffer not in buffer_sizes:
            buffer_sizes[buffer] = _buffer_bytes(r, buffers[buffer], buffer)
        held = buffer_sizes[buffer]
        constant = held > 0
        if constant and TYPE_BITS[code] and held != nbytes:
            raise r.fail(
                f"{where}: buffer {buffer} holds {held:,} bytes, its shape {list(shape)} "
                f"and type need {nbytes:,}"
            )
    return CheckedTensor(code, shape, nbytes, buffer, constant)


def _check_indices(
    r: _Reader, indices: tuple[int, ...], lowest: int, count: int, where: str
) -> None:
    for i, index in enumerate(indices):
        if index < lowest or index >= count:
            raise r.fail(f"{where} {i}: tensor index {index} out of range ({count} tensors)")


def _check_subgraph(
    r: _Reader,
    sg: _Table,
    s: int,
    opcodes: int,
    buffers: list[_Table],
    buffer_sizes: dict[int, int],
) -> tuple[tuple[CheckedTensor, ...], int]:
    r.string(sg, SG_NAME, f"subgraph {s} name")
    tensors = tuple(
        _check_tensor(r, t, f"subgraph {s} tensor {i}", buffers, buffer_sizes)
        for i, t in enumerate(r.tables(sg, SG_TENSORS, f"subgraph {s} tensors"))
    )
    count = len(tensors)
    inputs = r.ints(sg, SG_INPUTS, f"subgraph {s} inputs")
    outputs = r.ints(sg, SG_OUTPUTS, f"subgraph {s} outputs")
    _check_indices(r, inputs, 0, count, f"subgraph {s} input")
    _check_indices(r, outputs, 0, count, f"subgraph {s} output")
    if s == 0 and not outputs:
        raise r.fail("subgraph 0 has no outputs")
    writer: dict[int, int] = {}
    operators = r.tables(sg, SG_OPERATORS, f"subgraph {s} operators")
    for o, op in enumerate(operators):
        where = f"subgraph {s} operator {o}"
        opcode = r.scalar(op, OP_OPCODE, "I", 0)
        if opcode >= opcodes:
            raise r.fail(f"{where}: opcode index {opcode} out of range ({opcodes} operator codes)")
        op_in = r.ints(op, OP_INPUTS, f"{where} inputs")
        op_out = r.ints(op, OP_OUTPUTS, f"{where} outputs")
        _check_indices(r, op_in, -1, count, f"{where} input")  # -1: optional input left out
        _check_indices(r, op_out, 0, count, f"{where} output")
        _check_indices(r, r.ints(op, OP_INTERMEDIATES, f"{where} intermediates"), 0, count,
                       f"{where} intermediate")  # fmt: skip
        for type_field, value_field in OP_OPTION_UNIONS:
            if r.scalar(op, type_field, "B", 0):
                r.sub_table(op, value_field, f"{where} builtin options")
        r.vector(op, OP_CUSTOM_OPTIONS, 1, f"{where} custom options")
        for j, index in enumerate(op_out):
            if index in op_in:
                raise r.fail(
                    f"{where}: tensor {index} is both input {op_in.index(index)} and output {j}"
                )
            if index in writer:
                raise r.fail(
                    f"{where}: output {j} is tensor {index}, which operator {writer[index]} "
                    "already writes"
                )
            writer[index] = o
    return tensors, len(operators)


def check_model(data: bytes, source: str = "model") -> CheckedModel:
    """Raise InvalidModelError (one line naming what is wrong and where) unless
    `data` is a structurally sound TFLite model; `source` names it in messages."""
    r = _Reader(data, source)
    if len(data) > MAX_MODEL_BYTES:
        raise r.fail(f"{len(data):,} bytes is more than {MAX_MODEL_BYTES:,} (hil's limit)")
    if len(data) < 8:
        raise r.fail(f"the file is {len(data)} bytes, too short for a TFLite flatbuffer")
    if data[4:8] != IDENTIFIER:
        raise r.fail(f"not a TFLite model: expected {IDENTIFIER!r} at byte 4, found {data[4:8]!r}")
    root = r.table(r.u32(0), "root table")
    version = r.scalar(root, MODEL_VERSION, "I", 0)
    if version != SCHEMA_VERSION:
        raise r.fail(f"schema version {version}, expected {SCHEMA_VERSION}")
    opcodes = r.tables(root, MODEL_OPCODES, "operator codes")
    for i, code in enumerate(opcodes):
        r.string(code, OPCODE_CUSTOM, f"operator code {i} custom_code")
    buffers = r.tables(root, MODEL_BUFFERS, "buffers")
    subgraph_tables = r.tables(root, MODEL_SUBGRAPHS, "subgraphs")
    if not subgraph_tables:
        raise r.fail("the model has no subgraph")
    sizes: dict[int, int] = {}
    subgraphs, operators = [], 0
    for s, sg in enumerate(subgraph_tables):
        tensors, ops = _check_subgraph(r, sg, s, len(opcodes), buffers, sizes)
        subgraphs.append(tensors)
        operators += ops
    return CheckedModel(len(data), tuple(subgraphs), operators, len(buffers))
