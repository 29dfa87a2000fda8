"""Guards that the autograder installs in a student's kernel, so test cells check what they say they check.

The grader (``grading_preprocessors.ResilientExecute``) sends this file's source to the kernel before the first
cell runs, where :func:`install` takes a snapshot of the clean state; before every autograder test cell it calls
:func:`reset`, which puts back what a submission could have changed to make failing assertions pass:

- IPython's AST transformers and input transformers (a transformer can rewrite ``assert`` away);
- custom exception handlers (``set_custom_exc``), ``showtraceback`` and other methods of the shell and kernel
  objects and classes (an error that is never reported looks like a pass), event callbacks (``pre_run_cell``);
- ``builtins`` and the attributes of the modules that tests rely on (``np.isclose = lambda *a: True``),
  ``sys.stdout``/``sys.stderr``, trace and profile hooks;
- warnings filters, with warnings raised inside library code ignored: a student may legitimately call
  scikit-learn on an edge case that makes it warn, and nbgrader scores any stderr output of a test cell as a
  failure. Warnings from the student's own code (module ``__main__``) still show.

This is defence in depth inside a process the student controls; the sandbox (``sandbox.py``) is the boundary.
:func:`reset` returns ``"reset"``, which the grader checks: a submission that broke the guard itself (deleted or
replaced it, patched the machinery that calls it) is flagged for the instructor to review.
"""
import builtins
import importlib
import sys
import warnings

_state = {}


def install(modules):
    """Snapshot the clean state; ``modules`` are imported now (they are the notebook's own imports anyway)."""
    from IPython import get_ipython

    shell = get_ipython()
    _state["shell_obj"] = shell
    _state["builtins"] = dict(vars(builtins))
    _state["modules"] = {}
    for name in modules:
        try:
            module = importlib.import_module(name)
        except Exception:  # noqa: BLE001, S112 (a module the environment lacks cannot be patched either)
            continue
        _state["modules"][name] = (module, dict(vars(module)))
    objects = [shell, getattr(shell, "kernel", None)]
    _state["objects"] = [(obj, dict(vars(obj))) for obj in objects if obj is not None]
    classes = []
    for obj in objects:
        if obj is not None:
            classes += [c for c in type(obj).__mro__ if c is not object and c not in classes]
    _state["classes"] = [(cls, dict(vars(cls))) for cls in classes]
    _state["shell"] = {
        "ast_transformers": list(shell.ast_transformers),
        "input_transformers_post": list(shell.input_transformers_post),
        "cleanup_transforms": list(shell.input_transformer_manager.cleanup_transforms),
        "line_transforms": list(shell.input_transformer_manager.line_transforms),
        "token_transformers": list(shell.input_transformer_manager.token_transformers),
        "custom_exceptions": shell.custom_exceptions,
        "callbacks": {k: list(v) for k, v in shell.events.callbacks.items()},
    }
    _state["sys"] = {name: getattr(sys, name) for name in ("stdout", "stderr", "displayhook", "excepthook")}
    _state["warnings"] = (list(warnings.filters), warnings.showwarning, warnings.formatwarning)
    _state["sys_modules"] = {name: sys.modules[name] for name in _state["modules"]}
    return "installed"


def _restore(target, saved, setter):
    """Put back every name that was changed or removed. Names added since the snapshot stay: numpy and torch add
    submodules lazily (removing them breaks the next import), and an added name cannot change a test's meaning."""
    for key, value in saved.items():
        if target.get(key, _MISSING) is not value:
            setter(key, value)


_MISSING = object()


def reset():
    shell = _state["shell_obj"]
    sys.settrace(None)
    sys.setprofile(None)
    _restore(vars(builtins), _state["builtins"], lambda k, v: setattr(builtins, k, v))
    for name, (module, saved) in _state["modules"].items():
        sys.modules[name] = _state["sys_modules"][name]
        _restore(vars(module), saved, lambda k, v, m=module: setattr(m, k, v))
    for cls, saved in _state["classes"]:
        for key, value in saved.items():
            if key not in ("__dict__", "__weakref__", "__doc__") and vars(cls).get(key, None) is not value:
                try:
                    setattr(cls, key, value)
                except (AttributeError, TypeError):
                    pass
    for obj, saved in _state["objects"]:
        for key in list(vars(obj)):
            # methods shadowed on the instance; plain state (counters, history) is left alone
            if key not in saved and callable(vars(obj)[key]):
                delattr(obj, key)
            elif key in saved and callable(saved[key]) and vars(obj)[key] is not saved[key]:
                setattr(obj, key, saved[key])
    s = _state["shell"]
    shell.ast_transformers[:] = s["ast_transformers"]
    shell.input_transformers_post[:] = s["input_transformers_post"]
    manager = shell.input_transformer_manager
    manager.cleanup_transforms[:] = s["cleanup_transforms"]
    manager.line_transforms[:] = s["line_transforms"]
    manager.token_transformers[:] = s["token_transformers"]
    shell.custom_exceptions = s["custom_exceptions"]
    # callbacks that run before a cell's code could undo this reset; later ones (matplotlib's figure display)
    # can only add outputs, and the grader ignores clear_output requests in test cells
    for event in ("pre_execute", "pre_run_cell"):
        shell.events.callbacks[event][:] = s["callbacks"].get(event, [])
    for name, value in _state["sys"].items():
        setattr(sys, name, value)
    filters, showwarning, formatwarning = _state["warnings"]
    warnings.filters[:] = filters
    warnings.showwarning, warnings.formatwarning = showwarning, formatwarning
    warnings.filterwarnings("ignore")
    warnings.filterwarnings("default", module="__main__")
    warnings._filters_mutated()
    return "reset"
