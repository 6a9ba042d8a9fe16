"""Training the fast model on the public corpora, and adapting it to a team's own labels.

Full training is multi-task: RuSentiment + RuSentiTweet teach the ``general`` head, SentiRuEval-2016's
per-entity labels teach the ``entity`` head, and the shared encoder learns from all of them. Model selection
and the per-head logit offsets use dev splits cut from the training files only; the SentiRuEval tail (last
20% of tweets by date, per domain) stays unseen when ``holdout=True`` so the reported brand figures measure
what the product faces: later tweets about the same brands.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

import torch
from torch import nn

from sentiment.base import LABELS, Label, SentimentInput, SentimentModel
from sentiment.data import Example, load_general, load_sentirueval, time_split
from sentiment.fast import (
    HEAD_ENTITY,
    HEAD_GENERAL,
    FastConfig,
    FastMeta,
    FastSentimentModel,
    build_net,
    set_threads,
)
from sentiment.metrics import f_pn_macro, macro_f1

__all__ = ["Corpora", "adapt", "evaluate_fast", "load_corpora", "train_full"]

Log = Callable[[str], None]
T = TypeVar("T")


@dataclass
class Corpora:
    """Train / dev / test examples of the public corpora."""

    train: list[Example]
    dev: list[Example]
    tests: dict[str, list[Example]]


def load_corpora(datasets: Path, holdout: bool = True, seed: int = 13) -> Corpora:
    """Read all corpora under ``datasets`` and cut dev (and, with ``holdout``, the SentiRuEval tail)."""
    rng = random.Random(seed)
    general = load_general(datasets / "rusentiment" / "rusentiment_random_posts.csv", "rusentiment")
    general += load_general(datasets / "rusentiment" / "rusentiment_preselected_posts.csv", "rusentiment")
    general += load_general(datasets / "rusentitweet" / "rusentitweet_train.csv", "rusentitweet")
    rng.shuffle(general)
    n_dev = len(general) // 12
    train, dev = general[n_dev:], general[:n_dev]
    tests: dict[str, list[Example]] = {
        "rusentiment_test": load_general(datasets / "rusentiment" / "rusentiment_test.csv", "rusentiment"),
        "rusentitweet_test": load_general(
            datasets / "rusentitweet" / "rusentitweet_test.csv", "rusentitweet"
        ),
    }
    for name, file in (("banks", "bank_train.csv"), ("telecom", "ttk_train.csv")):
        ents = load_sentirueval(datasets / "sentirueval2016" / file, name)
        if holdout:
            ents, tail = time_split(ents, 0.2)
            tests[f"{name}_tail"] = tail
        ents, ent_dev = time_split(ents, 0.1)
        train += ents
        dev += ent_dev
    return Corpora(train, dev, tests)


# Contrastive templates for brand switching and comparison. ``{a}`` is the brand the writer turns away from
# (negative), ``{b}`` the one they prefer (positive); the ``regret`` templates flip that. Brand names are
# masked to role tokens by the featurizer, so the templates teach how *position in the construction*
# ("из X в Y", "с X на Y", "X хуже Y") decides the sentiment, which SentiRuEval has too few examples of.
_SWITCH = (
    "{verb} из {a} в {b}",
    "{verb} с {a} на {b}",
    "{verb} от {a} к {b}",
    "поменял {a} на {b}",
    "сменила {a} на {b}",
    "перевел зарплату из {a} в {b}",
    "закрыла карту {a} и открыла в {b}",
    "{b} лучше чем {a}",
    "{a} хуже чем {b}",
    "после {a} {b} просто сказка",
    "наконец-то избавился от {a}, теперь в {b}",
    "бегите из {a} в {b}",
)
_VERBS = ("ушел", "ушла", "перешел", "перешла", "свалил", "сбежал", "переехал", "ушёл")
_TAILS = (
    ", доволен",
    ", довольна",
    " и не жалею",
    ", счастлив",
    ". наконец-то",
    "",
    " и доволен как слон",
    ", всем советую",
    ". лучшее решение",
    " )))",
    "!",
    ", небо и земля",
)
_REGRET = (
    "зря {verb} из {a} в {b}, верните как было",
    "{verb} из {a} в {b} и пожалел",
    "{verb} с {a} на {b}, теперь жалею",
)
_NEUTRAL = (
    "{a} и {b} объявили о партнерстве",
    "{a} и {b} опубликовали отчетность",
    "{a} опередил {b} по числу клиентов",
    "сравнение тарифов {a} и {b}",
)
_DOMAINS = (
    ("sberbank", "vtb", "alfabank", "raiffeisen", "tinkoff", "otkritie", "gazprom", "pochtabank", "uralsib"),
    ("beeline", "mts", "megafon", "tele2", "rostelecom", "yota"),
)


# One-brand opinions whose polarity is decided by negation or by a contrast, each paired with a twin of the
# opposite label built from the same words. SentiRuEval's tweets rarely praise by negating a complaint ("ни
# одного сбоя", "не пожалеете"), so the network learned that a negative word near a brand is bad for it and
# read such praise as a complaint. The twins make the negation (or the clause after "но"/"а"), not the
# word, the only cue that separates the labels. Each entry is (positive phrase, negative phrase).
_NEGATED = (
    ("не пожалеете", "пожалеете"),
    ("ни разу не пожалел", "сто раз пожалел"),
    ("ни одного сбоя за {period}", "{period} сплошные сбои"),
    ("никаких проблем за {period}", "{period} одни проблемы"),
    ("все прошло без проблем", "все прошло с проблемами"),
    ("ни одной задержки", "опять задержка"),
    ("жалоб нет", "одни жалобы"),
    ("претензий никаких", "претензий куча"),
    ("ни разу не подвел", "опять подвел"),
    ("не бесит", "бесит"),
    ("приложение ни разу не глючило", "приложение постоянно глючит"),
    ("ни копейки лишней не списали", "опять списали лишнее"),
    ("ничего не тормозит", "все тормозит"),
    ("никто не навязывает страховку", "опять навязывают страховку"),
    ("ждать не пришлось", "пришлось ждать час"),
    ("связь не пропадает", "связь пропадает"),
    ("ни одного обрыва", "постоянные обрывы"),
    ("ошибок не было", "ошибка за ошибкой"),
    ("советую", "не советую"),
    ("рекомендую", "не рекомендую"),
    ("сразу помогли", "не помогли"),
    ("отвечают за минуту", "не отвечают"),
    ("деньги вернули", "деньги не вернули"),
    ("дозвонилась сразу", "не дозвониться"),
    ("починили за день", "так ничего и не починили"),
)
_FRAMES = ("{b}: {p}", "с {b} {p}", "у {b} {p}", "в {b} {p}", "{p}, {b}", "{b} - {p}", "про {b}: {p}")
_PERIODS = ("год", "полгода", "три года", "месяц", "все время")
_GOOD = (
    "все сделали за пять минут",
    "все решили с первого звонка",
    "вернули деньги на следующий день",
    "починили за час",
    "все работает как часы",
    "все отлично",
)
_BAD = (
    "все испортили",
    "опять все сломали",
    "снова потеряли платеж",
    "опять отключили связь",
    "все висит",
    "одни ошибки",
)
# (positive frame, negative frame): the part after "но" / "а" decides.
_CONTRAST = (
    ("думал, {b} опять {bad}, но нет - {good}", "думал, у {b} {good}, но нет - {bad}"),
    ("все ругают {b}, а у меня {good}", "все хвалят {b}, а у меня {bad}"),
    ("в другом банке {bad}, а в {b} {good}", "в другом банке {good}, а в {b} {bad}"),
    ("сначала сомневалась насчет {b}, но {good}", "сначала {b} нравился, но теперь {bad}"),
)
_OPINION_TAILS = ("", "!", ".", "...", " !!!", ")")


def opinion_examples(n: int, seed: int) -> list[Example]:
    """``n`` synthetic one-brand pairs (a praise and its complaint twin, see ``_NEGATED``/``_CONTRAST``)."""
    from sentiment.text import BRAND_ALIASES

    rng = random.Random(seed)
    out: list[Example] = []
    while len(out) < n:
        key = rng.choice(rng.choice(_DOMAINS))
        b = rng.choice(BRAND_ALIASES[key][:3])
        b = b.title() if rng.random() < 0.5 else b
        if rng.random() < 0.7:
            pair = rng.choice(_NEGATED)
            frame, period = rng.choice(_FRAMES), rng.choice(_PERIODS)
            texts = [frame.format(b=b, p=p.format(period=period)) for p in pair]
        else:
            good, bad = rng.choice(_GOOD), rng.choice(_BAD)
            texts = [t.format(b=b, good=good, bad=bad) for t in rng.choice(_CONTRAST)]
        tail = rng.choice(_OPINION_TAILS)
        group = f"opinion:{len(out)}"
        for text, label in zip(texts, ("positive", "negative"), strict=True):
            text = text[0].upper() + text[1:] if rng.random() < 0.5 else text
            out.append(Example(text + tail, label, key, "synthetic", 0, 1, group))  # type: ignore[arg-type]
    return out


def switch_examples(n: int, seed: int) -> list[Example]:
    """``n`` synthetic (text, brand) pairs: each template is labelled for both brands it names.

    Why: the implicit switch ("ушёл из Сбера в Тинькофф, доволен") carries opposite sentiment for the two
    brands, but the real data has only a handful of such tweets, so the network read it as positive for
    both. Pairs come in twos from one text, so the only cue that separates the labels is the brand's role.
    """
    from sentiment.text import BRAND_ALIASES

    rng = random.Random(seed)
    out: list[Example] = []
    while len(out) < n:
        keys = rng.sample(rng.choice(_DOMAINS), 2)
        a, b = (rng.choice(BRAND_ALIASES[k][:3]) for k in keys)
        a, b = (x.title() if rng.random() < 0.5 else x for x in (a, b))
        verb = rng.choice(_VERBS)
        kind = rng.random()
        if kind < 0.75:
            text = rng.choice(_SWITCH).format(verb=verb, a=a, b=b) + rng.choice(_TAILS)
            labels: tuple[Label, Label] = ("negative", "positive")
        elif kind < 0.88:
            text = rng.choice(_REGRET).format(verb=verb, a=a, b=b)
            labels = ("positive", "negative")
        else:
            text = rng.choice(_NEUTRAL).format(a=a, b=b)
            labels = ("neutral", "neutral")
        group = f"synthetic:{len(out)}"
        out.append(Example(text, labels[0], keys[0], "synthetic", 0, 2, group))
        out.append(Example(text, labels[1], keys[1], "synthetic", 0, 2, group))
    return out


def _chunk_roles(chunks: Sequence[str], target: str) -> list[bool]:
    """Per whitespace chunk: does it hold (part of) a brand name, the target's or another's?"""
    from sentiment.text import locate, tokenize

    toks = [tokenize(c) for c in chunks]
    roles = locate([t for ts in toks for t in ts], target)
    out, i = [], 0
    for ts in toks:
        out.append(any(roles[i : i + len(ts)]))
        i += len(ts)
    return out


@lru_cache(maxsize=65536)
def _pos(chunk: str) -> str | None:
    from sentiment.text import _morph

    word = chunk.strip(".,!?:;()\"'«»-").lower()
    if not word.isalpha():
        return None
    return str(_morph().parse(word)[0].tag.POS)


def augmented_examples(examples: Sequence[Example], per_example: int, seed: int = 0) -> list[Example]:
    """``per_example`` perturbed copies of each targeted pair, unlabelled (``label`` is a placeholder).

    Why: the BiGRU cannot reach the fine-tuned transformer by copying its probabilities on the 14k real
    pairs alone; a larger transfer set of nearby texts, each scored by the teacher, passes on how the
    teacher's judgement changes as words change. Perturbations as in Tang et al. 2019 ("Distilling
    task-specific knowledge from BERT into simple neural networks"), on whitespace chunks so case and
    punctuation survive for the teacher: drop a chunk (p 0.1), swap it for a corpus word of the same part
    of speech (p 0.1), then with p 0.25 keep only a window of 4-12 chunks around the target. Brand names
    are never touched. The seed is fixed apart from the training seed, so one teacher scoring serves all.
    """
    rng = random.Random(seed)
    targeted = [e for e in examples if e.target is not None]
    by_pos: dict[str, list[str]] = {}
    seen: set[str] = set()
    for e in targeted:
        for c in e.text.split():
            if c not in seen:
                seen.add(c)
                pos = _pos(c)
                if pos:
                    by_pos.setdefault(pos, []).append(c)
    out: list[Example] = []
    have = {(e.text, e.target) for e in targeted}
    for e in targeted:
        assert e.target is not None
        chunks = e.text.split()
        brand = _chunk_roles(chunks, e.target)
        where = [i for i, b in enumerate(brand) if b]
        for _ in range(per_example):
            new: list[str] = []
            keep: list[bool] = []
            for c, b in zip(chunks, brand, strict=True):
                r = rng.random()
                if b or r >= 0.2:
                    new.append(c)
                elif r < 0.1:
                    continue
                else:
                    pool = by_pos.get(_pos(c) or "", [])
                    new.append(rng.choice(pool) if pool else c)
                keep.append(b)
            if where and len(new) > 6 and rng.random() < 0.25:
                at = rng.choice([i for i, b in enumerate(keep) if b])
                width = rng.randint(4, 12)
                lo = max(0, at - rng.randint(0, width - 1))
                new = new[lo : lo + width]
            text = " ".join(new)
            if (text, e.target) not in have:
                have.add((text, e.target))
                out.append(Example(text, e.label, e.target, "augmented", e.date, e.n_entities, e.group))
    return out


def _inputs(examples: Sequence[Example]) -> list[SentimentInput]:
    return [SentimentInput(e.text, e.target) for e in examples]


def _batches(
    items: Sequence[T], batch_size: int, rng: random.Random, length: Callable[[T], int] | None = None
) -> list[list[T]]:
    """Shuffled batches of similar length (less padding, faster training) in random order.

    Buckets of 50 batches are sorted by ``length`` (default: the example's text length), cut into batches,
    and the batches shuffled.
    """
    key: Callable[[Any], int] = length or (lambda e: len(e.text))
    ex = list(items)
    rng.shuffle(ex)
    chunk = batch_size * 50
    out: list[list[T]] = []
    for s in range(0, len(ex), chunk):
        part = sorted(ex[s : s + chunk], key=key)
        out.extend(part[i : i + batch_size] for i in range(0, len(part), batch_size))
    rng.shuffle(out)
    return out


def _class_weights(examples: Sequence[Example]) -> torch.Tensor:
    """Per head, inverse square-root class frequency: lifts rare positive/negative without overshooting."""
    w = torch.ones(2, 3)
    for head in (HEAD_GENERAL, HEAD_ENTITY):
        counts = torch.ones(3)
        for e in examples:
            if (e.target is not None) == (head == HEAD_ENTITY):
                counts[LABELS.index(e.label)] += 1
        w[head] = (counts.sum() / counts).sqrt()
        w[head] /= w[head].mean()
    return w


def _score(examples: Sequence[Example], preds: Sequence[str]) -> float:
    """Model selection score: mean of general macro-F1 and entity F_PN-macro (whichever are present)."""
    parts = []
    gen = [(e.label, p) for e, p in zip(examples, preds, strict=True) if e.target is None]
    ent = [(e.label, p) for e, p in zip(examples, preds, strict=True) if e.target is not None]
    if gen:
        parts.append(macro_f1([g for g, _ in gen], [p for _, p in gen]))
    if ent:
        parts.append(f_pn_macro([g for g, _ in ent], [p for _, p in ent]))
    return sum(parts) / len(parts)


def tune_bias(model: FastSentimentModel, dev: Sequence[Example]) -> list[list[float]]:
    """Per-head additive logit offsets for negative and positive that maximise the dev metric."""
    model.meta.bias = [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    model._bias = torch.zeros(2, 3)
    logits = model.logits(_inputs(dev))
    bias = [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    grid = [x / 10 for x in range(-15, 16)]
    for head in (HEAD_GENERAL, HEAD_ENTITY):
        idx = [i for i, e in enumerate(dev) if (e.target is not None) == (head == HEAD_ENTITY)]
        if len(idx) < 30:
            continue
        lg = logits[idx]
        gold = [dev[i].label for i in idx]
        metric = macro_f1 if head == HEAD_GENERAL else f_pn_macro
        best = (metric(gold, [LABELS[k] for k in lg.argmax(-1).tolist()]), 0.0, 0.0)
        for bn in grid:
            for bp in grid:
                pred = (lg + torch.tensor([bn, 0.0, bp])).argmax(-1).tolist()
                s = metric(gold, [LABELS[k] for k in pred])
                if s > best[0] + 1e-9:
                    best = (s, bn, bp)
        bias[head] = [best[1], 0.0, best[2]]
    model.meta.bias = bias
    model._bias = torch.tensor(bias)
    return bias


def _fit(
    model: FastSentimentModel,
    train: list[Example],
    dev: list[Example],
    epochs: int,
    lr: float,
    log: Log,
    seed: int,
    batch_size: int = 64,
    soft: dict[tuple[str, str | None], torch.Tensor] | None = None,
    distill: float = 0.0,
) -> None:
    """Train ``model.net`` on ``train``; keep the epoch with the best dev score.

    With ``soft`` (teacher probabilities per (text, target)) and ``distill`` = a, the loss of a pair the
    teacher scored is (1 - a) · cross-entropy to its label + a · cross-entropy to the teacher's distribution;
    an augmented pair (source "augmented", no label of its own) learns from the teacher alone.
    """
    net = model.net
    rng = random.Random(seed)
    torch.manual_seed(seed)
    weights = _class_weights(train)
    opt = torch.optim.AdamW(
        [
            {"params": [net.ngram.weight], "weight_decay": 0.0},
            {"params": [p for n, p in net.named_parameters() if n != "ngram.weight"], "weight_decay": 1e-4},
        ],
        lr=lr,
    )
    batches_per_epoch = (len(train) + batch_size - 1) // batch_size
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=lr, total_steps=epochs * batches_per_epoch, pct_start=0.1
    )
    best: tuple[float, dict[str, torch.Tensor] | None] = (-1.0, None)
    for epoch in range(epochs):
        net.train()
        t0, total, n = time.time(), 0.0, 0
        for batch_ex in _batches(train, batch_size, rng):
            batch = model.featurizer.batch(_inputs(batch_ex))
            gold = torch.tensor([LABELS.index(e.label) for e in batch_ex])
            logits = net(batch)
            loss = nn.functional.cross_entropy(logits, gold, weight=None, reduction="none")
            loss = loss * weights[batch["head"], gold]
            if soft:
                idx = [i for i, e in enumerate(batch_ex) if (e.text, e.target) in soft]
                if idx:
                    target = torch.stack([soft[(batch_ex[i].text, batch_ex[i].target)] for i in idx])
                    kd = -(target * torch.log_softmax(logits[idx], -1)).sum(-1)
                    # Augmented texts have no label of their own: the teacher is all they learn from.
                    mix = torch.tensor([1.0 if batch_ex[i].source == "augmented" else distill for i in idx])
                    loss[idx] = (1 - mix) * loss[idx] + mix * kd
            loss = loss.mean()
            opt.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            nn.utils.clip_grad_norm_(net.parameters(), 5.0)
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(batch_ex)
            n += len(batch_ex)
        if dev:
            preds = [r.label for r in model.predict(_inputs(dev))]
            score = _score(dev, preds)
            if score > best[0]:
                best = (score, {k: v.clone() for k, v in net.state_dict().items()})
            log(
                f"epoch {epoch + 1}/{epochs}: loss {total / max(n, 1):.4f}, "
                f"dev {score:.4f}, {time.time() - t0:.0f}s"
            )
        else:
            log(f"epoch {epoch + 1}/{epochs}: loss {total / max(n, 1):.4f}, {time.time() - t0:.0f}s")
    if best[1] is not None:
        net.load_state_dict(best[1])
    net.eval()


def evaluate_fast(model: SentimentModel, tests: dict[str, list[Example]]) -> dict[str, float]:
    """Macro-F1 on general tests; F_PN-macro, macro-F1 and multi-entity accuracy on brand tests."""
    out: dict[str, float] = {}
    for name, examples in tests.items():
        preds = [r.label for r in model.predict(_inputs(examples))]
        gold = [e.label for e in examples]
        out[f"{name}/macro_f1"] = round(macro_f1(gold, preds), 4)
        if any(e.target for e in examples):
            out[f"{name}/f_pn_macro"] = round(f_pn_macro(gold, preds), 4)
            multi = [(g, p) for e, g, p in zip(examples, gold, preds, strict=True) if e.n_entities > 1]
            if multi:
                out[f"{name}/multi_entity_accuracy"] = round(sum(g == p for g, p in multi) / len(multi), 4)
                out[f"{name}/multi_entity_pairs"] = len(multi)
    return out


def teacher_probabilities(
    directory: Path, examples: Sequence[Example], log: Log = print
) -> dict[tuple[str, str | None], torch.Tensor]:
    """The e5 model's own probabilities (no blend, no offsets) for each distinct (text, target) pair."""
    from sentiment.e5 import E5SentimentModel
    from sentiment.registry import SHIPPED_DIR

    fast = FastSentimentModel.load(SHIPPED_DIR)
    model = E5SentimentModel.load(directory, fast, precision="float32")
    pairs = sorted({(e.text, e.target) for e in examples}, key=lambda p: (p[0], p[1] or ""))
    t0 = time.time()
    logits = model.e5_logits(model.encode([SentimentInput(t, g) for t, g in pairs]))
    log(f"teacher probabilities for {len(pairs)} pairs, {time.time() - t0:.0f}s")
    return dict(zip(pairs, torch.softmax(logits, -1), strict=True))


def train_full(
    datasets: Path,
    out_dir: Path,
    holdout: bool = True,
    epochs: int = 2,
    lr: float = 3e-3,
    seed: int = 13,
    log: Log = print,
    config: FastConfig | None = None,
    entity_repeat: int = 2,
    synthetic: int = 2000,
    teacher: Path | None = None,
    distill: float = 0.3,
    opinions: int = 0,
    augment: int = 0,
) -> FastSentimentModel:
    """Train from the public corpora and save to ``out_dir``; returns the model with its test figures.

    SentiRuEval pairs are repeated ``entity_repeat`` times per epoch (they are the only target-labelled
    data, 14k pairs beside 39k general posts) and ``synthetic`` template pairs teach brand switching.
    ``teacher`` (an e5 model directory) adds its probabilities for every targeted training pair as soft
    targets with weight ``distill``: the fine-tuned transformer generalises better, the BiGRU is 40x faster.
    ``augment`` perturbed copies of each SentiRuEval pair (:func:`augmented_examples`), scored by the
    teacher alone, widen what the teacher passes on: this is what lifts the bank tail (docs/sentiment.md).
    """
    if augment and teacher is None:
        raise ValueError("augment needs a teacher to score the augmented texts")
    set_threads()
    corpora = load_corpora(datasets, holdout=holdout, seed=seed)
    entity = [e for e in corpora.train if e.target is not None]
    corpora.train += entity * (entity_repeat - 1) + switch_examples(synthetic, seed)
    corpora.train += opinion_examples(opinions, seed)
    if augment:
        corpora.train += augmented_examples(entity, augment)
    log(f"train {len(corpora.train)} examples, dev {len(corpora.dev)}")
    torch.manual_seed(seed)
    cfg = config or FastConfig()
    stamp = datetime.now(UTC).strftime("%Y%m%d")
    # The recipe hash keeps two trainings of one day with different settings apart (the e5 model and
    # stored labels refer to a model by version).
    settings: dict[str, object] = {
        "epochs": epochs,
        "lr": lr,
        "seed": seed,
        "repeat": entity_repeat,
        "synthetic": synthetic,
    }
    if opinions:
        settings["opinions"] = opinions
    if augment:
        settings["augment"] = augment
    soft = None
    if teacher is not None:
        # Not the synthetic templates: their labels are certain by construction, and e5, which reads
        # "ушёл из X в Y, доволен" as praise of both brands, would unteach the switch they exist for.
        scored = [e for e in corpora.train if e.target is not None and e.source != "synthetic"]
        soft = teacher_probabilities(teacher, scored, log)
        settings.update(teacher=teacher.name, distill=distill, scored="real pairs")
    settings.update(cfg.__dict__)
    recipe = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:6]
    meta = FastMeta(
        version=f"default-{stamp}-{'heldout' if holdout else 'full'}-{recipe}",
        config=cfg,
        trained_on=[
            "RuSentiment (random + preselected posts; CC BY-NC-SA 4.0)",
            "RuSentiTweet train",
            "SentiRuEval-2016 bank + ttk train" + (" (last 20% by date held out)" if holdout else ""),
            f"{synthetic} synthetic brand-switching pairs; SentiRuEval repeated x{entity_repeat}",
            *(
                [f"{opinions} synthetic one-brand opinions (negated complaints and their twins)"]
                if opinions
                else []
            ),
            *([f"soft targets (weight {distill}) from the e5 model in {teacher.name}"] if teacher else []),
            *(
                [f"{augment} perturbed copies of each SentiRuEval pair, labelled by the teacher"]
                if augment
                else []
            ),
        ],
    )
    model = FastSentimentModel(build_net(cfg), meta)
    _fit(model, corpora.train, corpora.dev, epochs, lr, log, seed, soft=soft, distill=distill)
    bias = tune_bias(model, corpora.dev)
    log(f"logit offsets {bias}")
    model.meta.metrics = evaluate_fast(model, corpora.tests)
    log(json.dumps(model.meta.metrics, indent=2))
    model.save(out_dir)
    return model


def adapt(
    base: FastSentimentModel,
    examples: list[Example],
    model_dir: Path,
    epochs: int = 6,
    lr: float = 1e-3,
    seed: int = 13,
    log: Log = print,
) -> tuple[FastSentimentModel, Path]:
    """Fine-tune ``base`` on a team's labels; write a new version under ``model_dir`` and mark it CURRENT.

    A fifth of the examples (at least one per class where possible) is held out to report the before/after
    figures, then the final model is fitted on all of them. The version is ``default-<date>-<hash>`` where
    the hash covers the base version and the data, so the same data on the same base gives the same name.
    """
    set_threads()
    if not examples:
        raise ValueError("no labelled examples to adapt on")
    digest = hashlib.sha256(base.version.encode())
    for e in examples:
        digest.update(f"{e.text}\t{e.label}\t{e.target or ''}\n".encode())
    version = f"default-{datetime.now(UTC).strftime('%Y%m%d')}-{digest.hexdigest()[:8]}"
    rng = random.Random(seed)
    shuffled = examples[:]
    rng.shuffle(shuffled)
    n_dev = len(shuffled) // 5 if len(shuffled) >= 20 else 0
    dev, train = shuffled[:n_dev], shuffled[n_dev:]
    metrics: dict[str, float] = {}
    if dev:
        before = [r.label for r in base.predict(_inputs(dev))]
        metrics["before/macro_f1"] = round(macro_f1([e.label for e in dev], before), 4)
    state = {k: v.clone() for k, v in base.net.state_dict().items()}
    meta = FastMeta.from_json(base.meta.to_json())
    meta.version, meta.parent = version, base.version
    meta.trained_on = [*base.meta.trained_on, f"adapted on {len(examples)} team-labelled examples"]
    model = FastSentimentModel(build_net(meta.config), meta)
    model.net.load_state_dict(state)
    _fit(model, train, [], epochs, lr, log, seed, batch_size=16)
    if dev:
        after = [r.label for r in model.predict(_inputs(dev))]
        metrics["after/macro_f1"] = round(macro_f1([e.label for e in dev], after), 4)
        log(
            f"held-out {len(dev)} examples: macro-F1 "
            f"{metrics['before/macro_f1']} -> {metrics['after/macro_f1']}"
        )
        # Final fit on everything, from the base weights again, so no labelled example is wasted.
        model.net.load_state_dict(state)
        _fit(model, shuffled, [], epochs, lr, log, seed, batch_size=16)
    model.meta.metrics = metrics
    out = model_dir / version
    model.save(out)
    from sentiment.registry import set_current

    set_current(model_dir, version)
    return model, out
