"""The payload constants and the YAML config file that overrides them.

The module-level constants are the defaults and the one source of truth: the
factory, the bulk engine, the validator and the CLI all read them through
:func:`current`, which returns the active :class:`Config`. A config file (given to
:func:`configure`, ``bookslot-data --config``, ``pytest --bookslot-config`` or the
``BOOKSLOT_CONFIG`` environment variable) replaces some of them::

    email_domains: [mailinator.com, yopmail.com]
    payers: [Aetna Health, Humana]
    phone: "1234567890"
    zip: "20678"
    verification_code: "123456"
    contact_methods: [Text, Email, Call]
    zip_distances: ["25", "50", "75", "100"]
    age_bands: {default: [18, 85], young: [18, 30], senior: [65, 90]}
    id_formats: {idNumber: "INS-#####", GroupNumber: "GRP-####"}
    locations: ["20678", "10001"]
    payer_formats: {Humana: "HUM-########"}   # member ids per payer (optional)
    tenants:                                   # named profiles over the keys above
      clinic-east: {email_domains: [yopmail.com], payers: [Humana]}

A tenant is selected with ``configure(path, tenant="clinic-east")``,
``bookslot-data --tenant`` or ``pytest --bookslot-tenant``: its keys replace the
file's shared ones, and its emails never repeat another tenant's for the same seed.
"""

from __future__ import annotations

import datetime
import difflib
import os
import re
from collections import deque
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ConfigError, VariantError, excerpt

if TYPE_CHECKING:  # pragma: no cover
    import yaml

__all__ = [
    "AGE_BANDS",
    "ALLOWED_EMAIL_DOMAINS",
    "CONFIG_ENV",
    "CONTACT_METHODS",
    "GROUP_NUMBER_FORMAT",
    "ID_NUMBER_FORMAT",
    "LOCATIONS",
    "PAYERS",
    "STATIC_PHONE",
    "STATIC_VERIFICATION_CODE",
    "STATIC_ZIP",
    "ZIP_DISTANCES",
    "AgeBands",
    "Config",
    "configure",
    "current",
    "load_config",
    "reference_date",
    "set_reference_date",
]

#: The environment variable that names a config file.
CONFIG_ENV = "BOOKSLOT_CONFIG"

# Disposable-inbox domains: nothing sent to them reaches a real person.
ALLOWED_EMAIL_DOMAINS: tuple[str, ...] = ("mailinator.com", "yopmail.com")
PAYERS: tuple[str, ...] = (
    "Aetna Health",
    "Blue Cross Blue Shield",
    "Cigna Healthcare",
    "UnitedHealthcare",
    "Humana",
)
STATIC_PHONE = "1234567890"
STATIC_ZIP = "20678"
STATIC_VERIFICATION_CODE = "123456"
CONTACT_METHODS: tuple[str, ...] = ("Text", "Email", "Call")
ZIP_DISTANCES: tuple[str, ...] = ("25", "50", "75", "100")
#: ``#`` stands for one digit. A letter prefix keeps ids from looking like real ones (or SSNs).
ID_NUMBER_FORMAT = "INS-#####"
GROUP_NUMBER_FORMAT = "GRP-####"
#: Booking locations: real, residential ZIPs of the service areas (Prince Frederick MD,
#: New York, Chicago, Atlanta, San Francisco, Dallas, Seattle, Miami).
LOCATIONS: tuple[str, ...] = (
    "20678",
    "10001",
    "60614",
    "30303",
    "94110",
    "75201",
    "98101",
    "33130",
)

#: Oldest age the validator accepts in a data file.
MAX_AGE = 120


@dataclass(frozen=True)
class AgeBands:
    """Inclusive age ranges, in whole years on the reference date."""

    default: tuple[int, int] = (18, 85)
    young: tuple[int, int] = (18, 30)
    senior: tuple[int, int] = (65, 90)


AGE_BANDS = AgeBands()


@dataclass(frozen=True)
class Config:
    """The constants that drive generation and validation.

    Frozen and hashable, so tables derived from it can be cached and it can be sent
    to worker processes.
    """

    email_domains: tuple[str, ...] = ALLOWED_EMAIL_DOMAINS
    payers: tuple[str, ...] = PAYERS
    phone: str = STATIC_PHONE
    zip: str = STATIC_ZIP
    verification_code: str = STATIC_VERIFICATION_CODE
    contact_methods: tuple[str, ...] = CONTACT_METHODS
    zip_distances: tuple[str, ...] = ZIP_DISTANCES
    age_bands: AgeBands = field(default_factory=AgeBands)
    id_number_format: str = ID_NUMBER_FORMAT
    group_number_format: str = GROUP_NUMBER_FORMAT
    locations: tuple[str, ...] = LOCATIONS
    #: Member-id formats per payer, ``(payer, format)`` pairs; other payers use
    #: ``id_number_format``. Empty by default, so ids are exactly as without it.
    payer_formats: tuple[tuple[str, str], ...] = ()
    #: The tenant profile this config was made for, if any (its emails differ from
    #: every other tenant's).
    tenant: str | None = None
    #: Where the config came from, for error messages ("<defaults>" or a path).
    source: str = field(default="<defaults>", compare=False)


DEFAULT = Config()

# Used with fullmatch: "$" would also accept a trailing newline.
_DOMAIN_RE = re.compile(r"(?=.{1,253}\Z)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")
_ID_FORMAT_RE = re.compile(r"[A-Z][A-Z0-9]*-?#{1,12}")
_TEXT_RE = re.compile(r"[^\x00-\x1f\x7f]{1,100}")

_current: Config | None = None


def current() -> Config:
    """Return the active config.

    On first use, a file named by the :data:`CONFIG_ENV` environment variable is
    loaded; otherwise the defaults apply.

    Raises:
        ConfigError: :data:`CONFIG_ENV` names a missing or invalid file.
    """
    global _current
    if _current is None:
        env = os.environ.get(CONFIG_ENV)
        _current = load_config(env) if env else DEFAULT
    return _current


def configure(
    source: str | os.PathLike[str] | Mapping[str, Any] | Config | None,
    *,
    tenant: str | None = None,
) -> Config:
    """Make a config file, mapping or :class:`Config` the active config.

    Args:
        source: A YAML file path, a mapping with the file's keys, a ``Config``, or
            ``None`` to go back to the defaults (ignoring :data:`CONFIG_ENV`).
        tenant: The name of one of the file's (or mapping's) ``tenants`` profiles.

    Returns:
        The config now active.

    Raises:
        ConfigError: The file or mapping is invalid; the active config is unchanged.
    """
    global _current
    if tenant is not None and (source is None or isinstance(source, Config)):
        raise ConfigError(
            f"tenant {excerpt(tenant)} needs a config file or mapping with tenants; "
            f"got {'no config' if source is None else 'a Config'}"
        )
    if source is None:
        new = DEFAULT
    elif isinstance(source, Config):
        new = source
    elif isinstance(source, Mapping):
        new = from_mapping(source, source_name="<mapping>", tenant=tenant)
    else:
        new = load_config(source, tenant=tenant)
    _current = new
    return new


def load_config(path: str | os.PathLike[str], *, tenant: str | None = None) -> Config:
    """Read and validate a YAML config file (and select one of its tenants).

    Raises:
        ConfigError: The file is missing, unreadable, not YAML, holds a YAML tag, a
            value YAML cannot build (such as the date 2026-02-30) or a key twice, or
            has an unknown key or a bad value, or ``tenant`` is not one of its
            tenants. The message names the file and key.
    """
    import yaml  # deferred: most runs never read a config file

    name = os.fspath(path)
    try:
        text = Path(name).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {name!r} does not exist") from None
    except (OSError, ValueError) as exc:  # ValueError: not UTF-8, or a NUL in the name
        raise ConfigError(f"config file {name!r} cannot be read: {exc}") from None
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    try:
        # Nodes first (nothing is built yet, and each node knows its line), then the
        # values key by key, so that an error names its key.
        try:
            root = loader.get_single_node()
        except (yaml.YAMLError, RecursionError) as exc:
            raise ConfigError(
                f"config file {name!r} is not valid YAML: {_first_line(exc)}"
            ) from None
        data: Any
        if isinstance(root, yaml.MappingNode):
            data = _build_mapping(loader, root, name)
        else:
            data = None if root is None else _build(loader, root, name, "the document")
    finally:
        loader.dispose()
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"config file {name!r}: expected a mapping of keys, got {type(data).__name__}"
        )
    return from_mapping(data, source_name=name, tenant=tenant)


def _first_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200]


def _build_mapping(loader: Any, root: yaml.MappingNode, name: str) -> dict[Any, Any]:
    """Build the top-level mapping key by key; refuse a key given twice anywhere."""
    import yaml

    repeated = _repeated_key(root)
    if repeated is not None:
        raise ConfigError(
            f"config file {name!r}: key {excerpt(repeated.value, 60)} appears twice in one mapping "
            f"(the second time on line {repeated.start_mark.line + 1}); expected each key once"
        )
    try:
        loader.flatten_mapping(root)  # apply merge keys (<<) the way PyYAML does
    except yaml.constructor.ConstructorError as exc:
        raise ConfigError(f"config file {name!r} cannot be read: {_first_line(exc)}") from None
    data: dict[Any, Any] = {}
    for key_node, value_node in root.value:
        line = key_node.start_mark.line + 1
        key = _build(loader, key_node, name, f"the key on line {line}")
        if not isinstance(key, Hashable):
            raise ConfigError(
                f"config file {name!r}: the key on line {line} is {excerpt(key, 60)}; "
                "expected a key name such as 'payers'"
            )
        data[key] = _build(loader, value_node, name, f"key {excerpt(key, 60)} (line {line})")
    return data


def _build(loader: Any, node: yaml.Node, name: str, what: str) -> Any:
    """Build one value with the safe loader; every failure is a :class:`ConfigError`."""
    import yaml

    try:
        return loader.construct_object(node, deep=True)
    except yaml.constructor.ConstructorError as exc:
        if "tag" in str(exc.problem):
            raise ConfigError(
                f"config file {name!r}: {what}: YAML tags are not allowed ({_first_line(exc)})"
            ) from None
        raise ConfigError(
            f"config file {name!r}: {what} cannot be read: {_first_line(exc)}"
        ) from None
    except (ValueError, TypeError, AttributeError, OverflowError, RecursionError) as exc:
        # What PyYAML's safe constructors raise for a value they cannot build: the
        # date 2026-02-30, an integer of 5,000 digits, !!int "x", !!timestamp "x".
        raise ConfigError(
            f"config file {name!r}: {what} is not a value YAML can read ({_first_line(exc)}); "
            'put it in quotes ("...") if it is text'
        ) from None


def _repeated_key(root: yaml.Node) -> yaml.ScalarNode | None:
    """Return a key that repeats one before it in the same mapping, or ``None``.

    Each node is visited once, however many aliases point at it.
    """
    import yaml

    seen: set[int] = set()
    todo: deque[yaml.Node] = deque([root])
    while todo:
        node = todo.popleft()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            keys: set[tuple[str, str]] = set()
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                    if (key.tag, key.value) in keys:
                        return key
                    keys.add((key.tag, key.value))
                todo.extend((key, value))
        elif isinstance(node, yaml.SequenceNode):
            todo.extend(node.value)
    return None


_KEYS = (
    "email_domains",
    "payers",
    "phone",
    "zip",
    "verification_code",
    "contact_methods",
    "zip_distances",
    "age_bands",
    "id_formats",
    "locations",
    "payer_formats",
    "tenants",
)
#: Tenant names: letters, digits, "_" and "-".
_TENANT_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,59}")


def from_mapping(
    data: Mapping[str, Any], *, source_name: str = "<mapping>", tenant: str | None = None
) -> Config:
    """Build a validated :class:`Config` from a mapping with the config file's keys.

    Every tenant profile is checked, whichever is selected.

    Args:
        data: The keys.
        source_name: The file or mapping, for messages.
        tenant: A name in ``data["tenants"]``, whose keys replace the shared ones.

    Raises:
        ConfigError: An unknown key (with the closest known key suggested), a bad
            value, or an unknown tenant (with the known ones listed).
    """
    checker = _Checker(source_name)
    shared = {key: value for key, value in data.items() if key != "tenants"}
    base = _from_keys(shared, source_name, None)
    profiles = checker.tenants("tenants", data.get("tenants", {}))
    configs = {
        name: _from_keys(_profile(shared, keys, base), f"{source_name}, tenant {name!r}", name)
        for name, keys in profiles.items()
    }
    if tenant is None:
        return base
    if tenant in configs:
        return configs[tenant]
    known = sorted(configs)
    hint = difflib.get_close_matches(str(tenant), known, n=1)
    suggestion = f"did you mean {hint[0]!r}? " if hint else ""
    listed = f"known tenants: {', '.join(known)}" if known else "it defines no tenants"
    raise ConfigError(
        f"config {source_name!r}: unknown tenant {excerpt(tenant, 60)}; {suggestion}{listed}"
    )


def _profile(shared: Mapping[str, Any], keys: Mapping[str, Any], base: Config) -> dict[str, Any]:
    """A tenant's keys over the shared ones.

    Shared ``payer_formats`` apply to the tenant's own payers only, so a tenant may
    keep fewer payers without repeating the formats.
    """
    merged = {**shared, **keys}
    if "payer_formats" not in keys and base.payer_formats:
        payers = keys.get("payers", base.payers)
        payers = [payers] if isinstance(payers, str) else payers
        if isinstance(payers, (list, tuple)):
            merged["payer_formats"] = {p: f for p, f in base.payer_formats if p in payers}
    return merged


def _from_keys(data: Mapping[str, Any], source_name: str, tenant: str | None) -> Config:
    checker = _Checker(source_name)
    changes: dict[str, Any] = {"tenant": tenant}
    for key, value in data.items():
        if key not in _KEYS:
            hint = difflib.get_close_matches(str(key), _KEYS, n=1)
            suggestion = f"; did you mean {hint[0]!r}?" if hint else "."
            raise checker.error(
                str(key), f"is not a known key{suggestion} Known keys: {', '.join(_KEYS)}"
            )
        if key == "email_domains":
            changes[key] = checker.strings(key, value, _DOMAIN_RE, "lowercase domain names")
        elif key in ("payers", "contact_methods"):
            changes[key] = checker.strings(key, value, _TEXT_RE, "non-empty one-line strings")
        elif key == "zip_distances":
            changes[key] = checker.distances(key, value)
        elif key == "phone":
            changes[key] = checker.digits(key, value, exact=10)
        elif key == "verification_code":
            changes[key] = checker.digits(key, value)
        elif key == "zip":
            changes[key] = checker.zip_code(key, value)
        elif key == "locations":
            changes[key] = checker.zip_list(key, value)
        elif key == "age_bands":
            changes[key] = checker.age_bands(key, value)
        elif key == "payer_formats":
            changes[key] = checker.payer_formats(key, value)
        elif key == "tenants":
            raise checker.error(key, "is inside a tenant; expected tenants only at the top level")
        else:  # id_formats
            changes.update(checker.id_formats(key, value))
    payers = changes.get("payers", DEFAULT.payers)
    for payer, _ in changes.get("payer_formats", ()):
        if payer not in payers:
            raise checker.error(
                f"payer_formats.{payer}", f"is not one of the payers: {', '.join(payers)}"
            )
    return replace(DEFAULT, source=source_name, **changes)


class _Checker:
    """Validates config values; every error names the source and the key."""

    def __init__(self, source: str) -> None:
        self.source = source

    def error(self, key: str, problem: str) -> ConfigError:
        # An excerpt of the key: an unknown one may be as long as the file.
        return ConfigError(f"config {self.source!r}: key {excerpt(key, 60)} {problem}")

    def _list(self, key: str, value: Any) -> list[Any]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple)):
            raise self.error(key, f"is {excerpt(value, 60)}; expected a list of strings")
        if not value:
            raise self.error(key, "is an empty list; expected at least one value")
        return list(value)

    def strings(self, key: str, value: Any, pattern: re.Pattern[str], what: str) -> tuple[str, ...]:
        items = self._list(key, value)
        for item in items:
            if not isinstance(item, str) or not pattern.fullmatch(item):
                raise self.error(key, f"has {excerpt(item, 60)}; expected {what}")
        if len(set(items)) != len(items):
            raise self.error(key, "has repeated values; expected each value once")
        return tuple(items)

    def distances(self, key: str, value: Any) -> tuple[str, ...]:
        items = self._list(key, value)
        out = []
        for item in items:
            text = str(item) if isinstance(item, int) and not isinstance(item, bool) else item
            if not isinstance(text, str) or not re.fullmatch(r"[1-9][0-9]{0,3}", text):
                raise self.error(
                    key, f"has {excerpt(item, 60)}; expected whole miles from 1 to 9999"
                )
            out.append(text)
        if len(set(out)) != len(out):
            raise self.error(key, "has repeated values; expected each distance once")
        return tuple(out)

    def digits(self, key: str, value: Any, exact: int | None = None) -> str:
        expected = f"a string of {exact} digits" if exact else "a string of 1 to 12 digits"
        if not isinstance(value, str) or not value.isascii() or not value.isdigit():
            raise self.error(key, f"is {excerpt(value, 60)}; expected {expected}")
        if (exact and len(value) != exact) or not 1 <= len(value) <= 12:
            raise self.error(key, f"is {excerpt(value, 60)}; expected {expected}")
        return value

    def zip_code(self, key: str, value: Any) -> str:
        from . import locations  # deferred: the ZIP data set is large

        if not isinstance(value, str) or not re.fullmatch(r"[0-9]{5}", value):
            raise self.error(key, f"is {excerpt(value, 60)}; expected a 5-digit ZIP code string")
        try:
            place = locations.lookup(value)
        except LookupError:
            raise self.error(key, f"is {value!r}, which is not a real US ZIP code") from None
        if not place.residential:
            # Patients live there and dynamic_phone needs its area codes.
            raise self.error(
                key,
                f"is {value!r}, which is not a residential ZIP code (an active STANDARD ZIP "
                "with coordinates and area codes)",
            )
        return value

    def zip_list(self, key: str, value: Any) -> tuple[str, ...]:
        items = self._list(key, value)
        zips = tuple(self.zip_code(key, item) for item in items)
        if len(set(zips)) != len(zips):
            raise self.error(key, "has repeated ZIP codes; expected each location once")
        return zips

    def age_bands(self, key: str, value: Any) -> AgeBands:
        if not isinstance(value, Mapping):
            raise self.error(
                key, f"is {excerpt(value, 60)}; expected a mapping of [min, max] bands"
            )
        names = [f.name for f in fields(AgeBands)]
        bands: dict[str, tuple[int, int]] = {}
        for name, band in value.items():
            if name not in names:
                hint = difflib.get_close_matches(str(name), names, n=1)
                suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
                raise self.error(f"{key}.{name}", f"is not a known band{suggestion}")
            if (
                not isinstance(band, (list, tuple))
                or len(band) != 2
                or not all(isinstance(a, int) and not isinstance(a, bool) for a in band)
            ):
                raise self.error(
                    f"{key}.{name}", f"is {excerpt(band, 60)}; expected [min, max] ages"
                )
            low, high = band
            if not 0 <= low <= high <= MAX_AGE:
                raise self.error(
                    f"{key}.{name}",
                    f"is [{low}, {high}]; expected 0 <= min <= max <= {MAX_AGE}",
                )
            bands[str(name)] = (low, high)
        return replace(AgeBands(), **bands)

    def _id_format(self, key: str, fmt: Any) -> str:
        if not isinstance(fmt, str) or not _ID_FORMAT_RE.fullmatch(fmt):
            raise self.error(
                key,
                f"is {excerpt(fmt, 60)}; expected an uppercase letter prefix and 1 to 12 "
                "'#' digits, like 'INS-#####'",
            )
        return fmt

    def payer_formats(self, key: str, value: Any) -> tuple[tuple[str, str], ...]:
        if not isinstance(value, Mapping):
            raise self.error(key, f"is {excerpt(value, 60)}; expected a mapping of payer: format")
        return tuple(
            (str(payer), self._id_format(f"{key}.{payer}", fmt)) for payer, fmt in value.items()
        )

    def tenants(self, key: str, value: Any) -> dict[str, Mapping[str, Any]]:
        if not isinstance(value, Mapping):
            raise self.error(
                key, f"is {excerpt(value, 60)}; expected a mapping of tenant names to keys"
            )
        out: dict[str, Mapping[str, Any]] = {}
        for name, keys in value.items():
            if not isinstance(name, str) or not _TENANT_RE.fullmatch(name):
                raise self.error(
                    f"{key}.{name}", "is not a tenant name; expected letters, digits, '_' or '-'"
                )
            if keys is None:
                keys = {}
            if not isinstance(keys, Mapping):
                raise self.error(
                    f"{key}.{name}", f"is {excerpt(keys, 60)}; expected a mapping of config keys"
                )
            out[name] = keys
        return out

    def id_formats(self, key: str, value: Any) -> dict[str, str]:
        names = {"idNumber": "id_number_format", "GroupNumber": "group_number_format"}
        if not isinstance(value, Mapping):
            raise self.error(key, f"is {excerpt(value, 60)}; expected a mapping")
        out = {}
        for name, fmt in value.items():
            if name not in names:
                hint = difflib.get_close_matches(str(name), list(names), n=1)
                suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
                raise self.error(f"{key}.{name}", f"is not a known id field{suggestion}")
            out[names[name]] = self._id_format(f"{key}.{name}", fmt)
        return out


# --- the reference date ------------------------------------------------------------
# Ages are computed on this date. It lives with the config, which the rules and the
# draws both read, so that neither reaches up into seeding for it.

_reference_date: date | None = None


def set_reference_date(value: date | None) -> date | None:
    """Fix the date that ages are computed on (``None``: today, read at each draw).

    Returns:
        The date fixed before (``None`` if none was), to put back later.

    Raises:
        VariantError: ``value`` is not a date (a ``datetime`` is refused too).
    """
    global _reference_date
    if value is not None and (not isinstance(value, datetime.date) or hasattr(value, "hour")):
        raise VariantError(f"reference date {excerpt(value)} is not a date")
    previous, _reference_date = _reference_date, value
    return previous


def reference_date() -> date:
    """Return the fixed reference date, or today when none is set."""
    return _reference_date if _reference_date is not None else date.today()
