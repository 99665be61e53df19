"""Typed errors of the library. Each carries a one-line English message fit to show a user, a
short stable `code` ("document.too_large") and the `params` of that message, so that a UI can
say it in its own language (assistant/web/messages.py) without reading the English.

    raise DocumentError(f"{name} is empty", "document.empty", name=name)

str(error) is the message, as a `Message`: a str that keeps the code and params, so that a
reason stored as text (a build report's skipped files) can still be translated.
"""

from __future__ import annotations

__all__ = [
    "AnswerError",
    "AssistantError",
    "ConfigError",
    "DocumentError",
    "FeedbackError",
    "IndexError_",
    "Message",
    "ModelError",
    "QuestionError",
]


class Message(str):
    """A one-line English message with its `code` and `params` (see the module docstring)."""

    code: str
    params: dict

    def __new__(cls, text: str, code: str = "", /, **params) -> Message:
        self = super().__new__(cls, text)
        self.code, self.params = code, params
        return self


class AssistantError(Exception):
    """Base class: str(error) is one line a person can act on; `code` and `params` say it for a UI.

    Without a code, a Message given as the text lends its own; else the class's `default_code`."""

    default_code = "error"

    def __init__(self, message: str = "", code: str | None = None, /, **params):
        super().__init__(message)
        if code is None and isinstance(message, Message):
            code, params = message.code, {**message.params, **params}
        self.code = code or self.default_code
        self.params = params

    def __str__(self) -> str:
        return Message(super().__str__(), self.code, **self.params)


class AnswerError(AssistantError):
    """A composed reply cites a clause the search did not find, or quotes text its sources do not hold."""

    default_code = "answer.unchecked"


class ConfigError(AssistantError):
    """A configuration value is invalid."""

    default_code = "config.invalid"


class DocumentError(AssistantError):
    """A document cannot be read (unsupported, broken, too large, unsafe name)."""

    default_code = "document.error"


class FeedbackError(AssistantError):
    """A vote cannot be stored or read (bad vote, unreadable database)."""

    default_code = "feedback.error"


class IndexError_(AssistantError):
    """The index folder is missing, unreadable, or was built with another model."""

    default_code = "index.error"


class ModelError(AssistantError):
    """The embedding model cannot be built or loaded."""

    default_code = "model.error"


class QuestionError(AssistantError):
    """The question cannot be answered as given (empty, only control characters)."""

    default_code = "question.error"
