"""Train the default model: fine-tune e5-small on target-marked pairs of brand tweets, news and comparisons.

``loyalty-monitor sentiment train --backend e5 --out sentiment/e5_model`` calls :func:`train_e5`;
``python -m research.e5_finetune`` runs the same recipe with other knobs (see research/README.md).

The recipe (docs/sentiment.md): all 12 layers and a linear head on mean-pooled states, one epoch, AdamW
(encoder lr 1e-4, head 1e-3, one-cycle), batch 32, class weights of inverse square-root frequency, texts
cut to 96 tokens. Training data: SentiRuEval-2016 per-entity pairs, RuSentNE-2023 news entities and
synthetic two-brand comparisons (:func:`sentiment.synthetic.comparison_examples`). The target and the
other brands of a text are masked to placeholders (``marking="mask"``), so the model reads constructions,
not brand names. With ``validation=True`` (the default) everything :func:`sentiment.corpora.validation_data`
holds out stays out, so the figures written to meta.json are on text the model never saw. The stored
layers are quantised *before* the offsets are chosen on dev, so the figures are those of the stored weights.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from torch import nn

from sentiment.base import LABELS
from sentiment.corpora import as_input, validation_data
from sentiment.data import Example
from sentiment.e5 import E5Meta, E5SentimentModel, encode_marked, head_logits, load_base
from sentiment.fast import FastSentimentModel
from sentiment.metrics import f_pn_macro
from sentiment.synthetic import comparison_examples, frame_examples

__all__ = [
    "best_offsets",
    "class_weights",
    "f_pn_of",
    "fine_tune",
    "optimiser",
    "train_e5",
    "train_step",
    "with_news_repeated",
]

_GRID = [x / 10 for x in range(-15, 21)]
MAX_TOKENS = 96
Log = Callable[[str], None]


def f_pn_of(
    logp: torch.Tensor, examples: Sequence[Example], offsets: tuple[float, float] = (0.0, 0.0)
) -> float:
    """F_PN-macro of scores ``logp`` (N, 3) shifted by negative/positive ``offsets``."""
    shifted = logp + torch.tensor([offsets[0], 0.0, offsets[1]])
    return f_pn_macro([e.label for e in examples], [LABELS[k] for k in shifted.argmax(-1).tolist()])


def best_offsets(logp: torch.Tensor, dev: Sequence[Example]) -> tuple[float, tuple[float, float]]:
    """The offsets that maximise the *worse* of the dev F_PN of tweets and of news (both must hold)."""
    parts = [
        [i for i, e in enumerate(dev) if not e.source.startswith("rusentne")],
        [i for i, e in enumerate(dev) if e.source.startswith("rusentne")],
    ]
    parts = [p for p in parts if p]

    def worst(off: tuple[float, float]) -> float:
        return min(f_pn_of(logp[p], [dev[i] for i in p], off) for p in parts)

    return max((worst((bn, bp)), (bn, bp)) for bn in _GRID for bp in _GRID)


def _batches(n: int, size: int, rng: random.Random, length: Callable[[int], int]) -> list[list[int]]:
    """Shuffled batches of similar length (less padding): buckets of 50 batches sorted by length."""
    order = list(range(n))
    rng.shuffle(order)
    out: list[list[int]] = []
    for s in range(0, n, size * 50):
        part = sorted(order[s : s + size * 50], key=length)
        out.extend(part[i : i + size] for i in range(0, len(part), size))
    rng.shuffle(out)
    return out


def class_weights(gold: torch.Tensor) -> torch.Tensor:
    """Per-class loss weights, the square root of inverse frequency, mean 1: the rarer polar classes count
    more without letting a few examples dominate."""
    counts = torch.bincount(gold, minlength=3).float().clamp(min=1)
    weight = (counts.sum() / counts).sqrt()
    return weight / weight.mean()


def optimiser(
    enc: nn.Module, head: nn.Module, steps: int
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
    """AdamW with a one-cycle schedule: the encoder's trainable layers at 1e-4, the fresh head at 1e-3
    (a new head needs to move further than pretrained layers should)."""
    params = [p for p in enc.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(
        [{"params": params, "lr": 1e-4}, {"params": head.parameters(), "lr": 1e-3}], weight_decay=0.01
    )
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[1e-4, 1e-3], total_steps=steps, pct_start=0.1)
    return opt, sched


def train_step(
    loss: torch.Tensor,
    opt: torch.optim.Optimizer,
    sched: torch.optim.lr_scheduler.LRScheduler,
    step: int,
    steps: int,
    started: float,
    log: Log,
) -> None:
    """One optimiser step on ``loss`` (zero the gradients, back-propagate, step, advance the schedule),
    logged every 50 steps with the loss and the seconds since ``started``.

    Shared by :func:`fine_tune` and the distillation (``research/distil.py``), so the two recipes step
    and log alike.
    """
    opt.zero_grad()
    loss.backward()  # type: ignore[no-untyped-call]
    opt.step()
    sched.step()
    if step % 50 == 0:
        log(f"  step {step}/{steps} loss {float(loss.detach()):.3f} {time.time() - started:.0f}s")


def fine_tune(
    train: Sequence[Example],
    dev: Sequence[Example],
    marking: str = "mask",
    top: int = 12,
    epochs: int = 1,
    seed: int = 13,
    log: Log = print,
    layers: int = 12,
) -> tuple[object, object, nn.Linear]:
    """Fine-tune the top ``top`` of e5-small's bottom ``layers`` layers (the rest dropped) and a head on
    ``train``; returns (tokenizer, encoder, head)."""
    torch.manual_seed(seed)
    rng = random.Random(seed)
    tok, enc = load_base(layers)
    enc.freeze_below(min(top, layers))
    head = nn.Linear(enc.config.hidden, 3)
    t0 = time.time()
    train_ids = [encode_marked(tok, as_input(e), MAX_TOKENS, marking) for e in train]
    dev_ids = [encode_marked(tok, as_input(e), MAX_TOKENS, marking) for e in dev]
    log(f"tokenised {len(train_ids)} + {len(dev_ids)} texts in {time.time() - t0:.0f}s")
    gold = torch.tensor([LABELS.index(e.label) for e in train])
    weight = class_weights(gold)
    batch_size = 32
    opt, sched = optimiser(enc, head, epochs * math.ceil(len(train) / batch_size))
    log(
        f"e5: {len(train)} training pairs, marking {marking}, {layers} layers (top {min(top, layers)} "
        f"trained), {epochs} epochs, seed {seed}"
    )
    for epoch in range(epochs):
        enc.train()
        t0 = time.time()
        batches = _batches(len(train_ids), batch_size, rng, lambda j: len(train_ids[j]))
        for k, b in enumerate(batches):
            ids, mask = tok.pad_ids([train_ids[j] for j in b])
            loss = nn.functional.cross_entropy(head(enc.pool(enc(ids, mask), mask)), gold[b], weight=weight)
            train_step(loss, opt, sched, k, len(batches), t0, log)
        dev_logp = torch.log_softmax(head_logits(tok, enc, head, dev_ids), -1)
        log(f"epoch {epoch + 1}/{epochs}: dev F_PN {f_pn_of(dev_logp, dev):.4f}, {time.time() - t0:.0f}s")
    return tok, enc, head


def with_news_repeated(train: Sequence[Example], times: int) -> list[Example]:
    """``train`` with every RuSentNE-2023 pair in it ``times`` times (the copies appended; training
    shuffles). Why: news is about a sixth of the pairs and the weakest split, and one pass over it left
    the model reading news far worse than tweets."""
    if times < 1:
        raise ValueError(f"news_repeat must be at least 1, not {times}")
    news = [e for e in train if e.source.startswith("rusentne")]
    return [*train, *news * (times - 1)]


def train_e5(
    datasets: Path,
    out_dir: Path,
    fast: FastSentimentModel,
    validation: bool = True,
    marking: str = "mask",
    top: int = 12,
    epochs: int = 1,
    seed: int = 13,
    synthetic: int = 3000,
    log: Log = print,
    limit: int | None = None,
    frames: int = 0,
    score_splits: bool = True,
    layers: int = 12,
    news_repeat: int = 1,
) -> E5SentimentModel:
    """Fine-tune, save to ``out_dir``, choose the offsets on dev, score the validation splits, return it.

    ``validation=False`` also trains on what the validation splits hold out (then the split figures in
    meta.json are not on unseen text and are not written). ``fast`` answers items without a target.
    ``limit`` keeps that many pairs of each part (a quick check of the whole path). ``frames`` adds that
    many pairs of :func:`sentiment.synthetic.frame_examples` (switches in one clause, "не то что", lists).
    ``score_splits=False`` leaves the splits to ``research/choose.py``, which scores them as users run the
    model (int8 or bfloat16) together with the blend. ``layers`` keeps e5's bottom layers only (a faster
    model). ``news_repeat`` puts each RuSentNE-2023 training pair in every epoch that many times (shuffled
    in with the rest): news is a small minority of the pairs and the weakest split; the dev and validation
    splits are never repeated or trained on.
    """
    if news_repeat < 1:  # before the slow part
        raise ValueError(f"news_repeat must be at least 1, not {news_repeat}")
    top = min(top, layers)
    data = validation_data(datasets, seed)
    if limit is not None:
        pick = random.Random(seed)
        data.train = pick.sample(data.train, min(limit, len(data.train)))
        data.dev = pick.sample(data.dev, min(limit, len(data.dev)))
        data.splits = {k: v[:limit] for k, v in data.splits.items()}
        synthetic = min(synthetic, limit)
        frames = min(frames, limit)
    train = list(data.train)
    if not validation:
        train += [e for split in data.splits.values() for e in split]
        train = list({(e.text, e.target): e for e in train}.values())
    train = with_news_repeated(train, news_repeat)
    train += comparison_examples(synthetic, seed)
    if frames:
        train += frame_examples(frames, seed)
    tok, enc, head = fine_tune(train, data.dev, marking, top, epochs, seed, log, layers)
    recipe = {
        "top_layers": top,
        "epochs": epochs,
        "seed": seed,
        "marking": marking,
        "synthetic": synthetic,
        "validation": validation,
    }
    # only when used, so earlier recipes keep their version digests
    if frames:
        recipe["frames"] = frames
    if layers != 12:
        recipe["layers"] = layers
    if news_repeat != 1:
        recipe["news_repeat"] = news_repeat
    digest = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:6]
    meta = E5Meta(
        model_id="loyalty-monitor/e5",  # the default's id: stored labels name it
        version=f"e5-{time.strftime('%Y%m%d', time.gmtime())}-{'val' if validation else 'full'}-{digest}",
        fast_version=fast.version,
        top_layers=top,
        layers=layers,
        max_tokens=MAX_TOKENS,
        marking=marking,
        weight=1.0,
        trained_on=[
            "SentiRuEval-2016 bank + ttk train per-entity pairs"
            + (
                " (validation splits held out: later 20% by date, two brands per domain)"
                if validation
                else ""
            ),
            "RuSentNE-2023 train (MIT)"
            + (" (20% of sentences held out)" if validation else "")
            + (f", each pair {news_repeat} times per epoch" if news_repeat > 1 else ""),
            f"{synthetic} synthetic two-brand comparison pairs (real and invented names)",
            *([f"{frames} synthetic pairs of switching, contrast and list frames"] if frames else []),
            "items without a target: the fast model's general head (RuSentiment, RuSentiTweet)",
        ],
        recipe=recipe,
    )
    E5SentimentModel(fast, tok, enc, head, meta).save(out_dir)
    model = E5SentimentModel.load(out_dir, fast, precision="float32")  # figures of the stored weights
    dev_logp = torch.log_softmax(model.e5_logits(model.encode([as_input(e) for e in data.dev])), -1)
    score, (bn, bp) = best_offsets(dev_logp, data.dev)
    model.meta.bias = [bn, 0.0, bp]
    log(f"dev worst-part F_PN {score:.4f} with offsets {model.meta.bias}")
    model.meta.metrics = {"dev/worst_f_pn_macro": round(score, 4)}
    if validation and score_splits:
        from sentiment.evaluate import split_scores

        model.meta.metrics.update(split_scores(model, data.splits))
    model.save_meta(out_dir)
    log(json.dumps(model.meta.metrics, indent=2))
    return model
