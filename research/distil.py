"""Distil a trained e5 model (the teacher, 12 layers) into a shallower e5 encoder (the student).

    python -m research.e5_finetune --distil /work/runs/e5-mask --layers 7 --news-repeat 3 --epochs 2 \\
        --no-splits --out /work/runs/distil-L7

Why: the default must label 100 pairs/s on two cores, and the work per pair is nearly all in e5's layers.
A 6-layer model fine-tuned from e5's base on gold labels alone kept the tweets and news but lost what the
12-layer default read about structure (comparison posts, brands it never saw, organisations in news)
(docs/sentiment-experiments.md, round thirteen). Here the student

* starts from the **teacher's own fine-tuned bottom layers** (``init="teacher"``), which already learnt
  the marking (``[[ X ]]`` / ``{{ Y }}``), rather than from the raw base (``init="base"``);
* learns from the teacher's e5 head logits as soft targets as well as from gold:
  ``alpha · CE(gold) + (1 - alpha) · T² · KL(teacher_T || student_T)`` (:func:`distil_loss`), so what the
  teacher's ranking of the three labels says about a pair (how sure, which label is second) is kept;
* also sees items the gold-only recipe lacks: more two-brand comparisons from
  :func:`sentiment.synthetic.comparison_examples` (another seed; soft targets from the teacher too), and
  negated praise (:func:`negated_praise_examples`: "ни разу не подвёл", "ни одной претензии"), which the
  teacher reads as negative, so those items are learnt from their generator labels alone (no teacher).

Only the e5 part is replaced: the blend with the fast model and the clause reading are chosen again by
``research/choose.py`` for the student, as for any e5 run. The teacher's logits are computed once (in the
precision users run it in) and cached beside the run, keyed by the input, so a second run reuses them.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import time
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from sentiment.base import LABELS, Label, SentimentInput
from sentiment.corpora import as_input, validation_data
from sentiment.data import Example
from sentiment.e5 import E5Meta, E5SentimentModel, encode_marked, head_logits
from sentiment.e5_finetune import (
    MAX_TOKENS,
    Log,
    _batches,
    best_offsets,
    class_weights,
    f_pn_of,
    optimiser,
    train_step,
    with_news_repeated,
)
from sentiment.fast import FastSentimentModel
from sentiment.synthetic import _BAD_VP, _invented, comparison_examples

__all__ = [
    "distil_loss",
    "input_key",
    "negated_praise_examples",
    "student_from_teacher",
    "teacher_logits",
    "train_distilled",
]


def distil_loss(
    logits: torch.Tensor,
    gold: torch.Tensor,
    teacher: torch.Tensor,
    has_teacher: torch.Tensor,
    alpha: float,
    temperature: float,
    weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """The batch loss: per item ``a · CE(gold) + (1 - a) · T² · KL(softmax(teacher/T) || softmax(logits/T))``.

    ``a`` is ``alpha`` for items with a teacher (``has_teacher``) and 1 for the rest (their gold alone).
    ``weight`` are the class weights of the gold part; the CE terms are normalised by the batch's mean
    weight, so with every item taught and ``alpha = 1`` this is ``cross_entropy(logits, gold, weight)``
    exactly. T² keeps the soft part's gradient on the scale of the hard part's whatever the temperature
    (Hinton et al., 2015).
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be between 0 and 1, not {alpha}")
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, not {temperature}")
    a = torch.where(has_teacher, torch.tensor(alpha), torch.tensor(1.0))
    ce = nn.functional.cross_entropy(logits, gold, reduction="none")
    if weight is not None:
        w = weight[gold]
        ce = ce * w / w.mean()
    t = temperature
    log_student = torch.log_softmax(logits / t, -1)
    log_teacher = torch.log_softmax(teacher / t, -1)
    kl = (log_teacher.exp() * (log_teacher - log_student)).sum(-1)
    kl = torch.where(has_teacher, kl, torch.zeros_like(kl))  # no teacher: no soft term (nor NaN from it)
    return (a * ce + (1 - a) * t * t * kl).mean()


def input_key(item: SentimentInput) -> str:
    """A cache key of what the model reads for ``item`` (text, target, aliases, competitors)."""
    raw = json.dumps(
        [item.text, item.target, list(item.aliases), list(item.other_brands)], ensure_ascii=False
    )
    return hashlib.sha256(raw.encode()).hexdigest()[:20]


def teacher_logits(
    teacher: E5SentimentModel, items: Sequence[SentimentInput], cache: Path, log: Log = print
) -> torch.Tensor:
    """The teacher's e5 head logits (N, 3) for ``items``, computed once per distinct input and cached in
    ``cache`` (a torch file of ``{"version", "keys", "logits"}``; reused when the version matches)."""
    known: dict[str, torch.Tensor] = {}
    if cache.is_file():
        stored = torch.load(cache)
        if stored["version"] == teacher.version:
            known = dict(zip(stored["keys"], stored["logits"], strict=True))
    keys = [input_key(it) for it in items]
    todo: dict[str, SentimentInput] = {}
    for k, it in zip(keys, items, strict=True):
        if k not in known:
            todo.setdefault(k, it)
    if todo:
        t0 = time.time()
        new = teacher.e5_logits(teacher.encode(list(todo.values())))
        known.update(zip(todo, new, strict=True))
        log(f"teacher logits for {len(todo)} inputs in {time.time() - t0:.0f}s")
        cache.parent.mkdir(parents=True, exist_ok=True)
        torch.save(
            {
                "version": teacher.version,
                "keys": list(known),
                "logits": torch.stack(list(known.values())),
            },
            cache,
        )
    return torch.stack([known[k] for k in keys])


def student_from_teacher(teacher_dir: Path, fast: FastSentimentModel, layers: int) -> tuple[object, object]:
    """(tokenizer, encoder): the teacher's float32 encoder cut to its bottom ``layers`` layers."""
    teacher = E5SentimentModel.load(teacher_dir, fast, precision="float32")
    encoder = teacher.encoder
    encoder.keep_bottom(layers)
    return teacher.tokenizer, encoder


# Negated praise and its look-alikes. (template, label): {a} is the target, an invented name; {n} a count.
# The negative rows use the same negations ("ни разу не", "ни одного", "так и не") so that the model learns
# what is negated, not that a negation means praise. No switching verbs and no second brand in the phrase:
# those frames belong to the comparison generators and the comparison test sets, with which no four-word run
# is shared (tests/research/test_distil.py).
_NEGATED: tuple[tuple[str, Label], ...] = (
    ("{a} ни разу не подводил за {n} года", "positive"),
    ("{a} ни разу меня не подвел", "positive"),
    ("ни одной претензии к {a} за все время", "positive"),
    ("к {a} ни одной претензии, все четко", "positive"),
    ("не пожалел, что выбрал {a}", "positive"),
    ("ни на минуту не пожалела, что оформила карту {a}", "positive"),
    ("нисколько не жалею, что пользуюсь {a}", "positive"),
    ("с {a} никаких проблем уже {n} года", "positive"),
    ("у {a} ни одного сбоя с весны", "positive"),
    ("{a} никогда не подводил", "positive"),
    ("ничего плохого про {a} сказать не могу", "positive"),
    ("нареканий к {a} нет", "positive"),
    ("{a} ни разу не задержал выплату", "positive"),
    ("{a} не разочаровал", "positive"),
    ("не могу пожаловаться на {a}", "positive"),
    ("{a} ни разу не списал лишнего", "positive"),
    ("без единой жалобы пользуюсь {a} {n} года", "positive"),
    ("{a} ни разу не ответил на обращение", "negative"),
    ("ни одного ответа от {a} за неделю", "negative"),
    ("от {a} так и не дождался возврата", "negative"),
    ("{a} ни копейки не вернул", "negative"),
    ("пожалел, что выбрал {a}", "negative"),
    ("никогда больше не свяжусь с {a}", "negative"),
    ("{a} ни разу не решил проблему с первого раза", "negative"),
    ("ни одного нормального ответа от поддержки {a}", "negative"),
    ("{a} так и не починил приложение", "negative"),
    ("не советую {a} никому", "negative"),
    ("{a} пока не объявил новые тарифы", "neutral"),
    ("{a} не изменил условия вклада с прошлого года", "neutral"),
)
_NEGATED_TAILS = ("", ".", "!", ")", " :)", "...", ", рекомендую", ", так держать")
_NEGATIVE_TAILS = ("", ".", "!", "...", " :(", ", безобразие")


def negated_praise_examples(n: int, seed: int) -> list[Example]:
    """``n`` synthetic (text, brand) pairs of negated praise and its negative look-alikes (``_NEGATED``).

    Why: the models read "ни разу не подвёл" or "ни одной претензии" as complaints, and that is the brand
    chosen's reading in a switch ("... и ни разу не пожалел"), which the brand left's mirrored reading
    then inherits. A third of the texts follow a sentence with a complaint about another invented brand
    (its own pair, negative), as a post naming a competitor would.
    """
    rng = random.Random(seed)
    out: list[Example] = []
    while len(out) < n:
        template, label = rng.choice(_NEGATED)
        a = _invented(rng)
        tails = _NEGATIVE_TAILS if label == "negative" else _NEGATED_TAILS
        text = template.format(a=a, n=rng.choice(("два", "три", "четыре", "5", "10"))) + rng.choice(tails)
        group = f"negated:{len(out)}"
        if rng.random() < 1 / 3:
            b = _invented(rng)
            if b == a:
                continue
            text = f"{b} {rng.choice(_BAD_VP)}. {text[0].upper() + text[1:]}"
            out.append(Example(text, label, a, "synthetic", 0, 2, group, (), (b,)))
            out.append(Example(text, "negative", b, "synthetic", 0, 2, group, (), (a,)))
        else:
            out.append(Example(text[0].upper() + text[1:], label, a, "synthetic", 0, 1, group))
    return out[:n]


def train_distilled(
    datasets: Path,
    out_dir: Path,
    fast: FastSentimentModel,
    teacher_dir: Path,
    layers: int = 7,
    alpha: float = 0.5,
    temperature: float = 2.0,
    init: str = "teacher",
    epochs: int = 2,
    seed: int = 13,
    synthetic: int = 3000,
    more_comparisons: int = 2000,
    negated: int = 1000,
    news_repeat: int = 3,
    limit: int | None = None,
    teacher_precision: str = "int8",
    log: Log = print,
) -> E5SentimentModel:
    """Train a ``layers``-layer student of the e5 model in ``teacher_dir``, save it to ``out_dir`` (and
    after each epoch but the last to ``out_dir/epochN``), choose its offsets on dev and return it.

    The training items are those of :func:`sentiment.e5_finetune.train_e5` with ``validation=True`` (the
    validation splits held out; news ``news_repeat`` times; ``synthetic`` comparisons), plus
    ``more_comparisons`` comparisons of another seed and ``negated`` negated-praise pairs (gold only).
    """
    if init not in ("teacher", "base"):
        raise ValueError(f"init must be 'teacher' or 'base', not {init!r}")
    from sentiment.e5 import load_base

    data = validation_data(datasets, seed)
    if limit is not None:
        pick = random.Random(seed)
        data.train = pick.sample(data.train, min(limit, len(data.train)))
        data.dev = pick.sample(data.dev, min(limit, len(data.dev)))
        synthetic, more_comparisons, negated = (min(x, limit) for x in (synthetic, more_comparisons, negated))
    taught = with_news_repeated(data.train, news_repeat) + comparison_examples(synthetic, seed)
    if more_comparisons:
        taught += comparison_examples(more_comparisons, seed + 1000)
    untaught = negated_praise_examples(negated, seed) if negated else []
    train = taught + untaught
    has_teacher = torch.tensor([True] * len(taught) + [False] * len(untaught))

    teacher = E5SentimentModel.load(teacher_dir, fast, precision=teacher_precision)
    cache = out_dir.parent / f"teacher-{teacher.version}-{teacher_precision}.pt"
    soft = torch.zeros(len(train), 3)
    soft[: len(taught)] = teacher_logits(teacher, [as_input(e) for e in taught], cache, log)
    del teacher

    torch.manual_seed(seed)
    rng = random.Random(seed)
    if init == "teacher":
        tok, enc = student_from_teacher(teacher_dir, fast, layers)
    else:
        tok, enc = load_base(layers)
    enc.freeze_below(layers)  # type: ignore[attr-defined]
    head = nn.Linear(enc.config.hidden, 3)  # type: ignore[attr-defined]
    train_ids = [encode_marked(tok, as_input(e), MAX_TOKENS, "mask") for e in train]
    dev_ids = [encode_marked(tok, as_input(e), MAX_TOKENS, "mask") for e in data.dev]
    gold = torch.tensor([LABELS.index(e.label) for e in train])
    weight = class_weights(gold)
    batch_size = 32
    steps = epochs * math.ceil(len(train) / batch_size)
    opt, sched = optimiser(enc, head, steps)  # type: ignore[arg-type]
    log(
        f"distil: {len(taught)} taught + {len(untaught)} gold-only pairs, {layers} layers from {init}, "
        f"alpha {alpha}, T {temperature}, {epochs} epochs, seed {seed}"
    )
    recipe: dict[str, object] = {
        "top_layers": layers,
        "layers": layers,
        "epochs": epochs,
        "seed": seed,
        "marking": "mask",
        "synthetic": synthetic,
        "validation": True,
        "news_repeat": news_repeat,
        "distil": {
            "teacher": str(teacher_dir),
            "alpha": alpha,
            "temperature": temperature,
            "init": init,
            "more_comparisons": more_comparisons,
            "negated": negated,
            "teacher_precision": teacher_precision,
        },
    }
    for epoch in range(epochs):
        enc.train()  # type: ignore[attr-defined]
        t0 = time.time()
        batches = _batches(len(train_ids), batch_size, rng, lambda j: len(train_ids[j]))
        for k, b in enumerate(batches):
            ids, mask = tok.pad_ids([train_ids[j] for j in b])  # type: ignore[attr-defined]
            logits = head(enc.pool(enc(ids, mask), mask))  # type: ignore[attr-defined,operator]
            loss = distil_loss(logits, gold[b], soft[b], has_teacher[b], alpha, temperature, weight)
            train_step(loss, opt, sched, k, len(batches), t0, log)
        dev_logp = torch.log_softmax(head_logits(tok, enc, head, dev_ids), -1)
        log(
            f"epoch {epoch + 1}/{epochs}: dev F_PN {f_pn_of(dev_logp, data.dev):.4f}, {time.time() - t0:.0f}s"
        )
        if epoch + 1 < epochs:
            _save(fast, tok, enc, head, recipe, out_dir / f"epoch{epoch + 1}", data.dev, log)
    return _save(fast, tok, enc, head, recipe, out_dir, data.dev, log)


def _save(
    fast: FastSentimentModel,
    tok: object,
    enc: object,
    head: nn.Linear,
    recipe: dict[str, object],
    out_dir: Path,
    dev: Sequence[Example],
    log: Log,
) -> E5SentimentModel:
    """Store the student (4-bit differences, as every e5 model), reload it, choose its offsets on dev."""
    layers = int(recipe["layers"])  # type: ignore[call-overload]
    digest = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:6]
    distil = recipe["distil"]
    meta = E5Meta(
        model_id="loyalty-monitor/e5",
        version=f"e5-{time.strftime('%Y%m%d', time.gmtime())}-distil-{digest}",
        fast_version=fast.version,
        top_layers=layers,
        layers=layers,
        max_tokens=MAX_TOKENS,
        marking="mask",
        weight=1.0,
        trained_on=[
            "SentiRuEval-2016 bank + ttk train per-entity pairs (validation splits held out: later 20% by "
            "date, two brands per domain)",
            f"RuSentNE-2023 train (MIT) (20% of sentences held out), each pair {recipe['news_repeat']} "
            "times per epoch",
            f"{recipe['synthetic']} synthetic two-brand comparison pairs (real and invented names)",
            f"distilled from the 12-layer e5 model's head logits ({json.dumps(distil, ensure_ascii=False)})",
            "items without a target: the fast model's general head (RuSentiment, RuSentiTweet)",
        ],
        recipe=dict(recipe),
    )
    E5SentimentModel(fast, tok, enc, head, meta).save(out_dir)
    model = E5SentimentModel.load(out_dir, fast, precision="float32")
    dev_logp = torch.log_softmax(model.e5_logits(model.encode([as_input(e) for e in dev])), -1)
    score, (bn, bp) = best_offsets(dev_logp, dev)
    model.meta.bias = [bn, 0.0, bp]
    model.meta.metrics = {"dev/worst_f_pn_macro": round(score, 4)}
    model.save_meta(out_dir)
    log(f"saved {out_dir}: dev worst-part F_PN {score:.4f} with offsets {model.meta.bias}")
    return model
