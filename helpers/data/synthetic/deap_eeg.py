"""Synthetic 32-channel EEG plus peripheral signals with emotion ratings, shaped like DEAP's preprocessed release.

The embedded default of Unit 3 (EEG emotion recognition). :func:`simulate_deap_subject` returns, in memory, what
one of DEAP's ``sXX.dat`` files holds: ``data`` (40 trials, 40 channels, 8064 samples at 128 Hz: a 3 s pre-trial
baseline, then 60 s of music video) and ``labels`` (40 trials x valence, arousal, dominance, liking, 1-9);
:mod:`helpers.data.deap` writes it as the same Python-2-style pickle and reads it back through the real loader.

What is simulated, and how
--------------------------
1. **Ratings.** The 40 videos (one per trial, in the same order for every subject, as in DEAP's preprocessed
   files, which are sorted by video) come in four blocks of ten by intended quadrant (high/low arousal x
   high/low valence); each video has a target valence and arousal (shared by all subjects of a seed). A subject's
   rating is the video's target + a per-subject bias per scale + per-trial noise (sd 1.0-1.8, a per-subject
   reliability), clipped to 1-9 and continuous (so exact 1s and 9s occur, about 3% of ratings). Dominance and
   liking follow valence (pooled r ~ 0.55 and ~ 0.8); arousal is independent of valence.
2. **EEG** (channels 1-32, uV, DEAP's channel order), per trial and channel, in the frequency domain
   (random phases under a target spectrum, one inverse FFT per component for all 40 x 32 signals):

   * a 1/f^chi background (chi 1.2-1.8 per subject) and a frontal-midline theta rhythm (5-7 Hz);
   * an alpha rhythm at the subject's individual alpha frequency (IAF, 8.5-12 Hz, :attr:`SimulatedDeapSubject.
     alpha_peak_hz`), strongest over posterior channels (O1, Oz, O2, PO3, PO4, P7, P8), with a per-subject alpha
     gain; narrow-band noise, so it waxes and wanes as real alpha does;
   * a broad beta band (about 20 Hz) strongest centrally;
   * per-subject channel gains (skull and impedance), per-trial fluctuations of alpha and beta power (state
     changes unrelated to emotion: these are what makes the task hard);
   * volume conduction (each electrode sees a Gaussian-weighted mix of its neighbours), DEAP's 4-45 Hz band-pass
     and common average reference;
   * residual eye blinks on Fp1/Fp2 (weaker on AF3/AF4, slight on F3/F4/Fz): DEAP removed EOG artefacts, but not
     perfectly; the blink shapes went through the same 4-45 Hz band-pass;
   * temporalis EMG bursts (20-45 Hz after the band-pass) on T7/T8 and, weaker, their neighbours.
3. **Emotion effects**, weak and starting after the 3 s baseline (ramping in over 1 s), driven by the subject's own
   ratings (``z = (rating - 5) / 2``):

   * valence: frontal alpha asymmetry: alpha falls on left frontal channels and rises on right ones as valence
     rises (about 8% amplitude per unit z at F3/F4); ``log alpha(F4) - log alpha(F3)`` correlates with valence,
     r ~ 0.3-0.45 pooled over subjects (weaker than within a subject, because subjects have their own resting
     asymmetry);
   * arousal: less alpha and more beta everywhere (about 8% per unit z), more and larger skin conductance
     responses, slightly faster heart and breathing;
   * valence also raises zygomaticus EMG a little (smiling).
4. **Peripheral channels** (33-40): hEOG (uV; fixations and saccades as steps, plus noise), vEOG (uV; blinks of
   100-300 uV at 8-25 per minute, plus noise), zEMG and tEMG (uV; broadband 20-64 Hz bursts), GSR (skin
   *resistance* in Ohm, as DEAP recorded it: a tonic level, slow drift and skin conductance responses that show as
   dips), respiration belt (arbitrary units, ~0.25 Hz with rate and depth variability), plethysmograph (arbitrary
   units, pulse waves at ~1.1 Hz with respiratory sinus arrhythmia), temperature (deg C, slow drift).

Difficulty, measured with seeds 0-2 (8 subjects) and seed 0 (16 subjects): a subject-independent model
(leave-one-subject-out; log theta/alpha/beta/gamma power of the 32 EEG channels after the baseline; logistic
regression) reaches 53-58% for high/low valence (majority class 52-56%) and 56-61% for arousal (majority 51-53%);
standardising the features per subject gives 54-66%. Published subject-independent results on real DEAP are often
55-65%.

What is not realistic
---------------------
The EEG is stationary coloured noise with fixed rhythms, not a model of cortical sources; there are no event
related responses to the video, no slow drifts or electrode pops, no spatial topography of beta or theta beyond a
smooth weight, no hEOG leakage into F7/F8, and the emotion effects are ones from the literature (frontal asymmetry,
alpha/beta balance) placed deliberately, whereas on real DEAP their size and even existence are debated. Peripheral
channels are plausible in shape and rate, but their scales (and the GSR's resistance units) are not calibrated to
the real files. Ratings depend on the video block and the subject only; real subjects also drift with time.

The building blocks (shaped noise, event trains, DEAP's band-pass) are in :mod:`.deap_signals`, the peripheral
channels in :mod:`.deap_peripheral`; this module draws the subject, the ratings and the EEG.

Generating one subject takes about 1.1 s of CPU (8 subjects, 40 x 40 x 8064 each: about 9 s); writing them as
DEAP's float64 pickles (826 MB) adds about 1.5 s.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .deap_peripheral import peripheral
from .deap_signals import (
    BANDPASS,
    FREQS,
    FS,
    N_SAMPLES,
    N_TRIALS,
    convolve,
    events,
    impulses,
    onset_ramp,
    peak,
    shaped_noise,
    smooth_noise,
)

__all__ = ["CHANNELS", "GENERATOR_VERSION", "SimulatedDeapSubject", "simulate_deap", "simulate_deap_subject"]

GENERATOR_VERSION = "deap_eeg-1.0"

# Emotion effects, in log-amplitude per unit z = (rating - 5) / 2: small on purpose (see the module docstring).
VALENCE_ASYMMETRY = 0.08  # frontal alpha: left down, right up with valence
AROUSAL_ALPHA = 0.10      # alpha down with arousal, everywhere
AROUSAL_BETA = 0.10       # beta up with arousal, everywhere
#: DEAP's 40 channels in file order: 32 EEG (Geneva order), then the peripheral ones.
CHANNELS: tuple[str, ...] = (
    "Fp1", "AF3", "F3", "F7", "FC5", "FC1", "C3", "T7", "CP5", "CP1", "P3", "P7", "PO3", "O1", "Oz", "Pz",
    "Fp2", "AF4", "Fz", "F4", "F8", "FC6", "FC2", "Cz", "C4", "T8", "CP6", "CP2", "P4", "P8", "PO4", "O2",
    "hEOG", "vEOG", "zEMG", "tEMG", "GSR", "Respiration belt", "Plethysmograph", "Temperature",
)
N_EEG = 32

# Approximate scalp positions (x: left -1 .. right +1, y: back -1 .. front +1) of the left-hemisphere and midline
# electrodes; right ones mirror them. Only smooth spatial weights and neighbour distances need them.
_LEFT_XY = {"Fp1": (-0.3, 0.95), "AF3": (-0.35, 0.75), "F3": (-0.4, 0.5), "F7": (-0.8, 0.55), "FC5": (-0.7, 0.25),
            "FC1": (-0.25, 0.25), "C3": (-0.5, 0.0), "T7": (-1.0, 0.0), "CP5": (-0.7, -0.25), "CP1": (-0.25, -0.25),
            "P3": (-0.4, -0.5), "P7": (-0.8, -0.55), "PO3": (-0.35, -0.75), "O1": (-0.3, -0.95)}
_MID_XY = {"Oz": (0.0, -1.0), "Pz": (0.0, -0.5), "Fz": (0.0, 0.5), "Cz": (0.0, 0.0)}
_MIRROR = {"Fp2": "Fp1", "AF4": "AF3", "F4": "F3", "F8": "F7", "FC6": "FC5", "FC2": "FC1", "C4": "C3", "T8": "T7",
           "CP6": "CP5", "CP2": "CP1", "P4": "P3", "P8": "P7", "PO4": "PO3", "O2": "O1"}


def _positions() -> np.ndarray:
    xy = []
    for name in CHANNELS[:N_EEG]:
        if name in _LEFT_XY:
            xy.append(_LEFT_XY[name])
        elif name in _MID_XY:
            xy.append(_MID_XY[name])
        else:
            x, y = _LEFT_XY[_MIRROR[name]]
            xy.append((-x, y))
    return np.asarray(xy)


XY = _positions()  # (32, 2)


@dataclass
class SimulatedDeapSubject:
    """One simulated DEAP subject: what ``sXX.dat`` holds, plus the parameters that made it.

    Attributes
    ----------
    subject : str
        ``"s01"`` ...
    data : np.ndarray
        float64, shape ``(40, 40, 8064)``: trials x channels (:data:`CHANNELS`) x samples at 128 Hz.
    labels : np.ndarray
        float64, shape ``(40, 4)``: valence, arousal, dominance, liking ratings in 1-9.
    alpha_peak_hz : float
        The subject's individual alpha frequency.
    blink_samples : list of np.ndarray
        Per trial, the sample index of each blink's peak.
    params : dict
        Other subject parameters (gains, rates), for tests and curiosity.
    """

    subject: str
    data: np.ndarray
    labels: np.ndarray
    alpha_peak_hz: float
    blink_samples: list[np.ndarray] = field(default_factory=list)
    params: dict = field(default_factory=dict)


def _video_targets(seed: int) -> np.ndarray:
    """(40, 2) target valence and arousal per video: four blocks of ten (HAHV, LAHV, LALV, HALV)."""
    rng = np.random.default_rng([seed, 7919])  # shared by every subject of a seed: the videos are the same
    quadrant_v = np.repeat([1, 1, -1, -1], 10)
    quadrant_a = np.repeat([1, -1, -1, 1], 10)
    valence = 5 + quadrant_v * rng.uniform(1.0, 2.8, N_TRIALS)
    arousal = 5 + quadrant_a * rng.uniform(0.5, 2.2, N_TRIALS)  # arousal is rated less extremely than valence
    return np.stack([valence, arousal], axis=1)


def _ratings(rng: np.random.Generator, targets: np.ndarray) -> np.ndarray:
    bias = rng.normal(0, 0.8, 4)
    noise_sd = rng.uniform(1.0, 1.8)
    valence = targets[:, 0] + bias[0] + rng.normal(0, noise_sd, N_TRIALS)
    arousal = targets[:, 1] + bias[1] + rng.normal(0, noise_sd, N_TRIALS)
    dominance = 5 + 0.4 * (valence - 5) + bias[2] + rng.normal(0, 1.3, N_TRIALS)
    liking = 5 + 0.7 * (valence - 5) + bias[3] + rng.normal(0, 1.2, N_TRIALS)
    return np.clip(np.stack([valence, arousal, dominance, liking], axis=1), 1.0, 9.0)


def simulate_deap_subject(subject: int, *, seed: int = 0) -> SimulatedDeapSubject:
    """Simulate DEAP subject number ``subject`` (1-based): 40 trials of 40 channels, 63 s at 128 Hz.

    The subject depends only on ``(seed, subject)``, so ``s03`` is the same whether 8 or 32 subjects are written.

    Parameters
    ----------
    subject : int
        1, 2, ... (DEAP has 32; larger numbers work and give new subjects).
    seed : int
        Seed of the whole synthetic set.

    Returns
    -------
    SimulatedDeapSubject
        ``data`` float64 ``(40, 40, 8064)`` in uV for EEG/EOG/EMG (see the module docstring for the others),
        ``labels`` float64 ``(40, 4)`` ratings in 1-9.
    """
    if subject < 1:
        raise ValueError(f"subject numbers start at 1, got {subject}")
    # One generator, drawn from in a fixed order: ratings, subject, rhythms, blinks, EMG, peripheral signals.
    rng = np.random.default_rng([seed, subject])
    labels = _ratings(rng, _video_targets(seed))
    zv = ((labels[:, 0] - 5) / 2).astype(np.float32)[:, None]  # (40, 1)
    za = ((labels[:, 1] - 5) / 2).astype(np.float32)[:, None]
    p = _draw_subject(rng)
    eeg = _volume_conduction(_rhythms(rng, p, zv, za) * p.channel_gain[:, None])
    blinks, blink_rate, veog_blinks = _add_blinks(rng, eeg)
    _add_emg(rng, eeg)
    eeg -= eeg.mean(axis=1, keepdims=True)  # common average reference, as in DEAP's preprocessing

    data = np.concatenate([eeg.astype(np.float64), peripheral(rng, zv[:, 0], za[:, 0], veog_blinks)], axis=1)
    return SimulatedDeapSubject(
        subject=f"s{subject:02d}", data=data, labels=labels, alpha_peak_hz=p.iaf, blink_samples=blinks,
        params={"theta_hz": p.theta_hz, "beta_hz": p.beta_hz, "alpha_gain": p.alpha_gain,
                "one_over_f_exponent": p.chi, "resting_asymmetry": p.resting_asymmetry,
                "blinks_per_min": blink_rate * 60})


@dataclass
class _Subject:
    """What makes one subject's EEG their own."""

    iaf: float                 # individual alpha frequency, Hz
    chi: float                 # 1/f exponent of the background
    theta_hz: float
    beta_hz: float
    alpha_gain: float
    channel_gain: np.ndarray   # (32,) float32, electrode impedance and skull thickness
    resting_asymmetry: float   # log-amplitude, right minus left frontal alpha


def _draw_subject(rng: np.random.Generator) -> _Subject:
    iaf = float(np.clip(rng.normal(10.0, 0.7), 8.5, 12.0))
    chi = rng.uniform(1.2, 1.8)
    theta_hz, beta_hz = rng.normal(6.0, 0.4), rng.normal(20.0, 2.0)
    alpha_gain = np.exp(rng.normal(0, 0.35))
    channel_gain = np.exp(rng.normal(0, 0.12, N_EEG)).astype(np.float32)
    return _Subject(iaf=iaf, chi=chi, theta_hz=theta_hz, beta_hz=beta_hz, alpha_gain=alpha_gain,
                    channel_gain=channel_gain, resting_asymmetry=rng.normal(0, 0.25))


def _rhythms(rng: np.random.Generator, p: _Subject, zv: np.ndarray, za: np.ndarray) -> np.ndarray:
    """Background, theta, alpha and beta at each electrode before volume conduction: (40, 32, 8064) float32 uV."""
    x, y = XY[:, 0], XY[:, 1]
    ramp = onset_ramp()  # (8064,)
    # Spatial weights (32,): alpha posterior, theta frontal-midline, beta central.
    w_alpha = 0.2 + 0.8 / (1 + np.exp(5 * (y + 0.35)))
    w_theta = 0.3 + 0.7 * np.exp(-(x ** 2 + (y - 0.45) ** 2) / 0.15)
    w_beta = 0.6 + 0.4 * np.exp(-((np.abs(x) - 0.45) ** 2 + y ** 2) / 0.2)
    frontal_side = np.sign(x) * np.clip((y - 0.1) / 0.6, 0, 1)  # -1 left frontal .. +1 right frontal, 0 elsewhere

    # Background and theta: one spectrum per channel (1/f, ~10 uV rms, plus ~3 uV frontal-midline theta), already
    # through DEAP's 4-45 Hz band-pass (the other components lie inside the band; filtering commutes with mixing).
    one_over_f = 1 / np.maximum(FREQS, 1.0) ** (p.chi / 2)
    one_over_f /= np.sqrt(2 * (one_over_f ** 2).sum() / N_SAMPLES)
    theta = peak(p.theta_hz, 0.8)
    theta /= np.sqrt(2 * (theta ** 2).sum() / N_SAMPLES)
    spectrum = np.sqrt((10.0 * one_over_f) ** 2 + (3.0 * w_theta[:, None] * theta) ** 2) * BANDPASS  # (32, F)
    eeg = shaped_noise(rng, spectrum, (N_TRIALS, N_EEG), normalise=False)

    # Alpha: per-trial state (shared over channels) and per-channel jitter, then the emotion effects.
    state = rng.normal(0, 0.25, (N_TRIALS, 1)) + rng.normal(0, 0.10, (N_TRIALS, N_EEG))
    # Valence: left frontal alpha falls, right rises (relatively more left activation); arousal: less alpha.
    effect = VALENCE_ASYMMETRY * frontal_side * zv - AROUSAL_ALPHA * za
    level = (12.0 * p.alpha_gain * w_alpha * np.exp(state + 0.5 * p.resting_asymmetry * frontal_side))
    alpha = shaped_noise(rng, peak(p.iaf, 0.6), (N_TRIALS, N_EEG))
    alpha *= level.astype(np.float32)[..., None] * (1 + (np.exp(effect)[..., None] - 1) * ramp).astype(np.float32)
    eeg += alpha
    del alpha

    state = rng.normal(0, 0.2, (N_TRIALS, 1)) + rng.normal(0, 0.1, (N_TRIALS, N_EEG))
    level = (3.5 * w_beta * np.exp(state)).astype(np.float32)
    beta = shaped_noise(rng, peak(p.beta_hz, 4.0), (N_TRIALS, N_EEG))
    beta *= level[..., None] * (1 + (np.exp(AROUSAL_BETA * za)[..., None] - 1) * ramp).astype(np.float32)
    eeg += beta
    return eeg


def _volume_conduction(eeg: np.ndarray) -> np.ndarray:
    """Each electrode sees its neighbours (rows keep unit norm, so variance is kept); same shape as ``eeg``."""
    dist2 = ((XY[:, None, :] - XY[None, :, :]) ** 2).sum(-1)
    mix = np.exp(-dist2 / (2 * 0.3 ** 2))
    mix /= np.linalg.norm(mix, axis=1, keepdims=True)
    return np.einsum("ij,tjn->tin", mix.astype(np.float32), eeg, optimize=True)


def _add_blinks(rng: np.random.Generator, eeg: np.ndarray) -> tuple[list[np.ndarray], float, np.ndarray]:
    """Add blink residuals to frontal ``eeg`` in place; returns the blink samples, the rate (/s) and raw vEOG."""
    x, y = XY[:, 0], XY[:, 1]
    # Blinks: raw on vEOG; on frontal EEG a residual (EOG removal was imperfect) after the same band-pass.
    blink_rate = rng.uniform(8, 25) / 60
    blinks = events(rng, np.full(N_TRIALS, blink_rate), refractory_s=0.8)
    blink_amp = [rng.uniform(100, 300, ev.size) for ev in blinks]
    t_k = np.arange(-64, 65) / FS
    blink_shape = np.exp(-0.5 * (t_k / 0.07) ** 2)  # ~300 ms blink
    veog_blinks = convolve(impulses(blinks, blink_amp), blink_shape, centre=64)
    eeg_blinks = convolve(impulses(blinks, blink_amp), blink_shape, centre=64, gain=BANDPASS)
    # What EOG removal left: 60% on Fp1/Fp2, ~35% on AF3/AF4, ~7% on F3/F4; the 4 Hz high-pass then removes most of
    # a blink's energy, leaving a ~15-25 uV biphasic deflection on Fp1.
    w_blink = 0.6 * np.exp(-((np.abs(x) - 0.3) ** 2 + (y - 0.95) ** 2) / 0.08)
    eeg += (w_blink[None, :, None] * eeg_blinks[:, None, :]).astype(np.float32)
    return blinks, blink_rate, veog_blinks


def _add_emg(rng: np.random.Generator, eeg: np.ndarray) -> None:
    """Add temporalis EMG bursts (20-64 Hz, band-passed to 45 Hz on the EEG) to temporal ``eeg`` in place."""
    x, y = XY[:, 0], XY[:, 1]
    emg_amp = np.clip((FREQS - 20) / 5, 0, 1) * BANDPASS
    emg_env = np.exp(1.2 * smooth_noise(rng, (N_TRIALS, 2), 0.3) - 1.0)
    emg = shaped_noise(rng, emg_amp, (N_TRIALS, 2)) * emg_env * (4.0 * np.exp(rng.normal(0, 0.5)))
    w_emg = np.exp(-((np.abs(x) - 1.0) ** 2 + y ** 2) / 0.12)
    left = (x < 0).astype(np.float32)
    eeg += (w_emg * left)[None, :, None] * emg[:, None, 0] + (w_emg * (1 - left))[None, :, None] * emg[:, None, 1]


def simulate_deap(n_subjects: int = 8, *, seed: int = 0):
    """Yield :class:`SimulatedDeapSubject` for subjects 1..``n_subjects`` (one at a time: each is ~100 MB)."""
    if n_subjects < 1:
        raise ValueError(f"n_subjects must be at least 1, got {n_subjects}")
    for subject in range(1, n_subjects + 1):
        yield simulate_deap_subject(subject, seed=seed)
