from __future__ import annotations

from pathlib import Path

import pytest

from sentiment.fast import FastConfig, FastMeta, FastSentimentModel, build_net

DATASETS = Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets"


@pytest.fixture(scope="session")
def tiny_fast() -> FastSentimentModel:
    """A small random fast model: exercises the code paths without the shipped weights."""
    import torch

    torch.manual_seed(0)
    cfg = FastConfig(buckets=4096, ngram_dim=8, proj=16, hidden=8, role_dim=4)
    return FastSentimentModel(build_net(cfg), FastMeta(version="tiny-test", config=cfg))
