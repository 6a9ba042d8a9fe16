"""Throughput and peak memory of the sentiment backends on generated brand-mention texts.

    python bench/sentiment_speed.py                 # the default and the fast model, with their floors
    python bench/sentiment_speed.py --backend fast --n 20000 --threads 2
    python bench/sentiment_speed.py --backend default --n 2000
    LOYALTY_SENTIMENT_PRECISION=float32 python bench/sentiment_speed.py --backend default --n 2000
    python bench/sentiment_speed.py --backend hf    # a tiny local Hugging Face model
    python bench/sentiment_speed.py --model default --model /tmp/e5-L6 --rounds 2   # candidates, ratios

Floors on two cores: the default model >= 100 (text, brand) pairs/s with peak RSS <= 2 GB, the fast
model >= 2,000 pairs/s; "all" prints whether each holds.

Texts are generated from templates (brands written the many ways people write them, opinions, hashtags,
links, emoji), from one-line tweets to multi-sentence VK posts, so no dataset text is needed. Each backend
runs in its own process so its peak RSS is its own. Load time is measured separately from throughput.
``texts_per_cpu_s`` divides by the CPU time of all the process's threads rather than the wall clock: on a
machine shared with other jobs it stays comparable between runs (on idle cores, texts_per_s is at most
``threads`` times it). ``--model`` (repeatable; a model spec or directory, as ``sentiment.load_model``
takes) measures candidate models one after another in ``--rounds`` alternating rounds and prints each
one's speed as a ratio to the first, so models trained elsewhere compare under the same load.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BRANDS = [
    ("Сбер", ["Сбер", "Сбербанк", "сбербанка", "@sberbank", "#сбер", "СБЕР"]),
    ("ВТБ", ["ВТБ", "втб24", "ВТБ банк", "в ВТБ"]),
    ("Тинькофф", ["Тинькофф", "тиньку", "Тинькоффа", "#tinkoff"]),
    ("Альфа-Банк", ["Альфа-Банк", "альфабанк", "Альфы", "альфа банка"]),
    ("МТС", ["МТС", "мтс", "@ru_mts", "#МТС"]),
    ("Билайн", ["Билайн", "билайна", "beeline", "#билайн"]),
    ("Мегафон", ["Мегафон", "мегафона", "МегаФоне", "@megafonru"]),
    ("Теле2", ["Теле2", "tele2", "Теле 2", "теле2"]),
    ("Ростелеком", ["Ростелеком", "ростелекома", "РТК"]),
]
POS = [
    "спасибо {b}, всё решили за пять минут",
    "{b} просто лучшие, перевела маму тоже",
    "наконец-то нормальная связь у {b} на даче))",
    "приложение {b} стало удобнее, респект",
    "кэшбэк от {b} пришёл, приятно 😊",
    "поддержка {b} реально помогла, девушка Анна молодец",
    "перешёл в {b} и ни разу не пожалел",
]
NEG = [
    "{b} опять списал деньги за непонятную подписку!!!",
    "третий день нет интернета, {b}, вы издеваетесь?",
    "ушла из {b}, сервис ужасный",
    "в отделении {b} очередь на два часа, одно окно работает",
    "{b} заблокировал карту без объяснений 😡",
    "звоню в {b} уже час, никто не берёт трубку",
    "больше никогда не свяжусь с {b}",
]
NEU = [
    "{b} запустил новый тариф с безлимитом",
    "кто-нибудь знает, как отключить услугу в {b}?",
    "{b} сообщил о результатах за третий квартал",
    "офис {b} на Ленина переехал",
    "{b} повышает ставки по вкладам с понедельника",
    "в {b} сегодня день открытых дверей",
    "какой тариф у {b} для интернета посоветуете?",
]
FILLER = [
    "Вообще-то я долго выбирала.",
    "Живу в Казани, если что.",
    "Муж говорит, что я придираюсь.",
    "Пишу уже второй раз.",
    "Ладно, посмотрим что будет дальше.",
    "Кстати, погода сегодня отличная.",
    "Кто сталкивался — отпишитесь в комментах.",
    "Номер договора могу прислать в личку.",
]
TAILS = ["", "", " https://t.co/AbC123xyz", " #отзыв", " )))", " !!!", " 👍", " 🤬", " #связь", " ..."]


def generate(n: int, seed: int = 7) -> list[tuple[str, str, tuple[str, ...]]]:
    """``n`` (text, target, other brands named) triples: tweets (one clause) and longer posts (2-8
    sentences), a quarter naming a second brand, which is passed as the pipeline passes competitors."""
    rng = random.Random(seed)
    out: list[tuple[str, str, tuple[str, ...]]] = []
    for _ in range(n):
        brand, forms = rng.choice(BRANDS)
        parts = [rng.choice(rng.choice([POS, NEG, NEU])).format(b=rng.choice(forms))]
        others: tuple[str, ...] = ()
        if rng.random() < 0.25:
            other, oforms = rng.choice(BRANDS)
            if other != brand:
                parts.append(rng.choice(rng.choice([POS, NEG, NEU])).format(b=rng.choice(oforms)))
                others = (other, *oforms)
        if rng.random() < 0.35:
            parts += rng.sample(FILLER, rng.randint(1, 6))
            rng.shuffle(parts)
        text = " ".join(p[0].upper() + p[1:] if rng.random() < 0.5 else p for p in parts) + rng.choice(TAILS)
        out.append((text, brand, others))
    return out


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _tiny_hf(path: Path) -> str:
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    words = sorted({w.lower().strip(".,!?()") for t in POS + NEG + NEU + FILLER for w in t.split()})
    path.mkdir(parents=True, exist_ok=True)
    (path / "vocab.txt").write_text(
        "\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]), encoding="utf-8"
    )
    config = BertConfig(
        vocab_size=len(words) + 5,
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=128,
        num_labels=3,
        id2label={0: "negative", 1: "neutral", 2: "positive"},
        label2id={"negative": 0, "neutral": 1, "positive": 2},
    )
    torch.manual_seed(0)
    BertForSequenceClassification(config).save_pretrained(path)
    BertTokenizerFast(vocab_file=str(path / "vocab.txt")).save_pretrained(path)
    return str(path)


def run_one(
    backend: str, n: int, threads: int, batch_size: int, model_spec: str | None = None
) -> dict[str, object]:
    """Measure one backend (or the model ``model_spec`` names) in this process."""
    from sentiment import SentimentInput, load_model  # first: it sets torch's OpenMP wait policy

    torch = importlib.import_module("torch")
    torch.set_num_threads(threads)

    texts = generate(n)
    items = [SentimentInput(t, target, other_brands=others) for t, target, others in texts]
    spec = model_spec or (backend if backend in ("default", "fast") else "shipped")
    tmp = None
    if backend == "hf":
        tmp = tempfile.TemporaryDirectory()
        spec = _tiny_hf(Path(tmp.name) / "tiny-bert")
    start = time.perf_counter()
    model = load_model(spec)
    load_s = time.perf_counter() - start
    model.predict(items[:64], batch_size=batch_size)  # warm-up: caches, allocator
    start, cpu_start = time.perf_counter(), time.process_time()
    results = model.predict(items, batch_size=batch_size)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    labels = {lb: sum(r.label == lb for r in results) for lb in ("negative", "neutral", "positive")}
    if tmp is not None:
        tmp.cleanup()
    return {
        "backend": model_spec or (backend if backend != "hf" else "hf (tiny local BERT, 2 layers x 64)"),
        "model_version": model.version,
        "texts": n,
        "mean_chars": round(sum(len(t) for t, _, _ in texts) / n, 1),
        "threads": threads,
        "precision": str(getattr(model, "dtype", "float32")).removeprefix("torch."),
        "load_s": round(load_s, 2),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "texts_per_s": round(n / elapsed, 1),
        # CPU seconds of every thread of the process: a machine shared with other jobs stretches the wall
        # clock but hardly the work, so this compares code versions where texts_per_s cannot.
        "texts_per_cpu_s": round(n / max(cpu, 1e-9), 1),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "labels": labels,
    }


def _measure_in_child(spec: str, n: int, threads: int, batch_size: int) -> dict[str, object]:
    """``run_one`` for ``spec`` in a fresh process, so that its peak RSS is its own."""
    cmd = [sys.executable, __file__, "--backend", "default", "--n", str(n), "--threads", str(threads)]
    cmd += ["--batch-size", str(batch_size), "--model-in-process", spec]
    out: dict[str, object] = json.loads(
        subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    )
    return out


def compare(specs: list[str], n: int, threads: int, batch_size: int, rounds: int) -> None:
    """Measure ``specs`` in turn, ``rounds`` times, and print each run with its speed relative to the
    first spec's run of the same round (the load on a shared machine drifts; a ratio within one round
    holds better than an absolute figure)."""
    for r in range(rounds):
        first: float | None = None
        for spec in specs:
            out = _measure_in_child(spec, n, threads, batch_size)
            speed = float(str(out["texts_per_s"]))
            first = speed if first is None else first
            ok = speed >= 100 and float(str(out["peak_rss_mb"])) <= 2048
            row = {
                "round": r + 1,
                **out,
                "ratio_to_first": round(speed / first, 3),
                "default_floor_holds": ok,
            }
            print(json.dumps(row, ensure_ascii=False), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=["default", "fast", "hf", "all"], default="all")
    parser.add_argument("--n", type=int, default=None, help="texts (default 2,000 for default, 20,000 else)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--model", action="append", default=[], help="a model spec to compare (repeat)")
    parser.add_argument("--rounds", type=int, default=1, help="with --model: alternating rounds")
    parser.add_argument("--model-in-process", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.model:
        compare(args.model, args.n or 2000, args.threads, args.batch_size, args.rounds)
        return
    if args.backend != "all":
        n = args.n or (2000 if args.backend == "default" else 20000)
        out = run_one(args.backend, n, args.threads, args.batch_size, args.model_in_process)
        print(json.dumps(out, ensure_ascii=False))
        return
    floors = {"default": (100, 2048), "fast": (2000, None)}
    for backend, (rate, rss) in floors.items():
        n = args.n or (2000 if backend == "default" else 20000)
        cmd = [sys.executable, __file__, "--backend", backend, "--n", str(n), "--threads", str(args.threads)]
        cmd += ["--batch-size", str(args.batch_size)]
        out = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
        ok = out["texts_per_s"] >= rate and (rss is None or out["peak_rss_mb"] <= rss)
        floor = f">= {rate} pairs/s" + (f", <= {rss} MB" if rss else "")
        print(json.dumps({**out, "floor": floor, "holds": ok}, ensure_ascii=False))


if __name__ == "__main__":
    main()
