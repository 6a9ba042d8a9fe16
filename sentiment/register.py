"""Register: whether a text reads like a news report or like a social-media post.

Why: the default blends the e5 layers with the fast model, which was trained on tweets and VK posts.
Blended at the weight and offsets that suit tweets, a news sentence ("Роспотребнадзор оштрафовал X по
итогам проверки, сообщили в ведомстве") is read worse than by the e5 layers alone: a report's calm wording
is not a tweet's, and the offsets that pull a tweet off neutral pull a neutral report off it too. So the
default reads a text's register from its surface and may use another weight and offsets for reports
(``news_weight`` and ``news_bias`` in the model's meta.json).

The register is a fixed rule over the text, the same for every brand and every run, with nothing learnt:

* **a social post**: the writer's own voice, first and second person (я, мне, мой, ты, вы, ваш),
  emoticons and emoji, ")))" and "(((", "!" and "?", @-mentions and #hashtags, colloquial words (блин,
  спасибо, короче, ваще), and a short text;
* **a report**: the third person of an agency or a paper: reporting verbs and phrases (сообщил,
  заявил, отметил, по данным, по словам, говорится, пресс-служба), dates (7 декабря, в 2019 году),
  quotation marks «», names of two capitalised words inside a sentence (Дональд Трамп, Центральный
  банк), titles (президент, министр, глава, губернатор), and length.

:func:`news_score` adds the cues' points up: above zero the text is a report (:func:`is_news`). Short
tweets that relay a headline ("Сбербанк снизил ставки по ипотеке") carry few cues either way and stay
social; an RSS item, a vc.ru article or a Telegram channel post written as a report reads as news. A
text is read as the model reads it: the windows around the target (:func:`sentiment.text.focus`).
Words come from the models' own tokens (:func:`sentiment.text.tokenize`); case, quotation marks and
emoji, which tokens fold away, are read from the characters.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from itertools import pairwise

from sentiment.base import SentimentInput
from sentiment.text import focus, tokenize

__all__ = ["is_news", "news_score", "reads_as_news"]

# The writer's own voice. "мы"/"нас"/"наш" are left out: agencies quote officials saying them.
_PERSONAL = frozenset(
    {
        "я", "меня", "мне", "мной", "мой", "моя", "мое", "мои", "моего", "моей", "моих", "моим", "моему",
        "ты", "тебя", "тебе", "тобой", "твой", "твоя", "твое", "твои", "вы", "вас", "вам", "вами",
        "ваш", "ваша", "ваше", "ваши", "вашего", "вашей",
    }
)  # fmt: skip
_COLLOQUIAL = frozenset(
    {
        "блин", "спасибо", "пасиб", "короче", "ваще", "вообще", "капец", "пипец", "ахах", "хах", "лол",
        "ну", "щас", "чё", "че", "ага", "ок", "плиз", "пожалуйста", "нафиг", "фиг", "ужас", "офигеть",
        "круто", "кстати", "просто", "тупо", "хочу", "люблю", "ненавижу", "бесит", "задолбал", "достал",
    }
)  # fmt: skip
# Stems of reporting verbs and nouns (a token starting with one counts).
_REPORTING_STEMS = (
    "сообщил", "сообщает", "сообщают", "сообщается", "заявил", "заявляет", "отметил", "подчеркнул",
    "уточнил", "пояснил", "говорится", "передает", "передают", "пресс", "агентств", "опроверг",
    "признал", "напомнил", "цитиру", "прокомментир",
)  # fmt: skip
# Two-word reporting phrases.
_REPORTING_PAIRS = frozenset(
    {("по", "данным"), ("по", "словам"), ("по", "информации"), ("по", "мнению"), ("как", "сообщает")}
)
_TITLES = frozenset(
    {
        "президент", "президента", "министр", "министра", "министерство", "глава", "главы", "губернатор",
        "губернатора", "премьер", "премьера", "председатель", "председателя", "директор", "директора",
        "депутат", "депутаты", "ведомство", "ведомства", "правительство", "правительства", "суд", "суда",
        "прокуратура", "полиция", "власти", "заместитель", "госдума", "мэр", "мэра", "посол", "спикер",
    }
)  # fmt: skip
_MONTHS = frozenset(
    {
        "января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября",
        "ноября", "декабря",
    }
)  # fmt: skip
_YEAR = re.compile(r"^(1[89]|20)\d\d$")
# Two capitalised words in a row that do not open a sentence: a name (Дональд Трамп, Банк России).
_NAME_PAIR = re.compile(r"(?<![.!?…]\s)(?<!^)\b[А-ЯЁA-Z][а-яёa-z]+\s+[А-ЯЁA-Z][а-яёa-z]+")
_SMILEY = re.compile(r"\){2,}|\({2,}|[:;=]-?[)(DPР]|\bхд\b|\bxd\b", re.IGNORECASE)


def _emoji(text: str) -> int:
    """Emoji and pictographs (symbol, other), which reports do not use."""
    return sum(1 for ch in text if unicodedata.category(ch) == "So")


@lru_cache(maxsize=4096)
def news_score(text: str) -> float:
    """Points for a report minus points for a social post; above zero reads as news (see the module doc).

    Each cue counts at most twice, so one long quotation or a run of emoji cannot decide alone.
    """
    tokens = tokenize(text)
    words = [t for t in tokens if t[0].isalpha()]
    n = len(words)
    social = 0.0
    social += min(2, sum(1 for t in words if t in _PERSONAL)) * 1.5
    social += min(2, sum(1 for t in words if t in _COLLOQUIAL))
    social += min(2, _emoji(text) + len(_SMILEY.findall(text))) * 1.5
    social += min(2, sum(1 for t in tokens if t[0] in "!?"))
    social += min(2, text.count("@") + text.count("#"))
    news = 0.0
    news += min(2, sum(1 for t in words if t.startswith(_REPORTING_STEMS))) * 1.5
    news += min(2, sum(1 for pair in pairwise(tokens) if pair in _REPORTING_PAIRS)) * 1.5
    news += min(2, sum(1 for t in tokens if t in _MONTHS or _YEAR.match(t)))
    news += min(2, text.count("«"))
    news += min(2, len(_NAME_PAIR.findall(text)))
    news += min(2, sum(1 for t in words if t in _TITLES))
    # A sentence as a paper writes it: opens with a capital, closes with a full stop.
    stripped = text.strip()
    news += 0.5 * (stripped[:1].isupper()) + 1.0 * stripped.endswith((".", "»", '"'))
    # Length: a tweet is short, a news sentence long. Up to two points past 15 words, minus one under 5.
    news += min(2.0, max(0.0, (n - 15) / 10)) if n >= 5 else -1.0
    return news - social - 1.5


def is_news(text: str) -> bool:
    """Whether ``text`` reads as a news report rather than a social post (:func:`news_score` above 0)."""
    return news_score(text) > 0


def reads_as_news(item: SentimentInput) -> bool:
    """Whether the part of ``item``'s text the model reads (the windows around its target) is a report."""
    return is_news(focus(item.text, item.target, item.aliases))
