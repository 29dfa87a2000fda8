"""Which beats train and which test in the MIT-BIH benchmark: DS1 -> DS2, leave-patients-out within DS1, and
the leaky beat-level splits they are compared with. Every inter-patient split is checked for shared patients
(:func:`~helpers.evaluate.splits.check_no_leakage`).
"""
from __future__ import annotations

import numpy as np

from helpers.data.mitbih_records import DS1_RECORDS, DS2_RECORDS
from helpers.evaluate.splits import check_no_leakage, de_chazal_split


def grouped_folds(y, groups, n_folds: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Leave-patients-out folds: every patient's beats in one test fold; classes spread over folds."""
    from sklearn.model_selection import StratifiedGroupKFold

    n_groups = np.unique(groups).size
    if not 2 <= n_folds <= n_groups:
        raise SystemExit(f"--folds must be between 2 and the number of patients ({n_groups}), got {n_folds}")
    cv = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=0)  # one set of folds for every seed
    return list(cv.split(np.zeros(len(y)), y, groups))


def beat_folds(y, n_folds: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The leaky counterpart: a class-stratified k-fold over beats, patients on both sides."""
    from sklearn.model_selection import StratifiedKFold

    return list(StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=0).split(np.zeros(len(y)), y))


def intra_patient_split(y: np.ndarray, pool: np.ndarray, n_train: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A random, class-stratified beat-level split of ``pool`` with ``n_train`` beats to train on."""
    from sklearn.model_selection import train_test_split

    train, test = train_test_split(pool, train_size=n_train, stratify=y[pool], random_state=seed)
    return np.sort(train), np.sort(test)


def inter_patient_folds(d: dict, args) -> tuple[str, list, list[str]]:
    """The key, the (train, test) folds and the shared patients of the inter-patient evaluation."""
    record, subject = d["record"], d["subject"]
    if args.cv == "ds1":
        ds1 = np.flatnonzero(np.isin(record, DS1_RECORDS))
        if ds1.size == 0:
            raise SystemExit(f"--cv ds1 needs DS1 records {DS1_RECORDS}; none among these")
        folds = [(ds1[tr], ds1[te]) for tr, te in grouped_folds(d["y"][ds1], subject[ds1], args.folds)]
        for tr, te in folds:
            check_no_leakage(subject, tr, te, names=["train patients", "held-out patients"])
        return "ds1_cv", folds, []
    train, test = de_chazal_split(record)
    if len(train) == 0 or len(test) == 0:
        raise SystemExit(f"--records must include DS1 and DS2 records; DS1 {DS1_RECORDS}, DS2 {DS2_RECORDS}")
    shared = sorted(set(subject[train].tolist()) & set(subject[test].tolist()))
    if args.strict_patients and shared:
        test = test[~np.isin(subject[test], shared)]
        print(f"--strict-patients: DS2 beats of patient(s) {shared} (also in DS1) left out of the test set")
        shared = []
    elif shared:
        print(f"note: the conventional DS1/DS2 split shares patient(s) {shared} (records 201 in DS1 and 202 in DS2 "
              "come from one man); kept for comparability with the literature; --strict-patients drops them")
    check_no_leakage(record, train, test, names=["DS1", "DS2"])
    return "ds2", [(train, test)], shared
