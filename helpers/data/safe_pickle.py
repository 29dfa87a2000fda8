"""Read the pickles DEAP and WESAD publish without letting a file run code.

``pickle.load`` calls whatever a file names (``os.system`` included), so a crafted ``s01.dat`` could run code on the
student's machine. These datasets only need numpy arrays inside plain containers; :class:`RestrictedUnpickler`
admits exactly the globals that numpy's own pickles use and refuses everything else before it is called, naming
the file and the refused global.

Both datasets were pickled by Python 2, so ``encoding="latin1"`` is the default (it is how numpy's arrays from
Python 2 come back as bytes-correct arrays).
"""
from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

from helpers.data.fetch import DataFormatError
from helpers.data.source import check_readable_file

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


class UnsafePickleError(DataFormatError):
    """A pickle asked for a global outside :data:`ALLOWED` (the message names the file and the global)."""


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that rebuilds numpy arrays and plain containers and refuses every other global."""

    def __init__(self, file: io.BufferedReader, *, source: str, encoding: str = "latin1") -> None:
        super().__init__(file, encoding=encoding)
        self.source = source

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in ALLOWED:
            raise UnsafePickleError(f"{self.source}: refuses to load {module}.{name}: this file asks to run code "
                                    "(or build objects) that a data file of this dataset never needs")
        # copyreg._reconstructor rebuilds objects of any class: only ever allowed with the classes above.
        return super().find_class(module, name)


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
    DataFormatError
        The file is not a pickle, or is truncated.
    """
    path = check_readable_file(Path(path))
    try:
        with open(path, "rb") as f:
            return RestrictedUnpickler(f, source=str(path), encoding=encoding).load()
    except UnsafePickleError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as err:
        raise DataFormatError(f"{path}: not a readable pickle, or truncated ({type(err).__name__}: {err})") from None
