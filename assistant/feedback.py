"""Votes on answers, kept in SQLite (the standard library's sqlite3, WAL journal).

    store = FeedbackStore("feedback.sqlite3", legacy_jsonl="feedback.jsonl")
    store.record(answer_json, "down", comment="feil avtale")   # one row per answer; a new vote replaces it
    store.votes()                                              # newest first
    store.export_questions("draft-questions.jsonl")            # down-voted questions, answers to fill in

Each vote is one row keyed by the answer it is about (`answer_id`, given to every answer the
app shows), so a retried or repeated vote on the same answer is stored once and a changed
vote replaces the earlier one. Every write is one short transaction on its thread's own connection (kept open):
safe from many threads and processes at once (WAL lets readers run while one writer writes;
writers wait up to `timeout` seconds for each other). An existing JSON-lines feedback file
(the format before SQLite) is imported once; the import is recorded in the database.

Votes from the app name an answer the server gave: `remember(answer)` keeps what the server
showed under its id (table `answers`, the newest MAX_ANSWERS), and `vote(answer_id, vote,
comment)` stores the server's own copy of that question and those clauses, never the
client's. Bounded: a comment of at most MAX_COMMENT characters, MAX_VOTES_PER_ANSWER votes
(changes of mind) per answer, MAX_VOTES stored votes in all.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable
from contextlib import closing, contextmanager
from pathlib import Path

from .errors import FeedbackError
from .lang import detect_language

__all__ = ["FeedbackStore", "MAX_COMMENT", "MAX_VOTES_PER_ANSWER", "VOTES", "check_vote"]

VOTES = ("up", "down")
SCHEMA = """
CREATE TABLE IF NOT EXISTS votes (
    id INTEGER PRIMARY KEY,
    answer_id TEXT NOT NULL UNIQUE,
    time TEXT NOT NULL,
    vote TEXT NOT NULL CHECK (vote IN ('up', 'down')),
    question TEXT NOT NULL,
    language TEXT NOT NULL DEFAULT '',
    answered INTEGER,
    answerable REAL,
    clauses TEXT NOT NULL DEFAULT '[]',
    comment TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL DEFAULT 'app'
);
CREATE INDEX IF NOT EXISTS votes_by_vote ON votes (vote, time);
CREATE TABLE IF NOT EXISTS imports (path TEXT PRIMARY KEY, time TEXT NOT NULL, rows INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS answers (
    seq INTEGER PRIMARY KEY,
    answer_id TEXT NOT NULL UNIQUE,
    time TEXT NOT NULL,
    question TEXT NOT NULL,
    language TEXT NOT NULL DEFAULT '',
    answered INTEGER,
    answerable REAL,
    clauses TEXT NOT NULL DEFAULT '[]',
    votes INTEGER NOT NULL DEFAULT 0
);
"""
CLAUSE_KEYS = ("doc", "start", "end", "ordinal", "text", "score")
MAX_COMMENT = 2000
MAX_ANSWERS = 10_000  # answers kept to be voted on; older ones are pruned
MAX_VOTES_PER_ANSWER = 10
MAX_VOTES = 50_000
MAX_CLAUSES, MAX_CLAUSE_TEXT = 10, 2000  # of an answer, as kept
ANSWER_ID = re.compile(r"[0-9a-f]{32}")


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def _clauses(answer: dict) -> list[dict]:
    return [{k: c.get(k) for k in CLAUSE_KEYS}
            for c in answer.get("clauses") or [] if isinstance(c, dict)]


def check_vote(answer_id: object, vote: object, comment: object) -> tuple[str, str, str]:
    """The three values of a vote from a client, checked: (answer_id, vote, comment)."""
    if not isinstance(answer_id, str) or not ANSWER_ID.fullmatch(answer_id):
        raise FeedbackError("the answer to vote on must be the answer_id that /ask returned (32 hex digits)",
                            "feedback.bad_answer_id")
    if not isinstance(vote, str) or vote not in VOTES:
        raise FeedbackError("vote must be 'up' or 'down'", "feedback.bad_vote")
    if comment is None:
        comment = ""
    if not isinstance(comment, str):
        raise FeedbackError("the comment must be text", "feedback.comment_not_text")
    comment = comment.strip()
    if len(comment) > MAX_COMMENT:
        raise FeedbackError(f"the comment is {len(comment):,} characters; the limit is {MAX_COMMENT:,}",
                            "feedback.comment_too_long", length=len(comment), limit=MAX_COMMENT)
    return answer_id, vote, comment


def _row_from_answer(answer: dict, vote: str, comment: str, answer_id: str | None, when: str | None,
                     source: str) -> tuple:
    if vote not in VOTES:
        raise FeedbackError(f"vote must be 'up' or 'down', got {vote!r}", "feedback.bad_vote", vote=vote)
    if not isinstance(answer, dict):
        raise FeedbackError("the answer to vote on must be the JSON of an answer (a dict)", "feedback.bad_answer")
    question = answer.get("question")
    if not isinstance(question, str) or not question.strip():
        raise FeedbackError("the answer has no question; vote on an answer returned by /ask", "feedback.no_question")
    clauses = _clauses(answer)
    answerable = answer.get("answerable")
    return (
        str(answer_id or answer.get("answer_id") or uuid.uuid4().hex),
        when or _now(), vote, question.strip(), str(answer.get("language") or detect_language(question)),
        None if answer.get("answered") is None else int(bool(answer.get("answered"))),
        float(answerable) if isinstance(answerable, (int, float)) else None,
        json.dumps(clauses, ensure_ascii=False), str(comment or "").strip()[:MAX_COMMENT], source,
    )


_UPSERT = """
INSERT INTO votes (answer_id, time, vote, question, language, answered, answerable, clauses, comment, source)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (answer_id) DO UPDATE SET time = excluded.time, vote = excluded.vote,
    comment = CASE WHEN excluded.comment != '' THEN excluded.comment ELSE votes.comment END
"""


class FeedbackStore:
    """The votes database at `path` (created on first use)."""

    def __init__(self, path: Path | str, legacy_jsonl: Path | str | None = None, timeout: float = 30.0):
        self.path = Path(path)
        self.timeout = timeout
        self._local = threading.local()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with closing(self._connect()) as db:
                db.execute("PRAGMA journal_mode=WAL")
                db.executescript(SCHEMA)
        except sqlite3.Error as exc:
            raise FeedbackError(f"the feedback database {self.path.name} cannot be opened ({exc})", "feedback.database",
                                name=self.path.name) from None
        except OSError as exc:
            raise FeedbackError(f"the feedback database {self.path.name} cannot be created "
                                f"({exc.strerror or type(exc).__name__})", "feedback.database", name=self.path.name) from None
        if legacy_jsonl is not None and Path(legacy_jsonl).is_file():
            self.import_jsonl(legacy_jsonl)

    @contextmanager
    def _db(self):
        """This thread's connection, opened on first use and kept: opening one per write, and the
        checkpoint SQLite runs when the last connection closes, cost ~15 ms a write."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = self._connect()
        try:
            yield db
        except sqlite3.Error:
            self._local.db = None  # a broken connection is not reused
            db.close()
            raise

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        db.execute(f"PRAGMA busy_timeout={int(self.timeout * 1000)}")
        db.execute("PRAGMA synchronous=NORMAL")  # WAL: durable across crashes of the app, one fsync per checkpoint
        db.row_factory = sqlite3.Row
        return db

    def _write(self, sql: str, rows: Iterable[tuple], marker: tuple | None = None) -> int:
        """Run `sql` for each row in one IMMEDIATE transaction; returns the rows changed. With a
        `marker` (an imported file), nothing is written when that file was imported before."""
        def work(db) -> int:
            if marker is not None and db.execute("SELECT 1 FROM imports WHERE path = ?", (marker[0],)).fetchone():
                return 0
            changed = 0
            for row in rows:
                changed += db.execute(sql, row).rowcount
            if marker is not None:
                db.execute("INSERT INTO imports (path, time, rows) VALUES (?, ?, ?)", (marker[0], _now(), changed))
            return changed

        return self._transaction(work, "the vote could not be stored in {name} ({exc})")

    def _transaction(self, work, failure: str = "the feedback database {name} cannot be written ({exc})"):
        """`work(db)` in one IMMEDIATE transaction; its FeedbackError rolls back and is raised as it is."""
        try:
            with self._db() as db:
                db.execute("BEGIN IMMEDIATE")
                try:
                    out = work(db)
                    db.execute("COMMIT")
                    return out
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
        except sqlite3.Error as exc:
            raise FeedbackError(failure.format(name=self.path.name, exc=exc), "feedback.database", name=self.path.name) from None

    # -- answers the server gave, and votes on them -----------------------------------------
    def remember(self, answer: dict) -> str:
        """Keep what the server showed (question, clauses) under the answer's id; returns the id.

        The id is `answer["answer_id"]` when it is one of ours (32 hex digits), else a new one.
        Only the newest MAX_ANSWERS answers are kept.
        """
        question = answer.get("question") if isinstance(answer, dict) else None
        if not isinstance(question, str) or not question.strip():
            raise FeedbackError("an answer to keep needs its question", "feedback.no_question")
        given = answer.get("answer_id")
        answer_id = given if isinstance(given, str) and ANSWER_ID.fullmatch(given) else uuid.uuid4().hex
        clauses = [{**c, "text": str(c.get("text") or "")[:MAX_CLAUSE_TEXT]} for c in _clauses(answer)[:MAX_CLAUSES]]
        answerable = answer.get("answerable")
        row = (answer_id, _now(), question.strip(), str(answer.get("language") or ""),
               None if answer.get("answered") is None else int(bool(answer.get("answered"))),
               float(answerable) if isinstance(answerable, (int, float)) else None,
               json.dumps(clauses, ensure_ascii=False))

        def work(db):
            db.execute("INSERT OR REPLACE INTO answers (answer_id, time, question, language, answered, answerable, "
                       "clauses) VALUES (?, ?, ?, ?, ?, ?, ?)", row)
            db.execute("DELETE FROM answers WHERE seq <= (SELECT MAX(seq) FROM answers) - ?", (MAX_ANSWERS,))

        self._transaction(work)
        return answer_id

    def vote(self, answer_id: object, vote: object, comment: object = "") -> dict:
        """Store a vote on an answer the server gave (by its id), with the server's copy of it.

        A vote again on the same answer replaces the earlier one (and keeps its comment when the
        new one has none). Raises FeedbackError for an unknown id, bad values or a limit reached.
        """
        answer_id, vote, comment = check_vote(answer_id, vote, comment)

        def work(db):
            shown = db.execute("SELECT * FROM answers WHERE answer_id = ?", (answer_id,)).fetchone()
            if shown is None:
                raise FeedbackError("no answer with this id is known (it may be too old); ask the question again",
                                    "feedback.unknown_answer")
            if shown["votes"] >= MAX_VOTES_PER_ANSWER:
                raise FeedbackError(f"this answer has had {MAX_VOTES_PER_ANSWER} votes; no more are stored for it",
                                    "feedback.answer_full", votes=MAX_VOTES_PER_ANSWER)
            known = db.execute("SELECT 1 FROM votes WHERE answer_id = ?", (answer_id,)).fetchone()
            if known is None and db.execute("SELECT COUNT(*) FROM votes").fetchone()[0] >= MAX_VOTES:
                raise FeedbackError(f"the feedback store holds {MAX_VOTES:,} votes, its limit; no more are stored",
                                    "feedback.store_full", votes=MAX_VOTES)
            question = shown["question"]
            db.execute(_UPSERT, (answer_id, _now(), vote, question, shown["language"] or detect_language(question),
                                 shown["answered"], shown["answerable"], shown["clauses"], comment, "app"))
            db.execute("UPDATE answers SET votes = votes + 1 WHERE answer_id = ?", (answer_id,))
            return {"answer_id": answer_id, "vote": vote, "question": question}

        return self._transaction(work)

    # -- writing --------------------------------------------------------------------------
    def record(self, answer: dict, vote: str, comment: str = "", answer_id: str | None = None) -> str:
        """Store a vote on `answer` (the JSON of an answer); returns the answer id it is stored under."""
        row = _row_from_answer(answer, vote, comment, answer_id, None, "app")
        self._write(_UPSERT, [row])
        return row[0]

    def import_jsonl(self, path: Path | str) -> int:
        """Import a feedback file of JSON lines once (later calls do nothing); returns the rows added."""
        path = Path(path)
        rows = []
        try:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError as exc:
            raise FeedbackError(f"{path.name} cannot be read ({exc.strerror or exc})", "feedback.unreadable", name=path.name) from None
        for line in lines:
            try:
                data = json.loads(line)
                row = _row_from_answer(data, data.get("vote"), data.get("comment", ""),
                                       "jsonl:" + hashlib.sha1(line.encode("utf-8")).hexdigest(),
                                       str(data.get("time") or _now()), "jsonl")
            except (ValueError, AttributeError, FeedbackError):
                continue  # a torn or foreign line: skipped, the rest is imported
            rows.append(row)
        insert = _UPSERT.split(" ON CONFLICT")[0].replace("INSERT INTO", "INSERT OR IGNORE INTO")
        return self._write(insert, rows, marker=(str(path.resolve()),))

    # -- reading --------------------------------------------------------------------------
    def votes(self, vote: str | None = None, limit: int | None = None) -> list[dict]:
        """The stored votes, newest first (only `vote` ones if given)."""
        sql = "SELECT * FROM votes" + (" WHERE vote = ?" if vote else "") + " ORDER BY time DESC, id DESC"
        params: tuple = (vote,) if vote else ()
        if limit:
            sql += " LIMIT ?"
            params += (int(limit),)
        try:
            with self._db() as db:
                rows = db.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise FeedbackError(f"the feedback database {self.path.name} cannot be read ({exc})", "feedback.database",
                                name=self.path.name) from None
        out = []
        for r in rows:
            d = dict(r)
            d["clauses"] = json.loads(d["clauses"] or "[]")
            d["answered"] = None if d["answered"] is None else bool(d["answered"])
            out.append(d)
        return out

    def counts(self) -> dict[str, int]:
        votes = self.votes()
        return {v: sum(1 for r in votes if r["vote"] == v) for v in VOTES}

    def draft_questions(self) -> list[dict]:
        """The down-voted questions (each once, newest vote first) as draft evaluation rows.

        The format of ../shared/eval/*/questions.jsonl with `answers` left for a person to fill
        in (an empty list there means «out of scope», so each row is marked `draft` until then);
        `shown` lists what the assistant quoted, `comment` what the voter said.
        """
        seen, rows = set(), []
        for v in self.votes("down"):
            key = " ".join(v["question"].split()).casefold()
            if key in seen:
                continue
            seen.add(key)
            rows.append({
                "id": "fb-" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:10],
                "question": v["question"],
                "lang": v["language"] or "nb",
                "answers": [],
                "draft": True,
                "comment": v["comment"],
                "voted": v["time"],
                "shown": [{"doc": Path(str(c.get("doc") or "")).stem, "text": c.get("text")} for c in v["clauses"][:3]],
            })
        return rows

    def export_questions(self, out: Path | str) -> int:
        """Write `draft_questions()` as JSON lines to `out`; returns the number of questions."""
        rows = self.draft_questions()
        out = Path(out)
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            with open(out, "w", encoding="utf-8", newline="\n") as f:
                for row in rows:
                    f.write(json.dumps(row, ensure_ascii=False) + "\n")
        except OSError as exc:
            raise FeedbackError(f"cannot write {out} ({exc.strerror or exc})", "feedback.not_written", path=str(out)) from None
        return len(rows)
