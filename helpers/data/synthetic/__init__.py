"""Synthetic stand-ins for the course datasets (the embedded defaults used when real data are absent).

Each generator produces physiologically plausible signals; the dataset modules in :mod:`helpers.data` write them
in the real dataset's on-disk format and read them back through the real loader.
"""
from .af_ecg import GENERATOR_VERSION as AF_GENERATOR_VERSION
from .af_ecg import RHYTHMS as AF_RHYTHMS
from .af_ecg import SimulatedRecords, simulate_af_records
from .mitbih_ecg import GENERATOR_VERSION as MITBIH_GENERATOR_VERSION
from .mitbih_ecg import SimulatedBeatRecord, simulate_mitbih_records

__all__ = ["AF_GENERATOR_VERSION", "AF_RHYTHMS", "MITBIH_GENERATOR_VERSION", "SimulatedBeatRecord", "SimulatedRecords",
           "simulate_af_records", "simulate_mitbih_records"]
