"""The library's (English) one-line error messages as one line of bokmål for the page."""

from __future__ import annotations

import re

__all__ = ["document_error_text", "question_error_text"]

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

