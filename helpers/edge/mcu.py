"""The int8 model on an emulated Cortex-M4: plain C (:mod:`.c_codegen`) built with arm-none-eabi-gcc and run under
``qemu-system-arm -M mps2-an386 -semihosting``, windows in and int8 outputs out through semihosting files.

The emulator proves the arithmetic (outputs byte-identical to TFLM's) and the size (the ELF's sections); it says
nothing about timing, so latency is estimated from MACs at a stated clock elsewhere. :func:`run_firmware` builds
and runs the same C for the emulated Cortex-M4 when the tools are installed, and with the system C compiler on this
machine otherwise (the same source and the same integer arithmetic, so the same bytes), and hands back the
program's output file as it wrote it.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from .c_codegen import write_plain_c
from .quantize import quantize_input
from .tflite_file import io_details

TOOLS = ("arm-none-eabi-gcc", "arm-none-eabi-size", "qemu-system-arm")
CFLAGS = ("-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=soft", "-O2", "-ffunction-sections", "-fdata-sections",
          "-Wall", "-Wno-unused-function")
BUILD_SOURCES = ("kernels.c", "model.c", "run_windows.c", "startup_m4.c")


def missing_tools() -> list[str]:
    """The cross-compiler and emulator commands not on PATH (Debian: gcc-arm-none-eabi, libnewlib-arm-none-eabi,
    qemu-system-arm)."""
    return [t for t in TOOLS if shutil.which(t) is None]


@dataclass
class QemuRun:
    """Outputs of the emulated run and the program's size.

    Attributes
    ----------
    outputs : np.ndarray
        int8 ``(n, K)``: raw model outputs, one row per window.
    text_bytes, data_bytes, bss_bytes : int
        ``arm-none-eabi-size`` of the whole program (model, kernels, newlib's stdio): code + constants (flash),
        initialised data, zeroed data (RAM, including the activation arena).
    model_text_bytes : int
        The same .text contribution of ``model.o`` + ``kernels.o`` alone (weights and kernels, no libc).
    arena_bytes : int
        The plain-C program's planned activation arena.
    elf : Path
    """

    outputs: np.ndarray
    text_bytes: int
    data_bytes: int
    bss_bytes: int
    model_text_bytes: int
    arena_bytes: int
    elf: Path


def _sizes(*paths: Path) -> tuple[int, int, int]:
    out = subprocess.run(["arm-none-eabi-size", "-t", *map(str, paths)], capture_output=True, text=True,
                         check=True).stdout.strip().splitlines()
    text, data, bss = (int(v) for v in out[-1].split()[:3])  # the "(TOTALS)" line
    return text, data, bss


def build_elf(int8_tflite: bytes, work_dir: str | Path) -> tuple[Path, dict]:
    """Generate the plain C and link ``model.elf`` for the mps2-an386 (Cortex-M4, soft float: no FPU needed)."""
    work = Path(work_dir)
    info = write_plain_c(int8_tflite, work)
    templates = resources.files("helpers.edge").joinpath("templates")
    for name in ("run_windows.c", "startup_m4.c", "mps2_an386.ld"):
        with resources.as_file(templates.joinpath(name)) as path:
            shutil.copyfile(path, work / name)
    objs = []
    for src in BUILD_SOURCES:
        obj = work / (Path(src).stem + ".o")
        _run(["arm-none-eabi-gcc", *CFLAGS, "-c", src, "-o", obj.name], work)
        objs.append(obj)
    _run(["arm-none-eabi-gcc", *CFLAGS, "-nostartfiles", "-T", "mps2_an386.ld", "--specs=nano.specs",
          "--specs=rdimon.specs", "-Wl,--gc-sections", *(o.name for o in objs), "-o", "model.elf"], work)
    return work / "model.elf", info


def run_on_qemu(int8_tflite: bytes, X: np.ndarray, work_dir: str | Path, timeout_s: float = 600) -> QemuRun:
    """Build the plain-C model for a Cortex-M4 and run every window under QEMU.

    Parameters
    ----------
    int8_tflite : bytes
        Full-int8 model.
    X : np.ndarray
        float32 ``(n, C, T)`` windows, quantised here exactly as :func:`helpers.edge.run_tflm` quantises them.
    work_dir : str or Path
        Sources, objects, ``model.elf``, ``inputs.bin`` and ``outputs.bin`` are written here.
    timeout_s : float
        The emulator is killed after this long (a hung program must not hang the caller).

    Returns
    -------
    QemuRun
    """
    missing = missing_tools()
    if missing:
        raise FileNotFoundError(f"{', '.join(missing)} not found; on Debian: apt-get install gcc-arm-none-eabi "
                                "libnewlib-arm-none-eabi qemu-system-arm")
    work = Path(work_dir)
    elf, info = build_elf(int8_tflite, work)
    Xq = _write_inputs(int8_tflite, X, work)
    proc = subprocess.run(["qemu-system-arm", "-M", "mps2-an386", "-nographic", "-semihosting", "-monitor", "none",
                           "-kernel", elf.name], cwd=work, capture_output=True, text=True, timeout=timeout_s, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"the Cortex-M4 program exited with {proc.returncode}: {proc.stdout[-500:]}"
                           f"{proc.stderr[-500:]}")
    outputs = np.frombuffer((work / "outputs.bin").read_bytes(), np.int8).reshape(len(Xq), info["output_size"])
    text, data, bss = _sizes(elf)
    model_text = _sizes(work / "model.o", work / "kernels.o")[0]
    return QemuRun(outputs, text, data, bss, model_text, info["arena_bytes"], elf)


@dataclass
class FirmwareRun:
    """What the firmware wrote and where it ran.

    Attributes
    ----------
    raw : bytes
        ``outputs.bin`` as the program wrote it: ``MODEL_OUTPUT_SIZE`` int8 outputs per window, window after window.
    target : str
        ``"qemu"`` (Cortex-M4, mps2-an386, arm-none-eabi-gcc) or ``"host"`` (this machine's ``cc``).
    n_windows : int
        Windows fed to it (``inputs.bin``).
    note : str
        Why the host build ran, when it did ("" for QEMU).
    work_dir : Path
        Sources, program, ``inputs.bin`` and ``outputs.bin``.
    """

    raw: bytes
    target: str
    n_windows: int
    note: str
    work_dir: Path


def run_on_host(int8_tflite: bytes, X: np.ndarray, work_dir: str | Path, timeout_s: float = 300) -> bytes:
    """Build the plain-C model with this machine's C compiler (``cc``), run it on ``X``, return ``outputs.bin``.

    ``X`` float32 ``(n, C, T)`` is quantised exactly as :func:`run_on_qemu` quantises it.
    """
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        raise FileNotFoundError("no C compiler (cc or gcc) on PATH; on Debian: apt-get install gcc")
    work = Path(work_dir)
    write_plain_c(int8_tflite, work)
    with resources.as_file(resources.files("helpers.edge").joinpath("templates", "run_windows.c")) as path:
        shutil.copyfile(path, work / "run_windows.c")
    _run([compiler, "-O2", "-o", "run_windows", "kernels.c", "model.c", "run_windows.c"], work)
    _write_inputs(int8_tflite, X, work)
    _run([str(work / "run_windows")], work, timeout_s)
    return (work / "outputs.bin").read_bytes()


def run_firmware(int8_tflite: bytes, X: np.ndarray, work_dir: str | Path, target: str = "auto",
                 timeout_s: float = 300) -> FirmwareRun:
    """Build the int8 model's C and run it on ``X``: on the emulated Cortex-M4, or on this machine.

    Parameters
    ----------
    int8_tflite : bytes
        Full-int8 model.
    X : np.ndarray
        float32 windows ``(n, C, T)``.
    work_dir : str or Path
        Created if needed.
    target : {"auto", "qemu", "host"}
        ``"auto"``: QEMU when arm-none-eabi-gcc and qemu-system-arm are installed and the emulated run succeeds,
        else the host build (the reason is kept in ``note``).
    timeout_s : float
        Per run of the program.
    """
    if target not in ("auto", "qemu", "host"):
        raise ValueError(f"target must be 'auto', 'qemu' or 'host', got {target!r}")
    work = Path(work_dir)
    work.mkdir(parents=True, exist_ok=True)
    note = ""
    if target in ("auto", "qemu"):
        try:
            run_on_qemu(int8_tflite, X, work, timeout_s)
            return FirmwareRun((work / "outputs.bin").read_bytes(), "qemu", len(X), "", work)
        except (FileNotFoundError, RuntimeError, OSError, subprocess.TimeoutExpired) as err:
            if target == "qemu":
                raise
            note = f"Cortex-M4 build or run unavailable ({str(err).splitlines()[0][:200]}): host build instead"
    return FirmwareRun(run_on_host(int8_tflite, X, work, timeout_s), "host", len(X), note, work)


def _write_inputs(int8_tflite: bytes, X: np.ndarray, work: Path) -> np.ndarray:
    inp = io_details(int8_tflite)["input"]
    Xq = quantize_input(np.asarray(X, np.float32), inp["scale"], inp["zero_point"])
    (work / "inputs.bin").write_bytes(Xq.tobytes())
    (work / "outputs.bin").unlink(missing_ok=True)
    return Xq


def _run(cmd: list, cwd: Path, timeout_s: float | None = None) -> None:
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, check=False,
                          timeout=timeout_s)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed (exit {proc.returncode}):\n"
                           f"{(proc.stderr or proc.stdout)[-2000:]}")
