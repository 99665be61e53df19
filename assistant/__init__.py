"""Avtaleassistenten: clause-level search over the agreements between the government and KS.

    from assistant import Assistant
    answer = Assistant().ask("Hvor lenge gjelder kvalitetsavtalen?")
"""

from .config import Config
from .core import Assistant
from .errors import AssistantError, ConfigError, DocumentError, FeedbackError, IndexError_, ModelError, QuestionError
from .types import Clause, Document, Hit

__all__ = [
    "Assistant",
    "AssistantError",
    "Clause",
    "Config",
    "ConfigError",
    "Document",
    "DocumentError",
    "FeedbackError",
    "Hit",
    "IndexError_",
    "ModelError",
    "QuestionError",
]
__version__ = "0.1.0"
