"""check_numbers (the numeric self-check of lessons 04-06) passes numbers that agree with the run, names the slip
behind a recognised wrong number without revealing the right one, and never raises."""
from __future__ import annotations

import math

import pytest

from helpers.notebook.selfcheck import FAILED, NOT_ATTEMPTED, PASSED
from helpers.notebook.selfcheck_numbers import check_numbers

MEASURED = {"Se": 2 / 3, "+P": 0.5}
SLIPS = {"Se": {0.5: "Se counts the reference beats found, TP / (TP + FN)"}}


def test_all_blank_is_not_attempted_and_reveals_nothing():
    v = check_numbers({"Se": None, "+P": None}, MEASURED)
    assert v.status == NOT_ATTEMPTED and "0.667" not in str(v) and "0.5" not in str(v)


def test_right_numbers_pass_within_the_tolerance():
    v = check_numbers({"Se": 0.667, "+P": 0.5}, MEASURED, rtol=0.01)
    assert v.status == PASSED, str(v)


def test_a_number_outside_the_tolerance_fails_without_the_answer():
    v = check_numbers({"Se": 0.75, "+P": 0.5}, MEASURED, rtol=0.01)
    assert v.status == FAILED and "1 of 2 answer differs" in v.message
    assert "0.6667" not in v.message and "2/3" not in v.message


def test_a_recognised_slip_gets_its_hint():
    v = check_numbers({"Se": 0.5, "+P": 0.5}, MEASURED, rtol=0.01, slips=SLIPS)
    assert v.status == FAILED and "TP / (TP + FN)" in v.message


def test_per_quantity_tolerances_apply():
    v = check_numbers({"Se": 0.7, "+P": 0.5}, MEASURED, rtol={"Se": 0.1, "+P": 0.0})
    assert v.status == PASSED, str(v)


@pytest.mark.parametrize("junk", ["two thirds", math.nan, [1, 2], math.inf])
def test_junk_is_a_failed_verdict_not_an_exception(junk):
    v = check_numbers({"Se": junk, "+P": 0.5}, MEASURED)
    assert v.status == FAILED


def test_half_answered_fails_naming_the_blank():
    v = check_numbers({"Se": 2 / 3, "+P": None}, MEASURED)
    assert v.status == FAILED and "+P: not answered yet" in v.message
