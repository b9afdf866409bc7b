"""Data files of records: JSON, JSON Lines, YAML and CSV, written atomically, read back checked.

This package knows nothing about factories: it writes any records (flat mappings
of strings to strings, or the nested intake and insurance records) and reads records
back, checking each one with the rules of its kind (:mod:`bookslot_factories.kinds`).

>>> from bookslot_factories import BookslotPayloadFactory, seed
>>> from bookslot_factories.files import load, save
>>> seed(1)
>>> path = getfixture("tmp_path") / "payloads.yaml"
>>> save(BookslotPayloadFactory.build_batch(3), path)
3
>>> len(load(path))
3

Modules: :mod:`.formats` (one :class:`Format` per format), :mod:`.atomic` (all or
nothing), :mod:`.writing` (:func:`save`, :func:`write_blocks`), :mod:`.reading`
(:func:`load`, :func:`iter_load`, :func:`check`), and one private module per format
holding its writer and reader.

Writing streams: records are checked and encoded a block at a time, into a temporary
file that replaces the target only when everything is written. The bulk engine
encodes blocks in worker processes with the same :class:`Format` functions, so its
files are byte for byte what :func:`save` writes. Reading streams too (except JSON,
which is read whole) and every problem is a
:class:`~bookslot_factories.DataFileError` that names the file, the record, the line
and the field.
"""

from __future__ import annotations

from .atomic import replacing_folder, write_atomic
from .formats import FORMATS, Format, format_for, format_named
from .reading import check, iter_load, load
from .writing import framed, save, write_blocks

__all__ = [
    "FORMATS",
    "Format",
    "check",
    "format_for",
    "format_named",
    "framed",
    "iter_load",
    "load",
    "replacing_folder",
    "save",
    "write_atomic",
    "write_blocks",
]
