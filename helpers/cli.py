"""Command line for instructors and curious students: prefetch, synthesise and inspect datasets.

    python -m helpers data list
    python -m helpers data fetch NAME [--root DIR]
    python -m helpers data synth NAME --out DIR [--seed N]
    python -m helpers data info NAME [--root DIR] [--source auto|real|synthetic] [--json]

Exit codes: 0 success; 1 a data file is corrupt (DataFormatError); 2 data unavailable (offline, not fetched,
404; the message says what to do) or a usage error (argparse's convention); 3 unknown dataset. Expected
failures print one clear message on stderr, not a traceback; a traceback means a bug.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from helpers.data import DATASETS, UnknownDatasetError, get_dataset
from helpers.data.fetch import DataFormatError, DataUnavailableError, cache_root

EXIT_OK, EXIT_FORMAT, EXIT_UNAVAILABLE, EXIT_UNKNOWN = 0, 1, 2, 3


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (``helpers data {list,fetch,synth,info}``)."""
    parser = argparse.ArgumentParser(prog="python -m helpers", description="Biosignal DL course helpers.")
    groups = parser.add_subparsers(dest="group", required=True, metavar="{data}")
    data = groups.add_parser("data", help="fetch, synthesise or inspect a dataset")
    cmds = data.add_subparsers(dest="command", required=True, metavar="{list,fetch,synth,info}")
    cmds.add_parser("list", help="list the known datasets")
    known = f"one of: {', '.join(sorted(DATASETS))}"

    fetch = cmds.add_parser("fetch", help="download the real dataset into the cache")
    fetch.add_argument("name", help=known)
    fetch.add_argument("--root", type=Path, help="cache root (default $BIOSIGNAL_DATA or ~/.cache/biosignal-course)")

    synth = cmds.add_parser("synth", help="write the synthetic stand-in in the dataset's real format")
    synth.add_argument("name", help=known)
    synth.add_argument("--out", type=Path, required=True, help="folder to write")
    synth.add_argument("--seed", type=int, default=0)

    info = cmds.add_parser("info", help="load a dataset and summarise it")
    info.add_argument("name", help=known)
    info.add_argument("--root", type=Path, help="cache root")
    info.add_argument("--source", choices=("auto", "real", "synthetic"), default="auto")
    info.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def _info(args: argparse.Namespace) -> dict:
    module = get_dataset(args.name)
    start = time.perf_counter()
    # Loaders print banners/progress; keep stdout for the summary alone so `--json` output parses.
    with contextlib.redirect_stdout(sys.stderr):
        ds = module.load(args.root, source=args.source)
    summary = ds.info()
    summary["load_seconds"] = round(time.perf_counter() - start, 3)
    summary["path"] = str(ds.metadata.get("path", ""))
    return summary


def _run(args: argparse.Namespace) -> int:
    if args.command == "list":
        for name in sorted(DATASETS):
            print(name)
    elif args.command == "fetch":
        module = get_dataset(args.name)
        path = module.fetch(args.root)
        print(f"{args.name}: real data cached in {path}")
        print(f"(cache root {cache_root(args.root)}: copy it to an offline machine's cache, or point "
              "$BIOSIGNAL_DATA at it)")
    elif args.command == "synth":
        path = get_dataset(args.name).write_synthetic(args.out, seed=args.seed)
        print(f"{args.name}: synthetic data (seed {args.seed}) written to {path}")
    elif args.command == "info":
        summary = _info(args)
        if args.json:
            print(json.dumps(summary))
        else:
            for key, value in summary.items():
                print(f"{key:>18s}: {value}")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name (default ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit code (see the module docstring).
    """
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:  # argparse exits on --help or a usage error; in-process callers want a code
        return int(exit_.code or 0)
    try:
        return _run(args)
    except UnknownDatasetError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_UNKNOWN
    except DataUnavailableError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    except DataFormatError as err:
        print(f"error: bad data file: {err}", file=sys.stderr)
        return EXIT_FORMAT
