"""Self-check for an exercise answered with numbers worked out by hand (lessons 04-06).

:func:`check_numbers` compares each of the student's numbers with the value the notebook just measured, within a
tolerance. Like every check in :mod:`helpers.notebook.selfcheck` it says "not attempted yet" while the answers are ``None``,
never reveals a measured value before the student has answered it right, names the usual slip behind a wrong
number when it recognises one (the hint, never the number), and never raises.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from helpers.notebook.selfcheck import (
    FAILED,
    PASSED,
    Verdict,
    _bullets,
    _not_attempted,
    _unanswered,
)

__all__ = ["check_numbers"]


def _close(value: float, target: float, rtol: float, atol: float) -> bool:
    return abs(value - target) <= atol + rtol * abs(target)


def _row(label: str, mine: Any, truth: float, rtol: float, atol: float,
         slips: Mapping[float, str]) -> tuple[bool, str]:
    if _unanswered(mine):
        return False, f"{label}: not answered yet"
    try:
        value = float(mine)
    except (TypeError, ValueError):
        return False, f"{label}: {mine!r} is not a number"
    if not math.isfinite(value):
        return False, f"{label}: {mine!r} is not a finite number"
    if _close(value, truth, rtol, atol):
        return True, f"{label}: {value:g} agrees with the run ({truth:.4g})"
    hint = next((text for slip, text in slips.items() if _close(value, float(slip), rtol / 4, atol / 4)), None)
    return False, f"{label}: {value:g} is not what the run measures" + (f" — hint: {hint}" if hint else "")


def check_numbers(answers: Mapping[str, Any], measured: Mapping[str, float], *, name: str = "By hand",
                  rtol: float | Mapping[str, float] = 1e-6, atol: float | Mapping[str, float] = 0.0,
                  slips: Mapping[str, Mapping[float, str]] | None = None) -> Verdict:
    """Compare hand-computed numbers with the notebook's own measurement of the same quantities.

    Parameters
    ----------
    answers : mapping label -> number or None
        The student's values (``MY_...`` variables), keyed by a label that names the quantity and its unit.
    measured : mapping label -> float
        What the run computed, same labels (computed in the self-check cell, never typed in).
    rtol, atol : float or mapping label -> float
        Tolerance per quantity: ``|mine - measured| <= atol + rtol * |measured|``.
    slips : mapping label -> {wrong value: hint}, optional
        Values a classic mistake produces (computed from the same inputs) and the hint that names the mistake.
        The hint is shown when the answer is (close to) that value; the measured value is shown only once the
        answer agrees with it.

    Returns
    -------
    Verdict
        "not attempted yet" while every answer is blank; "passed" when every answer agrees; else "not yet" with one
        line per quantity.
    """
    if all(_unanswered(v) for v in answers.values()):
        pronoun = "it" if len(answers) == 1 else "them"
        return _not_attempted(name, f"work out {', '.join(answers)} by hand and assign {pronoun} in the exercise "
                                    "cell")
    missing = sorted(set(answers) - set(measured))
    if missing:  # a notebook bug, not a student's: say so rather than raise
        return Verdict(name, FAILED, f"the self-check has no measurement for {missing}")
    rows = []
    for label, mine in answers.items():
        r = rtol.get(label, 1e-6) if isinstance(rtol, Mapping) else rtol
        a = atol.get(label, 0.0) if isinstance(atol, Mapping) else atol
        rows.append(_row(label, mine, float(measured[label]), r, a, (slips or {}).get(label, {})))
    wrong = sum(not ok for ok, _ in rows)
    if wrong:
        return Verdict(name, FAILED, f"{wrong} of {len(rows)} {'answer differs' if wrong == 1 else 'answers differ'} "
                                     "from what the run measures:\n" + _bullets(rows))
    return Verdict(name, PASSED, f"all {len(rows)} agree with what the run measures:\n" + _bullets(rows))
