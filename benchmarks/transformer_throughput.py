"""Training and inference throughput of the SignalTransformer: one JSON line per configuration.

    python benchmarks/transformer_throughput.py                      # GPU: all batch sizes, eager and compiled
    python benchmarks/transformer_throughput.py --device cpu --tiny  # a few-second smoke test (CI)
    torchrun --nproc_per_node 2 benchmarks/transformer_throughput.py --batch-sizes 256 --modes max-autotune
    python benchmarks/transformer_throughput.py --configs reduce-overhead:512,reduce-overhead:512:ncw  # old vs new

Each line holds sequences/s for a training step (forward, loss, backward, fused AdamW) and for inference, the
peak GPU memory, and the model FLOPs utilisation: FLOPs per sequence counted by
``torch.utils.flop_counter.FlopCounterMode`` (matrix products, convolutions, attention) times sequences/s,
over the GPU's dense bf16 peak. Inference runs under ``torch.inference_mode`` on a copy of the model with its
BatchNorm layers folded into the convolutions. ``--configs`` picks (mode, batch, layout) triples in the order
given: layout ``cl`` is the default channels-last backbone, ``ncw`` the plain (B, C, T) one. Data are preloaded on the GPU; ``--loader`` also times a pinned-memory
DataLoader alone, to show it can feed the GPU faster than the model consumes. Under torchrun the model is
wrapped in DistributedDataParallel, each GPU takes ``batch`` sequences, and rank 0 prints the total.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing helpers
from helpers.models import layers
from helpers.models.signal_transformer import SignalTransformer, SignalTransformerConfig

# Dense bf16 tensor-core peaks (no sparsity) from the vendors' datasheets, in FLOP/s; matched on device name.
PEAK_BF16 = {"H200": 989e12, "H100 PCIe": 756e12, "H100": 989e12, "A100": 312e12, "L4": 121e12, "A10": 125e12}


def peak_flops(device: torch.device) -> float | None:
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((v for k, v in PEAK_BF16.items() if k in name), None)


def flops_per_sequence(model, in_channels, seq_len, device, train: bool) -> float:
    x = torch.randn(2, in_channels, seq_len, device=device)
    with FlopCounterMode(display=False) as counter:
        if train:
            model(x).float().sum().backward()
        else:
            with torch.no_grad():
                model(x)
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops() / 2


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn, steps, warmup, device):
    """Median-free but honest: warm up (compilation, CUDA graph capture, cuDNN autotuning), then time `steps` calls."""
    for _ in range(warmup):
        fn()
    sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        fn()
    sync(device)
    return (time.perf_counter() - t0) / steps


def parse_settings(text: str, flag: str) -> list[tuple[str, str]]:
    """'a=1,b.c=x' -> [('a', '1'), ('b.c', 'x')]; an item without '=' is an error that names the flag."""
    pairs = []
    for item in filter(None, text.split(",")):
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"{flag}: expected KEY=VALUE, got {item!r}")
        pairs.append((key.strip(), value.strip()))
    return pairs


def setting_value(current, text: str, what: str):
    """Convert ``text`` to the type of the setting's current value: bool (0/1/true/false), int, float or str."""
    if isinstance(current, bool):
        if text.lower() in ("1", "true", "yes", "on"):
            return True
        if text.lower() in ("0", "false", "no", "off"):
            return False
        raise SystemExit(f"{what}: expected a boolean (0/1/true/false), got {text!r}")
    if isinstance(current, (int, float, str)):
        try:
            return type(current)(text)
        except ValueError:
            raise SystemExit(f"{what}: expected {type(current).__name__}, got {text!r}") from None
    raise SystemExit(f"{what}: a {type(current).__name__} setting cannot be given on the command line")


def build(args, device, ddp, layout="cl"):
    torch.manual_seed(0)
    cfg = SignalTransformerConfig.small(verbose=False) if args.tiny else SignalTransformerConfig(verbose=False)
    cfg.channels_last = layout == "cl"
    if args.dropout is not None:
        cfg.dropout = args.dropout
    for key, value in parse_settings(args.set, "--set"):  # e.g. n_layers=0: time the backbone alone
        if not hasattr(cfg, key):
            raise SystemExit(f"--set: SignalTransformerConfig has no field {key!r}")
        setattr(cfg, key, setting_value(getattr(cfg, key), value, f"--set {key}"))
    model = SignalTransformer(args.in_channels, args.n_outputs, args.seq_len, config=cfg).to(device)
    wrapped = model
    if ddp:
        from torch.nn.parallel import DistributedDataParallel as DDP

        wrapped = DDP(model, device_ids=[device.index], gradient_as_bucket_view=True)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=device.type == "cuda")
    return model, wrapped, opt


def run_config(args, device, batch, mode, layout, ddp, rank, world, flops):
    """One (batch size, mode, layout) configuration: training then inference throughput."""
    torch._dynamo.reset()
    model, wrapped, opt = build(args, device, ddp, layout)
    amp = torch.autocast(device.type, dtype=torch.bfloat16, enabled=not args.no_amp)
    n_pool = 4  # rotate over a few preloaded batches so no step reads the same (cached) input
    xs = torch.randn(n_pool, batch, args.in_channels, args.seq_len, device=device)
    ys = torch.randint(0, args.n_outputs, (n_pool, batch), device=device)

    def loss_fn(x, y):
        with amp:
            return F.cross_entropy(wrapped(x).float(), y)

    infer_model = None  # built after training, from the trained weights

    def infer_fn(x):
        with amp:
            return infer_model(x)

    compiled = mode != "eager"
    if compiled:
        loss_fn = torch.compile(loss_fn, mode=mode)
        infer_fn = torch.compile(infer_fn, mode=mode)
    i = 0

    def train_step():
        nonlocal i
        if compiled:
            torch.compiler.cudagraph_mark_step_begin()
        loss = loss_fn(xs[i % n_pool], ys[i % n_pool])
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        i += 1

    def infer_step():
        nonlocal i
        if compiled:
            torch.compiler.cudagraph_mark_step_begin()
        with torch.inference_mode():
            infer_fn(xs[i % n_pool])
        i += 1

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    t_compile = time.perf_counter()
    model.train()
    train_step()
    sync(device)
    t_compile = time.perf_counter() - t_compile
    train_s = timed(train_step, args.steps, args.warmup, device)
    train_mem = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None

    infer_model = copy.deepcopy(model).eval().fold_batchnorm()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    infer_s, infer_mem = float("nan"), None
    if not args.skip_infer:
        infer_s = timed(infer_step, args.steps, args.warmup + 1, device)
        infer_mem = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None

    ftrain, finfer = flops
    train_sps, infer_sps = batch / train_s, batch / infer_s
    if world > 1:  # each rank timed its own steps; report the total over GPUs from the slowest rank
        t = torch.tensor([train_s, infer_s], device=device)
        torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
        train_sps, infer_sps = batch * world / t[0].item(), batch * world / t[1].item()
    peak = peak_flops(device)
    mfu = lambda flops, sps: None if peak is None else round(flops * sps / (peak * world), 4)
    return {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "gpus": world, "config": "small" if args.tiny else "default", "params_M": round(model.num_parameters() / 1e6, 3),
        "layout": "channels_last" if model.config.channels_last else "ncw", "infer": "inference_mode, BN folded",
        "dropout": model.config.dropout, "attention_dropout": model.config.attention_dropout,
        "inductor": (args.inductor or None) if mode != "eager" else None, "set": args.set or None, "sdpa": args.sdpa, "mish": args.mish, "seq_len": args.seq_len, "batch_per_gpu": batch, "mode": mode, "amp": "off" if args.no_amp else "bf16",
        "train_seq_per_s": round(train_sps, 1), "infer_seq_per_s": None if args.skip_infer else round(infer_sps, 1),
        "train_step_ms": round(train_s * 1e3, 3), "infer_step_ms": None if args.skip_infer else round(infer_s * 1e3, 3),
        "train_peak_mem_GiB": None if train_mem is None else round(train_mem, 3),
        "infer_peak_mem_GiB": None if infer_mem is None else round(infer_mem, 3),
        "train_GFLOP_per_seq": round(ftrain / 1e9, 3), "infer_GFLOP_per_seq": round(finfer / 1e9, 3),
        "train_mfu": mfu(ftrain, train_sps), "infer_mfu": None if args.skip_infer else mfu(finfer, infer_sps),
        "first_step_s": round(t_compile, 1), "torch": torch.__version__,
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
    }


def loader_throughput(args, device, batch, workers=4, n_batches=100):
    """Sequences/s that a pinned-memory DataLoader delivers onto the GPU, with no model at all."""
    from torch.utils.data import BatchSampler, DataLoader, RandomSampler, TensorDataset

    n = batch * 50
    ds = TensorDataset(torch.randn(n, args.in_channels, args.seq_len), torch.randint(0, args.n_outputs, (n,)))
    # batch_size=None with a BatchSampler: the dataset is indexed once per batch, not once per sequence
    sampler = BatchSampler(RandomSampler(ds, replacement=True, num_samples=batch * n_batches), batch, drop_last=True)
    dl = DataLoader(ds, batch_size=None, sampler=sampler, num_workers=workers, pin_memory=device.type == "cuda",
                    persistent_workers=False)
    it = iter(dl)
    next(it)
    t0 = time.perf_counter()
    count = 0
    for x, y in it:
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        count += x.shape[0]
    sync(device)
    seconds = time.perf_counter() - t0
    x = torch.randn(batch, args.in_channels, args.seq_len).pin_memory() if device.type == "cuda" else None
    copy_ms = None
    if x is not None:
        copy_ms = timed(lambda: x.to(device, non_blocking=True), 50, 5, device) * 1e3
    return {"device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu", "what": "loader",
            "batch": batch, "workers": workers, "loader_seq_per_s": round(count / seconds, 1),
            "h2d_copy_ms_per_batch": None if copy_ms is None else round(copy_ms, 3)}


# Kernel names -> what they do. Order matters: cuDNN's attention helpers (dot_do_o, convert_dq) would otherwise read
# as convolutions, and cuDNN's CUTLASS convolutions as matrix products.
ATTENTION_WORDS = ("sdpa", "flash", "fmha", "attention", "dot_do_o", "convert_dq")
CONVOLUTION_WORDS = ("convolution", "fprop", "dgrad", "wgrad", "nchwtonhwc", "nhwctonchw")
# Inductor names a fused kernel after the operations in it; these occur only in the CNN backbone (clamp: mish_exp).
BACKBONE_WORDS = CONVOLUTION_WORDS + ("batch_norm", "mish", "sigmoid", "clamp")


def kernel_kind(name: str) -> str:
    """Sort a CUDA kernel into the kind of work it does, by its name (cuBLAS, cuDNN and Inductor naming)."""
    n = name.lower()
    if any(w in n for w in ATTENTION_WORDS):
        return "attention"
    if "triton_red" in n or "triton_per" in n:
        return "triton reduction"
    if "triton_poi" in n:
        return "triton pointwise"
    if any(w in n for w in CONVOLUTION_WORDS):
        return "convolution"
    if "nvjet" in n or "gemm" in n or "cutlass" in n:
        return "matmul"
    if "adam" in n or "multi_tensor" in n:
        return "optimizer"
    return "other"


def kernel_part(name: str) -> str:
    """'backbone' (convolutions, BatchNorm, Mish, squeeze-excite) or the rest, from a kernel's name."""
    return "backbone" if any(w in name.lower() for w in BACKBONE_WORDS) else "transformer, head, optimizer"


def profile(args, device, batch, mode, path):
    """torch.profiler summary of a few training steps: where GPU time goes and how busy the GPU is."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    torch._dynamo.reset()
    model, _, opt = build(args, device, ddp=False)
    x = torch.randn(batch, args.in_channels, args.seq_len, device=device)
    y = torch.randint(0, args.n_outputs, (batch,), device=device)

    def loss_fn(x, y):
        with torch.autocast(device.type, dtype=torch.bfloat16):
            return F.cross_entropy(model(x).float(), y)

    fn = loss_fn if mode == "eager" else torch.compile(loss_fn, mode=mode)

    def step():
        if mode != "eager":
            torch.compiler.cudagraph_mark_step_begin()
        fn(x, y).backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    for _ in range(args.warmup + 1):
        step()
    sync(device)
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    t0 = time.perf_counter()
    with torch_profile(activities=acts) as prof:
        for _ in range(5):
            step()
        sync(device)
    wall = (time.perf_counter() - t0) / 5
    key = "self_cuda_time_total" if device.type == "cuda" else "self_cpu_time_total"
    table = prof.key_averages().table(sort_by=key, row_limit=25, max_name_column_width=70)
    # GPU kernels only: user annotations such as "Optimizer.step#AdamW.step" span kernels and would count them twice
    kernels = [e for e in prof.events()
               if e.device_type == torch.autograd.DeviceType.CUDA and not getattr(e, "is_user_annotation", False)]
    busy = sum(e.device_time for e in kernels) / 5 / 1e3 if kernels else None  # ms of kernel time per step
    cfg = model.config
    head = (f"profile mode={mode} batch={batch} layout={'channels_last' if cfg.channels_last else 'ncw'} "
            f"dropout={cfg.dropout} attention_dropout={cfg.attention_dropout} mish={args.mish} sdpa={args.sdpa} "
            f"inductor={args.inductor or 'defaults'} set={args.set or '-'} torch={torch.__version__}:\n  "
            f"wall {wall * 1e3:.2f} ms/step, GPU kernels {busy} ms/step, {len(kernels) // 5} kernels/step\n")
    by_name = {}  # kernel name -> [device time in us, calls] over the 5 steps
    for e in kernels:
        entry = by_name.setdefault(e.name, [0.0, 0])
        entry[0] += e.device_time
        entry[1] += 1
    def ms_per_step_by(classify):  # e.g. kernel family -> ms per step, largest first
        totals = {}
        for name, (t, _) in by_name.items():
            totals[classify(name)] = totals.get(classify(name), 0.0) + t / 5 / 1e3
        return ", ".join(f"{k} {v:.2f}" for k, v in sorted(totals.items(), key=lambda kv: -kv[1]))

    head += f"GPU time by kernel family (ms per step): {ms_per_step_by(kernel_kind)}\n"
    head += f"GPU time by part, from kernel names (ms per step): {ms_per_step_by(kernel_part)}\n"
    ranked = sorted(by_name.items(), key=lambda kv: -kv[1][0])
    line = lambda name, t, calls: f"  {t / 5 / 1e3:7.3f}  {name[:100]}  ({calls // 5})\n"
    summary = "top GPU kernels (ms per training step, calls per step):\n" + "".join(
        line(name, t, calls) for name, (t, calls) in ranked[:40])
    every = "every GPU kernel (ms per training step, calls per step):\n" + "".join(
        f"  {t / 5 / 1e3:7.3f}  {name[:160]}  ({calls // 5})\n" for name, (t, calls) in ranked)
    Path(path).write_text(head + summary + "\n" + every + "\nfull torch.profiler table:\n" + table)
    print(head + summary)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--tiny", action="store_true", help="small config, short sequences, few steps (CPU smoke test)")
    p.add_argument("--seq-len", type=int, default=1024)
    p.add_argument("--batch-sizes", default="32,128,256,512")
    p.add_argument("--modes", default="eager,max-autotune", help="eager and/or torch.compile modes, comma-separated")
    p.add_argument("--configs", default=None,
                   help="MODE:BATCH[:LAYOUT],... run in this order instead of --modes x --batch-sizes; LAYOUT cl "
                        "(channels-last backbone, the default) or ncw (plain (B, C, T) backbone)")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--in-channels", type=int, default=1)
    p.add_argument("--n-outputs", type=int, default=4)
    p.add_argument("--no-amp", action="store_true", help="float32 (TF32 on GPU) instead of bf16 autocast")
    p.add_argument("--dropout", type=float, default=None, help="override the config's dropout (default 0.1)")
    p.add_argument("--inductor", default="fallback_random=1",
                   help="torch._inductor.config settings, comma-separated. Default fallback_random=1: dropout masks "
                        "from ATen's vectorised RNG kernel rather than Philox inside each fused kernel (+1.2%% on an "
                        "H200). Add coordinate_descent_tuning=1 to tune every kernel's block sizes (+4.5%%, but "
                        "about 7 minutes of compilation per shape); pass '' for Inductor's defaults")
    p.add_argument("--set", default="", help="SignalTransformerConfig overrides, e.g. n_layers=0 (backbone alone)")
    p.add_argument("--sdpa", default="default", choices=["default", "cudnn", "flash", "efficient", "math"],
                   help="allow only this scaled_dot_product_attention backend (default: PyTorch's choice)")
    p.add_argument("--mish", default="exp", choices=["exp", "native"],
                   help="how Mish compiles: one exponential (the default) or torch's tanh(log1p(exp(x)))")
    p.add_argument("--skip-infer", action="store_true", help="time training only (e.g. for multi-GPU scaling)")
    p.add_argument("--loader", action="store_true", help="also time a pinned-memory DataLoader feeding the GPU")
    p.add_argument("--profile", default=None, help="MODE:BATCH, e.g. reduce-overhead:256 (channels-last layout), "
                                                  "after the sweep; writes --profile-out")
    p.add_argument("--profile-out", default="profile.txt")
    p.add_argument("--out", default=None, help="append the JSON lines to this file")
    p.add_argument("--time-budget", type=float, default=1e9, help="skip configurations after this many seconds")
    args = p.parse_args()
    if args.tiny:
        args.seq_len, args.steps, args.warmup = min(args.seq_len, 256), min(args.steps, 3), min(args.warmup, 1)
        if args.batch_sizes == p.get_default("batch_sizes"):
            args.batch_sizes = "8"
        if args.modes == p.get_default("modes"):
            args.modes = "eager"

    import torch._inductor.config as inductor_config

    for key, value in parse_settings(args.inductor, "--inductor"):  # e.g. coordinate_descent_tuning=1
        try:
            current = getattr(inductor_config, key)
        except AttributeError:
            raise SystemExit(f"--inductor: torch._inductor.config has no setting {key!r}") from None
        setattr(inductor_config, key, setting_value(current, value, f"--inductor {key}"))
    layers.MISH_WHEN_COMPILING = args.mish
    if args.sdpa != "default":  # global switches, read when the model is traced
        for name in ("cudnn", "flash", "efficient", "math"):
            enable = {"cudnn": torch.backends.cuda.enable_cudnn_sdp, "flash": torch.backends.cuda.enable_flash_sdp,
                      "efficient": torch.backends.cuda.enable_mem_efficient_sdp,
                      "math": torch.backends.cuda.enable_math_sdp}[name]
            enable(name == args.sdpa)
    world, rank = int(os.environ.get("WORLD_SIZE", "1")), int(os.environ.get("RANK", "0"))
    device = torch.device(args.device)
    if world > 1:
        local = int(os.environ["LOCAL_RANK"])
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
        torch.distributed.init_process_group("nccl", device_id=device)
    elif device.type == "cuda" and device.index is None:
        device = torch.device("cuda", 0)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True

    start = time.perf_counter()
    model, _, _ = build(args, device, ddp=False)  # a plain model: FlopCounterMode under DDP would fire its hooks
    flops = (flops_per_sequence(model, args.in_channels, args.seq_len, device, train=True),
             flops_per_sequence(model.eval(), args.in_channels, args.seq_len, device, train=False))
    del model
    if args.configs == "none":  # e.g. only --profile or --loader
        configs = []
    elif args.configs:
        configs = [(c.split(":") + ["cl"])[:3] for c in args.configs.split(",")]
    else:
        configs = [(m, b, "cl") for m in args.modes.split(",") for b in args.batch_sizes.split(",")]

    def emit(line):  # print and append at once: a run cut short by a time limit keeps what it measured
        if rank == 0:
            print(json.dumps(line), flush=True)
            if args.out:
                with open(args.out, "a") as f:
                    f.write(json.dumps(line) + "\n")

    for mode, batch, layout in configs:
        batch = int(batch)
        if layout not in ("cl", "ncw"):
            raise SystemExit(f"layout must be cl or ncw, got {layout!r} in --configs")
        if time.perf_counter() - start > args.time_budget:
            print(f"# skipped mode={mode} batch={batch} layout={layout}: time budget spent", flush=True)
            continue
        try:
            line = run_config(args, device, batch, mode, layout, world > 1, rank, world, flops)
        except Exception as e:  # noqa: BLE001 -- one failing configuration (out of memory, a compiler error) must not end the sweep
            line = {"mode": mode, "batch_per_gpu": batch, "layout": layout, "gpus": world,
                    "error": f"{type(e).__name__}: {str(e)[:300]}"}
            if device.type == "cuda":
                torch.cuda.empty_cache()
        emit(line)
    if args.loader and rank == 0:
        for batch in (256,):
            emit(loader_throughput(args, device, batch, workers=0 if device.type == "cpu" else 4))
    if args.profile and rank == 0:  # last: a profile matters less than the figures it explains
        mode, batch = args.profile.split(":")
        if time.perf_counter() - start > args.time_budget:
            print(f"# skipped profile {args.profile}: time budget spent", flush=True)
        else:
            profile(args, device, int(batch), mode, args.profile_out)
    if world > 1:
        torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main()
