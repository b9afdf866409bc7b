"""``bookslot-data``: write, check and show booking payloads from the command line.

Thin by design: it parses arguments, calls the library and maps our errors to one
``error: ...`` line and exit code 1. Usage errors exit 2 (argparse's convention);
an interrupt exits 130 and leaves every file as it was.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from typing import Any, TextIO

from factories.errors import BookslotError

__all__ = ["main"]

_VARIANT_FLAGS = ("young", "senior", "dynamic_zip", "dynamic_location", "dynamic_phone")
_PROGRESS_MIN = 100_000


def _seed(text: str) -> int:
    try:
        value = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 0 <= value < 2**64:
        raise argparse.ArgumentTypeError(f"{value} is out of range; expected 0 <= seed < 2**64")
    return value


def _count(text: str) -> int:
    from factories.bulk import MAX_COUNT

    try:
        value = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 0 <= value <= MAX_COUNT:
        raise argparse.ArgumentTypeError(f"{value} is out of range; expected 0 to {MAX_COUNT:,}")
    return value


def _date(text: str) -> date:
    from factories.providers import as_date

    # The one date rule of the library: Python 3.11's date.fromisoformat also reads
    # "20261129" and "2026-W48-1", which 3.10 refuses.
    try:
        value = as_date(text)
    except BookslotError:
        value = None
    if value is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date as YYYY-MM-DD")
    return value


def _workers(text: str) -> int:
    from factories.bulk import default_workers

    if text == "auto":
        return default_workers()
    try:
        value = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number or 'auto'") from None
    if not 1 <= value <= 256:
        raise argparse.ArgumentTypeError(f"{value} is out of range; expected 1 to 256 or 'auto'")
    return value


def _format(text: str) -> str:
    from factories.export import FORMATS

    if text not in FORMATS:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a known format; expected one of {', '.join(FORMATS)}"
        )
    return text


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bookslot-data",
        description="Write, check and show realistic, reproducible bookslot payloads.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="FILE", help="YAML config file overriding defaults")
    common.add_argument(
        "--as-of", type=_date, metavar="YYYY-MM-DD", help="reference date for ages (default today)"
    )

    seeded = argparse.ArgumentParser(add_help=False)
    seeded.add_argument("--seed", type=_seed, help="same seed and date, same bytes")

    variants = argparse.ArgumentParser(add_help=False)
    group = variants.add_argument_group("variants")
    ages = group.add_mutually_exclusive_group()
    ages.add_argument("--young", action="store_true", help="ages 18 to 30")
    ages.add_argument("--senior", action="store_true", help="ages 65 to 90")
    group.add_argument("--dynamic-zip", action="store_true", help="a real residential ZIP")
    group.add_argument(
        "--dynamic-location", action="store_true", help="cycle through the booking locations"
    )
    group.add_argument(
        "--dynamic-phone", action="store_true", help="a fictional 555-01XX number of the ZIP"
    )
    group.add_argument("--state", metavar="XX", help="a real ZIP in this state")
    group.add_argument("--near", metavar="ZIP", help="a ZIP within zip_distance miles of ZIP")

    generate = commands.add_parser(
        "generate",
        parents=[common, seeded, variants],
        help="write a batch, or the standard data sets",
        description="Write --count payloads to --output FILE (JSON, YAML, JSON Lines or CSV, "
        "by suffix or --format; '-' for stdout), or, without --output, the standard data "
        "sets into --out-dir.",
    )
    generate.add_argument("--output", "-o", metavar="FILE", help="the file to write ('-': stdout)")
    generate.add_argument(
        "--out-dir", metavar="DIR", help="folder of the standard sets (default test_data/bookslot)"
    )
    generate.add_argument("--count", "-n", type=_count, help="records (default 10)")
    generate.add_argument("--format", "-f", type=_format, help="json, yaml, jsonl or csv")
    generate.add_argument(
        "--workers", type=_workers, default=1, help="worker processes, or 'auto' (default 1)"
    )
    generate.set_defaults(handler=_generate, parser=generate)

    validate = commands.add_parser(
        "validate",
        parents=[common],
        help="check data files against the payload rules",
        description="Check every record of every file; report every problem and exit 1 "
        "if there is any.",
    )
    validate.add_argument("files", nargs="+", metavar="FILE")
    validate.set_defaults(handler=_validate, parser=validate)

    sample = commands.add_parser(
        "sample",
        parents=[common, seeded, variants],
        help="print one payload as JSON",
        description="Print one payload as JSON on stdout.",
    )
    sample.set_defaults(handler=_sample, parser=sample)
    return parser


def _variants(args: argparse.Namespace) -> dict[str, Any]:
    chosen: dict[str, Any] = {flag: True for flag in _VARIANT_FLAGS if getattr(args, flag)}
    for option in ("state", "near"):
        if getattr(args, option) is not None:
            chosen[option] = getattr(args, option)
    return chosen


def _config(args: argparse.Namespace) -> Any:
    from factories import config

    return config.load_config(args.config) if args.config else config.current()


def _generate(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from factories import bulk, datasets, export

    seed = args.seed if args.seed is not None else secrets.randbelow(2**63)
    cfg = _config(args)
    count = 10 if args.count is None else args.count
    if args.output is None:
        misplaced = [f"--{name.replace('_', '-')}" for name in _variants(args)]
        if args.format:
            misplaced.append("--format")
        if misplaced:
            parser.error(
                f"{', '.join(misplaced)} only go with --output FILE; "
                "the standard sets have fixed variants"
            )
        for path in datasets.write_standard_sets(
            args.out_dir or datasets.DEFAULT_DIR,
            count=count,
            seed=seed,
            as_of=args.as_of,
            cfg=cfg,
        ):
            print(path)
        return 0
    if args.out_dir:
        parser.error("--out-dir goes with the standard sets, not with --output")
    fmt = args.format or ("jsonl" if args.output == "-" else None)
    writer = export.writer_for(args.output, fmt)
    job = bulk.Job.make(seed, as_of=args.as_of, cfg=cfg, **_variants(args))
    progress = _Progress(count, sys.stderr) if _show_progress(count) else None
    blocks = bulk.encoded_blocks(
        job,
        count,
        writer.encode,
        workers=args.workers,
        on_block=progress.advance if progress else None,
    )
    try:
        export.write_atomic(args.output, _framed(writer, blocks, count))
    finally:
        if progress:
            progress.close()
    return 0


def _framed(writer: Any, blocks: Iterator[bytes], count: int) -> Iterator[bytes]:
    from factories.config import FIELDS

    yield writer.begin(FIELDS)
    yield from blocks
    yield writer.end(count)


def _show_progress(count: int) -> bool:
    return count >= _PROGRESS_MIN and sys.stderr.isatty()


class _Progress:
    """A one-line progress bar on a terminal."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total, self.done, self.stream = total, 0, stream
        self.start = time.monotonic()

    def advance(self, records: int) -> None:
        self.done += records
        width = 30
        filled = width * self.done // max(self.total, 1)
        rate = self.done / max(time.monotonic() - self.start, 1e-9)
        self.stream.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done:,}/{self.total:,} records"
            f" ({rate:,.0f}/s)"
        )
        self.stream.flush()

    def close(self) -> None:
        self.stream.write("\n")
        self.stream.flush()


def _validate(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from factories import export

    cfg = _config(args)
    problems = 0
    for name in args.files:
        for problem in export.check(name, as_of=args.as_of, cfg=cfg):
            problems += 1
            print(f"error: {problem}", file=sys.stderr)
    if problems:
        print(f"{problems} problem(s) in {len(args.files)} file(s)", file=sys.stderr)
        return 1
    return 0


def _sample(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from factories import bookslot, config, seeding

    config.configure(_config(args))
    if args.seed is not None:
        seeding.seed(args.seed)
    payload = bookslot.BookslotPayloadFactory.build(as_of=args.as_of, **_variants(args))
    print(json.dumps(payload, indent=2, ensure_ascii=False))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code.

    Args:
        argv: The arguments, without the program name (default ``sys.argv[1:]``).
    """
    parser = _parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace, argparse.ArgumentParser], int] = args.handler
    try:
        return handler(args, args.parser)
    except BookslotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted; no file was changed", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): not an error worth a traceback.
        sys.stderr.close()
        return 141
