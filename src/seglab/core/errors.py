"""The exceptions seglab raises, and the one template their messages follow.

Every message reads ``"{what} must be {expected}, got {actual}"`` with a hint
where one helps, so a user sees which argument or file is wrong and how to fix it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["SeglabError", "InputError", "FormatError", "RegistrationError", "describe", "expected"]


class SeglabError(Exception):
    """Base class of every error seglab raises on purpose."""


class InputError(SeglabError, ValueError):
    """A bad argument or a bad image."""


class FormatError(SeglabError, ValueError):
    """A file in a format seglab cannot read, or a broken file."""


class RegistrationError(SeglabError, ValueError):
    """A registry name that is taken, or a registration that declares something impossible."""


def describe(value: Any) -> str:
    """Describe ``value`` for an error message: arrays by shape and dtype, others by repr."""
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def expected(what: str, expectation: str, actual: Any, hint: str = "") -> InputError:
    """Build an :class:`InputError` from the project's message template.

    Examples
    --------
    >>> str(expected("k", "an integer >= 2", 1))
    'k must be an integer >= 2, got 1'
    """
    message = f"{what} must be {expectation}, got {describe(actual)}"
    if hint:
        message += f"; {hint}"
    return InputError(message)
