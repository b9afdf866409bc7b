"""The standard data sets: what ``bookslot-data generate`` writes without ``--output``.

``make generate`` writes :data:`STANDARD_SETS` into ``test_data/bookslot/``: five sets
of payloads, each as ``.json`` and ``.yaml``, the file names of the original design.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import date
from itertools import chain
from pathlib import Path
from typing import Any

from .config import Config
from .errors import DataFileError

__all__ = [
    "DEFAULT_DIR",
    "DEFAULT_FILE",
    "STANDARD_FORMATS",
    "STANDARD_SETS",
    "write_standard_sets",
]

#: Where the standard sets live, relative to the working directory (or pytest's rootdir).
DEFAULT_DIR = Path("test_data", "bookslot")
#: The file the ``bookslot_data_file`` fixture loads by default.
DEFAULT_FILE = DEFAULT_DIR / "bookslot_data.json"

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
    from . import bulk, files, seeding  # deferred: the plugin reads DEFAULT_FILE at start-up

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
            files.save(records, path, format=fmt)
            written.append(path)
    return written
