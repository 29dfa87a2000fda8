"""Bytes as a C array: how a model (or any blob) travels to a board without a file system."""

from __future__ import annotations


def c_array(data: bytes, name: str, *, ctype: str = "unsigned char", align: int = 16, per_line: int = 12) -> str:
    """C source defining ``const <ctype> name[]`` and ``const unsigned int name_len``.

    Parameters
    ----------
    data : bytes
    name : str
        A C identifier.
    ctype : str
        Element type (``"unsigned char"`` for a flatbuffer, ``"int8_t"`` for int8 data given as bytes).
    align : int
        Byte alignment of the array: TFLM reads the flatbuffer in place and needs 16.
    per_line : int
        Values per source line.

    Returns
    -------
    str
        ``alignas`` is C++11/C11; the array is ``const`` so the linker puts it in flash (.rodata), not RAM.
    """
    if not name.isidentifier():
        raise ValueError(f"name must be a C identifier, got {name!r}")
    signed = ctype in ("int8_t", "signed char")
    values = [b - 256 if signed and b > 127 else b for b in data]
    lines = [", ".join(f"{v:d}" if signed else f"0x{v:02x}" for v in values[i:i + per_line])
             for i in range(0, len(values), per_line)]
    body = ",\n  ".join(lines)
    return (f"alignas({align}) const {ctype} {name}[] = {{\n  {body}\n}};\n"
            f"const unsigned int {name}_len = {len(data)};\n")
