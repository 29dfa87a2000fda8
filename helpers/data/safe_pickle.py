"""Read the pickles DEAP and WESAD publish without letting a file run code.

``pickle.load`` calls whatever a file names (``os.system`` included), so a crafted ``s01.dat`` could run code on the
student's machine. These datasets only need numpy arrays inside plain containers; :class:`RestrictedUnpickler`
admits exactly the globals that numpy's own pickles use and refuses everything else before it is called, naming
the file and the refused global.

Admitting only numpy's globals is not enough: ``bytearray(3_000_000_000)`` and ``numpy.ndarray((10**10,))`` are
numpy's and Python's own constructors, and a 32-byte file can ask for gigabytes through them. Every call a pickle
makes (REDUCE, NEWOBJ, INST/OBJ, and the BUILD that fills an array) is therefore priced before it runs: the bytes it
would allocate from its *arguments* (a size, a shape times an item size) are added up, and a file may ask for at
most :data:`ALLOC_FACTOR` times its own size plus :data:`ALLOC_FLOOR`. A genuine pickle stores its arrays' bytes
in the file, so it never comes near the limit; a bomb is refused naming the file, the call and the sizes, having
allocated nothing large. To see each call, the pure-Python unpickler (``pickle._Unpickler``) is used: the C one
calls constructors without a hook. The large arrays of DEAP and WESAD are single opcodes, so it is not slower in
practice.

Both datasets were pickled by Python 2, so ``encoding="latin1"`` is the default (it is how numpy's arrays from
Python 2 come back as bytes-correct arrays).
"""
from __future__ import annotations

import copyreg
import io
import math
import pickle
import reprlib
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from helpers.data.errors import (
    DamagedFileError,
    DataFormatError,
    ResourceLimitError,
    check_readable_file,
)

# (module, name) pairs numpy arrays, dtypes and scalars are rebuilt from, under numpy 1.x and 2.x module names;
# plus the plain containers pickles of Python 2 and 3 name explicitly.
ALLOWED: frozenset[tuple[str, str]] = frozenset({
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
    ("collections", "OrderedDict"),
    ("builtins", "dict"), ("builtins", "list"), ("builtins", "tuple"), ("builtins", "set"),
    ("builtins", "frozenset"), ("builtins", "bytearray"), ("builtins", "complex"),
    ("__builtin__", "dict"), ("__builtin__", "list"), ("__builtin__", "tuple"), ("__builtin__", "set"),
    ("copy_reg", "_reconstructor"), ("copyreg", "_reconstructor"),
    ("__builtin__", "object"), ("builtins", "object"),
    # Python 3 writes bytes in protocol 2 as _codecs.encode(text, "latin1"): it only turns text into bytes.
    ("_codecs", "encode"),
})


ALLOC_FACTOR = 2            # a pickle may allocate from arguments at most twice its own size ...
ALLOC_FLOOR = 1 << 20       # ... plus 1 MiB (empty arrays, scalars and dtypes of a small file)


class UnsafePickleError(DataFormatError):
    """A pickle asked for a global outside :data:`ALLOWED` (the message names the file and the global)."""


class PickleBombError(UnsafePickleError, ResourceLimitError):
    """A pickle asked to allocate more memory than its size justifies (the message names the file and the call)."""


def _count(shape: object) -> int:
    """Number of elements of a numpy shape argument (an int or a sequence of ints); 0 when it is not one."""
    dims = (shape,) if isinstance(shape, int) else shape
    if not isinstance(dims, (tuple, list)) or not all(isinstance(d, int) for d in dims):
        return 0  # numpy refuses it itself, before allocating
    return math.prod(abs(d) for d in dims)


def _itemsize(dtype: object) -> int:
    try:
        return np.dtype(dtype).itemsize if dtype is not None else 8  # numpy's default dtype is float64
    except (TypeError, ValueError):
        return 0  # numpy refuses it when the array is built


try:  # numpy 2 (numpy.core.multiarray is an alias that names the same functions)
    from numpy._core.multiarray import _reconstruct, scalar
except ImportError:  # numpy 1.x
    from numpy.core.multiarray import _reconstruct, scalar


def allocation(func: object, args: tuple, kwargs: dict | None = None) -> int:
    """Bytes that calling ``func(*args, **kwargs)`` would allocate from its arguments (not from data in the file).

    ``bytearray(n)``, ``bytes(n)``: ``n``; ``ndarray(shape, dtype)`` without a buffer and numpy's
    ``_reconstruct(cls, shape, dtype)``: elements times item size; ``scalar(dtype, ...)``: the item size;
    ``copyreg._reconstructor(cls, base, state)``: what ``base(state)`` would allocate. Everything else admitted by
    :data:`ALLOWED` builds from values already in the file: 0.
    """
    kwargs = kwargs or {}
    if func in (bytearray, bytes):
        return args[0] if args and isinstance(args[0], int) else 0
    if func is copyreg._reconstructor and len(args) == 3:
        return allocation(args[1], (args[2],))
    if isinstance(func, type) and issubclass(func, np.ndarray):
        if kwargs.get("buffer") is not None or len(args) > 2:
            return 0  # a view of a buffer that is already in memory
        shape = args[0] if args else kwargs.get("shape", 0)
        return _count(shape) * _itemsize(args[1] if len(args) > 1 else kwargs.get("dtype"))
    if func is _reconstruct and len(args) >= 3:
        return _count(args[1]) * _itemsize(args[2])
    if func is scalar and args:
        return _itemsize(args[0])
    return 0


class RestrictedUnpickler(pickle._Unpickler):
    """Rebuilds numpy arrays and plain containers, refuses every other global and every oversized allocation.

    Parameters
    ----------
    file : binary file
        The open pickle.
    source : str
        The file's name, for errors.
    size : int
        The file's size in bytes: its calls may allocate ``ALLOC_FACTOR * size + ALLOC_FLOOR`` bytes in total.
    encoding : str
        How Python 2 ``str`` objects are decoded.
    """

    dispatch: ClassVar[dict] = dict(pickle._Unpickler.dispatch)

    def __init__(self, file: io.BufferedReader, *, source: str, size: int, encoding: str = "latin1") -> None:
        super().__init__(file, encoding=encoding)
        self.source, self.size, self.allocated = source, size, 0
        self.limit = ALLOC_FACTOR * size + ALLOC_FLOOR

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in ALLOWED:
            raise UnsafePickleError(f"{self.source}: refuses to load {module}.{name}: this file asks to run code "
                                    "(or build objects) that a data file of this dataset never needs")
        # copyreg._reconstructor rebuilds objects of any class: only ever allowed with the classes above.
        return super().find_class(module, name)

    def _admit(self, func: object, args: tuple, kwargs: dict | None = None) -> None:
        """Add what the call would allocate to the running total; refuse it past :attr:`limit`."""
        need = allocation(func, args, kwargs)
        if need and self.allocated + need > self.limit:
            what = getattr(func, "__qualname__", type(func).__name__)
            shown = ", ".join(reprlib.repr(a) for a in args)
            raise PickleBombError(
                f"{self.source}: refuses to build {what}({shown}), which would allocate {need:,} bytes: a file of "
                f"{self.size:,} bytes may allocate at most {self.limit:,} (a real data file stores its arrays' bytes "
                "in itself); the file is crafted or corrupt")
        self.allocated += need

    def load_reduce(self) -> None:
        args = self.stack.pop()
        self._admit(self.stack[-1], args)
        self.stack[-1] = self.stack[-1](*args)
    dispatch[pickle.REDUCE[0]] = load_reduce

    def load_newobj(self) -> None:
        args = self.stack.pop()
        cls = self.stack.pop()
        self._admit(cls, args)
        self.append(cls.__new__(cls, *args))
    dispatch[pickle.NEWOBJ[0]] = load_newobj

    def load_newobj_ex(self) -> None:
        kwargs = self.stack.pop()
        args = self.stack.pop()
        cls = self.stack.pop()
        self._admit(cls, args, kwargs)
        self.append(cls.__new__(cls, *args, **kwargs))
    dispatch[pickle.NEWOBJ_EX[0]] = load_newobj_ex

    def _instantiate(self, klass: Any, args: list) -> None:
        self._admit(klass, tuple(args))
        super()._instantiate(klass, args)

    def load_build(self) -> None:
        state, inst = self.stack[-1], self.stack[-2]
        if isinstance(inst, np.ndarray) and isinstance(state, tuple) and len(state) in (4, 5):
            shape, dtype = state[-4], state[-3]  # (version,) shape, dtype, is_fortran, raw data
            self._admit(np.ndarray, (shape, dtype))
        super().load_build()
    dispatch[pickle.BUILD[0]] = load_build


def load(path: Path | str, *, encoding: str = "latin1") -> Any:
    """Unpickle ``path`` with :class:`RestrictedUnpickler`.

    Parameters
    ----------
    path : path-like
        The pickle (e.g. DEAP's ``s01.dat``, WESAD's ``S2.pkl``).
    encoding : str
        How Python 2 ``str`` objects are decoded (``"latin1"`` keeps numpy's byte buffers intact).

    Returns
    -------
    object
        Plain containers holding numpy arrays, numbers and strings.

    Raises
    ------
    UnsafePickleError
        The file names a global that is not a numpy array constructor or a plain container.
    PickleBombError
        The file asks to allocate more than :data:`ALLOC_FACTOR` times its size plus :data:`ALLOC_FLOOR`.
    DataFormatError
        The file is not a pickle, or is truncated.
    """
    path = check_readable_file(Path(path))
    size = path.stat().st_size
    try:
        with open(path, "rb") as f:
            return RestrictedUnpickler(f, source=str(path), size=size, encoding=encoding).load()
    except UnsafePickleError:
        raise
    except MemoryError:
        raise ResourceLimitError(f"{path}: asks for more memory than this machine has; the file is crafted or "
                                 "corrupt") from None
    except RecursionError:
        raise DataFormatError(f"{path}: nested too deeply to be a data file (crafted or corrupt)") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError,
            OverflowError) as err:
        raise DamagedFileError(path, f"not a readable pickle, or truncated ({type(err).__name__}: {err})") from None
