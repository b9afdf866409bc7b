"""The original one-module generator's functions, kept so existing suites keep working.

New code calls :class:`~bookslot_factories.BookslotPayloadFactory`,
:func:`~bookslot_factories.save` and :func:`~bookslot_factories.load` directly.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .bookslot import BookslotPayloadFactory
from .errors import DataFileError

__all__ = [
    "generate_and_save_bookslot_data",
    "generate_bookslot_payload",
    "generate_bookslot_payload_with_options",
    "load_bookslot_data",
]


def generate_bookslot_payload() -> dict[str, str]:
    """Return one payload."""
    return BookslotPayloadFactory.build()


def generate_bookslot_payload_with_options(
    use_dynamic_zip: bool = False, state: str | None = None, **variants: Any
) -> dict[str, str]:
    """Return one payload with options.

    Args:
        use_dynamic_zip: Draw a real residential ZIP instead of the static one.
        state: Draw the ZIP from this state (implies a dynamic ZIP).
        **variants: Any other variant or field of :class:`BookslotPayloadFactory`.
    """
    return BookslotPayloadFactory.build(dynamic_zip=use_dynamic_zip, state=state, **variants)


def generate_and_save_bookslot_data(
    count: int = 10,
    filename: str = "bookslot_data",
    output_dir: str | os.PathLike[str] | None = None,
    formats: Iterable[str] | None = None,
    **variants: Any,
) -> list[dict[str, str]]:
    """Build ``count`` payloads with the factory, save them in each format, return them.

    The folder (default ``test_data/bookslot``) is created if missing; each file is
    ``<output_dir>/<filename>.<format>`` (default formats: JSON and YAML).
    """
    from . import datasets, files

    payloads: list[dict[str, str]] = list(BookslotPayloadFactory.build_batch(count, **variants))
    folder = Path(datasets.DEFAULT_DIR if output_dir is None else output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    for fmt in datasets.STANDARD_FORMATS if formats is None else formats:
        files.save(payloads, folder / f"{filename}.{fmt}", format=fmt)
    return payloads


def load_bookslot_data(filename_or_path: str | os.PathLike[str]) -> list[dict[str, str]]:
    """Load and validate a data file.

    A bare name such as ``"bookslot_data"`` or ``"bookslot_data.yaml"`` is looked up
    in ``test_data/bookslot``; without a suffix, ``.json`` is tried first, then ``.yaml``.

    Raises:
        DataFileError: The file is missing or invalid.
    """
    from . import datasets, files

    path = Path(filename_or_path)
    if path.exists() or len(path.parts) > 1:
        return files.load(path)
    candidates = [datasets.DEFAULT_DIR / path]
    if not path.suffix:
        candidates = [datasets.DEFAULT_DIR / f"{path}.{fmt}" for fmt in datasets.STANDARD_FORMATS]
    for candidate in candidates:
        if candidate.exists():
            return files.load(candidate)
    raise DataFileError(
        f"no such data file; looked for {', '.join(str(c) for c in candidates)}", path=str(path)
    )
