"""``BookslotPayloadFactory``: the factory_boy factory of the booking payload.

Each field is a declaration that calls its draw in :mod:`~bookslot_factories.draws`,
and each variant is a Trait whose overrides are the declarations it enables:

>>> from bookslot_factories import BookslotPayloadFactory, seed
>>> seed(7)
>>> payload = BookslotPayloadFactory.build(senior=True, state="TX")
>>> payload["MemberName"] == f"{payload['first_name']} {payload['last_name']}"
True
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable, Generator
from typing import Any

from factory.base import Factory
from factory.declarations import Iterator, LazyAttribute, LazyFunction, Trait

from . import config, draws, seeding
from .model import FIELDS, BookslotPayload
from .variants import MAX_BATCH, VARIANT_FLAGS, VARIANT_OPTIONS, Variants, as_date, check_count
from .variants import check_names as _check_names

__all__ = [
    "BookingLocations",
    "BookslotPayloadFactory",
    "LeanAttribute",
    "LeanFunction",
    "Variant",
    "check_variants",
]

_RANDOM = seeding.RANDOM


class Variant(Trait):
    """A Trait that also declares its own flag, defaulting to ``False``.

    factory_boy leaves a plain Trait's flag out of the factory's declarations, so
    pytest-factoryboy makes no ``bookslot_payload__senior`` fixture and fails to
    collect a test that parametrizes it (pytest-factoryboy issues #53 and #220).
    Declaring the flag fixes both. Otherwise it is factory_boy's Trait: the keyword
    arguments are the declarations the flag enables.
    """

    def __init__(self, **overrides: Any) -> None:
        super().__init__(**overrides)  # type: ignore[no-untyped-call]  # untyped base

    def as_declarations(self, field_name: str, declarations: dict[str, Any]) -> dict[str, Any]:
        """Return the Trait's overrides plus its flag's default."""
        overrides: dict[str, Any] = super().as_declarations(  # type: ignore[no-untyped-call]
            field_name, declarations
        )
        return {field_name: False, **overrides}


class LeanFunction(LazyFunction):
    """Like ``factory.LazyFunction``, without the context unrolling it never uses.

    factory_boy prepares a context for every declaration before evaluating it; a
    draw takes none. Skipping that step made ``build()`` 1.12-1.16x faster when
    measured (``make bench``). Not for declarations that take ``__`` arguments.
    """

    def __init__(self, function: Callable[[], Any]) -> None:
        super().__init__(function)  # type: ignore[no-untyped-call]  # untyped base

    def evaluate_pre(self, instance: Any, step: Any, overrides: Any) -> Any:
        """Call the function."""
        return self.function()


class LeanAttribute(LazyAttribute):
    """Like ``factory.LazyAttribute``, without context unrolling (see :class:`LeanFunction`)."""

    def __init__(self, function: Callable[[Any], Any]) -> None:
        super().__init__(function)  # type: ignore[no-untyped-call]  # untyped base

    def evaluate_pre(self, instance: Any, step: Any, overrides: Any) -> Any:
        """Call the function with the object being built."""
        return self.function(instance)


class BookingLocations:
    """The active config's booking locations, as an endless cycle for ``factory.Iterator``.

    The position comes from the seeded stream, which :func:`~bookslot_factories.seed`
    restarts: a test's locations do not depend on the tests that ran before it, and a
    batch of ``len(LOCATIONS)`` covers each location once.
    """

    def __iter__(self) -> Generator[str, None, None]:
        while True:
            yield draws.location(config.current(), seeding.next_location_index())


#: The ``dynamic_location`` ZIP: restarted with every seed (which also frees the
#: values factory_boy's iterator keeps for a ``reset()`` we never call).
_LOCATIONS: Any = Iterator(BookingLocations(), cycle=False)  # type: ignore[no-untyped-call]


def _restart_locations() -> None:
    _LOCATIONS.iterator = None


def _keep_locations() -> Callable[[], None]:
    kept = _LOCATIONS.iterator
    _restart_locations()

    def restore() -> None:
        _LOCATIONS.iterator = kept

    return restore


seeding.on_seed(_restart_locations, _keep_locations)


def _restart_iterators() -> None:
    # A subclass's own factory.Iterator fields restart with the seed too, so that a
    # test's data replays whatever ran before it (factory_boy's reset() replays the
    # values from the start, so iterables that cannot restart still work).
    for iterator in _family_iterators():
        iterator.reset()


def _family_iterators() -> list[Any]:
    found: dict[int, Any] = {}
    todo: list[type] = [BookslotPayloadFactory]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if not _declares_its_own(cls):  # pytest-factoryboy's bare subclasses, say
            continue
        for value in _declared(cls).values():
            overrides = getattr(value, "overrides", None)  # a Trait's declarations
            for declaration in (value, *(overrides.values() if overrides else ())):
                if isinstance(declaration, Iterator) and declaration is not _LOCATIONS:
                    found[id(declaration)] = declaration
    return list(found.values())


def _email(o: Any) -> str:
    tag, number = seeding.next_email_number()
    cfg = config.current()
    if cfg.tenant is not None:  # a tenant's emails have a stream tag of their own
        tag = _tenant_tag(seeding.current_seed(), cfg.tenant)
    domain = draws.email_domain(cfg).one(_RANDOM)
    return draws.email(o.first_name, o.last_name, tag, number, domain)


@functools.lru_cache(maxsize=64)
def _tenant_tag(seed: int, tenant: str) -> str:
    return seeding.email_tag(seed, "tenant", tenant)


def _id_number(o: Any) -> str:
    cfg = config.current()
    if not cfg.payer_formats:
        # Drawn before PayerName, as always: the payload stays what it was.
        return draws.id_number(cfg).one(_RANDOM)
    return draws.member_id(cfg, o.PayerName).one(_RANDOM)


def _zip(dynamic: bool) -> Callable[[Any], str]:
    def zip_code(o: Any) -> str:
        rule = draws.zip_code(config.current(), dynamic=dynamic, state=o.state, near=o.near)
        return rule.one(_RANDOM, o.zip_distance)

    return zip_code


def _zip_distance(o: Any) -> str:
    return draws.zip_distance(config.current(), o.near, o.state).one(_RANDOM)


def _dob(band: str) -> Callable[[Any], str]:
    def dob(o: Any) -> str:
        as_of = as_date(o.as_of) or config.reference_date()
        return draws.dob(config.current(), band, as_of).one(_RANDOM)

    return dob


class BookslotPayloadFactory(Factory[BookslotPayload]):
    """Builds valid, realistic, reproducible booking payloads.

    Variants, each a Trait (combine freely unless noted):

    - ``young=True`` (age 18-30) or ``senior=True`` (65-90); not both.
    - ``dynamic_zip=True``: a real residential US ZIP.
    - ``dynamic_location=True``: cycles through the configured booking locations;
      not with ``state`` or ``near``.
    - ``dynamic_phone=True``: a fictional 555-01XX number with an area code of the ZIP.

    Parameters, read by the default declarations:

    - ``state="CA"``: a real residential ZIP in that state.
    - ``near="20678"``: a residential ZIP within the payload's ``zip_distance`` miles.
    - ``as_of=date(...)`` or ``"YYYY-MM-DD"``: the reference date for ages (default:
      the config's reference date, or today).
    """

    class Meta:
        model = BookslotPayload

    class Params:
        as_of: Any = None
        state: Any = None
        near: Any = None
        young = Variant(dob=LeanAttribute(_dob("young")))
        senior = Variant(dob=LeanAttribute(_dob("senior")))
        dynamic_zip = Variant(zip=LeanAttribute(_zip(dynamic=True)))
        dynamic_location = Variant(zip=_LOCATIONS)
        dynamic_phone = Variant(
            phone_number=LeanAttribute(lambda o: draws.phone(o.zip, _RANDOM)),
        )

    # Typed as Any, so that a subclass may override a field with any declaration or
    # value (factory.Faker(...), "Jane") and still type-check.
    first_name: Any = LeanFunction(lambda: draws.first_name().one(_RANDOM))
    last_name: Any = LeanFunction(lambda: draws.last_name().one(_RANDOM))
    email: Any = LeanAttribute(_email)
    phone_number: Any = LeanFunction(lambda: config.current().phone)
    zip: Any = LeanAttribute(_zip(dynamic=False))
    contact_method: Any = LeanFunction(lambda: draws.contact_method(config.current()).one(_RANDOM))
    verification_code: Any = LeanFunction(lambda: config.current().verification_code)
    zip_distance: Any = LeanAttribute(_zip_distance)
    dob: Any = LeanAttribute(_dob("default"))
    MemberName: Any = LeanAttribute(lambda o: draws.member_name(o.first_name, o.last_name))
    idNumber: Any = LeanAttribute(_id_number)
    GroupNumber: Any = LeanFunction(lambda: draws.group_number(config.current()).one(_RANDOM))
    PayerName: Any = LeanFunction(lambda: draws.payer(config.current()).one(_RANDOM))

    @classmethod
    def _generate(cls, strategy: Any, params: dict[str, Any]) -> BookslotPayload:
        check_variants(params)
        if not _declares_its_own(cls):
            payload: BookslotPayload = super()._generate(strategy, params)  # type: ignore[no-untyped-call]
            return payload
        with seeding.borrowed():
            payload = super()._generate(strategy, params)  # type: ignore[no-untyped-call]
        return payload

    @classmethod
    def _build(cls, model_class: type[BookslotPayload], *args: Any, **kwargs: Any) -> Any:
        fields = cls._meta.base_declarations
        if args:
            raise TypeError(f"{cls.__name__} takes keyword arguments only")
        if len(kwargs) != len(fields) or any(key not in fields for key in kwargs):
            known = {*fields, *VARIANT_FLAGS, *VARIANT_OPTIONS, "as_of"}
            _check_names(kwargs, known, "field or variant")
        # Declaration order is not resolution order: put the keys in FIELDS order.
        ordered = {key: kwargs[key] for key in FIELDS if key in kwargs}
        ordered.update(kwargs)
        return model_class(ordered)

    _create = _build

    @classmethod
    def build_batch(cls, size: int, **kwargs: Any) -> list[BookslotPayload]:
        """Build ``size`` payloads, up to ``MAX_BATCH`` (for more, stream the bulk engine)."""
        size = _batch_size(size)
        if not _declares_its_own(cls):
            batch: list[BookslotPayload] = super().build_batch(size, **kwargs)
            return batch
        with seeding.borrowed():  # once for the batch, not once per payload
            batch = super().build_batch(size, **kwargs)
        return batch

    @classmethod
    def create_batch(cls, size: int, **kwargs: Any) -> list[BookslotPayload]:
        """Create ``size`` payloads (nothing is persisted: the same as :meth:`build_batch`)."""
        size = _batch_size(size)
        if not _declares_its_own(cls):
            batch: list[BookslotPayload] = super().create_batch(size, **kwargs)
            return batch
        with seeding.borrowed():
            batch = super().create_batch(size, **kwargs)
        return batch


def check_variants(params: dict[str, Any]) -> None:
    """Check a build's variants and ``as_of`` before anything is drawn.

    A conflict fails fast and clearly. Only what differs from the defaults needs
    checking, so a plain ``build()`` skips it. (A ``SubFactory`` does not pass
    through ``_generate``: a factory that nests payloads calls this itself.)

    Raises:
        VariantError: Variants that exclude each other, a bad value or date.
    """
    chosen = {name: params[name] for name in VARIANT_FLAGS if params.get(name, False) is not False}
    chosen.update((name, params[name]) for name in VARIANT_OPTIONS if params.get(name) is not None)
    if chosen:
        Variants.check(chosen)
    if params.get("as_of") is not None:
        as_date(params["as_of"])


def _batch_size(size: object) -> int:
    return check_count(size, MAX_BATCH, "batch size")


_OURS: dict[str, Any] = {}
seeding.on_seed(_restart_iterators, lambda: lambda: None)


def _declared(factory_class: type[Factory[Any]]) -> dict[str, Any]:
    # The declarations as written (factory_boy remakes the Traits' wrapped ones on
    # every read of _meta.declarations), and the parameters.
    meta: Any = factory_class._meta
    return {**meta.base_declarations, **{f"Params.{k}": v for k, v in meta.parameters.items()}}


_OWN: weakref.WeakKeyDictionary[type, bool] = weakref.WeakKeyDictionary()


def _declares_its_own(factory_class: type[Factory[Any]]) -> bool:
    """Whether a (sub)class has a declaration that is not ours.

    Only such a class can read factory_boy's or Faker's randomness, so only its
    builds borrow our stream for them. pytest-factoryboy makes a bare subclass per
    fixture call: the answer is kept per class.
    """
    own = _OWN.get(factory_class)
    if own is None:
        if not _OURS:
            _OURS.update(_declared(BookslotPayloadFactory))
        declared = _declared(factory_class)
        own = declared.keys() != _OURS.keys() or any(
            value is not _OURS[name] for name, value in declared.items()
        )
        _OWN[factory_class] = own
    return own
