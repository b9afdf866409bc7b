"""``RecordFactory``: what the factories of nested records share.

An intake and an insurance record are built the same way: their arguments are
checked before anything is drawn, their draws (a subclass's own ``factory.Faker``
fields too) come from our stream, and the record's keys come out in the model's
order whatever order factory_boy resolved them in.
"""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

from factory.base import Factory

from . import seeding
from .variants import check_names

__all__ = ["RecordFactory"]

R = TypeVar("R", bound=dict[str, Any])


class RecordFactory(Factory[R]):
    """The base of :class:`PatientIntakeFactory` and :class:`InsuranceFactory`.

    A subclass names its record's key order (``_record_fields``), what an unknown
    argument is called in errors (``_record_what``) and checks its own parameters in
    :meth:`check_params`.
    """

    class Meta:
        abstract = True

    _record_fields: ClassVar[tuple[str, ...]] = ()
    _record_what: ClassVar[str] = "field or parameter"

    @classmethod
    def check_params(cls, params: dict[str, Any]) -> None:
        """Check a build's arguments before anything is drawn (nothing to check here)."""

    @classmethod
    def _generate(cls, strategy: Any, params: dict[str, Any]) -> R:
        cls.check_params(params)
        with seeding.borrowed():
            record: R = super()._generate(strategy, params)  # type: ignore[no-untyped-call]
        return record

    @classmethod
    def _build(cls, model_class: type[R], *args: Any, **kwargs: Any) -> Any:
        if args:
            raise TypeError(f"{cls.__name__} takes keyword arguments only")
        known = {*cls._meta.base_declarations, *cls._meta.parameters}
        check_names(kwargs, known, cls._record_what)
        # Declaration order is not resolution order: put the keys in the model's order.
        ordered = {key: kwargs[key] for key in cls._record_fields if key in kwargs}
        ordered.update(kwargs)
        return model_class(ordered)

    _create = _build
