"""The one place that owns randomness: ours, and nobody else's.

Every draw of our declarations comes from :data:`RANDOM`, a private
:class:`random.Random`. factory_boy's ``randgen`` and Faker's shared random, which
a user's own ``factory.Faker``, ``fuzzy`` and ``Iterator`` fields in a subclass read,
are *borrowed* only while one of our factories builds (:func:`borrowed`): they are
set to this stream's own state for the build and put back after. So the same seed
replays a subclass's fields too, whatever pytest-randomly or anyone else did to
those generators, and outside our builds they are exactly as they would be without
us. Nothing here ever reseeds the global ``random`` module, factory_boy or Faker.

:func:`seed` makes what follows reproducible: it reseeds :data:`RANDOM` and the
borrowed stream, and restarts the email and location counters (and what
:func:`on_seed` registered). It does not reset factory sequences: a
``factory.Sequence`` keeps counting across seeds, as factory_boy documents, so its
values stay unique across a run.

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
from typing import Any

from .variants import check_seed

__all__ = [
    "RANDOM",
    "borrowed",
    "current_seed",
    "derive",
    "drawn",
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
# The borrowed stream: the states factory_boy's randgen and Faker's shared random
# take while we build (None: not drawn from since the last seed; made on first use).
_borrowed: tuple[Any, Any] | None = None
_depth = 0
_drawn = False


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
    before: the random source, the borrowed stream of users' own fields, and the
    email and location counters all restart.

    Args:
        value: A whole number from 0 to 2**64 - 1.

    Raises:
        VariantError: ``value`` is not such a number.
    """
    global _seed, _tag, _emails, _locations, _borrowed
    _seed = check_seed(value)
    RANDOM.seed(_seed)
    _tag = email_tag(_seed)
    _emails = itertools.count(1)
    _locations = itertools.count(0)
    _borrowed = None
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
    global _seed, _tag, _emails, _locations, _borrowed
    saved = (_seed, _tag, _emails, _locations, _borrowed, RANDOM.getstate())
    restores = [save() for _, save in _participants]
    known = len(_participants)
    seed(value)
    try:
        yield
    finally:
        _seed, _tag, _emails, _locations, _borrowed, state = saved
        RANDOM.setstate(state)
        for restore in restores:
            restore()
        # A factory first imported inside the block (they load lazily) registered its
        # stream at this block's seed; outside it starts, unused, from the outer seed.
        for reset, _ in _participants[known:]:
            reset()


def on_seed(reset: Callable[[], None], save: Callable[[], Callable[[], None]]) -> None:
    """Register state that :func:`seed` resets and :func:`seeded` saves and restores.

    Args:
        reset: Called by every :func:`seed` (e.g. to restart an iterator).
        save: Called on entering :func:`seeded`; returns a function that puts the
            state back on leaving.
    """
    _participants.append((reset, save))


@contextmanager
def borrowed() -> Iterator[None]:
    """Let factory_boy's and Faker's shared randomness draw from our stream for a block.

    On entry their states are saved and replaced by the borrowed stream's; on exit
    the stream's new states are kept for the next build and theirs are put back.
    Nested blocks borrow once. Used around every build of a factory that declares
    fields of its own (a user's subclass); our own declarations never read them.
    """
    global _depth, _borrowed
    if _depth:
        _depth += 1
        try:
            yield
        finally:
            _depth -= 1
        return
    import factory.random
    import faker.generator

    fb, fk = factory.random.randgen, faker.generator.random
    # Not factory.random.get/set_random_state(): they mark the state as set, which
    # makes factory_boy warn for every FuzzyDate without an end date.
    theirs = (fb.getstate(), fk.getstate())
    if _borrowed is None:
        # factory_boy keeps the two generators in step; so does the borrowed stream.
        state = random.Random(derive(_seed, "factory_boy")).getstate()
        _borrowed = (state, state)
    fb.setstate(_borrowed[0])
    fk.setstate(_borrowed[1])
    _depth = 1
    try:
        yield
    finally:
        _depth = 0
        _borrowed = (fb.getstate(), fk.getstate())
        fb.setstate(theirs[0])
        fk.setstate(theirs[1])


def next_email_number() -> tuple[str, int]:
    """Return the stream tag and the next email number of this stream."""
    global _drawn
    _drawn = True
    return _tag, next(_emails)


def drawn(reset: bool = False) -> bool:
    """Return whether a payload was drawn since the last reset (and reset if asked).

    The plugin asks, so that a failing test that built payloads itself, without our
    fixtures, still gets the replay line.
    """
    global _drawn
    was = _drawn
    if reset:
        _drawn = False
    return was


def next_location_index() -> int:
    """Return the next position in the booking-location cycle."""
    return next(_locations)


seed(secrets.randbelow(2**63))
