"""The one place that owns randomness.

Every draw of the factory comes from :data:`RANDOM`, a private
:class:`random.Random`; nothing reads the global ``random`` module, Faker's shared
generator or factory_boy's ``randgen``. pytest-randomly reseeds those around every
test, and it can do so without changing or breaking our data.

:func:`seed` makes what follows reproducible: it reseeds :data:`RANDOM`, restarts
the email and location counters, resets factory sequences (through the callbacks
registered with :func:`on_seed`) and also reseeds factory_boy's shared random, so
``factory.Faker`` fields that users add in subclasses follow the same seed.

Without a call to :func:`seed`, a random seed is drawn at import, so unseeded runs
differ and do not reuse emails already registered on a shared test server.
"""

from __future__ import annotations

import hashlib
import itertools
import random
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from .variants import check_seed

__all__ = [
    "RANDOM",
    "current_seed",
    "derive",
    "email_tag",
    "next_email_number",
    "next_location_index",
    "on_seed",
    "seed",
    "seeded",
]

#: The random source of every draw the factory makes.
RANDOM = random.Random()

_TAG_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
#: Width of the email stream tag: 7 base-36 characters hold 36 bits of the seed.
TAG_WIDTH = 7

_seed = 0
_tag = ""
_emails: Iterator[int] = itertools.count(1)
_locations: Iterator[int] = itertools.count(0)
_participants: list[tuple[Callable[[], None], Callable[[], Callable[[], None]]]] = []


def derive(seed: int, *keys: object) -> int:
    """Derive a 64-bit seed from a seed and keys, stably across processes and runs.

    Python's ``hash()`` is salted per process, so a cryptographic hash of the keys'
    text is used instead.

    >>> derive(1, "tests/test_a.py::test_b") == derive(1, "tests/test_a.py::test_b")
    True
    """
    # repr() keeps 2 and "2", or ("a", "b") and ("a\x1fb",), apart; it is stable for
    # the ints and strings used as keys.
    text = repr((seed, *keys))
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def email_tag(seed: int, *keys: object) -> str:
    """Return the fixed-width stream tag that makes emails of different seeds differ.

    >>> len(email_tag(42))
    7
    """
    value = derive(seed, "email", *keys) % len(_TAG_ALPHABET) ** TAG_WIDTH
    chars = []
    for _ in range(TAG_WIDTH):
        value, digit = divmod(value, len(_TAG_ALPHABET))
        chars.append(_TAG_ALPHABET[digit])
    return "".join(reversed(chars))


def seed(value: int) -> None:
    """Make all data generated from now on reproducible.

    The same seed gives the same payloads in any process, whatever was generated
    before: the random source, the email and location counters and factory
    sequences all restart.

    Args:
        value: A whole number from 0 to 2**64 - 1.

    Raises:
        VariantError: ``value`` is not such a number.
    """
    global _seed, _tag, _emails, _locations
    _seed = check_seed(value)
    RANDOM.seed(_seed)
    _tag = email_tag(_seed)
    _emails = itertools.count(1)
    _locations = itertools.count(0)
    for reset, _ in _participants:
        reset()


def current_seed() -> int:
    """Return the seed in force (drawn at random at import if none was set)."""
    return _seed


@contextmanager
def seeded(value: int) -> Iterator[None]:
    """Run a block with ``seed(value)`` and restore the previous stream afterwards.

    Useful for data of a wider scope (a module fixture, say) that must not depend
    on which test ran first.
    """
    global _seed, _tag, _emails, _locations
    saved = (_seed, _tag, _emails, _locations, RANDOM.getstate())
    restores = [save() for _, save in _participants]
    seed(value)
    try:
        yield
    finally:
        _seed, _tag, _emails, _locations, state = saved
        RANDOM.setstate(state)
        for restore in restores:
            restore()


def on_seed(reset: Callable[[], None], save: Callable[[], Callable[[], None]]) -> None:
    """Register state that :func:`seed` resets and :func:`seeded` saves and restores.

    Args:
        reset: Called by every :func:`seed` (e.g. to restart a sequence).
        save: Called on entering :func:`seeded`; returns a function that puts the
            state back on leaving.
    """
    _participants.append((reset, save))


def _reseed_factory_boy() -> None:
    import factory.random

    # Users' own factory.Faker / fuzzy fields in subclasses follow our seed too.
    factory.random.reseed_random(derive(_seed, "factory_boy"))  # type: ignore[no-untyped-call]


def _save_factory_boy() -> Callable[[], None]:
    import factory.random
    import faker.generator

    # Not factory.random.get_random_state(): it overwrites Faker's state with its own.
    ours, fakers = factory.random.randgen.getstate(), faker.generator.random.getstate()

    def restore() -> None:
        factory.random.randgen.setstate(ours)
        faker.generator.random.setstate(fakers)

    return restore


def next_email_number() -> tuple[str, int]:
    """Return the stream tag and the next email number of this stream."""
    return _tag, next(_emails)


def next_location_index() -> int:
    """Return the next position in the booking-location cycle."""
    return next(_locations)


on_seed(_reseed_factory_boy, _save_factory_boy)
seed(secrets.randbelow(2**63))
