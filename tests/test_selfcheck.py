"""The lessons' self-checks accept a correct answer, reject specific wrong ones naming the failed requirement, say
"not attempted yet" for a blank answer without revealing anything, and never raise."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import signal as sps

from helpers.notebook import selfcheck
from helpers.notebook.selfcheck import FAILED, NOT_ATTEMPTED, PASSED

FS = 300.0
OPTIONS = {"a": "unchanged", "b": "smaller", "c": "larger"}


def _line(verdict, needle):
    """The one bullet line of a verdict that mentions ``needle``."""
    lines = [line for line in verdict.message.splitlines() if needle in line]
    assert len(lines) == 1, f"expected one line about {needle!r} in:\n{verdict}"
    return lines[0]


# --- predict, then run ------------------------------------------------------------------------------------------
def test_choice_blank_is_not_attempted_and_reveals_nothing():
    v = selfcheck.check_choice(None, "b", OPTIONS, measured="R peaks 63% as tall", why="the QRS loses energy")
    assert v.status == NOT_ATTEMPTED and not v
    assert "63%" not in str(v) and "QRS" not in str(v) and "smaller" not in str(v)
    assert "'a', 'b', 'c'" in v.message


def test_choice_right_prediction_passes_with_evidence_and_reason():
    v = selfcheck.check_choice(" B ", "b", OPTIONS, measured="R peaks 63% as tall", why="the QRS loses energy")
    assert v.status == PASSED and v
    assert "63%" in v.message and "the QRS loses energy" in v.message


def test_choice_wrong_prediction_says_what_happened():
    v = selfcheck.check_choice("a", "b", OPTIONS, measured="R peaks 63% as tall")
    assert v.status == FAILED
    assert "you predicted (a) unchanged, but the run shows (b) smaller" in v.message


def test_choice_outside_the_options_is_refused_not_raised():
    v = selfcheck.check_choice("d", "b", OPTIONS)
    assert v.status == FAILED and "'d' is not one of the options" in v.message


# --- filter design ----------------------------------------------------------------------------------------------
def test_filter_blank_is_not_attempted():
    assert selfcheck.check_ecg_filter(None, FS).status == NOT_ATTEMPTED


def test_filter_band_pass_plus_notch_passes():
    good = [sps.butter(4, [0.5, 40.0], btype="bandpass", fs=FS, output="sos"), sps.iirnotch(50.0, 30.0, fs=FS)]
    v = selfcheck.check_ecg_filter(good, FS)
    assert v.status == PASSED, str(v)


def test_filter_lower_upper_edge_alone_passes():
    v = selfcheck.check_ecg_filter(sps.butter(4, [0.5, 25.0], btype="bandpass", fs=FS, output="sos"), FS)
    assert v.status == PASSED, str(v)


def test_filter_40_hz_band_pass_alone_fails_on_the_mains_only():
    v = selfcheck.check_ecg_filter(sps.butter(4, [0.5, 40.0], btype="bandpass", fs=FS, output="sos"), FS)
    assert v.status == FAILED
    assert "1 of 5 requirements fails" in v.message
    assert _line(v, "mains hum at 50 Hz").lstrip().startswith("✗")
    assert _line(v, "baseline wander").lstrip().startswith("✓")


def test_filter_of_too_low_order_fails_on_the_wander():
    v = selfcheck.check_ecg_filter(sps.butter(1, [0.5, 25.0], btype="bandpass", fs=FS, output="sos"), FS)
    assert v.status == FAILED
    assert _line(v, "baseline wander at 0.3 Hz").lstrip().startswith("✗")


def test_filter_that_cuts_the_qrs_fails_on_the_qrs_band():
    v = selfcheck.check_ecg_filter(sps.butter(4, [0.5, 10.0], btype="bandpass", fs=FS, output="sos"), FS)
    assert v.status == FAILED
    assert _line(v, "QRS band 5-15 Hz").lstrip().startswith("✗")


def test_filter_that_cuts_the_slow_waves_fails_on_them():
    v = selfcheck.check_ecg_filter(sps.butter(4, [3.0, 25.0], btype="bandpass", fs=FS, output="sos"), FS)
    assert v.status == FAILED
    assert _line(v, "P and T waves 1-5 Hz").lstrip().startswith("✗")


def test_unstable_high_order_ba_filter_is_named_unstable():
    v = selfcheck.check_ecg_filter(sps.butter(8, [0.5, 25.0], btype="bandpass", fs=FS), FS)  # (b, a) form
    assert v.status == FAILED and "unstable" in v.message


def test_filter_designed_for_another_sampling_rate_fails():
    v = selfcheck.check_ecg_filter(sps.butter(4, [0.5, 25.0], btype="bandpass", fs=1000.0, output="sos"), FS)
    assert v.status == FAILED


@pytest.mark.parametrize("junk", ["hello", 3.0, np.zeros((2, 5)), [], (np.ones(3), np.zeros(3))])
def test_filter_junk_is_a_failed_verdict_not_an_exception(junk):
    v = selfcheck.check_ecg_filter(junk, FS)
    assert v.status == FAILED


def test_filter_gain_of_zero_phase_is_twice_the_single_pass():
    sos = sps.butter(4, [0.5, 40.0], btype="bandpass", fs=FS, output="sos")
    once = selfcheck.filter_gain_db(sos, FS, [0.3, 50.0], zero_phase=False)
    twice = selfcheck.filter_gain_db(sos, FS, [0.3, 50.0])
    np.testing.assert_allclose(twice, 2 * once)


# --- conv layer arithmetic --------------------------------------------------------------------------------------
LAYER = torch.nn.Conv1d(in_channels=2, out_channels=8, kernel_size=31, stride=2)


def test_conv_blank_is_not_attempted():
    assert selfcheck.check_conv1d_arithmetic(LAYER, 2500, None, None).status == NOT_ATTEMPTED


def test_conv_right_answers_pass():
    v = selfcheck.check_conv1d_arithmetic(LAYER, 2500, (2500 - 31) // 2 + 1, 8 * 2 * 31 + 8)
    assert v.status == PASSED, str(v)


@pytest.mark.parametrize("length, hint", [(2500 - 31 + 1, "stride"), ((2500 - 31) // 2, "+ 1"),
                                          (2500 // 2, "kernel's own length")])
def test_conv_wrong_length_gets_the_hint_for_its_slip(length, hint):
    v = selfcheck.check_conv1d_arithmetic(LAYER, 2500, length, 8 * 2 * 31 + 8)
    assert v.status == FAILED
    line = _line(v, "output length")
    assert hint in line and str((2500 - 31) // 2 + 1) not in v.message   # the hint, never the answer


@pytest.mark.parametrize("params, hint", [(8 * 2 * 31, "bias"), (8 * 31 + 8, "every input channel"),
                                          (8 * 2 * 31 * 2500, "shares its kernel")])
def test_conv_wrong_parameter_count_gets_the_hint_for_its_slip(params, hint):
    v = selfcheck.check_conv1d_arithmetic(LAYER, 2500, (2500 - 31) // 2 + 1, params)
    assert v.status == FAILED
    assert hint in _line(v, "parameter count") and str(8 * 2 * 31 + 8) not in v.message


def test_conv_padding_slip_is_named():
    padded = torch.nn.Conv1d(1, 4, kernel_size=7, padding=3)
    v = selfcheck.check_conv1d_arithmetic(padded, 100, 100 - 7 + 1, 4 * 7 + 4)
    assert v.status == FAILED and "padding" in _line(v, "output length")


def test_conv_half_answered_and_non_numbers_fail_without_raising():
    assert "not answered yet" in selfcheck.check_conv1d_arithmetic(LAYER, 2500, 1235, None).message
    assert "is not a number" in selfcheck.check_conv1d_arithmetic(LAYER, 2500, "many", 504).message


# --- patient-wise split -----------------------------------------------------------------------------------------
GROUPS = np.repeat([f"P{i:02d}" for i in range(10)], 5)        # 10 patients, 5 windows each
LABELS = np.repeat([0, 1] * 5, 5)                                # alternate patients have AF


def test_split_blank_is_not_attempted():
    assert selfcheck.check_patient_split(GROUPS, None, None).status == NOT_ATTEMPTED


def test_split_patient_wise_passes_with_indices_or_masks():
    test_mask = np.isin(GROUPS, ["P00", "P01", "P02"])
    assert selfcheck.check_patient_split(GROUPS, np.flatnonzero(~test_mask), np.flatnonzero(test_mask),
                                         labels=LABELS).status == PASSED
    assert selfcheck.check_patient_split(GROUPS, ~test_mask, test_mask, labels=LABELS).status == PASSED


def test_split_window_level_leak_is_named_with_the_patients():
    v = selfcheck.check_patient_split(GROUPS, np.arange(0, 50, 2), np.arange(1, 50, 2), labels=LABELS)
    assert v.status == FAILED
    line = _line(v, "leakage")
    assert "share 10 subject(s)" in line and "P00" in line


def test_split_that_drops_or_repeats_windows_fails():
    v = selfcheck.check_patient_split(GROUPS, np.arange(0, 30), np.arange(35, 50), labels=LABELS)
    assert v.status == FAILED and "5 in neither" in _line(v, "exactly one set")


def test_split_with_a_tiny_or_one_class_test_set_fails():
    v = selfcheck.check_patient_split(GROUPS, np.arange(5, 50), np.arange(0, 5), labels=LABELS)
    assert v.status == FAILED
    assert "10%" in _line(v, "test set holds") or "lacks class" in v.message
    assert "lacks class(es) [1]" in v.message


def test_split_junk_is_a_failed_verdict_not_an_exception():
    v = selfcheck.check_patient_split(GROUPS, "abc", [1.5, 2.5])
    assert v.status == FAILED and "could not read" in v.message
