"""The library's errors as one line of bokmål for the page, by their code and params (errors.py).

An error (or a reason kept as text, a `Message`) whose code has no entry here is shown as its
English message: a new error is never hidden, only not yet translated.
"""

from __future__ import annotations

import functools
import logging
import re

__all__ = ["BOKMAL", "api_endpoint", "document_error_text", "feedback_error_text", "in_bokmal", "public_text",
           "question_error_text"]

log = logging.getLogger("avtaleassistenten.app")
MAX_MESSAGE = 400  # characters of a reply's message: a huge input echoed back is cut


def _n(value) -> str:
    """A whole number as Norwegian writes it: 1 000 000."""
    return f"{int(value):,}".replace(",", " ")


_UNREADABLE = "filen kunne ikke leses eller lagres."

# code -> the bokmål text made from the error's params
BOKMAL = {
    "question.empty": lambda **p: "Spørsmålet er tomt. Skriv et spørsmål om avtalene.",
    "question.too_long": lambda length, limit, **p: f"Spørsmålet er {_n(length)} tegn langt; grensen er {_n(limit)} tegn. "
                                                   "Gjør det kortere.",
    "question.no_words": lambda **p: "Spørsmålet har ingen ord å søke etter. Skriv et spørsmål med ord.",
    "question.not_text": lambda **p: "Spørsmålet må være tekst.",
    "document.unsupported_type": lambda **p: "filtypen støttes ikke; bruk .txt, .md, .pdf, .docx eller .html.",
    "document.too_large": lambda size_mb, limit_mb, **p: f"filen er {size_mb:.1f} MB; grensen er {limit_mb:.0f} MB.",
    "document.pdf_password": lambda **p: "PDF-en er passordbeskyttet.",
    "document.pdf_no_text": lambda **p: "PDF-en har ingen tekst som kan hentes ut (en skannet PDF må tekstgjenkjennes først).",
    "document.pdf_unreadable": lambda **p: "PDF-en er skadet eller kan ikke leses.",
    "document.zip_bomb": lambda size, **p: f"filen pakkes ut til {_n(size)} byte, for mye til å leses trygt.",
    "document.docx_unreadable": lambda **p: "Word-filen er skadet eller kan ikke leses.",
    "document.binary": lambda **p: "filen ser ut som en binærfil, ikke tekst.",
    "document.encoding": lambda **p: "tegnkodingen i teksten kunne ikke gjenkjennes (lagre filen som UTF-8).",
    "document.empty": lambda **p: "filen er tom.",
    "document.no_text": lambda **p: "filen har ingen tekst.",
    "document.exists": lambda existing, **p: f"et dokument med samme navn ({existing}) finnes allerede; gi filen et annet navn.",
    "document.bad_name": lambda **p: "filnavnet kan ikke brukes.",
    "document.same_stem": lambda stem, **p: f"en annen fil heter også {stem} (med en annen filtype); gi den ene et annet navn.",
    "answer.unknown_citation": lambda **p: "svaret viste til et avsnitt søket ikke fant, og ble holdt tilbake.",
    "answer.not_quoted": lambda **p: "svaret siterte tekst som ikke står i kildene, og ble holdt tilbake.",
    "document.link": lambda outside=False, **p: ("filen er en lenke til noe utenfor dokumentmappen; lenker følges ikke."
                                                 if outside else "filen er en lenke; lenker følges ikke."),
    "document.not_regular": lambda **p: "dette er ikke en vanlig fil.",
    "document.upload_cut_off": lambda **p: "opplastingen ble avbrutt (serveren stoppet) og er rullet tilbake; "
                                           "last opp filen på nytt.",
    "document.unreadable": lambda **p: _UNREADABLE,
    "document.not_stored": lambda **p: _UNREADABLE,
    "feedback.unknown_answer": lambda **p: "svaret er for gammelt til å stemme på; still spørsmålet på nytt.",
    "feedback.answer_full": lambda votes, **p: f"svaret har allerede fått {votes} stemmer.",
    "feedback.comment_too_long": lambda length, limit, **p: f"kommentaren er {_n(length)} tegn; grensen er {_n(limit)} tegn.",
    "feedback.store_full": lambda **p: "det er ikke plass til flere stemmer.",
}


def in_bokmal(error: object) -> str:
    """An error (or a `Message`) as one line of bokmål by its code; its English message if the
    code has no translation (or its params do not fit it)."""
    make = BOKMAL.get(getattr(error, "code", None))
    if make is not None:
        try:
            return make(**getattr(error, "params", {}))
        except (TypeError, ValueError):  # params that do not fit: say it in English rather than fail
            log.warning("no bokmål for %r with params %r", error.code, error.params)
    return str(error)


def question_error_text(exc: object) -> str:
    """A QuestionError as one line of bokmål."""
    return in_bokmal(exc)


def document_error_text(exc: object) -> str:
    """A DocumentError's reason (or a skipped file's reason, a `Message`) as bokmål."""
    return in_bokmal(exc)


def feedback_error_text(exc: object) -> str:
    """A FeedbackError's reason as bokmål (the technical ones as they are)."""
    return public_text(in_bokmal(exc))


# an absolute path: /a/b… or C:\a\b… (at least two parts), as a word of its own or in quotes
_PATH = re.compile(r"(?<![\w.:/\\])(?:/|[A-Za-z]:[\\/])(?:[^\s/\\'\"()<>,;]+[/\\])+([^\s/\\'\"()<>,;]*)")


def public_text(text: object) -> str:
    """One line fit for a reply: no line breaks, and every absolute server path cut to its last part."""
    line = _PATH.sub(lambda m: m.group(1) or "…", " ".join(str(text).split()))
    return line if len(line) <= MAX_MESSAGE else line[: MAX_MESSAGE - 1] + "…"


def api_endpoint(fn):
    """An API function whose every failure reaches the client as one line (a gr.Error), never
    Gradio's generic error: the library's errors as they are (paths cut), anything else logged."""
    @functools.wraps(fn)
    def call(*args, **kwargs):
        import gradio as gr

        from ..errors import AssistantError

        try:
            return fn(*args, **kwargs)
        except gr.Error as exc:
            exc.message = public_text(exc.message)
            raise
        except AssistantError as exc:
            raise gr.Error(public_text(exc), print_exception=False) from None
        except Exception:
            log.exception("%s failed", fn.__name__)
            raise gr.Error("Kallet kunne ikke utføres (ugyldige verdier?). Se API-beskrivelsen i docs/ui.md.",
                           print_exception=False) from None

    return call
