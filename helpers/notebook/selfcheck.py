"""Self-checks for the exercises inside the lessons: a verdict that names what failed, never an exception.

Each lesson exercise has a student cell (``MY_PREDICTION = None``, ``MY_FILTER = None``, ...) and a self-check cell
that calls one of the functions below. A check

- says "not attempted yet" while the answer is still ``None``, and then reveals nothing (no expected value, no
  measurement), so running the notebook top to bottom never spoils an exercise;
- says "passed" or "not yet", naming each requirement it measured and which one failed, with the student's own
  numbers;
- never raises on a wrong or malformed answer: a lesson run top to bottom (CI runs them with papermill) must not
  stop at an exercise.

The checks return a :class:`Verdict`; a notebook cell that ends with the call shows its message::

    selfcheck.check_choice(MY_PREDICTION, observed, OPTIONS, name="Exercise 1.1")
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["FAILED", "NOT_ATTEMPTED", "PASSED", "Verdict", "check_choice", "check_conv1d_arithmetic",
           "check_ecg_filter", "check_patient_split", "filter_gain_db"]

PASSED, FAILED, NOT_ATTEMPTED = "passed", "not yet", "not attempted yet"
_MARK = {PASSED: "✅", FAILED: "❌", NOT_ATTEMPTED: "⏳"}


@dataclass(frozen=True)
class Verdict:
    """The outcome of one self-check: ``status`` is ``"passed"``, ``"not yet"`` or ``"not attempted yet"``."""

    name: str
    status: str
    message: str

    @property
    def passed(self) -> bool:
        return self.status == PASSED

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        return f"{_MARK[self.status]} {self.name}: {self.status} — {self.message}"

    __repr__ = __str__


def _unanswered(answer: Any) -> bool:
    return answer is None or answer is Ellipsis or (isinstance(answer, str) and not answer.strip())


def _not_attempted(name: str, what: str) -> Verdict:
    return Verdict(name, NOT_ATTEMPTED, f"{what}, then run this cell again.")


def _db(gain: float) -> str:
    return "below -100 dB" if gain < -100 else f"{gain:.1f} dB"


def _bullets(rows: Sequence[tuple[bool, str]]) -> str:
    return "\n".join(f"   {'✓' if ok else '✗'} {text}" for ok, text in rows)


def _requirements_verdict(name: str, rows: list[tuple[bool, str]], done: str) -> Verdict:
    """Passed when every (ok, requirement) row holds; else failed, naming how many fail. ``done`` says what passing means."""
    failed = sum(not ok for ok, _ in rows)
    if failed:
        verb = "fails" if failed == 1 else "fail"
        return Verdict(name, FAILED, f"{failed} of {len(rows)} requirements {verb}:\n" + _bullets(rows))
    return Verdict(name, PASSED, f"all {len(rows)} requirements met — {done}:\n" + _bullets(rows))


# ---------------------------------------------------------------------------------------------------------------
# Predict, then run
# ---------------------------------------------------------------------------------------------------------------
def check_choice(prediction: Any, observed: str, options: Mapping[str, str], *, name: str = "Prediction",
                 measured: str = "", why: str = "") -> Verdict:
    """Compare a multiple-choice prediction with the outcome the notebook just measured.

    Parameters
    ----------
    prediction : str or None
        The student's letter (``"a"``, ``"b"``, ...); ``None`` means not attempted.
    observed : str
        The letter the run's measurement corresponds to (computed in the self-check cell, not typed in).
    options : mapping letter -> description
    measured : str
        The measurement behind ``observed``, in words (shown only once the student has predicted).
    why : str
        The reasoning (the reference solution passes it; shown only once the student has predicted).
    """
    letters = ", ".join(repr(k) for k in options)
    if _unanswered(prediction):
        return _not_attempted(name, f"set MY_PREDICTION to one of {letters} in the exercise cell above")
    key = str(prediction).strip().lower().strip("()")
    if key not in options:
        return Verdict(name, FAILED, f"{prediction!r} is not one of the options {letters}.")
    if observed not in options:  # the notebook's own measurement fell outside the options: say so, do not guess
        return Verdict(name, FAILED, f"the run's outcome ({observed!r}) matches none of the options; "
                                     f"{measured}".rstrip("; "))
    evidence = f" The run measured: {measured}." if measured else ""
    reason = f" Why: {why}" if why else " The reference answer below (click to expand) explains why."
    if key == observed:
        return Verdict(name, PASSED, f"you predicted ({key}) {options[key]}, and that is what happened."
                                     f"{evidence}{reason}")
    return Verdict(name, FAILED, f"you predicted ({key}) {options[key]}, but the run shows ({observed}) "
                                 f"{options[observed]}.{evidence}{reason}")


# ---------------------------------------------------------------------------------------------------------------
# Design a filter
# ---------------------------------------------------------------------------------------------------------------
def _as_stages(filt: Any) -> list[tuple[str, Any]]:
    """``filt`` as a list of ``("sos", array)`` / ``("ba", (b, a))`` stages, applied in turn.

    Accepted: second-order sections (an array of shape (n, 6), as ``butter(..., output="sos")`` returns), a
    ``(b, a)`` tuple (as ``iirnotch`` returns), or a list of those (a cascade, e.g. a band-pass and a notch).
    """
    if isinstance(filt, np.ndarray):
        sos = np.atleast_2d(filt.astype(float))
        if sos.ndim != 2 or sos.shape[1] != 6:
            raise ValueError(f"an array of second-order sections must have shape (n, 6), got {filt.shape}")
        return [("sos", sos)]
    if isinstance(filt, tuple) and len(filt) == 2 and all(np.ndim(part) == 1 for part in filt):
        b, a = (np.asarray(part, dtype=float) for part in filt)
        if a.size == 0 or a[0] == 0:
            raise ValueError("the denominator a must start with a non-zero coefficient")
        return [("ba", (b, a))]
    if isinstance(filt, (list, tuple)) and len(filt) > 0:
        return [stage for part in filt for stage in _as_stages(part)]
    raise ValueError("expected second-order sections (scipy.signal.butter(..., output='sos')), a (b, a) pair "
                     f"(e.g. scipy.signal.iirnotch), or a list of those applied in turn; got {type(filt).__name__}")


def _stage_gain_db(stages: list[tuple[str, Any]], fs: float, freqs: np.ndarray) -> np.ndarray:
    from scipy import signal as sps

    h = np.ones(freqs.shape, dtype=complex)
    for kind, coeffs in stages:
        if kind == "sos":
            _, hk = sps.sosfreqz(coeffs, worN=freqs, fs=fs)
        else:
            _, hk = sps.freqz(*coeffs, worN=freqs, fs=fs)
        h = h * hk
    with np.errstate(divide="ignore"):
        return 20 * np.log10(np.abs(h))


def filter_gain_db(filt: Any, fs: float, freqs_hz: Sequence[float], *, zero_phase: bool = True) -> np.ndarray:
    """Gain in dB of a filter (or a cascade of filters, see :func:`check_ecg_filter`) at ``freqs_hz``.

    ``zero_phase=True`` is the gain of ``sosfiltfilt``/``filtfilt``, which apply the filter twice: ``|H|**2``,
    so twice the single pass's dB.
    """
    gain = _stage_gain_db(_as_stages(filt), float(fs), np.asarray(freqs_hz, dtype=float))
    return 2 * gain if zero_phase else gain


def _is_stable(stages: list[tuple[str, Any]]) -> bool:
    for kind, coeffs in stages:
        if kind == "sos":
            poles = np.concatenate([np.roots(sec[3:]) for sec in coeffs])
        else:
            poles = np.roots(coeffs[1])
        if poles.size and np.max(np.abs(poles)) >= 1.0:
            return False
    return True


def check_ecg_filter(filt: Any, fs: float, *, name: str = "Filter design", wander_hz: float = 0.3,
                     mains_hz: float = 50.0, reject_db: float = -20.0, qrs_band: tuple[float, float] = (5.0, 15.0),
                     qrs_ripple_db: float = -1.0, slow_band: tuple[float, float] = (1.0, 5.0),
                     slow_ripple_db: float = -3.0) -> Verdict:
    """Does ``filt``, applied zero-phase (``sosfiltfilt``), clean an ECG without hurting it?

    Requirements, each measured on the filter's frequency response (gain = ``|H|**2`` for a zero-phase filter):

    - baseline wander at ``wander_hz`` attenuated to ``reject_db`` or lower;
    - mains hum at ``mains_hz`` attenuated to ``reject_db`` or lower (skipped when above Nyquist);
    - the QRS band ``qrs_band`` kept within ``qrs_ripple_db`` everywhere;
    - the slower waves and the heart rate, ``slow_band``, kept within ``slow_ripple_db`` everywhere;
    - the filter is stable (every pole inside the unit circle).
    """
    if _unanswered(filt):
        return _not_attempted(name, "design your filter with scipy.signal and assign it to MY_FILTER above")
    try:
        stages = _as_stages(filt)
        stable = _is_stable(stages)
        qrs_f = np.linspace(*qrs_band, 21)
        slow_f = np.linspace(*slow_band, 21)
        g_wander, g_mains = 2 * _stage_gain_db(stages, fs, np.array([wander_hz, min(mains_hz, fs / 2 * 0.999)]))
        g_qrs = 2 * _stage_gain_db(stages, fs, qrs_f)
        g_slow = 2 * _stage_gain_db(stages, fs, slow_f)
    except Exception as err:  # noqa: BLE001 -- a malformed filter is a wrong answer, not a crash
        return Verdict(name, FAILED, f"could not read MY_FILTER as a filter: {err}")
    if not np.all(np.isfinite(np.concatenate([g_qrs, g_slow]))):
        return Verdict(name, FAILED, "the filter's response is not finite (NaN or infinite gain): check its "
                                     "coefficients, and design it as second-order sections (output='sos')")
    rows = [(stable, "stable (all poles inside the unit circle)" if stable else
             "unstable: a pole lies on or outside the unit circle — a high-order filter in (b, a) form often "
             "is; use output='sos'")]
    rows.append((g_wander <= reject_db,
                 f"baseline wander at {wander_hz:g} Hz: {_db(g_wander)} (need {reject_db:g} dB or lower)"))
    if mains_hz < fs / 2:
        rows.append((g_mains <= reject_db,
                     f"mains hum at {mains_hz:g} Hz: {_db(g_mains)} (need {reject_db:g} dB or lower)"))
    i_q = int(np.argmin(g_qrs))
    rows.append((g_qrs[i_q] >= qrs_ripple_db,
                 (f"QRS band {qrs_band[0]:g}-{qrs_band[1]:g} Hz: lowest gain {g_qrs[i_q]:.2f} dB at "
                  f"{qrs_f[i_q]:.1f} Hz (need {qrs_ripple_db:g} dB or better)")))
    i_s = int(np.argmin(g_slow))
    rows.append((g_slow[i_s] >= slow_ripple_db,
                 (f"heart rate, P and T waves {slow_band[0]:g}-{slow_band[1]:g} Hz: lowest gain {g_slow[i_s]:.2f} "
                  f"dB at {slow_f[i_s]:.1f} Hz (need {slow_ripple_db:g} dB or better)")))
    failed = [text for ok, text in rows if not ok]
    if failed:
        verb = "fails" if len(failed) == 1 else "fail"
        head = f"{len(failed)} of {len(rows)} requirements {verb} (gains of the filter applied zero-phase, |H|²):"
        return Verdict(name, FAILED, head + "\n" + _bullets(rows))
    return Verdict(name, PASSED, f"all {len(rows)} requirements met (gains of the filter applied zero-phase, "
                                 f"|H|²):\n" + _bullets(rows))


# ---------------------------------------------------------------------------------------------------------------
# Conv layer arithmetic
# ---------------------------------------------------------------------------------------------------------------
def check_conv1d_arithmetic(layer: Any, input_length: int, my_length: Any, my_params: Any, *,
                            name: str = "Conv1d arithmetic") -> Verdict:
    """Compare a hand-computed output length and parameter count of an ``nn.Conv1d`` with what PyTorch gives.

    A wrong answer gets a hint naming the usual slip (the kernel's own length, the ``+ 1``, the padding, the
    stride, the bias, the input channels), never the number.
    """
    if _unanswered(my_length) and _unanswered(my_params):
        return _not_attempted(name, "compute MY_OUT_LENGTH and MY_N_PARAMS by hand in the exercise cell above")
    import torch

    try:
        with torch.no_grad():
            true_len = int(layer(torch.zeros(1, layer.in_channels, int(input_length))).shape[-1])
        true_params = int(sum(p.numel() for p in layer.parameters()))
        (k,), (s,), (p,), (d,) = layer.kernel_size, layer.stride, layer.padding, layer.dilation
        c_in, c_out, groups = layer.in_channels, layer.out_channels, layer.groups
    except Exception as err:  # noqa: BLE001 -- a self-check reports, never raises
        return Verdict(name, FAILED, f"could not run the layer to check against PyTorch: {err}")
    L, span = int(input_length), d * (k - 1) + 1
    length_slips = {
        L - span + 1: "that is the length with stride 1: a stride s keeps every s-th position",
        (L + 2 * p - span) // s: "close: count the first position too (the formula ends in + 1)",
        L // s: "the kernel's own length matters: it must fit inside the (padded) input at every position",
        (L - span) // s + 1: "the padding adds samples at both ends of the input",
        (L + p - span) // s + 1: "padding is added at both ends, so it counts twice",
    }
    bias = c_out if layer.bias is not None else 0
    param_slips = {
        c_out * (c_in // groups) * k: "the weights are right; each output channel also has a bias",
        c_out * k + bias: "each output channel has a kernel for every input channel",
        (c_in // groups) * k + bias: "there is one kernel set per output channel",
        c_out * (c_in // groups) * k * L: "a convolution shares its kernel across positions: the input length "
                                          "does not change the parameter count",
    }
    rows = []
    for label, mine, truth, slips in [("output length", my_length, true_len, length_slips),
                                      ("parameter count", my_params, true_params, param_slips)]:
        if _unanswered(mine):
            rows.append((False, f"{label}: not answered yet"))
            continue
        try:
            value = float(mine)
        except (TypeError, ValueError):
            rows.append((False, f"{label}: {mine!r} is not a number"))
            continue
        if value == truth:
            rows.append((True, f"{label}: {int(value)} matches PyTorch"))
        else:
            hint = slips.get(int(value)) if value.is_integer() and int(value) != truth else None
            rows.append((False, f"{label}: {mine!r} is not what PyTorch computes"
                                + (f" — hint: {hint}" if hint else "")))
    if all(ok for ok, _ in rows):
        return Verdict(name, PASSED, "both match PyTorch:\n" + _bullets(rows))
    wrong = sum(not ok for ok, _ in rows)
    return Verdict(name, FAILED, f"{wrong} of 2 answers {'differs' if wrong == 1 else 'differ'} from PyTorch:\n"
                   + _bullets(rows))


# ---------------------------------------------------------------------------------------------------------------
# A split without leakage
# ---------------------------------------------------------------------------------------------------------------
def check_patient_split(groups: Any, train: Any, test: Any, *, labels: Any = None, name: str = "Patient-wise split",
                        test_fraction: tuple[float, float] = (0.1, 0.5)) -> Verdict:
    """Is ``train``/``test`` (index arrays or boolean masks over ``groups``) a usable patient-wise split?

    Requirements: every item is in exactly one of the two sets; no patient is in both
    (:func:`helpers.evaluate.splits.check_no_leakage`); the test set holds ``test_fraction`` of the items; with ``labels``,
    the test set holds every class.
    """
    if _unanswered(train) and _unanswered(test):
        return _not_attempted(name, "assign your fixed split to MY_TRAIN and MY_TEST in the exercise cell above")
    from helpers.evaluate.splits import LeakageError, check_no_leakage, positions

    g = np.asarray(groups).astype(str)
    n = len(g)
    try:
        tr, te = (positions(np.asarray(ix), n, k) for k, ix in enumerate((train, test)))
    except Exception as err:  # noqa: BLE001 -- a self-check reports, never raises
        return Verdict(name, FAILED, f"could not read MY_TRAIN / MY_TEST as index arrays or boolean masks: {err}")
    rows = []
    both = np.intersect1d(tr, te)
    counts = np.bincount(np.concatenate([tr, te]) % n, minlength=n)
    missing = int(np.sum(counts == 0))
    rows.append((both.size == 0 and missing == 0 and len(np.unique(tr)) == len(tr) and len(np.unique(te)) == len(te),
                 f"every item in exactly one set ({both.size} in both, {missing} in neither, of {n})"))
    try:
        check_no_leakage(g, tr, te, names=["train", "test"])
        rows.append((True, f"no patient on both sides ({len(set(g[tr]))} train, {len(set(g[te]))} test patients)"))
    except LeakageError as err:
        rows.append((False, f"leakage: {str(err).removeprefix('subject leakage between sets: ')}"))
    except Exception as err:  # noqa: BLE001 -- a self-check reports, never raises
        rows.append((False, f"the leakage check could not run: {err}"))
    frac = len(te) / max(n, 1)
    lo, hi = test_fraction
    rows.append((lo <= frac <= hi, f"test set holds {frac:.0%} of the items (need {lo:.0%}-{hi:.0%})"))
    if labels is not None:
        y = np.asarray(labels)
        absent = sorted(set(y.tolist()) - set(y[te].tolist()))
        rows.append((not absent, "test set holds every class" if not absent else
                     f"test set lacks class(es) {absent}: stratify by label as well as grouping by patient"))
    failed = sum(not ok for ok, _ in rows)
    if failed:
        return Verdict(name, FAILED, f"{failed} of {len(rows)} requirements {'fails' if failed == 1 else 'fail'}:\n"
                       + _bullets(rows))
    return Verdict(name, PASSED, f"all {len(rows)} requirements met:\n" + _bullets(rows))
