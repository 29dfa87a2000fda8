"""Command line for instructors and curious students: fetch, synthesise, inspect and read datasets.

    python -m helpers data list
    python -m helpers data fetch NAME [--cache DIR]
    python -m helpers data synth NAME --out DIR [--seed N] [--size N]
    python -m helpers data info NAME [--path DIR | --cache DIR --source auto|real|synthetic] [--json]
    python -m helpers data load NAME [--path DIR | --cache DIR --source ...] [--json]

``--path DIR`` reads a copy of the dataset you already have, in place (nothing is written there); without it the
cache is used (``--cache``, default ``$BIOSIGNAL_DATA`` or ``~/.cache/biosignal-course``), which holds only what
``fetch`` downloads and what the synthetic generator writes.

Exit codes: 0 success; 1 a data file is corrupt (DataFormatError); 2 data unavailable (offline, not fetched, not
in the folder named; the message says what to do) or a usage error (argparse's convention); 3 unknown dataset.
Expected failures print one line on stderr, not a traceback; a traceback means a bug.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from helpers import data
from helpers.data import DATASETS, UnknownDatasetError, get_dataset
from helpers.data.cache import cache_root
from helpers.data.errors import DataFormatError, DataUnavailableError

EXIT_OK, EXIT_FORMAT, EXIT_UNAVAILABLE, EXIT_UNKNOWN = 0, 1, 2, 3


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (``helpers data {list,fetch,synth,info,load}``)."""
    parser = argparse.ArgumentParser(prog="python -m helpers", description="Biosignal DL course helpers.")
    groups = parser.add_subparsers(dest="group", required=True, metavar="{data}")
    cmds = groups.add_parser("data", help="fetch, synthesise, inspect or read a dataset").add_subparsers(
        dest="command", required=True, metavar="{list,fetch,synth,info,load}")
    cmds.add_parser("list", help="list the known datasets")
    known = f"one of: {', '.join(sorted(DATASETS))}"
    cache_help = "cache root (default $BIOSIGNAL_DATA or ~/.cache/biosignal-course); --root is an old name for it"

    fetch = cmds.add_parser("fetch", help="download the real dataset into the cache")
    fetch.add_argument("name", help=known)
    fetch.add_argument("--cache", "--root", dest="cache", type=Path, help=cache_help)

    synth = cmds.add_parser("synth", help="write the synthetic stand-in in the dataset's real format")
    synth.add_argument("name", help=known)
    synth.add_argument("--out", type=Path, required=True, help="a new or empty folder to write")
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument("--size", type=int, help="records (or subjects) to simulate (default: the dataset's)")

    for command, what in (("info", "load a dataset and summarise it"),
                          ("load", "load a dataset and list its records")):
        sub = cmds.add_parser(command, help=what)
        sub.add_argument("name", help=known)
        sub.add_argument("--path", type=Path, help="a folder holding the dataset as published: read in place, "
                                                   "never written to")
        sub.add_argument("--cache", "--root", dest="cache", type=Path, help=cache_help)
        sub.add_argument("--source", choices=("auto", "real", "synthetic"), default="auto",
                         help="without --path: real (fetched), synthetic, or auto (real when fetched)")
        sub.add_argument("--json", action="store_true", help="JSON output (one object, or one line per record)")
    return parser


def _load_quietly(fn, *args, **kwargs):
    # Loaders show banners and progress; stdout stays for the summary alone so that `--json` output parses.
    with contextlib.redirect_stdout(sys.stderr):
        return fn(*args, **kwargs)


def _run(args: argparse.Namespace) -> int:
    if args.command == "list":
        for name in sorted(DATASETS):
            print(name)
        return EXIT_OK
    get_dataset(args.name)  # an unknown name fails here, before anything else is looked at
    if args.command == "fetch":
        path = data.fetch(args.name, args.cache)
        print(f"{args.name}: real data cached in {path}")
        print(f"(cache root {cache_root(args.cache)}: copy it to an offline machine's cache, or point "
              "$BIOSIGNAL_DATA at it)")
    elif args.command == "synth":
        path = data.write_synthetic(args.name, args.out, seed=args.seed, size=args.size)
        print(f"{args.name}: synthetic data (seed {args.seed}) written to {path}")
    elif args.command == "info":
        summary = _load_quietly(data.info, args.name, args.path, source=args.source, root=args.cache)
        if args.json:
            print(json.dumps(summary))
        else:
            for key, value in summary.items():
                print(f"{key:>18s}: {value}")
    elif args.command == "load":
        ds = _load_quietly(data.load, args.name, args.path, source=args.source, root=args.cache)
        for i in range(len(ds)):
            row = {"record": str(ds.record_ids[i]), "subject": str(ds.subject_ids[i]),
                   "label": ds.class_names[ds.labels[i]], "seconds": round(float(ds.signals[i].shape[-1] / ds.fs), 3)}
            print(json.dumps(row) if args.json else "  ".join(f"{k}={v}" for k, v in row.items()))
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
        print(f"error: bad data: {err}", file=sys.stderr)
        return EXIT_FORMAT
    except ValueError as err:  # an impossible combination of options, e.g. --path with --source synthetic
        print(f"error: {err}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    except MemoryError:  # the readers refuse what a file's size cannot justify; this is the last guard
        print(f"error: bad data: ran out of memory reading {getattr(args, 'name', 'the data')}"
              f"{f' from {args.path}' if getattr(args, 'path', None) else ''}: the data are larger than this "
              "machine can hold, or a file asks for more memory than it holds data", file=sys.stderr)
        return EXIT_FORMAT
