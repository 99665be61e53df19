"""Typed errors of the library. Each carries a one-line message fit to show a user."""

__all__ = [
    "AnswerError",
    "AssistantError",
    "ConfigError",
    "DocumentError",
    "FeedbackError",
    "IndexError_",
    "ModelError",
    "QuestionError",
]


class AssistantError(Exception):
    """Base class: str(error) is one line a person can act on."""


class AnswerError(AssistantError):
    """A composed reply cites a clause the search did not find, or quotes text its sources do not hold."""


class ConfigError(AssistantError):
    """A configuration value is invalid."""


class DocumentError(AssistantError):
    """A document cannot be read (unsupported, broken, too large, unsafe name)."""


class FeedbackError(AssistantError):
    """A vote cannot be stored or read (bad vote, unreadable database)."""


class IndexError_(AssistantError):
    """The index folder is missing, unreadable, or was built with another model."""


class ModelError(AssistantError):
    """The embedding model cannot be built or loaded."""


class QuestionError(AssistantError):
    """The question cannot be answered as given (empty, only control characters)."""
