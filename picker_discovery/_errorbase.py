"""The root of the error tree and the errors raised below the HTTP layer.

:class:`PickerError` and the errors that modules on the cold-start path raise (the discovery
document loader, the command line, argument checks, the models) live here, in a leaf that
imports only the standard library, so raising or catching them never loads googleapiclient.
:mod:`picker_discovery.errors` re-exports every one of them: import them from there.
"""

from __future__ import annotations

__all__ = [
    "BadArgument",
    "BadArgumentType",
    "DiscoveryDocumentError",
    "InvalidState",
    "MalformedResponse",
    "MissingExtra",
    "PickerError",
    "UnknownName",
]


class PickerError(Exception):
    """Base of every error this project raises about the Picker API or its use."""


class BadArgument(PickerError, ValueError):
    """A function or method was given an argument it cannot use; nothing was sent.

    The message names the argument and what it accepts. It is a ``ValueError`` too, which is
    what these checks raised before, so ``except ValueError`` keeps working.
    """


class BadArgumentType(BadArgument, TypeError):
    """An argument of the wrong type (a string where seconds are expected, say).

    A :class:`BadArgument`, and a ``TypeError`` as well, as Python's own checks raise.
    """


class MalformedResponse(PickerError, ValueError):
    """An answer the client cannot read: not JSON, not an object, or a field of the wrong kind.

    The service (or whatever answers at the endpoint) sent something the photospicker schema
    does not allow; the message names the method or the schema and field. It is a
    ``ValueError`` too, which is what the models' ``from_dict`` raise for a malformed field.
    Check the endpoint the client talks to; report it if it is Google's.
    """


class UnknownName(PickerError, KeyError):
    """A name looked up is not there (a session the fake backend never made, a canned answer
    that does not exist); the message lists what there is. A ``KeyError`` too."""


class InvalidState(PickerError, RuntimeError):
    """An object was asked for something its state does not allow (an emulator started twice,
    or asked for its URL before it started). A ``RuntimeError`` too."""


class MissingExtra(PickerError, ImportError):
    """What was asked for needs an optional extra that is not installed.

    The message names the extra and the ``pip install`` line that adds it. It is an
    ``ImportError`` too, since a missing package is what it reports.
    """


class DiscoveryDocumentError(PickerError, ValueError):
    """A discovery document is missing, unreadable, or not the photospicker v1 document.

    ``source`` names the file or URL, ``problem`` says what is wrong with it.
    """

    def __init__(self, source: str, problem: str) -> None:
        super().__init__(f"discovery document {source}: {problem}")
        self.source = source
        self.problem = problem


# Raised and caught as picker_discovery.errors.X: tracebacks and reprs name the public module.
for _cls in (
    PickerError,
    BadArgument,
    BadArgumentType,
    MalformedResponse,
    UnknownName,
    InvalidState,
    MissingExtra,
    DiscoveryDocumentError,
):
    _cls.__module__ = "picker_discovery.errors"
del _cls
