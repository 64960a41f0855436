"""External kernels (``func.func private @name``) bound to npusim's kernels.

A call of an external kernel is bound by its name: first an exact entry of the user's map
(``--kernels map.yaml``), then the map's glob patterns (``"matmul_*"``), then the built-in
patterns ``matmul_*`` (a matmul) and ``zero_*`` (zeroing its buffer). An entry is one of:

- ``{kind: matmul}``: ``c += a @ b`` on the call's three buffers, npusim's matmul kernel timed
  by ``compute_tile.kernels``; ``m``, ``k``, ``n`` come from the buffers' 2-d shapes (or are
  given: ``{kind: matmul, m: 64, k: 32, n: 64}``), the type from ``a``'s elements; ``c`` holds the
  32-bit accumulators (``i32``, or ``f32`` for ``bf16``);
- ``{kind: zero}``: zeroes the call's buffer (vector stores, ``core_ops.vector_bytes`` a store);
- ``{kind: <vector operator>}`` (``add``, ``mul``, ``relu``, ``sigmoid``, ...): npusim's vector
  kernel on the call's buffers (inputs, then the output), timed by ``compute_tile.vector``;
- ``{cycles: N}``: a fixed cost; in functional mode the call changes nothing, and the run says so.

A call with no binding is an error naming the function and how to bind it.
"""
from __future__ import annotations

import fnmatch
import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..config import VectorKind, read_yaml
from ..isa import Code, Compute, Instruction, Stmt, Vector
from .dims import element_bytes
from .errors import MlirError
from .ir import Op
from .values import Value, View

if TYPE_CHECKING:
    from .core_lower import CoreLowering

_DTYPE = {"i8": "int8", "i16": "int16", "bf16": "bf16"}
_ACC = {"int8": "i32", "int16": "i32", "bf16": "f32"}
_UNARY = {"relu", "sigmoid", "tanh", "gelu", "softmax"}


class KernelBinding(BaseModel):
    """One entry of a kernel map."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: str | None = Field(None, description="matmul, zero, or a vector operator")
    cycles: Annotated[int, Field(ge=0)] | None = Field(None, description="a fixed cost per call")
    m: Annotated[int, Field(ge=1)] | None = None
    k: Annotated[int, Field(ge=1)] | None = None
    n: Annotated[int, Field(ge=1)] | None = None

    @model_validator(mode="after")
    def _one(self) -> "KernelBinding":
        kinds = ("matmul", "zero") + get_args(VectorKind)
        if (self.kind is None) == (self.cycles is None):
            raise ValueError("give either kind (matmul, zero or a vector operator) or cycles")
        if self.kind is not None and self.kind not in kinds:
            raise ValueError(f"kind {self.kind!r} is not one of {', '.join(kinds)}")
        return self


DEFAULTS = {"matmul_*": KernelBinding(kind="matmul"), "zero_*": KernelBinding(kind="zero")}


def load_kernel_map(path: str | Path) -> dict[str, KernelBinding]:
    """Read a kernel map YAML: ``name-or-pattern: {kind: ...}`` or ``{cycles: N}``."""
    data, _ = read_yaml(Path(path), "kernel map")  # npusim's one YAML reader: its limits and errors (ConfigError)
    if not isinstance(data, dict):
        raise MlirError(str(path), None, "a kernel map is a mapping: function name (or pattern) -> {kind: ...} or {cycles: N}")
    out = {}
    for name, entry in data.items():
        try:
            out[str(name)] = KernelBinding.model_validate(entry)
        except ValidationError as exc:
            msg = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'entry'}: {e['msg']}" for e in exc.errors())
            raise MlirError(str(path), None, f"{name}: {msg}") from None
    return out


class KernelBinder:
    def __init__(self, mapping: dict[str, KernelBinding]) -> None:
        self.mapping = mapping
        self.notes: list[str] = []

    def find(self, callee: str) -> KernelBinding | None:
        if callee in self.mapping:
            return self.mapping[callee]
        for table in (self.mapping, DEFAULTS):
            for pattern, binding in table.items():
                if fnmatch.fnmatchcase(callee, pattern):
                    return binding
        return None

    def bind(self, op: Op, callee: str, fn: Op, values: list[Value], low: "CoreLowering") -> list[Instruction]:
        rd = low.rd
        binding = self.find(callee)
        if binding is None:
            raise rd.fail(op, f"calls external kernel @{callee}, which has no binding; bind it in a --kernels map, e.g. "
                          f"'{callee}: {{cycles: 1000}}' or '{callee}: {{kind: matmul}}' (kinds: matmul, zero, add, mul, relu, ...)")
        views = [v for v in values if isinstance(v, View)]
        if binding.cycles is not None:
            note = (f"@{callee} is a fixed-cost call ({binding.cycles} cycles): in functional mode it leaves its "
                    "output buffers as they are")
            if note not in self.notes:
                self.notes.append(note)
            return [Code("code", (Stmt("call", cycles=binding.cycles, callee=callee),), callee)]
        if binding.kind == "zero":
            if len(views) != 1:
                raise rd.fail(op, f"@{callee} is bound as a zeroing kernel, which takes one buffer")
            v = views[0]
            nbytes = math.prod(v.shape) * element_bytes(v.elem)
            return [Code("code", (Stmt("fill", v.elem, (), (nbytes,), buffer=v.buffer, offset=v.offset),), callee)]
        if binding.kind == "matmul":
            return [self.matmul(op, callee, binding, views, low)]
        return [self.vector(op, callee, binding, views, low)]

    def matmul(self, op: Op, callee: str, b: KernelBinding, views: list[View], low: "CoreLowering") -> Compute:
        rd = low.rd
        if len(views) != 3:
            raise rd.fail(op, f"@{callee} is bound as a matmul, which takes three buffers (a, b, c); it gets {len(views)}")
        a, bm, c = views
        dtype = _DTYPE.get(a.elem)
        if dtype is None or bm.elem != a.elem:
            raise rd.fail(op, f"@{callee}: a matmul of {a.elem} x {bm.elem} is not one of npusim's (i8, i16, bf16 operands)")
        if c.elem != _ACC[dtype]:
            raise rd.fail(op, f"@{callee}: c holds {c.elem}, but npusim's {dtype} matmul accumulates in {_ACC[dtype]}; bind "
                          f"it with {{cycles: N}} instead, or use a kernel with {_ACC[dtype]} output")
        m = b.m or (a.shape[0] if len(a.shape) == 2 else None)
        k = b.k or (a.shape[1] if len(a.shape) == 2 else None)
        n = b.n or (bm.shape[1] if len(bm.shape) == 2 else None)
        if m is None or k is None or n is None:
            raise rd.fail(op, f"@{callee}: give m, k and n in the kernel map (its buffers are not 2-d)")
        if any(v.offset for v in views):
            raise rd.fail(op, f"@{callee}: npusim's matmul reads its operands from the start of their buffers")
        return Compute("compute", m, k, n, dtype, a.buffer, bm.buffer, c.buffer)  # type: ignore[arg-type]

    def vector(self, op: Op, callee: str, b: KernelBinding, views: list[View], low: "CoreLowering") -> Vector:
        rd = low.rd
        arity = 2 if b.kind in _UNARY else 3
        if len(views) != arity:
            raise rd.fail(op, f"@{callee} is bound as vector {b.kind}, which takes {arity} buffers (inputs, then the output)")
        x = views[0]
        dtype = _DTYPE.get(x.elem)
        if dtype is None:
            raise rd.fail(op, f"@{callee}: vector kernels run on i8, i16 or bf16 data, not {x.elem}")
        shape = (math.prod(x.shape),)
        return Vector("vector", b.kind, dtype, shape, tuple(v.buffer for v in views[:-1]),  # type: ignore[arg-type]
                      views[-1].buffer)


def describe(mapping: dict[str, Any]) -> str:
    return ", ".join(sorted(mapping))
