"""Themes: what a brand's mentions are about, grouped and named by their own words.

A PR team reads "кэшбэк / начислить / категория: 41 mentions, 30 negative, twice last week's" faster than
four hundred posts. This module groups one brand's counted mentions of a period into such themes, with the
sentiment split, the change against the period before and example mentions. It reads every sentiment, not
only complaints: a recurring neutral question is a theme too.

How, and why this way:

1. **Words.** Each text is cut into words, each word reduced to its normal form by pymorphy3; only nouns,
   adjectives and verbs are kept. The brand's own names, the names the caller passes (competitors) and a
   short list of words every post has ("быть", "мочь") are dropped, so themes are about the matter, not
   about who is named.
2. **Keywords.** Normal forms used by at least ``min_mentions`` mentions (and half a percent of them) but by
   no more than ``max_keyword_share`` of them: frequent enough to be a pattern, not so frequent that they
   say nothing.
3. **Keywords clustered, not posts.** Each keyword is described by the company it keeps (positive pointwise
   mutual information of co-occurrence in one mention) and by its navec vector (the Russian embeddings the
   sentiment model already ships; a word navec lacks, such as "кэшбэк", gets a fixed pseudo-random
   direction). Spherical k-means, seeded by k-means++ from a fixed seed, groups the keywords; k is the best
   cosine silhouette between sqrt(keywords / 2) (Mardia's rule of thumb) and twice ``max_themes``. The
   floor matters: on short texts the silhouette curve is flat and, left alone, picks two groups, praise
   and complaints, which tells a PR team nothing; groups too small to matter fall under ``min_share`` and
   are left out. A post is short and often touches two matters ("the app crashed, and the branch was no
   help"), so clustering whole posts blends topics; words that keep company form clean groups, and there
   are only hundreds of them whatever the number of mentions. The mentions are then read once more and
   each goes to the theme whose keywords it uses most (weighted by inverse document frequency). Time is
   linear in the number of mentions. Density methods (HDBSCAN) leave most short posts as noise, topic
   models (LDA) want long documents, and hierarchical clustering of posts is quadratic.
4. **Names.** A theme is named by its ``name_words`` keywords most used in its mentions.
5. **Stable.** The same data gives the same themes (sorted inputs, fixed seeds). Themes are remembered per
   brand (table ``themes``) with their keyword weights; a theme found again, with keywords that overlap a
   remembered one by cosine ``match_similarity`` or more, keeps its key and its first name, so a theme keeps
   its name from one day to the next while people go on talking about it.

Usage::

    from loyalty_index.themes import brand_themes
    for theme in brand_themes(store, "Поляр Банк", since, until, stop_terms=["Поляр", "Борей"]):
        print(theme.name, theme.mentions, theme.negative, theme.change)
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from sqlalchemy import Engine, and_, insert, select, update
from sqlalchemy.exc import IntegrityError

from core.text import analyser, fold, normal_forms, tokens
from loyalty_index.index import HasEngine
from storage.schema import MentionBrand, MentionRow, ThemeRow, effective_label

__all__ = [
    "THEME_COLUMNS",
    "Theme",
    "ThemeExample",
    "ThemeSettings",
    "brand_themes",
    "content_words",
    "theme_rows",
]

THEME_COLUMNS = ("theme", "brand", "mentions", "negative", "neutral", "positive", "change", "examples")
"""Columns of :func:`theme_rows`, in export order."""

_KEEP_POS = frozenset({"NOUN", "ADJF", "ADJS", "VERB", "INFN", "PRTF", "PRTS"})
# Normal forms that every kind of post has: they would name no theme and only blur the vectors.
_STOP = frozenset(
    (
        "быть",
        "мочь",
        "хотеть",
        "стать",
        "сказать",
        "сделать",
        "делать",
        "говорить",
        "написать",
        "писать",
        "знать",
        "думать",
        "смочь",
        "весь",
        "свой",
        "этот",
        "тот",
        "такой",
        "какой",
        "который",
        "самый",
        "один",
        "другой",
        "каждый",
        "любой",
        "никакой",
        "сам",
        "наш",
        "ваш",
        "твой",
        "мой",
        "его",
        "её",
        "их",
        "год",
        "день",
        "раз",
        "час",
        "минута",
        "время",
        "человек",
        "дело",
        "вопрос",
        "ответ",
        "слово",
        "весь",
        "очень",
        "нужно",
        "нужный",
        "новый",
    )
)
_DIM = 300
_NAVEC_FILE = "navec_news_v1_1B_250K_300d_100q.tar"


@dataclass(frozen=True, slots=True)
class ThemeSettings:
    """How themes are found.

    ``max_themes`` caps the themes shown per brand; a theme needs at least ``min_mentions`` mentions and
    ``min_share`` of the period's mentions. Keywords are the normal forms used by at most
    ``max_keyword_share`` of the mentions, the ``max_keywords`` most used; ``meaning_weight`` is how much
    their navec meaning counts beside the company they keep. A theme found again keeps its remembered name
    when its keywords overlap the remembered ones by cosine ``match_similarity`` or more. A theme is
    *rising* when it has at least ``rising_min`` mentions and ``rising_ratio`` times the mentions of the
    period before (or is new).
    """

    max_themes: int = 8
    min_mentions: int = 3
    min_share: float = 0.02
    max_keyword_share: float = 0.5
    max_keywords: int = 400
    meaning_weight: float = 0.5
    match_similarity: float = 0.5
    rising_ratio: float = 1.5
    rising_min: int = 5
    name_words: int = 3
    examples: int = 3
    seed: int = 13


@dataclass(frozen=True, slots=True)
class ThemeExample:
    """A mention that stands for its theme (the nearest to the theme's centre)."""

    mention_id: int
    text: str
    url: str | None
    label: str


@dataclass(frozen=True, slots=True)
class Theme:
    """One theme of one brand in one period, with the period before for comparison."""

    key: str
    name: str
    brand: str
    words: tuple[str, ...]
    mentions: int
    negative: int
    neutral: int
    positive: int
    previous: int
    examples: tuple[ThemeExample, ...]
    mention_ids: tuple[int, ...]
    rising: bool

    @property
    def change(self) -> float | None:
        """Relative change against the period before (``0.5`` is +50%); ``None`` for a theme that is new."""
        if self.previous == 0:
            return None
        return (self.mentions - self.previous) / self.previous


# -- words --------------------------------------------------------------------------------------------


@lru_cache(maxsize=262_144)
def _lemma(word: str) -> str | None:
    """The normal form of a content word (folded), or ``None`` for function words, numbers and stop words."""
    if len(word) < 3 or not word.isalpha():
        return None
    parse = analyser().parse(word)[0]
    if parse.tag.POS not in _KEEP_POS:
        return None
    lemma = fold(str(parse.normal_form))
    if len(lemma) < 3 or lemma in _STOP:
        return None
    return lemma


@lru_cache(maxsize=64)
def _prefixes(stop: frozenset[str]) -> tuple[str, ...]:
    return tuple(sorted(w for w in stop if len(w) >= 5))


@lru_cache(maxsize=4096)
def _is_noun(lemma: str) -> bool:
    return bool(analyser().parse(lemma)[0].tag.POS == "NOUN")


def content_words(text: str, stop: frozenset[str] = frozenset()) -> list[str]:
    """Normal forms of the nouns, adjectives and verbs of ``text``, minus ``stop`` (already normal forms).

    A word that begins with a stop word of five letters or more is dropped too: invented brand names are
    inflected without a dictionary ("Полярбанка", "Полярбанком").

    >>> content_words("Начислили кэшбэк не за ту категорию")
    ['начислить', 'кэшбэк', 'категория']
    """
    out: list[str] = []
    prefixes = _prefixes(stop)
    for word in tokens(text):
        if prefixes and word.startswith(prefixes):
            continue
        lemma = _lemma(word)
        if lemma is not None and lemma not in stop:
            out.append(lemma)
    return out


def stop_lemmas(terms: Iterable[str]) -> frozenset[str]:
    """Every word of the brand names and aliases given, as written and as normal forms."""
    out: set[str] = set()
    for term in terms:
        for word in tokens(term):
            out.update(normal_forms(word))
    return frozenset(out)


# -- vectors ------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _navec() -> Any:
    """Navec's 250k-word table from inside the natasha wheel: offline, loaded once (~3 s)."""
    import natasha
    from navec import Navec

    return Navec.load(str(Path(natasha.__file__).parent / "data" / "emb" / _NAVEC_FILE))


def _pseudo_vector(word: str) -> NDArray[np.float32]:
    """A fixed direction for a word navec lacks: seeded by the word, so it is the same in every run."""
    seed = int.from_bytes(hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest(), "little")
    vec = np.random.default_rng(seed).standard_normal(_DIM).astype(np.float32)
    return np.asarray(vec / np.linalg.norm(vec), dtype=np.float32)


def _word_vectors(vocab: Sequence[str]) -> NDArray[np.float32]:
    """Unit vectors for ``vocab``, in order."""
    navec = _navec()
    out = np.empty((len(vocab), _DIM), dtype=np.float32)
    for i, word in enumerate(vocab):
        if word in navec.vocab:
            vec = np.asarray(navec.get(word), dtype=np.float32)
            out[i] = vec / max(float(np.linalg.norm(vec)), 1e-9)
        else:
            out[i] = _pseudo_vector(word)
    return out


def _normalise(x: NDArray[np.float32]) -> NDArray[np.float32]:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.asarray(x / np.maximum(norms, 1e-9), dtype=np.float32)


# -- clustering ---------------------------------------------------------------------------------------


def _kmeans(
    x: NDArray[np.float32], w: NDArray[np.float64], k: int, rng: np.random.Generator, iters: int = 50
) -> NDArray[np.intp]:
    """Weighted spherical k-means with k-means++ seeding; returns each row's cluster."""
    n = x.shape[0]
    first = int(rng.choice(n, p=w / w.sum()))
    picks = [first]
    dist = np.maximum(1.0 - x @ x[first], 0.0)
    for _ in range(1, k):
        p = w * dist**2
        total = float(p.sum())
        if total <= 1e-12:
            break
        pick = int(rng.choice(n, p=p / total))
        picks.append(pick)
        dist = np.minimum(dist, np.maximum(1.0 - x @ x[pick], 0.0))
    centres = x[picks].copy()
    assign = np.argmax(x @ centres.T, axis=1)
    for _ in range(iters):
        sums = np.zeros_like(centres)
        np.add.at(sums, assign, x * w[:, None].astype(np.float32))
        empty = np.linalg.norm(sums, axis=1) < 1e-9
        sums[empty] = centres[empty]
        centres = _normalise(sums)
        new = np.argmax(x @ centres.T, axis=1)
        if np.array_equal(new, assign):
            break
        assign = new
    return np.asarray(assign, dtype=np.intp)


def _silhouette(x: NDArray[np.float32], assign: NDArray[np.intp], w: NDArray[np.float64]) -> float:
    """Weighted mean cosine silhouette: how much nearer each row is to its own cluster than to the next.

    A row alone in its cluster scores 0, as in Rousseeuw's definition, so splitting everything into
    singletons is never the best answer.
    """
    labels = np.unique(assign)
    if len(labels) < 2:
        return -1.0
    dist = np.maximum(1.0 - x.astype(np.float64) @ x.T.astype(np.float64), 0.0)
    np.fill_diagonal(dist, 0.0)
    sums = np.stack([(dist[:, assign == lab] * w[assign == lab]).sum(1) for lab in labels])
    mass = np.array([w[assign == lab].sum() for lab in labels])
    own = np.searchsorted(labels, assign)
    cols = np.arange(len(x))
    own_mass = mass[own] - w  # the row itself does not count towards its own cluster
    alone = own_mass <= 1e-12
    a = np.where(alone, 0.0, sums[own, cols] / np.where(alone, 1.0, own_mass))
    other = sums / mass[:, None]
    other[own, cols] = np.inf
    b = other.min(axis=0)
    s = np.where(alone, 0.0, (b - a) / np.maximum(np.maximum(a, b), 1e-12))
    return float((s * w).sum() / w.sum())


def _keyword_clusters(
    keywords: Sequence[str],
    df: NDArray[np.float64],
    cooc: NDArray[np.float64],
    n_docs: int,
    settings: ThemeSettings,
) -> NDArray[np.intp]:
    """Cluster keywords by the company they keep (PPMI rows) and their meaning (navec)."""
    with np.errstate(divide="ignore"):
        pmi = np.log(cooc * n_docs / np.outer(df, df))
    ppmi = np.where(np.isfinite(pmi), np.maximum(pmi, 0.0), 0.0)
    np.fill_diagonal(ppmi, 0.0)
    company = _normalise(ppmi.astype(np.float32))
    meaning = _word_vectors(keywords)
    x = _normalise(np.hstack([company, settings.meaning_weight * meaning]).astype(np.float32))
    if len(keywords) < 4:
        return np.zeros(len(keywords), dtype=np.intp)
    k_max = max(2, min(settings.max_themes * 2, len(keywords) // 2))
    k_min = min(k_max, max(2, round(math.sqrt(len(keywords) / 2))))
    best: tuple[float, NDArray[np.intp]] | None = None
    for k in range(k_min, k_max + 1):
        assign = _kmeans(x, df, k, np.random.default_rng(settings.seed + k))
        score = _silhouette(x, assign, df)
        if best is None or score > best[0] + 1e-9:
            best = (score, assign)
    assert best is not None
    return best[1]


# -- reading and remembering --------------------------------------------------------------------------


@dataclass(slots=True)
class _Doc:
    """A mention reduced to what themes need: its distinct content words, sorted (texts stay in SQL)."""

    mention_id: int
    words: tuple[str, ...]
    label: str
    url: str | None
    current: bool


def _engine(source: Engine | HasEngine) -> Engine:
    return source if isinstance(source, Engine) else source.engine


def _read(
    engine: Engine, brand: str, lo: datetime, mid: datetime, hi: datetime, stop: frozenset[str]
) -> list[_Doc]:
    """Counted mentions of ``brand`` in [lo, hi), streamed once, each text reduced to its words."""
    label = effective_label()
    query = (
        select(MentionRow.id, MentionRow.text, MentionRow.url, MentionBrand.published_at, label)
        .join(MentionBrand, MentionBrand.mention_id == MentionRow.id)
        .where(
            and_(
                MentionBrand.brand == brand,
                MentionBrand.counted.is_(True),
                MentionBrand.published_at >= lo,
                MentionBrand.published_at < hi,
            )
        )
        .order_by(MentionRow.id)
    )
    docs: list[_Doc] = []
    with engine.connect() as conn:
        for mention_id, text, url, published, lab in conn.execution_options(yield_per=5000).execute(query):
            words = tuple(sorted(set(content_words(str(text or ""), stop))))
            docs.append(_Doc(int(mention_id), words, str(lab), url, published >= mid))
    return docs


def _texts(engine: Engine, ids: Sequence[int]) -> dict[int, str]:
    with engine.connect() as conn:
        rows = conn.execute(select(MentionRow.id, MentionRow.text).where(MentionRow.id.in_(list(ids)))).all()
    return {int(i): str(t or "") for i, t in rows}


_Profile = dict[str, float]


def _cosine(a: _Profile, b: _Profile) -> float:
    dot = sum(v * b.get(k, 0.0) for k, v in a.items())
    na = math.sqrt(sum(v * v for v in a.values()))
    nb = math.sqrt(sum(v * v for v in b.values()))
    return dot / (na * nb) if na > 0 and nb > 0 else 0.0


def _remembered(engine: Engine, brand: str) -> list[tuple[str, str, _Profile]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(ThemeRow.key, ThemeRow.name, ThemeRow.words)
            .where(ThemeRow.brand == brand)
            .order_by(ThemeRow.key)
        ).all()
    return [(str(k), str(n), {str(w): float(v) for w, v in (words or {}).items()}) for k, n, words in rows]


def _remember(
    engine: Engine, brand: str, found: Sequence[tuple[str, str, _Profile, bool]], at: datetime
) -> None:
    """Store new themes, move ``last_seen_at`` of those seen again; a concurrent insert of one key wins."""
    for key, name, profile, known in found:
        try:
            with engine.begin() as conn:
                if known:
                    conn.execute(
                        update(ThemeRow)
                        .where(and_(ThemeRow.brand == brand, ThemeRow.key == key, ThemeRow.last_seen_at < at))
                        .values(last_seen_at=at)
                    )
                else:
                    conn.execute(
                        insert(ThemeRow).values(
                            brand=brand,
                            key=key,
                            name=name,
                            words={w: round(v, 4) for w, v in profile.items()},
                            first_seen_at=at,
                            last_seen_at=at,
                        )
                    )
        except IntegrityError:
            continue  # another process remembered the same theme first: its row is as good as ours


def _match(
    profiles: Sequence[_Profile],
    names: Sequence[str],
    remembered: Sequence[tuple[str, str, _Profile]],
    brand: str,
    threshold: float,
) -> list[tuple[str, str, bool]]:
    """(key, name, known) per theme: the most similar remembered theme at ``threshold`` or above, else new."""
    out: list[tuple[str, str, bool] | None] = [None] * len(profiles)
    pairs = sorted(
        ((_cosine(p, r[2]), i, j) for i, p in enumerate(profiles) for j, r in enumerate(remembered)),
        key=lambda t: (-t[0], t[1], t[2]),
    )
    used: set[int] = set()
    for sim, i, j in pairs:
        if sim < threshold:
            break
        if out[i] is None and j not in used:
            used.add(j)
            out[i] = (remembered[j][0], remembered[j][1], True)
    taken = {r[0] for r in remembered}
    result: list[tuple[str, str, bool]] = []
    for i, name in enumerate(names):
        known = out[i]
        if known is None:
            key = hashlib.blake2b(f"{brand}\x00{name}".encode(), digest_size=6).hexdigest()
            while key in taken:
                key = hashlib.blake2b(key.encode(), digest_size=6).hexdigest()
            taken.add(key)
            known = (key, name, False)
        result.append(known)
    return result


# -- the entry point ----------------------------------------------------------------------------------


def brand_themes(
    source: Engine | HasEngine,
    brand: str,
    since: datetime,
    until: datetime,
    *,
    stop_terms: Iterable[str] = (),
    settings: ThemeSettings | None = None,
    remember: bool = True,
) -> list[Theme]:
    """Themes of ``brand``'s counted mentions in [since, until), largest first.

    The period of the same length before ``since`` gives each theme its ``previous`` count (its mentions are
    assigned to the same keywords). ``stop_terms`` are names to leave out of the words: pass the brand's
    aliases and the competitors' names (the brand's own name is always left out). With ``remember`` the
    themes are stored, so the next call keeps their names.
    """
    settings = settings or ThemeSettings()
    if until <= since:
        raise ValueError("the period is empty: until must be after since")
    engine = _engine(source)
    stop = stop_lemmas([brand, *stop_terms])
    docs = _read(engine, brand, since - (until - since), since, until, stop)
    current = [d for d in docs if d.current]
    n_docs = len(current)
    if n_docs == 0:
        return []

    df_all: Counter[str] = Counter()
    for d in current:
        df_all.update(d.words)
    min_df = max(settings.min_mentions, math.ceil(0.005 * n_docs))
    max_df = max(min_df, settings.max_keyword_share * n_docs)
    keywords = sorted((w for w, c in df_all.items() if min_df <= c <= max_df), key=lambda w: (-df_all[w], w))[
        : settings.max_keywords
    ]
    if len(keywords) < 2:
        return []
    keywords.sort()
    kw_index = {w: i for i, w in enumerate(keywords)}
    df = np.array([df_all[w] for w in keywords], dtype=np.float64)

    # One sparse pass: mentions x keywords, for co-occurrence now and assignment below.
    rows: list[int] = []
    cols: list[int] = []
    for r, d in enumerate(docs):
        for w in d.words:
            j = kw_index.get(w)
            if j is not None:
                rows.append(r)
                cols.append(j)
    incidence = sparse.csr_matrix(
        (np.ones(len(rows), dtype=np.float64), (rows, cols)), shape=(len(docs), len(keywords))
    )
    is_current = np.array([d.current for d in docs], dtype=bool)
    cur = incidence[np.flatnonzero(is_current)]
    cooc = np.asarray((cur.T @ cur).todense(), dtype=np.float64)
    clusters = _keyword_clusters(keywords, df, cooc, n_docs, settings)
    n_clusters = int(clusters.max()) + 1

    # Each mention goes to the theme whose keywords it uses most, by inverse document frequency.
    idf = np.log(n_docs / df)
    membership = sparse.csr_matrix(
        (idf, (np.arange(len(keywords)), clusters)), shape=(len(keywords), n_clusters)
    )
    scores = np.asarray((incidence @ membership).todense())
    best = np.argmax(scores, axis=1)
    doc_theme = np.where(scores[np.arange(len(docs)), best] > 0, best, -1)

    counts = Counter(int(c) for c, now in zip(doc_theme, is_current, strict=True) if now and c >= 0)
    floor = max(settings.min_mentions, math.ceil(settings.min_share * n_docs))
    kept = [c for c, n in sorted(counts.items(), key=lambda cn: (-cn[1], cn[0])) if n >= floor]
    kept = kept[: settings.max_themes]
    if not kept:
        return []

    members: dict[int, list[int]] = {c: [] for c in kept}
    previous: Counter[int] = Counter()
    for r, (c, now) in enumerate(zip(doc_theme, is_current, strict=True)):
        c = int(c)
        if c in members:
            if now:
                members[c].append(r)
            else:
                previous[c] += 1

    profiles: list[_Profile] = []
    names: list[str] = []
    words_of: list[tuple[str, ...]] = []
    for c in kept:
        theme_kw = [j for j in range(len(keywords)) if clusters[j] == c]
        used = np.asarray(incidence[members[c]][:, theme_kw].sum(axis=0)).ravel()
        share = used / len(members[c])
        order = sorted(range(len(theme_kw)), key=lambda i: (-used[i], keywords[theme_kw[i]]))
        top = tuple(keywords[theme_kw[i]] for i in order[: settings.name_words] if used[i] > 0)
        top = tuple(sorted(top, key=lambda w: not _is_noun(w)))  # "обман / висеть", not "висеть / обман"
        words_of.append(top)
        names.append(" / ".join(top))
        profiles.append({keywords[theme_kw[i]]: float(share[i]) for i in order if share[i] > 0})
    matched = _match(profiles, names, _remembered(engine, brand), brand, settings.match_similarity)
    if remember:
        found = [(k, n, p, known) for (k, n, known), p in zip(matched, profiles, strict=True)]
        _remember(engine, brand, found, until)

    # Examples: the mentions that use the most of their theme's keywords, distinct texts only.
    candidates: dict[int, list[int]] = {}
    for c in kept:
        ranked = sorted(members[c], key=lambda r: (-float(scores[r, c]), docs[r].mention_id))
        candidates[c] = ranked[:30]
    texts = _texts(engine, [docs[r].mention_id for c in kept for r in candidates[c]])
    themes: list[Theme] = []
    for (key, name, _known), c, top in zip(matched, kept, words_of, strict=True):
        labels = Counter(docs[r].label for r in members[c])
        examples: list[ThemeExample] = []
        seen: set[str] = set()
        for r in candidates[c]:
            d = docs[r]
            text = texts.get(d.mention_id, "")
            if text in seen:
                continue
            seen.add(text)
            examples.append(ThemeExample(d.mention_id, text, d.url, d.label))
            if len(examples) >= settings.examples:
                break
        n = len(members[c])
        prev = previous[c]
        themes.append(
            Theme(
                key=key,
                name=name,
                brand=brand,
                words=top,
                mentions=n,
                negative=labels.get("negative", 0),
                neutral=labels.get("neutral", 0),
                positive=labels.get("positive", 0),
                previous=prev,
                examples=tuple(examples),
                mention_ids=tuple(docs[r].mention_id for r in members[c]),
                rising=n >= settings.rising_min and (prev == 0 or n >= settings.rising_ratio * prev),
            )
        )
    return themes


def theme_rows(themes: Iterable[Theme]) -> list[dict[str, Any]]:
    """Export rows (:data:`THEME_COLUMNS`): ``change`` a fraction (empty for a new theme), example links."""
    rows: list[dict[str, Any]] = []
    for t in themes:
        change = t.change
        rows.append(
            {
                "theme": t.name,
                "brand": t.brand,
                "mentions": t.mentions,
                "negative": t.negative,
                "neutral": t.neutral,
                "positive": t.positive,
                "change": "" if change is None else round(change, 3),
                "examples": " ".join(e.url for e in t.examples if e.url),
            }
        )
    return rows
