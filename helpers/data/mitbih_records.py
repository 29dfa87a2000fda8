"""The MIT-BIH Arrhythmia Database's record names and the groups the literature uses, stated once.

The reader (:mod:`helpers.data.mitbih`), the synthetic database (:mod:`helpers.data.synthetic.mitbih_ecg`) and
the inter-patient split (:func:`helpers.evaluate.splits.de_chazal_split`) all name records from here.
"""
from __future__ import annotations

#: The 48 records, in PhysioNet's order (https://physionet.org/content/mitdb/1.0.0/RECORDS).
RECORDS: tuple[str, ...] = (
    "100", "101", "102", "103", "104", "105", "106", "107", "108", "109", "111", "112", "113", "114", "115", "116",
    "117", "118", "119", "121", "122", "123", "124", "200", "201", "202", "203", "205", "207", "208", "209", "210",
    "212", "213", "214", "215", "217", "219", "220", "221", "222", "223", "228", "230", "231", "232", "233", "234",
)

#: The four records of paced rhythm; the inter-patient convention (AAMI EC57, de Chazal 2004) leaves them out.
PACED_RECORDS: tuple[str, ...] = ("102", "104", "107", "217")

# The inter-patient split of de Chazal, O'Dwyer and Reilly (IEEE TBME 51(7), 2004): 22 records to train (DS1), 22
# others to test (DS2), chosen so that both hold every beat type. One known flaw, kept for comparability with the
# literature: records 201 (DS1) and 202 (DS2) come from the same patient (SAME_PATIENT), so the split is
# inter-*record*; check_no_leakage on records passes, on patients it names that one.
DS1_RECORDS: tuple[str, ...] = (
    "101", "106", "108", "109", "112", "114", "115", "116", "118", "119", "122", "124", "201", "203", "205", "207",
    "208", "209", "215", "220", "223", "230",
)
DS2_RECORDS: tuple[str, ...] = (
    "100", "103", "105", "111", "113", "117", "121", "123", "200", "202", "210", "212", "213", "214", "219", "221",
    "222", "228", "231", "232", "233", "234",
)

#: PhysioNet: records 201 and 202 came from the same subject.
SAME_PATIENT: dict[str, str] = {"202": "201"}
