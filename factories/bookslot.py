"""The booking payload model and its factory_boy factory.

>>> from factories import BookslotPayloadFactory, seed
>>> seed(7)
>>> payload = BookslotPayloadFactory.build(senior=True, state="TX")
>>> payload["MemberName"] == f"{payload['first_name']} {payload['last_name']}"
True
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, TypedDict

from factory.base import Factory
from factory.declarations import LazyAttribute as _LazyAttribute
from factory.declarations import LazyFunction as _LazyFunction
from factory.declarations import Trait

from factories import config, providers, seeding
from factories.errors import VariantError

__all__ = [
    "MAX_BATCH",
    "BookslotPayload",
    "BookslotPayloadDict",
    "BookslotPayloadFactory",
    "Variant",
    "generate_bookslot_payload",
    "generate_bookslot_payload_with_options",
]

_RANDOM = seeding.RANDOM


class BookslotPayloadDict(TypedDict):
    """The payload's keys and types, for type checkers."""

    first_name: str
    last_name: str
    email: str
    phone_number: str
    zip: str
    contact_method: str
    verification_code: str
    zip_distance: str
    dob: str
    MemberName: str
    idNumber: str
    GroupNumber: str
    PayerName: str


class BookslotPayload(dict[str, str]):
    """A booking payload: a plain ``dict`` of 13 strings, in :data:`~factories.FIELDS` order.

    A named ``dict`` subclass, so pytest-factoryboy names its fixtures
    ``bookslot_payload`` and ``json.dumps`` needs no custom encoder.
    """


class Variant(Trait):
    """A Trait that also declares its own flag, defaulting to ``False``.

    factory_boy leaves a plain Trait's flag out of the factory's declarations, so
    pytest-factoryboy makes no ``bookslot_payload__senior`` fixture and fails to
    collect a test that parametrizes it (pytest-factoryboy issues #53 and #220).
    Declaring the flag fixes both.
    """

    def __init__(self, **overrides: Any) -> None:
        super().__init__(**overrides)  # type: ignore[no-untyped-call]  # untyped base

    def as_declarations(self, field_name: str, declarations: dict[str, Any]) -> dict[str, Any]:
        """Return the Trait's overrides plus its flag's default."""
        overrides: dict[str, Any] = super().as_declarations(  # type: ignore[no-untyped-call]
            field_name, declarations
        )
        return {field_name: False, **overrides}


class LazyFunction(_LazyFunction):
    """A ``factory.LazyFunction`` that skips context unrolling, which it never uses.

    factory_boy prepares a context for every declaration; our draws take none, and
    skipping that step makes ``build()`` about twice as fast.
    """

    def __init__(self, function: Callable[[], Any]) -> None:
        super().__init__(function)  # type: ignore[no-untyped-call]  # untyped base

    def evaluate_pre(self, instance: Any, step: Any, overrides: Any) -> Any:
        """Call the function."""
        return self.function()


class LazyAttribute(_LazyAttribute):
    """A ``factory.LazyAttribute`` that skips context unrolling (see :class:`LazyFunction`)."""

    def __init__(self, function: Callable[[Any], Any]) -> None:
        super().__init__(function)  # type: ignore[no-untyped-call]  # untyped base

    def evaluate_pre(self, instance: Any, step: Any, overrides: Any) -> Any:
        """Call the function with the object being built."""
        return self.function(instance)


def _tables() -> providers.Tables:
    return providers.tables(config.current())


def _first_name() -> str:
    return providers.FIRST_NAMES.one(_RANDOM)


def _last_name() -> str:
    return providers.LAST_NAMES.one(_RANDOM)


def _email(o: Any) -> str:
    tag, number = seeding.next_email_number()
    domain = _tables().email_domains.one(_RANDOM)
    return providers.email(o.first_name, o.last_name, tag, number, domain)


def _phone(o: Any) -> str:
    if o.dynamic_phone:
        return providers.fictional_phone(o.zip, _RANDOM)
    return config.current().phone


def _zip(o: Any) -> str:
    mode = providers.zip_mode(o.dynamic_zip, o.dynamic_location, o.state, o.near)
    if mode == "static":
        return config.current().zip
    if mode == "location":
        locations = config.current().locations
        return locations[seeding.next_location_index() % len(locations)]
    if mode == "near":
        for distance, zips in _near(o):
            if distance == o.zip_distance:
                return _RANDOM.choice(zips)
        raise VariantError(
            f"no residential ZIP code lies within {o.zip_distance!r} miles of {o.near!r}"
        )
    return _RANDOM.choice(providers.zip_pool(o.state))


def _near(o: Any) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return providers.near_choices(o.near, o.state, config.current().zip_distances)


def _zip_distance(o: Any) -> str:
    if o.near is not None and not o.dynamic_location:
        return _RANDOM.choice(_near(o))[0]
    return _tables().zip_distances.one(_RANDOM)


def _dob(o: Any) -> str:
    as_of = providers.as_date(o.as_of) or seeding.reference_date()
    low, high = _tables().band("young" if o.young else "senior" if o.senior else "default")
    return providers.birth_dates(low, high, as_of).one(_RANDOM)


#: The largest batch the factory builds in memory; the bulk engine streams any number.
MAX_BATCH = 10_000_000


def _batch_size(size: object) -> int:
    if isinstance(size, bool) or not isinstance(size, int):
        raise VariantError(f"batch size {size!r} is not a whole number")
    if not 0 <= size <= MAX_BATCH:
        raise VariantError(
            f"batch size {size:,} is out of range; expected 0 to {MAX_BATCH:,} "
            "(for more, stream them with factories.bulk or `bookslot-data generate`)"
        )
    return size


def _check_variants(params: dict[str, Any]) -> None:
    # Only what differs from the defaults needs checking; a plain build() skips it.
    chosen = {
        name: params[name]
        for name in providers.VARIANT_FLAGS
        if name in params and params[name] is not False
    }
    chosen.update(
        (name, params[name]) for name in providers.VARIANT_OPTIONS if params.get(name) is not None
    )
    if chosen:
        providers.Variants(**chosen)


class BookslotPayloadFactory(Factory[BookslotPayload]):
    """Builds valid, realistic, reproducible booking payloads.

    Variants (combine freely unless noted):

    - ``young=True`` (age 18-30) or ``senior=True`` (65-90); not both.
    - ``as_of=date(...)``: the reference date for ages (default: today, or the date
      set by :func:`factories.seeding.set_reference_date` / ``--bookslot-as-of``).
    - ``dynamic_zip=True``: a real residential US ZIP.
    - ``state="CA"``: a real residential ZIP in that state.
    - ``near="20678"``: a residential ZIP within the payload's ``zip_distance`` miles.
    - ``dynamic_location=True``: cycles through the configured booking locations;
      not with ``state`` or ``near``.
    - ``dynamic_phone=True``: a fictional 555-01XX number with an area code of the ZIP.
    """

    class Meta:
        model = BookslotPayload

    class Params:
        as_of: date | str | None = None
        state: str | None = None
        near: str | None = None
        # The dob, zip and phone_number declarations read these flags rather than
        # being overridden by them: one declaration per field keeps build() fast.
        young = Variant()
        senior = Variant()
        dynamic_zip = Variant()
        dynamic_location = Variant()
        dynamic_phone = Variant()

    first_name = LazyFunction(_first_name)
    last_name = LazyFunction(_last_name)
    email = LazyAttribute(_email)
    phone_number = LazyAttribute(_phone)
    zip = LazyAttribute(_zip)
    contact_method = LazyFunction(lambda: _tables().contact_methods.one(_RANDOM))
    verification_code = LazyFunction(lambda: config.current().verification_code)
    zip_distance = LazyAttribute(_zip_distance)
    dob = LazyAttribute(_dob)
    MemberName = LazyAttribute(lambda o: f"{o.first_name} {o.last_name}")
    idNumber = LazyFunction(lambda: _tables().id_number.one(_RANDOM))
    GroupNumber = LazyFunction(lambda: _tables().group_number.one(_RANDOM))
    PayerName = LazyFunction(lambda: _tables().payers.one(_RANDOM))

    @classmethod
    def _generate(cls, strategy: Any, params: dict[str, Any]) -> BookslotPayload:
        # Check variants before drawing anything: a conflict fails fast and clearly.
        _check_variants(params)
        payload: BookslotPayload = super()._generate(strategy, params)  # type: ignore[no-untyped-call]
        return payload

    @classmethod
    def _build(cls, model_class: type[BookslotPayload], *args: Any, **kwargs: Any) -> Any:
        fields = cls._meta.base_declarations
        unknown = [key for key in kwargs if key not in fields]
        if args or unknown:
            names = {*fields, *providers.VARIANT_FLAGS, *providers.VARIANT_OPTIONS}
            known = sorted(names, key=str.lower)
            raise VariantError(
                f"unknown field or variant {(unknown or list(args))[0]!r}; "
                f"expected one of {', '.join(known)}"
            )
        # Declaration order is not resolution order: put the keys in FIELDS order.
        ordered = {key: kwargs[key] for key in config.FIELDS if key in kwargs}
        ordered.update(kwargs)
        return model_class(ordered)

    _create = _build

    @classmethod
    def build_batch(cls, size: int, **kwargs: Any) -> list[BookslotPayload]:
        """Build ``size`` payloads (see :data:`MAX_BATCH`; more: use :mod:`factories.bulk`)."""
        batch: list[BookslotPayload] = super().build_batch(_batch_size(size), **kwargs)
        return batch

    @classmethod
    def create_batch(cls, size: int, **kwargs: Any) -> list[BookslotPayload]:
        """Create ``size`` payloads (nothing is persisted: the same as :meth:`build_batch`)."""
        batch: list[BookslotPayload] = super().create_batch(_batch_size(size), **kwargs)
        return batch


def _save_sequence() -> Callable[[], None]:
    # factory_boy keeps the next sequence number in a private counter; there is no
    # public way to read it without advancing it.
    meta: Any = BookslotPayloadFactory._meta
    meta._initialize_counter()
    value = meta._counter.seq
    return lambda: BookslotPayloadFactory.reset_sequence(value)  # type: ignore[no-untyped-call]


seeding.on_seed(BookslotPayloadFactory.reset_sequence, _save_sequence)


def _teach_yaml() -> None:
    # PyYAML looks representers up by exact type, so yaml.safe_dump(payload) would
    # fail ("cannot represent an object") and yaml.dump would tag it !!python/object.
    import yaml

    for dumper in (
        yaml.SafeDumper,
        yaml.Dumper,
        *(getattr(yaml, n, None) for n in ("CSafeDumper", "CDumper")),
    ):
        if dumper is not None:
            dumper.add_representer(BookslotPayload, yaml.SafeDumper.represent_dict)


_teach_yaml()


def generate_bookslot_payload() -> dict[str, str]:
    """Return one payload (the original generator's name, kept for existing suites)."""
    return BookslotPayloadFactory.build()


def generate_bookslot_payload_with_options(
    use_dynamic_zip: bool = False, state: str | None = None, **variants: Any
) -> dict[str, str]:
    """Return one payload with options (the original generator's name).

    Args:
        use_dynamic_zip: Draw a real residential ZIP instead of the static one.
        state: Draw the ZIP from this state (implies a dynamic ZIP).
        **variants: Any other variant or field of :class:`BookslotPayloadFactory`.
    """
    return BookslotPayloadFactory.build(dynamic_zip=use_dynamic_zip, state=state, **variants)
