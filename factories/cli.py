"""``bookslot-data``: write, check and show booking payloads from the command line.

Thin by design: it reads the arguments, checks them with
:mod:`~bookslot_factories.variants` (the rules the library itself follows, in the
CLI's own words), calls the library and maps the outcome to an exit code:

- 0: done; also when the reader of our output goes away (``| head``), as the
  reader chose to stop;
- 1: one of our errors, printed as one ``error: ...`` line;
- 2: a usage error, with the subcommand's usage (argparse's convention);
- 130: Ctrl-C; every file is left as it was.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TextIO

from .errors import BookslotError
from .variants import (
    MAX_SEED,
    VARIANT_FLAGS,
    VARIANT_HELP,
    Variants,
    parse_count,
    parse_date,
    parse_seed,
    parse_workers,
    spell,
)

__all__ = ["main"]

#: Runs at least this long show a progress bar on a terminal.
_PROGRESS_MIN = 100_000
#: Records ``generate`` writes when no ``--count`` is given.
DEFAULT_COUNT = 10

Handler = Callable[[argparse.Namespace, argparse.ArgumentParser], int]


def _arg(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """Make an argparse type of a parser of :mod:`variants` (argparse names the option)."""

    def convert(text: str) -> Any:
        try:
            return parse(text)
        except BookslotError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return convert


def _format(text: str) -> str:
    from .files import format_named  # deferred: the writers load PyYAML and orjson

    try:
        return format_named(text).name
    except BookslotError as exc:
        raise argparse.ArgumentTypeError(getattr(exc, "reason", str(exc))) from None


class _FormatNames(str):
    """Help text whose ``{formats}`` names the registered formats when it is shown.

    Looked up late because the registry loads every writer, which most commands never need.
    """

    __slots__ = ()

    def __mod__(self, params: Any) -> str:
        from .files import FORMATS

        *most, last = FORMATS
        return str.__mod__(self.replace("{formats}", f"{', '.join(most)} or {last}"), params)


def _add_shared(parser: argparse.ArgumentParser, *, top: bool) -> None:
    # Options every subcommand takes, accepted before or after the subcommand's name.
    # On the subcommands they default to SUPPRESS, so they do not undo the top level's.
    default = None if top else argparse.SUPPRESS
    parser.add_argument(
        "--config", metavar="FILE", default=default, help="YAML config file overriding the defaults"
    )
    parser.add_argument(
        "--as-of",
        metavar="YYYY-MM-DD",
        type=_arg(parse_date),
        default=default,
        help="reference date for ages (default: today)",
    )
    parser.add_argument(
        "--tenant",
        metavar="NAME",
        default=default,
        help="a tenant profile of the config file (its tenants: key)",
    )


def _add_seed(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--seed",
        metavar="N",
        type=_arg(parse_seed),
        help="0 <= N < 2**64; the same seed and date give the same bytes",
    )


def _add_variants(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("variants", "combine freely, except --young with --senior")
    ages = group.add_mutually_exclusive_group()
    for flag in VARIANT_FLAGS:
        where = ages if flag in ("young", "senior") else group
        where.add_argument(spell(flag, "cli"), action="store_true", help=VARIANT_HELP[flag])
    group.add_argument("--state", metavar="XX", help=VARIANT_HELP["state"])
    group.add_argument("--near", metavar="ZIP", help=VARIANT_HELP["near"])


def _add_kind(parser: argparse.ArgumentParser, default: str | None) -> None:
    from .kinds import KINDS

    parser.add_argument(
        "--kind",
        choices=list(KINDS),
        default=default,
        help=f"the records: {', '.join(KINDS)} (default: "
        f"{default or 'told from the file'}); intake and insurance are nested",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bookslot-data",
        # A script that spells a flag in short breaks when a new flag shares the prefix.
        allow_abbrev=False,
        description="Write, check and show realistic, reproducible bookslot payloads.",
    )
    _add_shared(parser, top=True)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    generate = commands.add_parser(
        "generate",
        allow_abbrev=False,
        help="write a batch, or the standard data sets",
        description="Write --count payloads to --output FILE (JSON, YAML, JSON Lines or CSV, "
        "by suffix or --format; '-' for stdout), or, without --output, the standard data "
        "sets into --out-dir.",
    )
    _add_shared(generate, top=False)
    _add_seed(generate)
    generate.add_argument("--output", "-o", metavar="FILE", help="the file to write ('-': stdout)")
    generate.add_argument(
        "--out-dir", metavar="DIR", help="folder of the standard sets (default test_data/bookslot)"
    )
    generate.add_argument(
        "--count",
        "-n",
        metavar="N",
        type=_arg(parse_count),
        help=f"records (default {DEFAULT_COUNT})",
    )
    generate.add_argument(
        "--format",
        "-f",
        metavar="FORMAT",
        type=_format,
        help=_FormatNames("{formats} (default: by suffix)"),
    )
    generate.add_argument(
        "--workers",
        metavar="N",
        type=_arg(parse_workers),
        default=1,
        help="processes that generate, this one included, or 'auto' (default 1)",
    )
    _add_kind(generate, "payload")
    _add_db(generate, write=True)
    _add_variants(generate)
    _add_dask(generate)
    generate.set_defaults(handler=_generate, parser=generate)

    validate = commands.add_parser(
        "validate",
        allow_abbrev=False,
        help="check data files against the payload rules",
        description="Check every record of every file ('-': standard input); report every "
        "problem and exit 1 if there is any.",
    )
    _add_shared(validate, top=False)
    validate.add_argument(
        "--format",
        "-f",
        metavar="FORMAT",
        type=_format,
        help=_FormatNames("the files' format: {formats} (default: by suffix; jsonl for '-')"),
    )
    _add_kind(validate, None)
    _add_db(validate, write=False)
    validate.add_argument("files", nargs="*", metavar="FILE")
    validate.set_defaults(handler=_validate, parser=validate)

    sample = commands.add_parser(
        "sample",
        allow_abbrev=False,
        help="print one payload as JSON",
        description="Print one payload as JSON: the first record that `generate --output -` "
        "writes with the same --seed, --as-of and variants.",
    )
    _add_shared(sample, top=False)
    _add_seed(sample)
    _add_kind(sample, "payload")
    _add_variants(sample)
    sample.set_defaults(handler=_sample, parser=sample)
    _add_serve(commands)
    return parser


# --- serve (issue 11) -------------------------------------------------------------------


def _add_serve(commands: Any) -> None:
    serve = commands.add_parser(
        "serve",
        allow_abbrev=False,
        help="serve the payloads over HTTP (needs the serve extra)",
        description="Serve GET /api/payloads and friends: the bytes `generate --output -` "
        "writes, for suites in any language.",
    )
    _add_shared(serve, top=False)
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument(
        "--port", type=_arg(lambda t: parse_count(t, 65535, "")), default=8000, help="default 8000"
    )
    serve.add_argument(
        "--max-count",
        metavar="N",
        type=_arg(parse_count),
        default=1_000_000,
        help="the largest count a request may ask for (default 1,000,000)",
    )
    serve.add_argument(
        "--max-body",
        metavar="BYTES",
        type=_arg(lambda t: parse_count(t, 2**40, "")),
        default=100 * 1024 * 1024,
        help="the largest body POST /api/validate reads; 413 above (default 104,857,600)",
    )
    serve.set_defaults(handler=_serve, parser=serve)


def _serve(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    try:
        from .server.run import serve
    except ImportError:
        print(
            "error: serve needs FastAPI and uvicorn: pip install 'bookslot-factories[serve]'",
            file=sys.stderr,
        )
        return 1
    try:
        serve(
            args.host,
            args.port,
            cfg=_config(args),
            config_path=args.config,
            max_count=args.max_count,
            max_body=args.max_body,
        )
    except OSError as exc:
        print(
            f"error: cannot serve on {args.host}:{args.port}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:  # stopping a server with Ctrl-C is its normal end
        pass
    return 0


# --- checked arguments ------------------------------------------------------------------


def _variants(args: argparse.Namespace) -> Variants:
    """Check the variant flags, in the command line's words."""
    given: dict[str, Any] = {flag: getattr(args, flag) for flag in VARIANT_FLAGS}
    given["state"], given["near"] = args.state, args.near
    return Variants.check(given, "cli")


def _config(args: argparse.Namespace) -> Any:
    from . import config
    from .errors import ConfigError

    tenant = getattr(args, "tenant", None)
    source = args.config or (os.environ.get(config.CONFIG_ENV) if tenant else None)
    if tenant is not None and not source:
        raise ConfigError(
            f"--tenant {tenant!r} needs a config file with tenants: give --config FILE"
        )
    return config.load_config(source, tenant=tenant) if source else config.current()


def _records(args: argparse.Namespace, seed: int, cfg: Any, count: int) -> Any:
    """Build ``count`` records of ``--kind`` with the factory, one at a time."""
    import importlib

    from . import config, seeding
    from .kinds import kind_named

    module, name = kind_named(args.kind).factory.split(":")
    factory = getattr(importlib.import_module(f".{module}", __package__), name)
    chosen = _variants(args).chosen()
    kwargs = {f"patient__{variant}": value for variant, value in chosen.items()}
    previous = config.current()
    config.configure(cfg)
    before = config.set_reference_date(args.as_of)
    try:
        with seeding.seeded(seed):
            for _ in range(count):
                yield factory.build(**kwargs)
    finally:
        config.set_reference_date(before)
        config.configure(previous)


def _random_seed() -> int:
    # Below 2**63, like an unseeded library run; shown nowhere, so any will do.
    return secrets.randbelow(MAX_SEED // 2)


# --- commands -----------------------------------------------------------------------------


def _generate(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from . import bulk, datasets, files

    if args.db is not None:
        return _generate_db(args, parser)
    if args.table is not None or args.if_exists is not None:
        parser.error("--table and --if-exists go only with --db URL")
    seed = args.seed if args.seed is not None else _random_seed()
    cfg = _config(args)
    count = DEFAULT_COUNT if args.count is None else args.count
    chosen = _variants(args).chosen()
    if args.output is None:
        misplaced = [spell(name, "cli") for name in chosen]
        if args.kind != "payload":
            misplaced.append("--kind")
        if args.format:
            misplaced.append("--format")
        if args.dask:
            misplaced.append("--dask")
        if misplaced:
            verb = "goes" if len(misplaced) == 1 else "go"
            parser.error(
                f"{', '.join(misplaced)} {verb} only with --output FILE; "
                "the standard sets have fixed variants"
            )
        for path in datasets.write_standard_sets(
            args.out_dir or datasets.DEFAULT_DIR, count=count, seed=seed, as_of=args.as_of, cfg=cfg
        ):
            print(path)
        return 0
    if args.out_dir:
        parser.error("--out-dir goes with the standard sets, not with --output")
    if args.dask is not None:
        return _generate_parts(args, parser, seed, cfg, count, chosen)
    fmt = _format_of(args.output, args.format)
    if args.kind != "payload":
        if args.workers != 1:
            parser.error("--workers goes only with --kind payload (the bulk engine)")
        if args.kind == "insurance" and chosen:
            parser.error("variants go only with --kind payload or intake")
        files.save(_records(args, seed, cfg, count), args.output, format=fmt.name, kind=args.kind)
        return 0
    job = bulk.Job.make(seed, as_of=args.as_of, cfg=cfg, **chosen)
    bulk.keep_block_buffers()
    progress = _Progress(count, sys.stderr) if _show_progress(count) else None
    blocks = bulk.encoded_blocks(
        job, count, fmt.encode, workers=args.workers, on_block=_on_block(args, progress)
    )
    try:
        files.write_blocks(args.output, fmt, blocks)
    finally:
        if progress:
            progress.close()
    return 0


# --- generate --dask: one part per block, written by Dask workers ----------------------


def _add_dask(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dask",
        metavar="SCHEDULER",
        help="write --output DIR as one part per block on Dask: 'local' (a cluster of "
        "--workers processes), 'synchronous', or an address such as tcp://host:8786 "
        "(needs the dask extra)",
    )


def _generate_parts(
    args: argparse.Namespace,
    parser: argparse.ArgumentParser,
    seed: int,
    cfg: Any,
    count: int,
    chosen: dict[str, Any],
) -> int:
    from . import bulk, files
    from .distributed import write_parts

    if args.kind != "payload":
        parser.error("--dask goes only with --kind payload (the bulk engine)")
    if args.output == "-":
        parser.error("--dask writes parts into a folder: give --output DIR, not '-'")
    if args.workers != 1 and args.dask != "local":
        parser.error("--workers goes with --dask local; a cluster has its own workers")
    fmt = files.format_named(args.format or "jsonl", path=args.output)
    job = bulk.Job.make(seed, as_of=args.as_of, cfg=cfg, **chosen)
    write_parts(args.output, count, job, fmt, scheduler=args.dask, workers=args.workers)
    return 0


def _format_of(path: str, named: str | None) -> Any:
    """The format named by --format, else by the suffix; JSON Lines on a pipe ('-')."""
    from . import files

    return files.format_for(path, named or ("jsonl" if path == "-" else None), named_by="--format")


def _on_block(args: argparse.Namespace, progress: _Progress | None) -> Callable[[int], None]:
    """What to do after each block: stop on a Ctrl-C that was lost, show progress."""
    interrupted: list[int] = args.interrupted

    def after(records: int) -> None:
        if interrupted:  # called before the file or the table is committed
            raise KeyboardInterrupt
        if progress:
            progress.advance(records)

    return after


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
    from . import files

    if args.db is not None:
        return _validate_db(args, parser)
    if not args.files:
        parser.error("give FILE ... or --db URL")
    if args.table is not None:
        parser.error("--table goes only with --db URL")
    cfg = _config(args)
    problems = 0
    for name in args.files:
        try:
            fmt = _format_of(name, args.format).name
        except BookslotError as exc:
            problems += 1
            print(f"error: {exc}", file=sys.stderr)
            continue
        for problem in files.check(name, format=fmt, as_of=args.as_of, cfg=cfg, kind=args.kind):
            problems += 1
            print(f"error: {problem}", file=sys.stderr)
    if problems:
        print(f"{problems} problem(s) in {len(args.files)} file(s)", file=sys.stderr)
        return 1
    return 0


def _sample(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from . import bulk

    seed = args.seed if args.seed is not None else _random_seed()
    if args.kind != "payload":
        if args.kind == "insurance" and _variants(args).chosen():
            parser.error("variants go only with --kind payload or intake")
        (record,) = _records(args, seed, _config(args), 1)
        print(json.dumps(record, indent=2, ensure_ascii=False))
        return 0
    # One seed, one stream: the first record that `generate --output -` writes.
    (payload,) = bulk.block(
        seed, 0, count=1, as_of=args.as_of, cfg=_config(args), **_variants(args).chosen()
    )
    print(json.dumps(payload, indent=2, ensure_ascii=False))
    return 0


# --- database (issue 10) ------------------------------------------------------------------


def _add_db(parser: argparse.ArgumentParser, *, write: bool) -> None:
    group = parser.add_argument_group("database", "needs pip install 'bookslot-factories[db]'")
    group.add_argument(
        "--db",
        metavar="URL",
        help="a database instead of files: sqlite:///FILE or postgresql://USER@HOST:PORT/DB",
    )
    group.add_argument("--table", metavar="NAME", help="the table (default bookslot_payloads)")
    if write:
        group.add_argument(
            "--if-exists",
            choices=["fail", "append", "replace"],
            help="when the table exists: fail (default), append, or replace it",
        )


def _db() -> Any:
    from . import db  # deferred: SQLAlchemy loads only for --db

    return db


def _generate_db(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """``generate --db``: the rows of ``generate --output``, through the bulk engine."""
    from . import bulk, datasets, seeding

    misplaced = [name for name in ("output", "out_dir", "format") if getattr(args, name)]
    if misplaced:
        parser.error(f"--{misplaced[0].replace('_', '-')} goes with files, not with --db")
    if args.kind != "payload":
        parser.error("--db writes --kind payload only")
    db = _db()
    seed = args.seed if args.seed is not None else _random_seed()
    cfg = _config(args)
    chosen = _variants(args).chosen()
    if_exists = args.if_exists or "fail"
    if args.count is None:  # the standard sets, one table each, under their file names
        if chosen or args.table:
            parser.error("--table and variants go only with --count; the standard sets are fixed")
        for name, variants in datasets.STANDARD_SETS.items():
            job = bulk.Job.make(seeding.derive(seed, name), as_of=args.as_of, cfg=cfg, **variants)
            db.save_job(job, DEFAULT_COUNT, args.db, table=name, if_exists=if_exists)
            print(name)
        return 0
    job = bulk.Job.make(seed, as_of=args.as_of, cfg=cfg, **chosen)
    progress = _Progress(args.count, sys.stderr) if _show_progress(args.count) else None
    try:
        db.save_job(
            job,
            args.count,
            args.db,
            table=args.table or db.TABLE,
            if_exists=if_exists,
            workers=args.workers,
            on_block=_on_block(args, progress),
        )
    finally:
        if progress:
            progress.close()
    return 0


def _validate_db(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if args.files:
        parser.error("give FILE ... or --db URL, not both")
    db = _db()
    problems = 0
    for problem in db.check(
        args.db, table=args.table or db.TABLE, as_of=args.as_of, cfg=_config(args)
    ):
        problems += 1
        print(f"error: {problem}", file=sys.stderr)
    if problems:
        print(f"{problems} problem(s) in the table", file=sys.stderr)
        return 1
    return 0


@contextlib.contextmanager
def _noting_interrupts() -> Iterator[list[int]]:
    """Raise KeyboardInterrupt on Ctrl-C as usual, and note that it came.

    Python drops an exception raised in a ``__del__`` or a weakref callback (every
    import runs one), so a Ctrl-C that lands there is lost and the run would go on to
    replace the file. The note lets :func:`_on_block` raise it again before that.
    """
    noted: list[int] = []
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):  # a program's own Ctrl-C handling is its own
        yield noted
        return

    def note(signum: int, frame: object) -> None:
        noted.append(signum)
        raise KeyboardInterrupt

    def quiet(unraisable: Any) -> None:
        # The dropped Ctrl-C is noted: an "Exception ignored" traceback would be noise.
        if not isinstance(unraisable.exc_value, KeyboardInterrupt):
            previous_hook(unraisable)

    previous_hook = sys.unraisablehook
    try:  # a Ctrl-C right after the swap still finds both put back
        signal.signal(signal.SIGINT, note)
        sys.unraisablehook = quiet
        yield noted
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        sys.unraisablehook = previous_hook


def _quiet_stdout() -> None:
    # The reader is gone: point stdout at /dev/null, so that the interpreter's own
    # flush at exit does not report the broken pipe either.
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # a replaced sys.stdout without a descriptor
        pass
    finally:
        os.close(devnull)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code.

    Args:
        argv: The arguments, without the program name (default ``sys.argv[1:]``).
    """
    try:
        # A Ctrl-C while the parser is built (it imports) ends like any other.
        with _noting_interrupts() as interrupted:
            parser = _parser()
            args, extra = parser.parse_known_args(argv)
            command: argparse.ArgumentParser = args.parser
            if extra:
                command.error(f"unrecognized arguments: {' '.join(extra)}")
            args.interrupted = interrupted
            handler: Handler = args.handler
            return handler(args, command)
    except BrokenPipeError:  # ClosedPipeError, or a print() to a closed pipe
        _quiet_stdout()
        return 0
    except BookslotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted; no file was changed", file=sys.stderr)
        return 130
