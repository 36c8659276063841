"""The messages between the checker and the learner's process: JSON plus raw NumPy arrays, never pickle.

Self-contained (standard library and NumPy only): the checker copies this file, with `stub.py` and
`confine.py`, into the learner's private folder, because the learner's process cannot import `labs`.

A message is  [u32 JSON length][u64 body length][JSON][body].  The JSON holds the message's fields and
`arrays`: one [dtype, shape] per array, whose raw C-order bytes follow one after another in the body.
A value (an argument, or what a learner's function returned) is encoded as JSON where JSON can say it:

    None, bool, int, float      as themselves          ndarray       {"a": i}  (the i-th array)
    NumPy scalar                {"g": i} (0-d array)   tuple, list   {"tuple": [...]}, {"list": [...]}
    str                         {"s": text}            anything else {"o": its type's name}

The reader trusts nothing it reads: sizes are capped, dtypes are limited to numbers and booleans, shapes
must match the bytes, and nesting is bounded. A malformed message raises `WireError`.
"""

from __future__ import annotations

import json
import os
import re
import struct

import numpy as np

HEADER = struct.Struct("<IQ")
MAX_JSON = 4 * 1024 * 1024
MAX_DEPTH = 8
MAX_ARRAYS = 4096
_DTYPE = re.compile(r"^[<>|=][biufc][1-9][0-9]?$")


class WireError(Exception):
    """A message that does not follow the format (a closed pipe is `EOFError`)."""


class Opaque:
    """A returned value that is not an array, number, string or sequence: only its type's name travels."""

    def __init__(self, type_name: str):
        self.type_name = type_name

    def __repr__(self) -> str:
        return f"<{self.type_name}>"


def opaque(type_name: str) -> Opaque:
    """An Opaque whose own type is named like the learner's value, so `type(x).__name__` reads 'dict'."""
    name = type_name if type_name.isidentifier() and len(type_name) <= 60 else "object"
    return type(name, (Opaque,), {})(type_name)


# -- encoding ----------------------------------------------------------------------------------------
def encode(value: object, arrays: list[np.ndarray], depth: int = 0) -> object:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, np.ndarray):
        return _array("a", value, arrays)
    if isinstance(value, np.generic):
        return _array("g", np.asarray(value), arrays)
    if isinstance(value, (int, float)):
        return value if type(value) in (int, float) else (int(value) if isinstance(value, int) else float(value))
    if isinstance(value, str):
        return {"s": value[:1000]}
    if isinstance(value, (tuple, list)) and depth < MAX_DEPTH and len(value) <= 256:
        key = "tuple" if isinstance(value, tuple) else "list"
        return {key: [encode(v, arrays, depth + 1) for v in value]}
    return {"o": type(value).__name__}


def _array(key: str, value: np.ndarray, arrays: list[np.ndarray]) -> object:
    if not _DTYPE.match(value.dtype.str) or len(arrays) >= MAX_ARRAYS:
        return {"o": f"ndarray of dtype {value.dtype}"}
    arrays.append(np.ascontiguousarray(value))
    return {key: len(arrays) - 1}


def write_message(fd: int, fields: dict, values: dict[str, object] | None = None) -> None:
    """Send `fields` (plain JSON) and `values` (encoded, see above) as one message on `fd`."""
    arrays: list[np.ndarray] = []
    body = dict(fields)
    for key, value in (values or {}).items():
        body[key] = encode(value, arrays)
    body["arrays"] = [[a.dtype.str, list(a.shape)] for a in arrays]
    text = json.dumps(body).encode("utf-8")
    chunks = [a.tobytes() for a in arrays]
    # one write per message: a training step's arrays cross the pipe with as few wake-ups as possible
    _write_all(fd, b"".join([HEADER.pack(len(text), sum(len(c) for c in chunks)), text, *chunks]))


def _write_all(fd: int, data) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


# -- decoding ----------------------------------------------------------------------------------------
def read_message(fd: int, max_body: int) -> tuple[dict, list[np.ndarray]]:
    """One message from `fd`: its JSON fields and its arrays (writable). EOFError when the pipe closed."""
    head = _read_exact(fd, HEADER.size)
    json_len, body_len = HEADER.unpack(head)
    if json_len > MAX_JSON or body_len > max_body:
        raise WireError(f"a message of {json_len + body_len} bytes is larger than allowed")
    try:
        fields = json.loads(_read_exact(fd, json_len).decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        raise WireError(f"not a JSON message ({type(exc).__name__})") from None
    if not isinstance(fields, dict):
        raise WireError("a message must be a JSON object")
    specs = fields.get("arrays", [])
    if not isinstance(specs, list) or len(specs) > MAX_ARRAYS:
        raise WireError("bad array list")
    sizes = []
    for spec in specs:
        dtype, shape = _array_spec(spec)
        sizes.append((dtype, shape, dtype.itemsize * int(np.prod(shape, dtype=np.int64))))
    if sum(s[2] for s in sizes) != body_len:
        raise WireError("the arrays' sizes do not add up to the message's body")
    body = bytearray(body_len)
    _read_into(fd, memoryview(body))
    arrays, offset = [], 0
    for dtype, shape, nbytes in sizes:
        count = nbytes // dtype.itemsize
        arrays.append(np.frombuffer(body, dtype, count, offset).reshape(shape) if nbytes else np.zeros(shape, dtype))
        offset += nbytes
    return fields, arrays


def _array_spec(spec: object) -> tuple[np.dtype, tuple[int, ...]]:
    if not (isinstance(spec, list) and len(spec) == 2 and isinstance(spec[0], str) and _DTYPE.match(spec[0])
            and isinstance(spec[1], list) and len(spec[1]) <= 32
            and all(type(n) is int and 0 <= n < 2**40 for n in spec[1])):
        raise WireError(f"bad array description {str(spec)[:80]}")
    return np.dtype(spec[0]), tuple(spec[1])


def _read_exact(fd: int, n: int) -> bytes:
    buffer = bytearray(n)
    _read_into(fd, memoryview(buffer))
    return bytes(buffer)


def _read_into(fd: int, view: memoryview) -> None:
    while view:
        got = os.readv(fd, [view])
        if not got:
            raise EOFError("the other side closed the pipe")
        view = view[got:]


def decode(value: object, arrays: list[np.ndarray], depth: int = 0) -> object:
    """The value that `encode` described; WireError for anything it could not have written."""
    if value is None or type(value) in (bool, int, float):
        return value
    if not isinstance(value, dict) or len(value) != 1 or depth > MAX_DEPTH:
        raise WireError("bad value")
    (key, inner), = value.items()
    if key in ("a", "g"):
        if type(inner) is not int or not 0 <= inner < len(arrays):
            raise WireError("bad array index")
        return arrays[inner] if key == "a" else arrays[inner][()]
    if key in ("tuple", "list") and isinstance(inner, list):
        items = [decode(v, arrays, depth + 1) for v in inner]
        return tuple(items) if key == "tuple" else items
    if key == "s" and isinstance(inner, str):
        return inner
    if key == "o" and isinstance(inner, str):
        return opaque(inner[:80])
    raise WireError("bad value")
