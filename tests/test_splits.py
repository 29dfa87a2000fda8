"""Specifications of helpers.evaluate.splits: patient-wise, stratified, reproducible splits and the leakage check."""
from __future__ import annotations

import numpy as np
import pytest

from helpers.evaluate.splits import (
    LeaveOneSubjectOut,
    SubjectKFold,
    LeakageError,
    SplitIndices,
    check_no_leakage,
    class_ratios,
    describe_split,
    train_val_test_split,
)


def cohort(n_subjects=300, records_per_subject=4, af_rate=0.15, mixed=False, seed=0):
    """Labels and subject ids like an AF study: ~15 % AF, several records per patient."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(1, 2 * records_per_subject, n_subjects)
    groups = np.repeat([f"p{i:04d}" for i in range(n_subjects)], counts)
    if mixed:  # paroxysmal AF: one patient can have normal and AF records
        labels = (rng.random(len(groups)) < af_rate).astype(int)
    else:
        labels = np.repeat((rng.random(n_subjects) < af_rate).astype(int), counts)
    return labels, groups


def assert_partition(split, n):
    joined = np.concatenate(split)
    assert sorted(joined.tolist()) == list(range(n)), "every item must be in exactly one set"


@pytest.mark.parametrize("mixed", [False, True])
def test_split_keeps_every_subject_on_one_side(mixed):
    y, g = cohort(mixed=mixed)
    split = train_val_test_split(y, g, seed=3)
    assert_partition(split, len(y))
    assert check_no_leakage(g, *split)
    for a, b in [(split.train, split.val), (split.train, split.test), (split.val, split.test)]:
        assert not set(g[a]) & set(g[b])


@pytest.mark.parametrize("groups", [False, True])
@pytest.mark.parametrize("mixed", [False, True])
def test_split_keeps_class_ratios_within_tolerance(groups, mixed):
    y, g = cohort(mixed=mixed)
    split = train_val_test_split(y, g if groups else None, test_size=0.2, val_size=0.1, seed=0)
    overall = class_ratios(y)[1]
    for part in split:
        assert abs(class_ratios(y, part)[1] - overall) < 0.03
    assert len(split.test) / len(y) == pytest.approx(0.2, abs=0.04)
    assert len(split.val) / len(y) == pytest.approx(0.1, abs=0.04)


def test_split_returns_sorted_int_arrays_unpackable_as_train_val_test():
    y, g = cohort()
    train, val, test = split = train_val_test_split(y, g)
    assert isinstance(split, SplitIndices)
    for part in (train, val, test):
        assert part.dtype == np.int64 and np.all(np.diff(part) > 0)


@pytest.mark.parametrize("groups", [False, True])
def test_split_is_deterministic_per_seed_and_changes_with_seed(groups):
    y, g = cohort(mixed=True)
    g = g if groups else None
    a, b = train_val_test_split(y, g, seed=7), train_val_test_split(y, g, seed=7)
    c = train_val_test_split(y, g, seed=8)
    assert all(np.array_equal(p, q) for p, q in zip(a, b))
    assert not np.array_equal(a.test, c.test)


@pytest.mark.parametrize("groups", [False, True])
def test_split_with_zero_val_size_gives_empty_validation_set(groups):
    y, g = cohort()
    split = train_val_test_split(y, g if groups else None, val_size=0)
    assert len(split.val) == 0 and split.val.dtype == np.int64
    assert_partition(split, len(y))


@pytest.mark.parametrize("kwargs, message", [
    (dict(test_size=1.2), "test_size"),
    (dict(val_size=-0.1), "val_size"),
    (dict(test_size=0.6, val_size=0.5), "room for training"),
])
def test_split_rejects_impossible_sizes(kwargs, message):
    y, g = cohort()
    with pytest.raises(ValueError, match=message):
        train_val_test_split(y, g, **kwargs)


def test_split_names_expected_and_received_shapes():
    with pytest.raises(ValueError, match=r"expected shape \(10,\), got \(9,\)"):
        train_val_test_split(np.zeros(10), np.arange(9).astype(str))
    with pytest.raises(ValueError, match=r"shape \(5, 2\)"):
        train_val_test_split(np.zeros((5, 2)))


def test_split_with_few_subjects_still_keeps_them_apart():
    y = np.array([0, 0, 1, 1, 0, 1, 0, 0, 1, 0, 1, 0])
    g = np.repeat(list("abcdef"), 2)
    split = train_val_test_split(y, g, test_size=0.2, val_size=0.2)
    assert check_no_leakage(g, *split)
    assert min(len(p) for p in split) > 0


def test_check_no_leakage_names_shared_subjects_and_sets():
    g = np.array(["a", "a", "b", "c", "c", "d"])
    with pytest.raises(LeakageError, match=r"train and test share 1 subject\(s\): c") as err:
        check_no_leakage(g, [0, 1, 3], [2], [4, 5])
    assert "train and val" not in str(err.value)
    with pytest.raises(LeakageError, match=r"fit and holdout share 2 subject\(s\): a, c"):
        check_no_leakage(g, [0, 3], [1, 4], names=["fit", "holdout"])
    assert isinstance(LeakageError("x"), ValueError)


def test_window_level_split_leaks_and_the_check_catches_it():
    # The classic mistake: shuffling windows of the same patients into train and test.
    y, g = cohort()
    naive = train_val_test_split(y, None, seed=0)
    with pytest.raises(LeakageError):
        check_no_leakage(g, *naive)


def test_subject_kfold_puts_each_subject_in_exactly_one_test_fold():
    y, g = cohort(mixed=True)
    folds = list(SubjectKFold(n_splits=5, seed=1).split(None, y, g))
    assert len(folds) == 5 == SubjectKFold(5).get_n_splits()
    tested = np.concatenate([test for _, test in folds])
    assert sorted(tested.tolist()) == list(range(len(y)))
    for train, test in folds:
        assert train.dtype == test.dtype == np.int64 and np.all(np.diff(test) > 0)
        assert check_no_leakage(g, train, test, names=["train", "test"])
    same = list(SubjectKFold(n_splits=5, seed=1).split(None, y, g))
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(folds, same))  # the seed decides the folds
    with pytest.raises(ValueError, match="number of subjects"):
        list(SubjectKFold(n_splits=5).split(None, y[:4], g[:4]))
    with pytest.raises(ValueError, match="needs groups"):
        list(SubjectKFold().split(None, y, None))


def test_leave_one_subject_out_tests_each_subject_alone():
    g = np.array(["a", "b", "a", "c", "b"])
    folds = list(LeaveOneSubjectOut().split(groups=g))
    assert len(folds) == 3 == LeaveOneSubjectOut().get_n_splits(groups=g)
    assert [set(g[test]) for _, test in folds] == [{"a"}, {"b"}, {"c"}]
    with pytest.raises(ValueError, match="at least 2 subjects"):
        list(LeaveOneSubjectOut().split(groups=["a", "a"]))


@pytest.mark.parametrize("cv", [SubjectKFold(n_splits=3, seed=0), LeaveOneSubjectOut()])
def test_the_splitters_are_scikit_learn_cv_objects_that_keep_subjects_apart(cv):
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_validate

    y, g = cohort(mixed=True)
    X = np.random.default_rng(0).normal(size=(len(y), 3)) + y[:, None]
    result = cross_validate(LogisticRegression(), X, y, groups=g, cv=cv, return_indices=True)
    n_subjects = len(np.unique(g))
    assert len(result["test_score"]) == (3 if isinstance(cv, SubjectKFold) else n_subjects)
    for train, test in zip(result["indices"]["train"], result["indices"]["test"]):
        assert check_no_leakage(g, train, test, names=["train", "test"])


def test_class_ratios_and_describe_split_summarise_sets():
    y = np.array([0, 0, 0, 1])
    assert class_ratios(y) == {0: 0.75, 1: 0.25}
    assert class_ratios(y, [3]) == {1: 1.0}
    table = describe_split(y, ["a", "a", "b", "c"], ([0, 1], [], [2, 3]), class_names=("normal", "af"))
    assert table.loc["train", "subjects"] == 1 and table.loc["test", "frac_af"] == 0.5
    assert table.loc["val", "items"] == 0


def test_check_no_leakage_reads_boolean_masks_as_masks():
    # 50 patients, two records each: a patient-wise split given as masks must pass, a leaky one must name the
    # patients actually shared (read as 0/1 positions, masks would flag one false patient, or miss 47 real ones).
    g = np.repeat([f"p{i:02d}" for i in range(50)], 2)
    test = np.isin(g, [f"p{i:02d}" for i in range(40, 50)])
    assert check_no_leakage(g, ~test, test, names=["train", "test"])
    leaky = np.zeros(100, dtype=bool)
    leaky[1::2] = True  # one record of every patient in test, the other in train
    with pytest.raises(LeakageError, match="share 50 subject"):
        check_no_leakage(g, ~leaky, leaky, names=["train", "test"])


@pytest.mark.parametrize("bad, message", [
    (np.array([True, False]), "boolean mask of shape"),
    (np.array([0.0, 1.0]), "integer positions or a boolean mask"),
    (np.array([0, 7]), "only 4 groups"),
])
def test_check_no_leakage_refuses_what_is_neither_positions_nor_a_mask(bad, message):
    with pytest.raises(ValueError, match=message):
        check_no_leakage(["a", "a", "b", "b"], [0, 1], bad)


def test_de_chazal_split_keeps_ds1_and_ds2_apart_and_leaves_paced_records_out():
    from helpers.data.mitbih_records import DS1_RECORDS, DS2_RECORDS, PACED_RECORDS
    from helpers.evaluate.splits import de_chazal_split

    assert len(DS1_RECORDS) == len(DS2_RECORDS) == 22 and not set(DS1_RECORDS) & set(DS2_RECORDS)
    records = np.array(["101", "100", "102", "101", "234", "999"])
    train, test = de_chazal_split(records)
    assert train.tolist() == [0, 3] and test.tolist() == [1, 4]
    assert check_no_leakage(records, train, test, names=["DS1", "DS2"])
    with_paced, _ = de_chazal_split(records, exclude_paced=False)
    assert with_paced.tolist() == [0, 2, 3] and set(PACED_RECORDS).isdisjoint(DS1_RECORDS + DS2_RECORDS)
