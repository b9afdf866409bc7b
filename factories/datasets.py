"""The standard data sets and the original design's file functions.

``bookslot-data generate`` (and ``make generate``) writes :data:`STANDARD_SETS` into
``test_data/bookslot/``: five sets of payloads, each as ``.json`` and ``.yaml``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from datetime import date
from itertools import chain
from pathlib import Path
from typing import Any

from factories import bulk, export, seeding
from factories.bookslot import BookslotPayloadFactory
from factories.config import Config
from factories.errors import DataFileError

__all__ = [
    "DEFAULT_DIR",
    "STANDARD_SETS",
    "generate_and_save_bookslot_data",
    "load_bookslot_data",
    "write_standard_sets",
]

#: Where the standard sets live, relative to the working directory.
DEFAULT_DIR = Path("test_data/bookslot")

#: Each standard set's file name (without suffix) and variants.
STANDARD_SETS: Mapping[str, Mapping[str, Any]] = {
    "bookslot_data": {},
    "bookslot_data_dynamic_zip": {"dynamic_zip": True},
    "bookslot_young_patients": {"young": True},
    "bookslot_senior_patients": {"senior": True},
    "bookslot_dynamic_locations": {"dynamic_location": True},
}
STANDARD_FORMATS = ("json", "yaml")


def write_standard_sets(
    out_dir: str | os.PathLike[str] = DEFAULT_DIR,
    *,
    count: int = 10,
    seed: int,
    as_of: date | str | None = None,
    cfg: Config | None = None,
) -> list[Path]:
    """Write every standard set as JSON and YAML; the folder is created if missing.

    Each set draws from its own seed derived from ``seed``, through the bulk engine,
    so the same seed and date give byte-identical files.

    Returns:
        The files written.
    """
    folder = Path(out_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataFileError(f"cannot create the folder: {exc.strerror}", path=str(folder)) from None
    written = []
    for name, variants in STANDARD_SETS.items():
        job = bulk.Job.make(seeding.derive(seed, name), as_of=as_of, cfg=cfg, **variants)
        records = list(chain.from_iterable(bulk.blocks(job, count)))
        for fmt in STANDARD_FORMATS:
            path = folder / f"{name}.{fmt}"
            export.save(records, path, format=fmt)
            written.append(path)
    return written


def generate_and_save_bookslot_data(
    count: int = 10,
    filename: str = "bookslot_data",
    output_dir: str | os.PathLike[str] = DEFAULT_DIR,
    formats: Iterable[str] = STANDARD_FORMATS,
    **variants: Any,
) -> list[dict[str, str]]:
    """Build ``count`` payloads with the factory, save them in each format, return them.

    The original generator's name, kept for existing suites. The folder is created
    if missing; each file is ``<output_dir>/<filename>.<format>``.
    """
    payloads: list[dict[str, str]] = list(BookslotPayloadFactory.build_batch(count, **variants))
    folder = Path(output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    for fmt in formats:
        export.save(payloads, folder / f"{filename}.{fmt}", format=fmt)
    return payloads


def load_bookslot_data(filename_or_path: str | os.PathLike[str]) -> list[dict[str, str]]:
    """Load and validate a data file (the original generator's name).

    A bare name such as ``"bookslot_data"`` or ``"bookslot_data.yaml"`` is looked up
    in :data:`DEFAULT_DIR`; without a suffix, ``.json`` is tried first, then ``.yaml``.

    Raises:
        DataFileError: The file is missing or invalid.
    """
    path = Path(filename_or_path)
    if path.exists() or len(path.parts) > 1:
        return export.load(path)
    candidates = [DEFAULT_DIR / path]
    if not path.suffix:
        candidates = [DEFAULT_DIR / f"{path}.{fmt}" for fmt in STANDARD_FORMATS]
    for candidate in candidates:
        if candidate.exists():
            return export.load(candidate)
    raise DataFileError(
        f"no such data file; looked for {', '.join(str(c) for c in candidates)}", path=str(path)
    )
