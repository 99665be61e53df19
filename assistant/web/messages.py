"""The library's (English) one-line error messages as one line of bokmål for the page."""

from __future__ import annotations

import functools
import logging
import re

__all__ = ["api_endpoint", "document_error_text", "feedback_error_text", "public_text", "question_error_text"]

log = logging.getLogger("avtaleassistenten.app")
MAX_MESSAGE = 400  # characters of a reply's message: a huge input echoed back is cut

_Q_ERRORS = [
    (re.compile(r"empty"), lambda m: "Spørsmålet er tomt. Skriv et spørsmål om avtalene."),
    (re.compile(r"is ([\d,]+) characters; the limit is ([\d,]+)"),
     lambda m: f"Spørsmålet er {m.group(1).replace(',', ' ')} tegn langt; grensen er "
               f"{m.group(2).replace(',', ' ')} tegn. Gjør det kortere."),
    (re.compile(r"no words"), lambda m: "Spørsmålet har ingen ord å søke etter. Skriv et spørsmål med ord."),
    (re.compile(r"must be text"), lambda m: "Spørsmålet må være tekst."),
]


def _in_bokmal(exc: Exception, table) -> str:
    """The library's (English) message as bokmål by the first matching pattern; else as it is."""
    message = str(exc)
    for pattern, make in table:
        m = pattern.search(message)
        if m:
            return make(m)
    return message


def question_error_text(exc: Exception) -> str:
    """A QuestionError as one line of bokmål."""
    return _in_bokmal(exc, _Q_ERRORS)


_DOC_ERRORS = [
    (re.compile(r"unsupported file type|has no file type"),
     lambda m: "filtypen støttes ikke; bruk .txt, .md, .pdf, .docx eller .html."),
    (re.compile(r"is ([\d.]+) MB; the limit is ([\d.]+) MB"),
     lambda m: f"filen er {m.group(1)} MB; grensen er {m.group(2)} MB."),
    (re.compile(r"password-protected PDF"), lambda m: "PDF-en er passordbeskyttet."),
    (re.compile(r"no extractable text"),
     lambda m: "PDF-en har ingen tekst som kan hentes ut (en skannet PDF må tekstgjenkjennes først)."),
    (re.compile(r"not a readable PDF"), lambda m: "PDF-en er skadet eller kan ikke leses."),
    (re.compile(r"unpacks to ([\d,]+) bytes"),
     lambda m: f"filen pakkes ut til {m.group(1).replace(',', ' ')} byte, for mye til å leses trygt."),
    (re.compile(r"\.docx file"), lambda m: "Word-filen er skadet eller kan ikke leses."),
    (re.compile(r"looks like a binary file"), lambda m: "filen ser ut som en binærfil, ikke tekst."),
    (re.compile(r"not UTF-8|not valid UTF-16"), lambda m: "tegnkodingen i teksten kunne ikke gjenkjennes (lagre filen som UTF-8)."),
    (re.compile(r"is empty$"), lambda m: "filen er tom."),
    (re.compile(r"has no text$"), lambda m: "filen har ingen tekst."),
    (re.compile(r"a document named (.+) already exists"),
     lambda m: f"et dokument med samme navn ({m.group(1)}) finnes allerede; gi filen et annet navn."),
    (re.compile(r"not a usable file name|would be stored outside"), lambda m: "filnavnet kan ikke brukes."),
    (re.compile(r"is a link to a \w+ outside"),
     lambda m: "filen er en lenke til noe utenfor dokumentmappen; lenker følges ikke."),
    (re.compile(r"is a link"), lambda m: "filen er en lenke; lenker følges ikke."),
    (re.compile(r"not a regular file"), lambda m: "dette er ikke en vanlig fil."),
    (re.compile(r"upload of .+ was cut off"),
     lambda m: "opplastingen ble avbrutt (serveren stoppet) og er rullet tilbake; last opp filen på nytt."),
    (re.compile(r"cannot be read|could not be read|not a readable file|cannot be stored"),
     lambda m: "filen kunne ikke leses eller lagres."),
]


def document_error_text(exc: Exception) -> str:
    """A DocumentError's reason as bokmål."""
    return _in_bokmal(exc, _DOC_ERRORS)



_FB_ERRORS = [
    (re.compile(r"no answer with this id is known"),
     lambda m: "svaret er for gammelt til å stemme på; still spørsmålet på nytt."),
    (re.compile(r"has had (\d+) votes"), lambda m: f"svaret har allerede fått {m.group(1)} stemmer."),
    (re.compile(r"the comment is ([\d,]+) characters; the limit is ([\d,]+)"),
     lambda m: f"kommentaren er {m.group(1).replace(',', ' ')} tegn; grensen er {m.group(2).replace(',', ' ')} tegn."),
    (re.compile(r"holds [\d,]+ votes, its limit"), lambda m: "det er ikke plass til flere stemmer."),
]


def feedback_error_text(exc: Exception) -> str:
    """A FeedbackError's reason as bokmål (the technical ones as they are)."""
    return public_text(_in_bokmal(exc, _FB_ERRORS))


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
