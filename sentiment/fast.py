"""The fast offline model: navec word vectors + hashed character n-grams + target roles -> BiGRU.

Why this design: it has to run at thousands of texts per second on two CPU cores and load in well under
three seconds with no download. Navec (shipped inside the natasha wheel) gives 250k pretrained Russian word
vectors for free; they are read from natasha at load time in their compressed product-quantised form and
decoded per batch, so they cost neither repository space nor much memory. Misspellings, slang and emoji
that navec lacks are covered by trainable hashed character n-grams (fastText style). Every token also
carries its role (target brand / other brand / ordinary) and its distance to the target; target and other
brand names are masked to role tokens so the model learns how sentiment attaches to *a* brand rather than
memorising which brands people dislike. Two output heads: ``general`` (no target: the text's overall
sentiment) and ``entity`` (sentiment toward the given target).
"""

from __future__ import annotations

import json
import os
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from sentiment.base import SentimentInput, SentimentResult
from sentiment.decision import results_from_probabilities
from sentiment.errors import ModelLoadError
from sentiment.text import TokenRole, focus, locate, tokenize

__all__ = [
    "FastConfig",
    "FastMeta",
    "FastNet",
    "FastSentimentModel",
    "Featurizer",
    "build_net",
    "navec_path",
    "set_threads",
]

MAX_TOKENS = 160
HEAD_GENERAL = 0
HEAD_ENTITY = 1
_DIST_EDGES = (0, 1, 2, 4, 7, 12, 20)  # distance buckets 1..7 (+8 for farther); 0 = no target in text
_MASK = {TokenRole.TARGET: "⟨target⟩", TokenRole.OTHER_BRAND: "⟨brand⟩"}
WEIGHTS_FILE = "weights.safetensors"
META_FILE = "meta.json"


def navec_path() -> Path:
    """The navec archive inside the installed natasha package (no network needed)."""
    import natasha

    return Path(natasha.__file__).parent / "data" / "emb" / "navec_news_v1_1B_250K_300d_100q.tar"


@lru_cache(maxsize=1)
def _navec() -> Any:
    from navec import Navec

    path = navec_path()
    if not path.exists():
        raise ModelLoadError(f"navec embeddings not found at {path}: reinstall natasha (pip install natasha)")
    return Navec.load(str(path))


@dataclass
class FastConfig:
    """Sizes of :class:`FastNet`; saved in meta.json so a saved model rebuilds itself."""

    buckets: int = 2**17
    ngram_dim: int = 64
    proj: int = 160
    hidden: int = 96
    role_dim: int = 16
    dropout: float = 0.3
    heads: int = 2


class FastNet(nn.Module):
    """BiGRU over [navec | n-gram bag | role | distance] with attention, max and target pooling."""

    pq_indexes: torch.Tensor
    pq_codes: torch.Tensor
    pq_rows: torch.Tensor

    def __init__(self, cfg: FastConfig, pq_indexes: torch.Tensor, pq_codes: torch.Tensor) -> None:
        super().__init__()
        self.cfg = cfg
        # Navec's product-quantised table: (vocab, qdim) uint8 codes and (qdim, 256, chunk) centroids.
        self.register_buffer("pq_indexes", pq_indexes, persistent=False)
        self.register_buffer("pq_codes", pq_codes, persistent=False)
        self.register_buffer("pq_rows", torch.arange(pq_codes.shape[0]), persistent=False)
        navec_dim = pq_codes.shape[0] * pq_codes.shape[2]
        self.ngram = nn.EmbeddingBag(cfg.buckets, cfg.ngram_dim, mode="mean")
        self.role = nn.Embedding(3, cfg.role_dim)
        self.dist = nn.Embedding(len(_DIST_EDGES) + 2, cfg.role_dim)
        self.inp = nn.Linear(navec_dim + cfg.ngram_dim + 2 * cfg.role_dim, cfg.proj)
        self.gru = nn.GRU(cfg.proj, cfg.hidden, batch_first=True, bidirectional=True)
        self.att = nn.Linear(2 * cfg.hidden, 1)
        self.drop = nn.Dropout(cfg.dropout)
        self.out = nn.Linear(6 * cfg.hidden, 3 * cfg.heads)
        nn.init.normal_(self.ngram.weight, std=0.05)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Logits (B, 3) of the head chosen per row by ``batch["head"]``."""
        words = batch["words"]
        b, t = words.shape
        codes = self.pq_indexes[words].long()  # (B, T, qdim)
        navec = self.pq_codes[self.pq_rows, codes].reshape(b, t, -1)
        navec = navec * batch["known"].unsqueeze(-1)
        grams = self.ngram(batch["ngrams"], batch["offsets"]).reshape(b, t, -1)
        x = torch.cat([navec, grams, self.role(batch["roles"]), self.dist(batch["dist"])], dim=-1)
        x = self.drop(torch.relu(self.inp(x)))
        lengths = batch["lengths"]
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        h, _ = self.gru(packed)
        h, _ = nn.utils.rnn.pad_packed_sequence(h, batch_first=True, total_length=t)
        mask = batch["mask"]
        scores = self.att(h).squeeze(-1).masked_fill(~mask, -1e4)
        att = torch.softmax(scores, dim=-1).unsqueeze(-1)
        pooled_att = (att * h).sum(1)
        pooled_max = h.masked_fill(~mask.unsqueeze(-1), -1e4).max(1).values
        tmask = (batch["roles"] == TokenRole.TARGET).unsqueeze(-1).float()
        pooled_tgt = (h * tmask).sum(1) / tmask.sum(1).clamp(min=1.0)
        z = self.drop(torch.cat([pooled_att, pooled_max, pooled_tgt], dim=-1))
        logits = self.out(z).view(b, self.cfg.heads, 3)
        chosen: torch.Tensor = logits[torch.arange(b), batch["head"]]
        return chosen


def _dist_bucket(d: int | None) -> int:
    if d is None:
        return 0
    for i, edge in enumerate(_DIST_EDGES):
        if d <= edge:
            return i + 1
    return len(_DIST_EDGES) + 1


class Featurizer:
    """Turns (text, target) pairs into padded tensors; token -> ids lookups are cached."""

    def __init__(self, buckets: int) -> None:
        nv = _navec()
        self.word_ids: dict[str, int] = nv.vocab.word_ids
        self.unk = nv.vocab.word_ids["<unk>"]
        self.buckets = buckets
        self._grams: dict[str, tuple[int, ...]] = {}

    def grams(self, tok: str) -> tuple[int, ...]:
        """Hashed ids of the token itself and its 2..5-character n-grams (with word boundaries)."""
        cached = self._grams.get(tok)
        if cached is not None:
            return cached
        w = f"<{tok}>"
        parts = [w]
        for n in (2, 3, 4, 5):
            parts.extend(w[i : i + n] for i in range(len(w) - n + 1))
        ids = tuple(zlib.crc32(p.encode("utf-8")) % self.buckets for p in parts[:40])
        if len(self._grams) < 500_000:
            self._grams[tok] = ids
        return ids

    def encode_one(self, item: SentimentInput) -> tuple[list[str], list[int], list[int]]:
        """Tokens (brand names masked), roles and distance buckets for one input, truncated."""
        tokens = tokenize(focus(item.text, item.target, item.aliases)) or ["."]
        roles = locate(tokens, item.target, item.aliases, item.other_brands)
        if len(tokens) > MAX_TOKENS:
            start = 0
            if TokenRole.TARGET in roles:
                start = max(0, min(roles.index(TokenRole.TARGET) - MAX_TOKENS // 2, len(tokens) - MAX_TOKENS))
            tokens = tokens[start : start + MAX_TOKENS]
            roles = roles[start : start + MAX_TOKENS]
        tpos = [i for i, r in enumerate(roles) if r == TokenRole.TARGET]
        dist: list[int] = []
        if tpos:
            j = 0
            for i in range(len(tokens)):
                while j + 1 < len(tpos) and abs(tpos[j + 1] - i) <= abs(tpos[j] - i):
                    j += 1
                dist.append(_dist_bucket(abs(tpos[j] - i)))
        else:
            dist = [0] * len(tokens)
        masked = [_MASK.get(r, tok) for tok, r in zip(tokens, roles, strict=True)]
        return masked, roles, dist

    def batch(self, items: Sequence[SentimentInput]) -> dict[str, torch.Tensor]:
        """Padded tensors for a batch; the head is ``entity`` when a target is given."""
        enc = [self.encode_one(it) for it in items]
        t = max(len(e[0]) for e in enc)
        b = len(enc)
        words = np.full((b, t), self.unk, dtype=np.int64)
        known = np.zeros((b, t), dtype=np.float32)
        roles = np.zeros((b, t), dtype=np.int64)
        dist = np.zeros((b, t), dtype=np.int64)
        lengths = np.zeros(b, dtype=np.int64)
        ngrams: list[int] = []
        offsets: list[int] = []
        wid = self.word_ids
        for i, (toks, rl, ds) in enumerate(enc):
            n = len(toks)
            lengths[i] = n
            roles[i, :n] = rl
            dist[i, :n] = ds
            for j, tok in enumerate(toks):
                k = wid.get(tok)
                if k is not None:
                    words[i, j] = k
                    known[i, j] = 1.0
                offsets.append(len(ngrams))
                ngrams.extend(self.grams(tok))
            offsets.extend([len(ngrams)] * (t - n))
        lengths_t = torch.from_numpy(lengths)
        return {
            "words": torch.from_numpy(words),
            "known": torch.from_numpy(known),
            "roles": torch.from_numpy(roles),
            "dist": torch.from_numpy(dist),
            "ngrams": torch.tensor(ngrams, dtype=torch.long),
            "offsets": torch.tensor(offsets, dtype=torch.long),
            "lengths": lengths_t,
            "mask": torch.arange(t).unsqueeze(0) < lengths_t.unsqueeze(1),
            "head": torch.tensor([HEAD_ENTITY if it.target else HEAD_GENERAL for it in items]),
        }


def build_net(cfg: FastConfig) -> FastNet:
    """A fresh network wired to the navec table from the natasha package."""
    pq = _navec().pq
    indexes = torch.from_numpy(np.array(pq.indexes, copy=True))
    codes = torch.from_numpy(np.array(pq.codes, dtype=np.float32, copy=True))
    return FastNet(cfg, indexes, codes)


@dataclass
class FastMeta:
    """What meta.json records beside the weights."""

    model_id: str = "loyalty-monitor/fast"
    version: str = "default"
    config: FastConfig = field(default_factory=FastConfig)
    # Additive logit offsets per head, tuned on held-out data for macro-F1 / F_PN.
    bias: list[list[float]] = field(default_factory=lambda: [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    trained_on: list[str] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)
    parent: str | None = None

    def to_json(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["config"] = dict(self.config.__dict__)
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> FastMeta:
        d = dict(d)
        d["config"] = FastConfig(**d.get("config", {}))
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        return cls(**known)


class FastSentimentModel:
    """The :class:`~sentiment.base.SentimentModel` backend of the fast model."""

    def __init__(self, net: FastNet, meta: FastMeta) -> None:
        self.net = net.eval()
        self.meta = meta
        self.featurizer = Featurizer(meta.config.buckets)
        self._bias = torch.tensor(meta.bias, dtype=torch.float32)

    @property
    def model_id(self) -> str:
        return self.meta.model_id

    @property
    def version(self) -> str:
        return self.meta.version

    @classmethod
    def load(cls, directory: Path) -> FastSentimentModel:
        """Load weights + meta.json from ``directory``; a typed error names what is missing."""
        from safetensors.torch import load_file

        meta_path, weights = directory / META_FILE, directory / WEIGHTS_FILE
        if not meta_path.exists() or not weights.exists():
            raise ModelLoadError(
                f"no fast sentiment model in {directory}: expected {META_FILE} and {WEIGHTS_FILE}; "
                "train one with `loyalty-monitor sentiment train`"
            )
        meta = FastMeta.from_json(json.loads(meta_path.read_text(encoding="utf-8")))
        net = build_net(meta.config)
        state = {k: v.float() for k, v in load_file(str(weights)).items()}
        net.load_state_dict(state, strict=True)
        return cls(net, meta)

    def save(self, directory: Path) -> None:
        """Write fp16 weights and meta.json (fp16 halves the size; predictions are computed in fp32)."""
        from safetensors.torch import save_file

        directory.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().half().contiguous() for k, v in self.net.state_dict().items()}
        save_file(state, str(directory / WEIGHTS_FILE))
        (directory / META_FILE).write_text(
            json.dumps(self.meta.to_json(), ensure_ascii=False, indent=2), encoding="utf-8"
        )

    def logits(self, items: Sequence[SentimentInput], batch_size: int = 256) -> torch.Tensor:
        """Raw logits (N, 3) in input order, with the tuned per-head offsets added."""
        order = sorted(range(len(items)), key=lambda i: len(items[i].text))
        out = torch.empty(len(items), 3)
        self.net.eval()
        with torch.inference_mode():
            for s in range(0, len(order), batch_size):
                idx = order[s : s + batch_size]
                batch = self.featurizer.batch([items[i] for i in idx])
                out[idx] = self.net(batch) + self._bias[batch["head"]]
        return out

    def predict(self, items: Sequence[SentimentInput], batch_size: int = 256) -> list[SentimentResult]:
        """Label every item, in order (length-sorted batches internally)."""
        if not items:
            return []
        return results_from_probabilities(
            torch.softmax(self.logits(items, batch_size), dim=-1), self.model_id, self.version
        )


def set_threads() -> None:
    """Use at most the cores the deployment grants (default 2) and keep runs reproducible."""
    n = int(os.environ.get("LOYALTY_SENTIMENT_THREADS", "2"))
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
