"""helpers: the Biosignal DL Course's library.

Layers, each using only those below it: ``data`` (datasets, cache, synthetic defaults) -> ``signal`` (filters,
per-subject normalisation, R peaks, beats, windows) -> ``models`` -> ``train`` -> ``evaluate`` (patient-wise
splits, metrics, degenerate-result flags, plots, attributions) -> ``edge`` (deployment), plus per-unit glue
(``eeg``, ``ppg``) and ``notebook`` support (run sizes, headline results, self-checks).

One spelling per concept, in the library, the notebooks and the tests (``tests/test_naming.py`` refuses the
retired spellings):

==============================  ======================================================================================
concept                         name
==============================  ======================================================================================
sampling rate                   ``fs``, in Hz (never ``sampling_rate``, ``sfreq``, ``srate`` as an argument)
number of classes / logits      ``n_outputs``: a model's output width and the number of classes a loop trains on
subject of each item            ``groups`` as an argument (scikit-learn's name), ``subject_ids`` as a dataset field
parameter count                 ``num_parameters`` (a model's method, and a function for any ``nn.Module``)
splitters                       ``SubjectKFold``, ``LeaveOneSubjectOut``: scikit-learn ``cv=`` objects
per-subject z-scores            ``helpers.signal.normalise_per_subject``
a model's options               a config dataclass merged by ``helpers.models.base.merge_config``
==============================  ======================================================================================
"""
