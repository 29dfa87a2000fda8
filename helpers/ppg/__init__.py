"""Unit 4's glue: WESAD condition records -> stress / not-stress windows (:mod:`helpers.ppg.windows`)."""
from helpers.ppg.windows import NORMALIZE, STRESS_CLASSES, binary_stress_labels, label_subset, stress_windows

__all__ = ["NORMALIZE", "STRESS_CLASSES", "binary_stress_labels", "label_subset", "stress_windows"]
