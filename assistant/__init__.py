"""Avtaleassistenten: clause-level search over the agreements between the government and KS.

    from assistant import Assistant
    answer = Assistant().ask("Hvor lenge gjelder kvalitetsavtalen?")
"""

from .answer import Answer
from .config import Config
from .core import Assistant
from .embed import Embedder
from .errors import AssistantError, ConfigError, DocumentError, FeedbackError, IndexError_, ModelError, QuestionError
from .index import BuildReport
from .search import SearchResult
from .types import Clause, Document, Hit

__all__ = [
    "Answer",
    "Assistant",
    "AssistantError",
    "BuildReport",
    "Clause",
    "Config",
    "ConfigError",
    "Document",
    "DocumentError",
    "Embedder",
    "FeedbackError",
    "Hit",
    "IndexError_",
    "ModelError",
    "QuestionError",
    "SearchResult",
]
__version__ = "0.1.0"
