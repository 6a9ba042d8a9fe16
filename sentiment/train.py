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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import torch
from torch import nn

from sentiment.augment import augmented_examples
from sentiment.base import LABELS, SentimentInput, SentimentModel
from sentiment.corpora import Corpora, as_inputs, load_corpora
from sentiment.data import Example
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
from sentiment.synthetic import switch_examples

__all__ = [
    "Corpora",
    "adapt",
    "evaluate_fast",
    "load_corpora",
    "train_full",
]  # Corpora, load_corpora: re-exported

Log = Callable[[str], None]
T = TypeVar("T")


def _inputs(examples: Sequence[Example]) -> list[SentimentInput]:
    return as_inputs(examples)


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
    from sentiment.registry import FAST_DIR

    fast = FastSentimentModel.load(FAST_DIR)
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
