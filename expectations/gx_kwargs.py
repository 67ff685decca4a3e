"""Great Expectations reads an expectation's kwargs through `Expectation.configuration`, a property
that serialises the whole expectation (a pydantic `dict()`) on every read: once per key, some 80
times per expectation in a validation, which was a third of a batch's check. The methods that read
it key by key read it once per call here; they return what they returned.

Applied only to the version whose methods were read for this (their source's digest): another
version keeps its own methods, correct, only slower.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import logging
from typing import Any

from great_expectations.exceptions import InvalidExpectationKwargsError
from great_expectations.expectations import expectation as gx_expectation
from great_expectations.expectations.expectation import Expectation, parse_result_format

logger = logging.getLogger(gx_expectation.__name__)

PATCHED = ("_get_success_kwarg", "_get_domain_kwargs", "_get_success_kwargs", "_get_runtime_kwargs")
# The methods as Great Expectations defines them, for the tests to compare with.
ORIGINAL = {name: Expectation.__dict__[name] for name in PATCHED}
# sha256 of the four methods' source in great_expectations 1.24.1.
KNOWN_SOURCE = "9d78e87e4169fd6e1e491da226e27119e9f9bdb591d4f8169b432357b160d08c"


def _success_kwarg(self: Expectation, kwargs: dict, key: str, default: Any = None) -> Any:
    if key in kwargs:
        return kwargs[key]
    field = self.__fields__.get(key)
    if field is not None:
        return field.default if not field.required else default
    logger.warning(
        f'_get_success_kwarg called with key "{key}", '
        f"but it is not a known field of {type(self).__name__}"
    )
    return default


def _domain_kwargs(self: Expectation, kwargs: dict) -> dict:
    domain_kwargs = {key: kwargs.get(key, self._get_default_value(key)) for key in self.domain_keys}
    missing_kwargs = set(self.domain_keys) - set(domain_kwargs.keys())
    if missing_kwargs:
        raise InvalidExpectationKwargsError(f"Missing domain kwargs: {list(missing_kwargs)}")
    return domain_kwargs


def _success_kwargs(self: Expectation, kwargs: dict) -> dict:
    domain_kwargs = _domain_kwargs(self, kwargs)
    success_kwargs = {key: kwargs.get(key, self._get_default_value(key)) for key in self.success_keys}
    success_kwargs.update(domain_kwargs)
    return success_kwargs


def get_success_kwarg(self: Expectation, key: str, default: Any = None) -> Any:
    return _success_kwarg(self, self.configuration.kwargs, key, default)


def get_domain_kwargs(self: Expectation) -> dict:
    return _domain_kwargs(self, self.configuration.kwargs)


def get_success_kwargs(self: Expectation) -> dict:
    return _success_kwargs(self, self.configuration.kwargs)


def get_runtime_kwargs(self: Expectation, runtime_configuration: dict | None = None) -> dict:
    runtime_configuration = runtime_configuration or {}
    kwargs = self.configuration.kwargs
    success_kwargs = _success_kwargs(self, kwargs)
    runtime_kwargs = {
        key: runtime_configuration.get(key, _success_kwarg(self, kwargs, key)) for key in self.runtime_keys
    }
    runtime_kwargs.update(success_kwargs)
    runtime_kwargs["result_format"] = parse_result_format(runtime_kwargs["result_format"])
    return runtime_kwargs


def source_digest() -> str:
    """The digest of the methods as Great Expectations defines them."""
    text = "".join(inspect.getsource(ORIGINAL[name]) for name in PATCHED)
    return hashlib.sha256(text.encode()).hexdigest()


@functools.cache
def apply() -> bool:
    """Replace the methods once, if they are the ones this module reads the same way (decided once
    a process: the answer cannot change while it runs)."""
    if getattr(Expectation, "_p135_kwargs_once", False):
        return True
    try:
        if source_digest() != KNOWN_SOURCE:
            return False
    except (OSError, TypeError, KeyError):
        return False
    Expectation._get_success_kwarg = get_success_kwarg
    Expectation._get_domain_kwargs = get_domain_kwargs
    Expectation._get_success_kwargs = get_success_kwargs
    Expectation._get_runtime_kwargs = get_runtime_kwargs
    Expectation._p135_kwargs_once = True
    return True
