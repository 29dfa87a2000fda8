"""What each simulated MIT-BIH record holds: one :class:`RecordProfile` per real record name, after the real one.

Which records carry many ventricular beats, bigeminy, supraventricular runs, AF, fusion, bundle branch block or
pacing follows the real database's record descriptions (PhysioNet mitdb 1.0.0, "MIT-BIH Arrhythmia Database
Directory"); the numbers are rounded so that the class balance over all 48 records is close to the real one (see
:mod:`helpers.data.synthetic.mitbih_ecg`).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RecordProfile:
    """The events and recording conditions of one simulated record. Shares are per beat unless stated.

    Attributes
    ----------
    af_share : float
        Share of the record in atrial fibrillation (1.0: the whole record).
    paced_mix : (float, float) or None
        For a paced record, the shares of fusion-of-paced-and-normal (``f``) and of native normal (``N``) beats
        among its beats; None for a record without a pacemaker.
    bundle_block : {None, "L", "R"}
        Left or right bundle branch block: the normal beats are ``L`` or ``R`` (still AAMI class N).
    v_share, s_share, f_share, q_share : float
        Probability that a beat is an isolated ventricular, supraventricular, fusion or unclassifiable beat.
    bigeminy_share : float
        Share of the record in ventricular bigeminy (every other beat V).
    vt_per_hour, svta_per_hour : float
        Ventricular couplets and runs, and supraventricular runs, per hour.
    second_focus : float
        Probability that a V beat comes from a second ectopic focus (multiform ventricular beats).
    s_symbol : {"A", "a", "J"}
        The symbol of this record's supraventricular beats: atrial, aberrated atrial or nodal premature.
    hr_bpm : float or None
        Mean sinus rate; None draws one for the patient.
    noise : float
        Multiplier of every noise amplitude (105, 108 and 203 are the noisy records).
    lead2 : {"V1", "V5"}
        The second lead after MLII.
    """

    af_share: float = 0.0
    paced_mix: tuple[float, float] | None = None
    bundle_block: str | None = None
    v_share: float = 0.0
    bigeminy_share: float = 0.0
    vt_per_hour: float = 0.0
    second_focus: float = 0.05
    s_share: float = 0.0
    s_symbol: str = "A"
    svta_per_hour: float = 0.0
    f_share: float = 0.0
    q_share: float = 0.0
    hr_bpm: float | None = None
    noise: float = 1.0
    lead2: str = "V1"

    @property
    def paced(self) -> bool:
        """True for the four paced records."""
        return self.paced_mix is not None


#: Record name -> profile, for the 48 records of :data:`helpers.data.mitbih_records.RECORDS`.
PROFILES: dict[str, RecordProfile] = {
    "100": RecordProfile(s_share=0.027, lead2="V5"),
    "101": RecordProfile(s_share=0.004, q_share=0.002),
    "102": RecordProfile(paced_mix=(0.25, 0.02), lead2="V5"),
    "103": RecordProfile(s_share=0.002),
    "104": RecordProfile(paced_mix=(0.3, 0.07), noise=1.5, lead2="V5"),
    "105": RecordProfile(v_share=0.028, q_share=0.002, noise=3.0),
    "106": RecordProfile(v_share=0.168, bigeminy_share=0.195, vt_per_hour=6),
    "107": RecordProfile(paced_mix=(0.03, 0.0)),
    "108": RecordProfile(v_share=0.014, s_share=0.004, f_share=0.001, noise=2.0),
    "109": RecordProfile(bundle_block="L", v_share=0.021, f_share=0.001),
    "111": RecordProfile(bundle_block="L", v_share=0.001),
    "112": RecordProfile(s_share=0.002),
    "113": RecordProfile(s_share=0.005, s_symbol="a", hr_bpm=58),
    "114": RecordProfile(v_share=0.028, s_share=0.009, f_share=0.003, lead2="V5"),
    "115": RecordProfile(),
    "116": RecordProfile(v_share=0.056),
    "117": RecordProfile(hr_bpm=52),
    "118": RecordProfile(bundle_block="R", v_share=0.008, s_share=0.072),
    "119": RecordProfile(v_share=0.056, bigeminy_share=0.455),
    "121": RecordProfile(s_share=0.002, hr_bpm=62),
    "122": RecordProfile(),
    "123": RecordProfile(v_share=0.003, hr_bpm=55),
    "124": RecordProfile(bundle_block="R", v_share=0.028, s_share=0.036, s_symbol="J", f_share=0.003, hr_bpm=55),
    "200": RecordProfile(v_share=0.168, bigeminy_share=0.26, vt_per_hour=6, s_share=0.018, f_share=0.001),
    "201": RecordProfile(af_share=0.35, v_share=0.098, second_focus=0.3, s_share=0.072, s_symbol="a"),
    "202": RecordProfile(af_share=0.3, v_share=0.014, s_share=0.036),
    "203": RecordProfile(af_share=0.8, v_share=0.168, vt_per_hour=10, second_focus=0.5, f_share=0.003, noise=2.5),
    "205": RecordProfile(v_share=0.042, f_share=0.005, hr_bpm=88),
    "207": RecordProfile(bundle_block="L", v_share=0.056, vt_per_hour=4, s_share=0.09),
    "208": RecordProfile(v_share=0.224, bigeminy_share=0.156, second_focus=0.2, s_share=0.002, f_share=0.156),
    "209": RecordProfile(s_share=0.108, svta_per_hour=24, hr_bpm=95),
    "210": RecordProfile(af_share=1.0, v_share=0.098, f_share=0.005),
    "212": RecordProfile(bundle_block="R"),
    "213": RecordProfile(v_share=0.084, s_share=0.018, f_share=0.143, hr_bpm=105),
    "214": RecordProfile(bundle_block="L", v_share=0.14, f_share=0.001),
    "215": RecordProfile(v_share=0.07, s_share=0.002, hr_bpm=100),
    "217": RecordProfile(paced_mix=(0.12, 0.1), v_share=0.098),
    "219": RecordProfile(af_share=0.9, v_share=0.042),
    "220": RecordProfile(s_share=0.081),
    "221": RecordProfile(af_share=1.0, v_share=0.224),
    "222": RecordProfile(af_share=0.3, s_share=0.108, svta_per_hour=12),
    "223": RecordProfile(v_share=0.21, vt_per_hour=4, s_share=0.054, f_share=0.007),
    "228": RecordProfile(v_share=0.224, s_share=0.002, noise=1.5),
    "230": RecordProfile(),
    "231": RecordProfile(bundle_block="R", s_share=0.002),
    "232": RecordProfile(s_share=0.5, hr_bpm=50),
    "233": RecordProfile(v_share=0.252, bigeminy_share=0.13, f_share=0.005, hr_bpm=100),
    "234": RecordProfile(s_share=0.036, s_symbol="J"),
}
