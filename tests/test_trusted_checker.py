"""The trusted checker without a kernel: serialisation, proxies, the test-cell namespace (issue 17).

The "kernel" here is ``course/kernel_rpc.py`` loaded in this process with its own namespace, and the transport a
direct call of its ``handle`` (what the grader sends through ``user_expressions``), recorded so that tests can
check what the kernel was told. The sandboxed end-to-end cases are in ``test_grading_hostile.py``.
"""
from __future__ import annotations

import base64
import importlib.util
import io
import json
import re
import sys

import numpy as np
import pandas as pd
import pytest
import rpc_codec
import torch
from conftest import ROOT
from remote_proxy import KernelLink, KernelReplyError, RemoteProxy, stand_in_class
from torch import nn
from trusted_checker import (
    TrustedNamespace,
    add_trusted_imports,
    run_test_cell,
    visible_modules,
)

KERNEL_CODE = '''
import numpy as np
import pandas as pd
import torch
from torch import nn

def squares(n):
    return [i * i for i in range(n)]

def build(c, k, t):
    return nn.Sequential(nn.Conv1d(c, 4, 3), nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(4, k))

def refuse(x):
    raise ValueError(f"refused {x}")

def counter():
    yield from range(3)

values = {"int": 3, "np_int": np.int64(3), "float": 3.0, "text": "s", "flags": (True, None)}
table = pd.DataFrame({"se": [0.5, np.nan], "ppv": [1.0, 0.25]}, index=["N", "macro"])
'''


def _load_server():
    spec = importlib.util.spec_from_file_location("kernel_rpc_under_test", ROOT / "course" / "kernel_rpc.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def kernel():
    """A link to an in-process 'kernel' (kernel_rpc with its own namespace) and the requests it received."""
    server = _load_server()
    user_ns = {}
    exec(KERNEL_CODE, user_ns)  # noqa: S102 (the stand-in kernel runs its own fixed code)
    server._namespace.append(user_ns)
    sent = []

    def transport(message, timeout):
        sent.append(message)
        return server.handle(message)

    return KernelLink(transport), user_ns, sent


def _namespace(link, imports="import numpy as np\nimport torch\nfrom torch import nn\n"):
    ns = TrustedNamespace(link)
    add_trusted_imports(ns, [imports], [])
    return ns


def _ok(outputs):
    errors = [o for o in outputs if o["output_type"] == "error"]
    assert not errors, errors
    return "".join(o.get("text", "") for o in outputs if o["output_type"] == "stream")


# ------------------------------------------------------------------------------------------ the namespace
def test_cpython_looks_up_globals_through_missing_in_a_dict_subclass():
    """LOAD_NAME (module code), LOAD_GLOBAL (functions, comprehensions) must reach __missing__ (CPython 3.11+)."""
    class Fallback(dict):
        def __missing__(self, name):
            if name == "remote":
                return 41
            raise KeyError(name)

    ns = Fallback()
    code = "a = remote + 1\ndef f():\n    return remote\nb = f()\nc = [remote for _ in range(2)]\nd = len(c)"
    exec(code, ns)  # noqa: S102 (what the checker does with a test cell)
    assert (ns["a"], ns["b"], ns["c"], ns["d"]) == (42, 41, [41, 41], 2)
    with pytest.raises(NameError):
        exec("missing_everywhere", Fallback())  # noqa: S102


def test_trusted_imports_skip_names_the_solution_defines():
    ns = TrustedNamespace(KernelLink(lambda m, t: None))
    failed = add_trusted_imports(ns, ["import numpy as np\nfrom math import sqrt, pi\n\ndef f():\n    import json\n",
                                      "import not_a_module_anywhere"], ["def sqrt(x):\n    pass\n"])
    assert ns["np"] is np and ns["pi"] > 3 and ns["json"] is json
    assert "sqrt" not in dict.keys(ns)
    assert failed == ["import not_a_module_anywhere"]


def test_only_modules_of_visible_code_are_named_to_the_kernel():
    """The kernel imports the notebook's libraries early (outside the first test's time limit), but a hidden
    test's imports stay in the grader."""
    hidden = "### BEGIN HIDDEN TESTS\nfrom helpers.edge import tflite_file\nimport secret_mod\n### END HIDDEN TESTS"
    sources = ["import numpy as np\nfrom sklearn.metrics import recall_score\n", f"assert 1\n{hidden}\nimport json"]
    assert visible_modules(sources) == ["json", "numpy", "sklearn.metrics"]


def test_namespace_persists_across_cells_and_refetches_kernel_names_each_cell(kernel):
    link, user_ns, _ = kernel
    ns = _namespace(link)
    _ok(run_test_cell("_kept = squares(3)", ns, 1))
    user_ns["squares"] = lambda n: [0] * n        # the kernel's state changed between two test cells
    out = _ok(run_test_cell("print(_kept, squares(2))", ns, 2))
    assert out == "[0, 1, 4] [0, 0]\n"


# --------------------------------------------------------------------------------------------- data types
@pytest.mark.parametrize("value", [
    3, 3.0, True, None, "text", 2 + 1j, b"\x00\xff", [1, 2.0, "x"], (1, (2,)), {"a": [1], 2: None}, {1, 2},
    frozenset({"a"}), np.int64(3), np.float32(0.5), np.bool_(True), slice(1, None, 2), range(2, 9, 3), Ellipsis,
])
def test_plain_values_round_trip_with_their_types(value):
    back = rpc_codec.decode(json.loads(json.dumps(rpc_codec.encode(value, _no_refs))), _no_refs)
    assert back == value and type(back) is type(value)


def test_arrays_tensors_and_frames_round_trip():
    arrays = [np.arange(6, dtype=np.int16).reshape(2, 3), np.array(["N", "S"]), np.zeros((0, 3), np.float32)]
    for a in arrays:
        b = _round_trip(a)
        assert b.dtype == a.dtype and b.shape == a.shape and np.array_equal(a, b)
    t = _round_trip(torch.arange(4.0).reshape(2, 2))
    assert t.dtype == torch.float32 and torch.equal(t, torch.arange(4.0).reshape(2, 2))
    assert _round_trip(torch.Size([2, 3])) == torch.Size([2, 3]) and _round_trip(torch.int8) is torch.int8
    assert _round_trip(torch.device("cpu")) == torch.device("cpu")
    frame = pd.DataFrame({"se": [0.5, np.nan], "n": [1, 2]}, index=["N", "macro"])
    back = _round_trip(frame)
    pd.testing.assert_frame_equal(back, frame)
    pd.testing.assert_series_equal(_round_trip(frame["se"]), frame["se"])


def test_objects_that_are_not_data_go_by_reference():
    refs = []

    def to_ref(obj):
        refs.append(obj)
        return {"t": "ref", "id": len(refs), "mro": []}

    leaf = torch.ones(2, requires_grad=True)
    for value in (len, np.array([object()]), leaf, leaf * 2, nn.Linear(1, 1)):
        assert rpc_codec.encode(value, to_ref)["t"] == "ref"
    assert len(refs) == 5


def test_decoding_refuses_pickles_unknown_tags_and_deep_nesting():
    buf = io.BytesIO()
    np.save(buf, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    pickled = {"t": "ndarray", "v": base64.b64encode(buf.getvalue()).decode()}
    deep = 1
    for _ in range(rpc_codec.MAX_DEPTH + 2):
        deep = {"t": "list", "v": [deep]}
    for tree in (pickled, {"t": "pickle", "v": "gASVAAAAAAAAAAAu"}, {"no": "tag"}, deep, {"t": "dict", "v": [[1]]}):
        with pytest.raises(rpc_codec.CodecError):
            rpc_codec.decode(tree, _no_refs)


# ------------------------------------------------------------------------------------------ proxies
def test_calls_keep_int_numpy_int_and_float_distinct(kernel):
    link, _, _ = kernel
    out = _ok(run_test_cell(
        "assert type(values['int']) is int and type(values['np_int']) is np.int64\n"
        "assert isinstance(values['float'], float) and values['flags'] == (True, None)\n"
        "assert squares(4) == [0, 1, 4, 9] and type(squares(2)) is list\n"
        "assert [x for x in counter()] == [0, 1, 2]\n"
        "assert np.isnan(table.loc['macro', 'se']) and list(table.index) == ['N', 'macro']\n"
        "print('ok')", _namespace(link), 1))
    assert out == "ok\n"


def test_an_exception_in_the_kernel_is_raised_here_as_its_builtin_class(kernel):
    link, _, _ = kernel
    out = _ok(run_test_cell(
        "try:\n    refuse(3)\nexcept ValueError as e:\n    print(e)\nelse:\n    raise AssertionError('no')",
        _namespace(link), 1))
    assert out == "refused 3\n"
    error = run_test_cell("refuse(1)", _namespace(link), 2)[-1]
    assert error["ename"] == "ValueError"


def test_comparisons_with_kernel_objects_are_computed_here(kernel):
    """The kernel is asked for a value; the expected value never travels to it."""
    link, user_ns, sent = kernel
    user_ns["grad_out"] = torch.ones(3, requires_grad=True) * 2.0   # stays a proxy (autograd graph)
    ns = _namespace(link)
    _ok(run_test_cell("_x = grad_out\n"
                      "assert float(_x.sum()) == 6.0 and np.allclose(np.asarray(_x.detach()), 2.0)\n"
                      "assert (_x.sum() == 6.0123456) is not True", ns, 1))
    assert not any("6.0123456" in m for m in sent), "an expected value was sent to the kernel"
    assert all(json.loads(m)["op"] in {"name", "getattr", "call", "value", "getitem", "iter", "next", "len"}
               for m in sent)


def test_models_in_the_kernel_pass_isinstance_and_train_there(kernel):
    link, _, _ = kernel
    out = _ok(run_test_cell('''
_m = build(2, 3, 50).train()
assert isinstance(_m, nn.Module) and any(isinstance(m, nn.Conv1d) for m in _m.modules())
with torch.no_grad():
    _o = _m(torch.randn(5, 2, 50))
assert type(_o) is torch.Tensor and tuple(_o.shape) == (5, 3) and torch.isfinite(_o).all()
_loss = nn.functional.cross_entropy(_m(torch.randn(6, 2, 50)), torch.tensor([0, 1, 2] * 2))
_loss.backward()
assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in _m.parameters() if p.requires_grad)
print(sum(p.numel() for p in _m.parameters()))''', _namespace(link), 1))
    assert out == f"{sum(p.numel() for p in nn.Sequential(nn.Conv1d(2, 4, 3), nn.Linear(4, 3)).parameters())}\n"


def test_a_class_the_kernel_names_is_never_imported_unless_allowed():
    assert stand_in_class((("evil_module_xyz", "Payload"), ("builtins", "object"))) is RemoteProxy
    assert "evil_module_xyz" not in sys.modules
    assert stand_in_class((("torch.nn.modules.conv", "Conv1d"), ("builtins", "object"))) is nn.Conv1d


# ------------------------------------------------------------------------------------- hostile kernels
@pytest.mark.parametrize("reply", ["not json", "[1]", '{"neither": 1}', '{"ok": {"t": "pickle", "v": ""}}', None,
                                   "[" * 100_000 + "]" * 100_000])
def test_a_malformed_reply_fails_the_test_and_cannot_be_caught(reply):
    link = KernelLink(lambda m, t: reply if reply is not None else 5)
    outputs = run_test_cell("try:\n    squares(3)\nexcept Exception:\n    pass", _namespace(link), 1)
    assert outputs[-1]["ename"] == "KernelReplyError" and link.problems
    with pytest.raises(KernelReplyError):
        link.request({"op": "name", "name": "x"})


@pytest.mark.parametrize("answer", [
    {"ok": True}, {"ok": 0}, {"ok": {"t": "list", "v": [0, 1, 4]}},
    {"error": {"type": "ValueError", "mro": [["builtins", "ValueError"]], "message": "no"}},
])
def test_a_kernel_that_answers_the_same_for_everything_fails_the_tests(answer):
    """A replaced RPC server can only supply data; a fixed answer, even a plausible one, fails the tests."""
    link = KernelLink(lambda m, t: json.dumps(answer))
    ns = _namespace(link)
    source = ("assert squares(3) == [0, 1, 4]\nassert squares(5)[-1] == 16\n"
              "try:\n    refuse(1)\nexcept ValueError:\n    pass\nelse:\n    raise AssertionError\n"
              "assert squares(2) == [0, 1]")
    assert run_test_cell(source, ns, 1)[-1]["output_type"] == "error"


def test_a_failing_test_has_ipythons_traceback_shape_with_the_cell_line(kernel):
    link, _, _ = kernel
    error = run_test_cell("_a = 1\n_b = squares(2)\nassert _b == [9], 'message'\nprint('never')",
                          _namespace(link), 7)[-1]
    assert error["ename"] == "AssertionError" and error["evalue"] == "message"
    frame = next(f for f in error["traceback"] if "Cell In[" in f)
    assert frame.startswith("Cell In[7], line 3") and re.search(r"(?m)^-+>\s*3\b", frame)


def test_a_final_expression_is_an_execute_result_for_partial_credit(kernel):
    link, _, _ = kernel
    outputs = run_test_cell("_s = squares(3)\nlen(_s) / 6", _namespace(link), 1)
    assert outputs == [{"output_type": "execute_result", "execution_count": 1, "metadata": {},
                        "data": {"text/plain": "0.5"}}]


def _no_refs(obj):
    raise AssertionError(f"unexpected reference for {obj!r}")


def _round_trip(value):
    return rpc_codec.decode(json.loads(json.dumps(rpc_codec.encode(value, _no_refs))), _no_refs)


def test_sending_kernel_objects_back_costs_one_request_per_call_not_one_per_question(kernel):
    # A training step in a test cell sends every parameter of the student's model back to the kernel (an optimiser
    # step, load_state_dict); each proxy must go as its reference, not after isinstance/requires_grad round trips.
    link, _, sent = kernel
    ns = _namespace(link)
    _ok(run_test_cell("_m = build(2, 3, 50)\n_ps = tuple(_m.parameters())\n"
                      "_loss = nn.functional.cross_entropy(_m(torch.randn(4, 2, 50)), torch.tensor([0, 1, 2, 0]))",
                      ns, 1))
    before = len(sent)
    _ok(run_test_cell("_g = torch.autograd.grad(_loss, _ps)", ns, 2))
    assert len(sent) - before <= 2, f"{len(sent) - before} requests: {sent[before:][:6]}"
