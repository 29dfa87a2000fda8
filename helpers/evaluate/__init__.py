"""Evaluation: how a model is judged, honestly.

- :mod:`~helpers.evaluate.splits`: patient-wise splits (``SubjectKFold``, ``LeaveOneSubjectOut`` as scikit-learn
  ``cv=`` objects, ``train_val_test_split``, ``check_no_leakage``);
- :mod:`~helpers.evaluate.metrics`: scores and per-class tables (each with its ``n``);
- :mod:`~helpers.evaluate.degenerate`: the flags printed beside a degenerate result (AUC < 0.5, one-class
  predictions, at or below the majority baseline, too few examples);
- :mod:`~helpers.evaluate.plots`: the course's figures (signals, confusion matrices, ROC, training curves);
- :mod:`~helpers.evaluate.explain`: attributions with captum and their sanity check.

Import the submodule you need (``from helpers.evaluate import metrics``); nothing is loaded eagerly, so importing
the metrics does not pull in matplotlib or captum.
"""
