"""The grader's side of the kernel link: a request/reply channel and proxies for objects that stay in the kernel.

:class:`KernelLink` sends one JSON request (``kernel_rpc``'s protocol) through a transport that the grader
provides (``trusted_execute``: ``user_expressions`` of the sandboxed kernel; the unit tests: a direct call) and
validates the reply. :class:`RemoteProxy` stands for a kernel object that is not plain data (a function, a model,
a generator, a tensor in an autograd graph): attribute access, calls, indexing, iteration and ``len`` go to the
kernel and return data or new proxies; comparisons, ``bool``, arithmetic, ``float`` and ``np.asarray`` first fetch
the value as data and compute here, so the kernel never evaluates a comparison or an assertion.

A reply that is not in the protocol raises :class:`KernelReplyError`, a ``BaseException`` so that no
``except Exception`` in a test can swallow it: the test fails and the submission is flagged.
"""
from __future__ import annotations

import builtins
import importlib
import json
import sys
import time
from collections.abc import Callable
from typing import Any

import rpc_codec

# Top-level packages whose classes a proxy's ``__class__`` may name (for isinstance(proxy, nn.Module)); a module
# outside these is used only if the grader imported it already. Nothing the kernel names is imported otherwise.
STAND_IN_PACKAGES = frozenset({"torch", "numpy", "pandas", "sklearn", "helpers"})


class KernelReplyError(BaseException):
    """The kernel's reply is malformed (the link was tampered with, or broke): the test fails, flagged."""


class KernelTimeout(BaseException):
    """The kernel did not answer within the test cell's time limit."""


class KernelLink:
    """Requests to the kernel's ``_course_rpc`` module.

    Parameters
    ----------
    transport : callable (message: str, timeout_s: float) -> str or None
        Sends the JSON request and returns the JSON reply, or None when none came within ``timeout_s``.
    """

    def __init__(self, transport: Callable[[str, float], str | None]):
        self.transport = transport
        self.deadline: float | None = None   # time.monotonic() by which the current test cell must end
        self.generation = 0                  # bumped when the kernel is replaced: older proxies are gone
        self.problems: list[str] = []        # malformed replies, for the grading status
        self.requests, self.request_s = 0, 0.0  # how many requests, and the seconds spent waiting on them

    def request(self, payload: dict) -> Any:
        remaining = 600.0 if self.deadline is None else self.deadline - time.monotonic()
        if remaining <= 0:
            raise KernelTimeout("the test cell ran out of time waiting for the kernel")
        started = time.monotonic()
        try:
            text = self.transport(json.dumps(payload), remaining)
        finally:
            self.requests += 1
            self.request_s += time.monotonic() - started
        if text is None:
            raise KernelTimeout("the kernel did not answer within the test cell's time limit")
        return self._reply(text)

    def _reply(self, text: Any) -> Any:
        if not isinstance(text, str) or len(text) > rpc_codec.MAX_BYTES:
            self._bad("a reply that is not text, or over the size limit")
        try:
            reply = json.loads(text)
        except (ValueError, RecursionError):
            self._bad("a reply that is not JSON (or nested too deeply)")
        if type(reply) is not dict:
            self._bad("a reply that is not a JSON object")
        if "ok" in reply:
            try:
                return rpc_codec.decode(reply["ok"], self._proxy)
            except (rpc_codec.CodecError, TypeError, ValueError, ImportError) as error:
                self._bad(f"a value that is not in the format ({error})")
        if reply.get("stop") is True:
            raise StopIteration
        if type(reply.get("error")) is dict:
            raise remote_exception(reply["error"])
        self._bad("a reply with neither a value nor an error")

    def _bad(self, what: str):
        message = f"the kernel sent {what}"
        self.problems.append(message)
        raise KernelReplyError(message)

    def _proxy(self, tag: dict) -> RemoteProxy:
        key, mro = tag.get("id"), tag.get("mro")
        if type(key) is not int or type(mro) is not list:
            raise rpc_codec.CodecError("a reference needs an integer id and an MRO list")
        return RemoteProxy(self, key, tuple(tuple(m) for m in mro if type(m) is list and len(m) == 2))

    def fetch_name(self, name: str) -> Any:
        """The value of the kernel's global ``name`` (data or proxy); NameError if it has none."""
        value = self.request({"op": "name", "name": name})
        if isinstance(value, RemoteProxy):
            object.__setattr__(value, "_name", name)
        return value


def remote_exception(error: dict) -> BaseException:
    """A local exception for a kernel's error reply: the first builtin exception class of the remote MRO (so a
    test's ``except ValueError`` works), with the remote message; never a class the kernel names beyond builtins."""
    message = error.get("message")
    name = error.get("type")
    mro = error.get("mro") if type(error.get("mro")) is list else []
    text = message if isinstance(message, str) else ""
    for entry in mro:
        if type(entry) is list and len(entry) == 2 and entry[0] == "builtins":
            cls = vars(builtins).get(entry[1])
            if isinstance(cls, type) and issubclass(cls, Exception) and cls is not StopIteration:
                if isinstance(name, str) and name != cls.__name__:
                    text = f"{name}: {text}"
                try:
                    return cls(text)
                except TypeError:   # an exception class with required arguments (UnicodeDecodeError)
                    break
    return RuntimeError(f"{name}: {text}" if isinstance(name, str) else text)


def _grad_enabled() -> bool | None:
    torch = sys.modules.get("torch")
    return None if torch is None else bool(torch.is_grad_enabled())


_stand_ins: dict[tuple, type] = {}


def stand_in_class(mro: tuple) -> type:
    """The first class of a remote MRO that names a class here (already imported, or in STAND_IN_PACKAGES)."""
    if mro in _stand_ins:
        return _stand_ins[mro]
    found = RemoteProxy
    for module_name, qualname in mro:
        if not isinstance(module_name, str) or not isinstance(qualname, str) or "<" in qualname:
            continue
        module = sys.modules.get(module_name)
        if module is None and module_name.split(".")[0] in STAND_IN_PACKAGES:
            try:
                module = importlib.import_module(module_name)
            except Exception:  # noqa: BLE001, S112 (a name the kernel sent that does not exist here)
                continue
        target = module
        for part in qualname.split("."):
            target = getattr(target, part, None)
        if isinstance(target, type) and target is not object:
            found = target
            break
    _stand_ins[mro] = found
    return found


class RemoteProxy:
    """A kernel object held by reference; see the module docstring."""

    __slots__ = ("_generation", "_id", "_link", "_mro", "_name")
    # Read on the class by rpc_codec.encode: a proxy goes back as its reference at once, without the isinstance and
    # attribute tests that would each cost a round trip to the kernel (a training step sends every parameter).
    passed_by_reference = True

    def __init__(self, link: KernelLink, key: int, mro: tuple):
        for slot, value in (("_link", link), ("_id", key), ("_mro", mro), ("_generation", link.generation),
                            ("_name", None)):
            object.__setattr__(self, slot, value)

    def _key(self) -> int:
        """This object's id in the current kernel; a global is looked up again after a kernel restart."""
        link = object.__getattribute__(self, "_link")
        if object.__getattribute__(self, "_generation") != link.generation:
            name = object.__getattribute__(self, "_name")
            if name is None:
                raise RuntimeError("this object lived in a kernel that was stopped (a runaway cell)")
            fresh = link.fetch_name(name)
            if type(fresh) is not RemoteProxy:
                raise RuntimeError(f"{name} is no longer an object of the same kind after the kernel restart")
            object.__setattr__(self, "_id", object.__getattribute__(fresh, "_id"))
            object.__setattr__(self, "_generation", link.generation)
        return object.__getattribute__(self, "_id")

    def _ask(self, op: str, **fields) -> Any:
        key = self._key()
        return object.__getattribute__(self, "_link").request({"op": op, "id": key, **fields})

    def _value(self) -> Any:
        """The object as data (a tensor in an autograd graph: detached); TypeError if it is not data."""
        return self._ask("value")

    @property
    def __class__(self):
        return stand_in_class(object.__getattribute__(self, "_mro"))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return self._ask("getattr", name=name)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("objects in the student's kernel are read-only to the grader")

    def __call__(self, *args, **kwargs) -> Any:
        return self._ask("call", args=_encode(list(args)), kwargs=_encode(dict(kwargs)), grad=_grad_enabled())

    def __getitem__(self, key) -> Any:
        return self._ask("getitem", key=_encode(key), grad=_grad_enabled())

    def __iter__(self):
        it = self._ask("iter")
        return it if isinstance(it, RemoteProxy) else iter(it)

    def __next__(self) -> Any:
        return self._ask("next")

    def __len__(self) -> int:
        n = self._ask("len")
        if type(n) is not int or n < 0:
            raise TypeError("len() of a kernel object must be a non-negative int")
        return n

    def __bool__(self) -> bool:
        try:
            return bool(self._value())
        except TypeError:   # not plain data (a function, a model): true, as Python's default
            return True

    def __contains__(self, item) -> bool:
        return any(bool(x == item) for x in self)

    def __array__(self, dtype=None, copy=None):
        import numpy as np

        return np.asarray(self._value(), dtype=dtype)

    def __repr__(self) -> str:
        try:
            return repr(self._value())
        except (TypeError, RuntimeError, ValueError):
            module, qualname = (object.__getattribute__(self, "_mro") or (("?", "object"),))[0]
            return f"<{module}.{qualname} in the student's kernel>"

    __str__ = __repr__

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        qualname = getattr(func, "__qualname__", "")
        module = getattr(func, "__module__", None) or "torch"
        if "." in qualname or not module.startswith("torch"):
            # a Tensor method (an operator such as ==): computed here on the values
            return func(*_values(args), **{k: _values([v])[0] for k, v in kwargs.items()})
        link = next(object.__getattribute__(p, "_link") for p in _proxies(args, kwargs))
        return link.request({"op": "torch", "func": f"{module}:{qualname}", "args": _encode(list(args)),
                             "kwargs": _encode(dict(kwargs)), "grad": _grad_enabled()})


def _proxies(args, kwargs):
    for v in list(args) + list(kwargs.values()):
        items = v if isinstance(v, (list, tuple)) and not isinstance(v, RemoteProxy) else [v]
        yield from (x for x in items if type(x) is RemoteProxy)


def _values(args):
    return [a._value() if type(a) is RemoteProxy else a for a in args]


def _to_ref(obj):
    if type(obj) is RemoteProxy:
        return {"t": "ref", "id": obj._key()}
    raise TypeError(f"a {type(obj).__name__} cannot be sent to the student's kernel (only data and its own "
                    "objects can)")


def _encode(value):
    return rpc_codec.encode(value, _to_ref)


def _local_value(name: str):
    def method(self, *args):
        return getattr(self._value(), name)(*_values(args))
    method.__name__ = name
    return method


for _name in ("__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__float__", "__int__",
              "__index__", "__complex__", "__hash__", "__abs__", "__neg__", "__pos__", "__invert__", "__round__",
              "__format__", "__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__",
              "__rtruediv__", "__floordiv__", "__rfloordiv__", "__mod__", "__rmod__", "__pow__", "__rpow__",
              "__matmul__", "__rmatmul__", "__and__", "__rand__", "__or__", "__ror__", "__xor__", "__rxor__"):
    setattr(RemoteProxy, _name, _local_value(_name))
