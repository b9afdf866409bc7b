"""The ASGI app: payloads streamed in the CLI's bytes, one payload, ZIP look-ups."""

from __future__ import annotations

import os
import secrets
import shlex
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import asdict
from datetime import date
from typing import Any, TypeVar

from fastapi import FastAPI, Query, Request
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from .. import bulk, config, files, locations
from ..config import Config
from ..errors import BookslotError, LocationError
from ..files.reading import judge
from ..kinds import kind_named
from ..model import FIELDS
from ..variants import (
    MAX_SEED,
    VARIANT_FLAGS,
    VARIANT_OPTIONS,
    Variants,
    check_count,
    parse_date,
    parse_seed,
    spell,
)

__all__ = ["DEFAULT_MAX_BODY", "DEFAULT_MAX_COUNT", "create_app"]

#: The largest count a request may ask for, unless ``max_count`` says otherwise.
DEFAULT_MAX_COUNT = 1_000_000
#: Records a request writes when no ``count`` is given (as the CLI's ``generate``).
DEFAULT_COUNT = 10
#: The largest body ``POST /api/validate`` reads, unless ``max_body`` says otherwise.
DEFAULT_MAX_BODY = 100 * 1024 * 1024
_T = TypeVar("_T")
#: The web page's files, installed with the package (no CDN: it works offline).
_STATIC = os.path.join(os.path.dirname(__file__), "static")
# Every registered format is served, so a new format needs no change here.
_MEDIA_TYPES = tuple(dict.fromkeys(fmt.media_type for fmt in files.FORMATS.values()))
_FORMAT_NAMES = ", ".join(files.FORMATS)
_PARAMETERS = ("count", "seed", "as_of", "format", *VARIANT_FLAGS, *VARIANT_OPTIONS)


class _BadParameter(Exception):
    """A query parameter the CLI's rules refuse; answered with 422."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name
        self.message = message


def _refused(name: str, message: str) -> JSONResponse:
    # FastAPI's own validation error shape, so the OpenAPI schema's 422 holds.
    detail = [{"loc": ["query", name], "msg": message, "type": "value_error"}]
    return JSONResponse({"detail": detail}, status_code=422)


def _named(message: str) -> str:
    """The parameter a message of :mod:`variants` starts with (they name it first)."""
    first = message.split(" ", 2)[:2]
    for word in first:
        name = word.split("=")[0]
        if name in _PARAMETERS:
            return name
    return "query"


def _flag(params: Any, name: str) -> bool:
    text = params.get(name)
    if text is None:
        return False
    value = {"true": True, "1": True, "false": False, "0": False}.get(text.lower())
    if value is None:
        raise _BadParameter(name, f"{name} {text!r} is not a bool; expected true or false")
    return value


class _Run:
    """The checked parameters of one request, and the CLI command that replays it."""

    def __init__(self, params: Any, cfg: Config, max_count: int, config_path: str | None):
        unknown = sorted(set(params) - set(_PARAMETERS))
        if unknown:
            raise _BadParameter(
                unknown[0],
                f"unknown parameter {unknown[0]!r}; expected one of {', '.join(_PARAMETERS)}",
            )
        try:
            text = params.get("count")
            self.count = (
                DEFAULT_COUNT if text is None else check_count(_int(text, "count"), max_count)
            )
            seed = params.get("seed")
            self.seed = (
                secrets.randbelow(MAX_SEED // 2) if seed is None else parse_seed(seed, "seed")
            )
            as_of = params.get("as_of")
            self.as_of: date = (
                config.reference_date() if as_of is None else parse_date(as_of, "as_of")
            )
            self.format = files.format_named(params.get("format", "json"))
        except BookslotError as exc:
            message = getattr(exc, "reason", str(exc))
            raise _BadParameter(_named(message), message) from None
        given: dict[str, Any] = {flag: _flag(params, flag) for flag in VARIANT_FLAGS}
        for option in VARIANT_OPTIONS:
            given[option] = params.get(option)
        try:
            self.variants = Variants.check(given).chosen()
            self.job = bulk.Job.make(self.seed, as_of=self.as_of, cfg=cfg, **self.variants)
        except BookslotError as exc:
            raise _BadParameter(_named(str(exc)), str(exc)) from None
        self.config_path = config_path

    def command(self, *, count: int | None = None, fmt: str | None = None) -> str:
        """The ``bookslot-data`` command that writes the same bytes."""
        words = ["bookslot-data", "generate", "--output", "-"]
        words += ["--format", fmt or self.format.name]
        words += ["--count", str(self.count if count is None else count)]
        words += ["--seed", str(self.seed), "--as-of", self.as_of.isoformat()]
        if self.config_path:
            words += ["--config", self.config_path]
        for name, value in self.variants.items():
            words.append(spell(name, "cli"))
            if value is not True:
                words.append(str(value))
        return shlex.join(words)

    def headers(self) -> dict[str, str]:
        """The headers that tell how to reproduce the response."""
        return {
            "X-Bookslot-Seed": str(self.seed),
            "X-Bookslot-As-Of": self.as_of.isoformat(),
            "X-Bookslot-Command": self.command(),
        }


def _checked(name: str, check: Callable[[], _T]) -> _T:
    """The value ``check`` returns; its error answered as a 422 naming ``name``."""
    try:
        return check()
    except BookslotError as exc:
        raise _BadParameter(name, getattr(exc, "reason", str(exc))) from None


def _int(text: str, name: str) -> int:
    try:
        return int(text.strip(), 10)
    except ValueError:
        raise _BadParameter(name, f"{name} {text!r} is not a whole number") from None


class _TooLarge(Exception):
    """A request body above the limit; answered with 413."""


async def _spooled(request: Request, limit: int, suffix: str) -> str:
    """Write the body to a temporary file as it arrives; stop at ``limit`` bytes.

    The limit is enforced on the stream, so a client lying in (or leaving out)
    Content-Length cannot make us hold more than ``limit`` bytes on disk.
    """
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _TooLarge
    handle, name = tempfile.mkstemp(prefix="bookslot-validate-", suffix=suffix)
    try:
        with os.fdopen(handle, "wb") as file:
            size = 0
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise _TooLarge
                file.write(chunk)
    except BaseException:
        os.unlink(name)
        raise
    return name


def _report(
    name: str, fmt: str, as_of: date | None, cfg: Config, kind: str | None
) -> dict[str, Any]:
    """What ``bookslot-data validate`` reports of one file, as JSON."""
    records = 0
    problems: list[dict[str, Any]] = []
    for record, problem in judge(name, format=fmt, as_of=as_of, cfg=cfg, kind=kind):
        records += record is not None
        if problem is not None:
            # The reason without the temporary file's name, which means nothing to a client.
            problems.append(
                {
                    "record": problem.record,
                    "line": problem.line,
                    "field": problem.field,
                    "message": problem.reason,
                }
            )
    return {"valid": not problems, "records": records, "problems": problems}


def create_app(
    *,
    cfg: Config | None = None,
    config_path: str | None = None,
    max_count: int = DEFAULT_MAX_COUNT,
    max_body: int = DEFAULT_MAX_BODY,
) -> FastAPI:
    """Return the ASGI app of ``bookslot-data serve``, to run or mount anywhere.

    Args:
        cfg: The config whose rules the data follows (default: the active one).
        config_path: The config file ``cfg`` came from, for the CLI commands shown.
        max_count: The largest ``count`` a request may ask for.
        max_body: The largest body, in bytes, ``POST /api/validate`` reads (413 above).
    """
    chosen = cfg or config.current()
    limit = check_count(max_count, name="max_count")
    body_limit = check_count(max_body, name="max_body")
    app = FastAPI(
        title="bookslot-factories",
        description="Realistic, reproducible bookslot payloads, byte for byte as the CLI.",
    )

    @app.exception_handler(_BadParameter)
    async def _bad(request: Request, exc: _BadParameter) -> JSONResponse:
        return _refused(exc.name, exc.message)

    app.mount("/static", StaticFiles(directory=_STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        """The web page: a form, a preview of the first rows, a download, the command."""
        return FileResponse(os.path.join(_STATIC, "index.html"), media_type="text/html")

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        """Answer ``{"status": "ok"}`` while the server runs."""
        return {"status": "ok"}

    @app.get(
        "/api/payloads",
        response_class=StreamingResponse,
        responses={
            200: {
                "content": {
                    "application/json": {},
                    "application/x-ndjson": {},
                    "text/csv": {},
                    "application/yaml": {},
                },
                "description": "The bytes of `bookslot-data generate --output -`.",
            },
            422: {"description": "A parameter the CLI's rules refuse."},
        },
    )
    def payloads(
        request: Request,
        count: str | None = Query(None, description="records (default 10)"),
        seed: str | None = Query(None, description="0 <= seed < 2**64 (default random)"),
        as_of: str | None = Query(None, description="YYYY-MM-DD (default today)"),
        format: str = Query("json", description=_FORMAT_NAMES),
    ) -> StreamingResponse:
        """Stream ``count`` payloads in ``format``; variants are query parameters too."""
        run = _Run(request.query_params, chosen, limit, config_path)
        blocks = bulk.encoded_blocks(run.job, run.count, run.format.encode)
        body: Iterator[bytes] = files.framed(run.format, FIELDS, blocks)
        return StreamingResponse(body, media_type=run.format.media_type, headers=run.headers())

    @app.get("/api/payload")
    def payload(request: Request) -> JSONResponse:
        """One payload: the first that ``/api/payloads`` gives with the same parameters."""
        run = _Run(request.query_params, chosen, limit, config_path)
        (record,) = bulk.block(run.seed, 0, count=1, as_of=run.as_of, cfg=chosen, **run.variants)
        return JSONResponse(dict(record), headers=run.headers())

    @app.exception_handler(_TooLarge)
    async def _too_large(request: Request, exc: _TooLarge) -> JSONResponse:
        return JSONResponse(
            {"detail": f"the body is larger than {body_limit:,} bytes, the server's --max-body"},
            status_code=413,
        )

    @app.post(
        "/api/validate",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    media: {"schema": {"type": "string", "format": "binary"}}
                    for media in ("application/octet-stream", *_MEDIA_TYPES)
                },
            }
        },
        responses={
            413: {"description": "A body above the server's --max-body."},
            422: {"description": "A parameter the CLI's rules refuse."},
        },
    )
    async def validate(
        request: Request,
        format: str = Query("jsonl", description=f"{_FORMAT_NAMES} (default jsonl)"),
        as_of: str | None = Query(None, description="YYYY-MM-DD ages are checked on"),
        kind: str | None = Query(None, description="payload, intake or insurance"),
    ) -> JSONResponse:
        """Check a data file (the body) as ``bookslot-data validate`` does; list every problem."""
        fmt = _checked("format", lambda: files.format_named(format))
        day = None if as_of is None else _checked("as_of", lambda: parse_date(as_of, "as_of"))
        if kind is not None:
            _checked("kind", lambda: kind_named(kind))
        path = await _spooled(request, body_limit, "." + fmt.name)
        try:
            report = await run_in_threadpool(_report, path, fmt.name, day, chosen, kind)
        finally:
            os.unlink(path)
        return JSONResponse(report)

    @app.get("/api/zips/{zip_code}", responses={404: {"description": "An unknown ZIP."}})
    def zip_place(zip_code: str) -> JSONResponse:
        """The place behind a ZIP code (404 for one not in the data set)."""
        try:
            place = locations.lookup(zip_code)
        except LocationError as exc:
            return JSONResponse({"detail": str(exc)}, status_code=404)
        return JSONResponse(asdict(place))

    return app
