"""Any Hugging Face sequence-classification model as a sentiment backend.

Models on the Hub name their labels in many ways; :func:`map_labels` turns ``id2label`` into our three
labels so that every backend reports the same thing:

* ``NEGATIVE`` / ``NEUTRAL`` / ``POSITIVE`` in any case, and the short ``neg`` / ``neu`` / ``pos``;
* the RuSentiment five-class scheme: ``speech`` counts as positive (as in our own training data) and the
  probability of ``skip`` is dropped before renormalising;
* anonymous ``LABEL_0`` .. ``LABEL_2`` of a three-class model are taken as 0 = negative, 1 = neutral,
  2 = positive, the order most Russian sentiment models on the Hub use. Check the model card: a model with
  another order needs a local copy whose config.json names its labels.

Texts are sorted by length and batched so padding stays small, truncated to ``max_length`` tokens, run
under ``torch.inference_mode`` and on the GPU when one is available. These models read the text only: the
label is the text's overall sentiment even when a target is given.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from sentiment.base import LABELS, Label, SentimentInput, SentimentResult
from sentiment.decision import results_from_probabilities
from sentiment.errors import ModelLoadError

__all__ = ["HFSentimentModel", "map_labels"]

_NAMES: dict[str, Label | None] = {
    "negative": "negative",
    "neg": "negative",
    "neutral": "neutral",
    "neu": "neutral",
    "positive": "positive",
    "pos": "positive",
    "speech": "positive",
    "skip": None,
}
_ANON = re.compile(r"^label_(\d+)$")


def map_labels(id2label: Mapping[int, str] | Mapping[str, str]) -> list[Label | None]:
    """Our label for each class index of a model (``None``: the class is ignored).

    Raises :class:`ModelLoadError` for label names it cannot interpret, rather than guessing.
    """
    by_index = {int(k): str(v) for k, v in id2label.items()}
    n = len(by_index)
    if sorted(by_index) != list(range(n)):
        raise ModelLoadError(f"id2label indexes are not 0..{n - 1}: {by_index}")
    out: list[Label | None] = []
    for i in range(n):
        name = by_index[i].strip().lower()
        if name in _NAMES:
            out.append(_NAMES[name])
            continue
        m = _ANON.match(name)
        if m and n == 3:
            out.append(LABELS[int(m.group(1))])
            continue
        raise ModelLoadError(
            f"cannot map the model's label {by_index[i]!r} (id2label={by_index}) to "
            "negative/neutral/positive; give the model a config.json whose id2label uses those names"
        )
    if not any(label is not None for label in out):
        raise ModelLoadError(f"the model has no sentiment labels: id2label={by_index}")
    return out


def _how_to_get(source: str) -> str:
    return (
        f"cannot load the Hugging Face model {source!r}. To use a Hub model, download it once with internet "
        f"access (`huggingface-cli download {source}` or any transformers call), which stores it in the HF "
        "cache (~/.cache/huggingface, or $HF_HOME); on machines without internet set HF_HUB_OFFLINE=1 so "
        "the cached copy is used. Or pass a local directory holding config.json, the weights and the "
        'tokenizer files (model = "/path/to/dir").'
    )


class HFSentimentModel:
    """A transformers ``AutoModelForSequenceClassification`` as a :class:`SentimentModel`."""

    def __init__(self, source: str, max_length: int = 256, device: str | None = None) -> None:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        self.source = source
        self.max_length = max_length
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        try:
            self.tokenizer: Any = AutoTokenizer.from_pretrained(source)
            self.model: Any = AutoModelForSequenceClassification.from_pretrained(source)
        except (OSError, ValueError) as exc:
            raise ModelLoadError(f"{_how_to_get(source)} ({type(exc).__name__}: {exc})") from exc
        self.model.eval().to(self.device)
        # Never feed more tokens than the model has positions for, whatever the caller asked.
        limits = [max_length, getattr(self.model.config, "max_position_embeddings", max_length)]
        tok_limit = getattr(self.tokenizer, "model_max_length", None)
        if isinstance(tok_limit, int) and tok_limit < 1_000_000:
            limits.append(tok_limit)
        self.max_length = min(limits)
        self.labels = map_labels(self.model.config.id2label)
        self._index = torch.tensor([LABELS.index(lb) if lb is not None else -1 for lb in self.labels])
        self._version = self._make_version()

    def _make_version(self) -> str:
        """The Hub commit when known; for a local directory a hash of its config and weight files."""
        commit = getattr(self.model.config, "_commit_hash", None)
        if commit:
            return str(commit)[:12]
        path = Path(self.source)
        digest = hashlib.sha256()
        if path.is_dir():
            for f in sorted(path.iterdir()):
                if f.is_file() and (f.suffix in (".json", ".safetensors", ".bin", ".txt", ".model")):
                    digest.update(f.name.encode())
                    digest.update(f.read_bytes())
        return "local-" + digest.hexdigest()[:12]

    @property
    def model_id(self) -> str:
        return f"hf:{self.source}"

    @property
    def version(self) -> str:
        return self._version

    def probabilities(self, items: Sequence[SentimentInput], batch_size: int = 64) -> torch.Tensor:
        """(N, 3) probabilities of negative/neutral/positive in input order."""
        order = sorted(range(len(items)), key=lambda i: len(items[i].text))
        out = torch.zeros(len(items), 3)
        keep = self._index >= 0
        target_index = self._index[keep]
        with torch.inference_mode():
            for s in range(0, len(order), batch_size):
                idx = order[s : s + batch_size]
                enc = self.tokenizer(
                    [items[i].text for i in idx],
                    truncation=True,
                    max_length=self.max_length,
                    padding=True,
                    return_tensors="pt",
                ).to(self.device)
                probs = torch.softmax(self.model(**enc).logits.float(), dim=-1).cpu()[:, keep]
                three = torch.zeros(len(idx), 3).index_add_(1, target_index, probs)
                out[idx] = three / three.sum(-1, keepdim=True).clamp(min=1e-12)
        return out

    def predict(self, items: Sequence[SentimentInput], batch_size: int = 64) -> list[SentimentResult]:
        """Label every item, in order."""
        if not items:
            return []
        return results_from_probabilities(self.probabilities(items, batch_size), self.model_id, self.version)
