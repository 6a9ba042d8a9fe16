"""The synthetic world: brands, channels, authors' reach, daily and weekly rhythm, sentiment mixes.

:data:`BRANDS` and :data:`CHANNELS` are the default world the demo, the tests and the benchmarks share. Every
brand here is made up, so a stream never says anything about a real company. The numbers are chosen to make
the dashboard worth looking at: the loyalty index differs by channel and by brand (our brand is loved in
Telegram and hated on review sites), nights are quiet, news sleeps at weekends.

A caller that needs other brands builds them with :func:`plain_brand` (one spelling, one sentiment mix for
every channel) or :class:`StreamBrand` itself; other channels with :class:`StreamChannel` or
``dataclasses.replace`` of a default one. A channel's *name* sets its voice: ``news`` is written by outlets in
news templates and never copied, ``reviews`` has titles and initials and no reposts, ``vk``, ``telegram`` and
``youtube`` are informal (emoji, typos); any other name reads like ``dzen`` and ``vcru``, plain posts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "BRANDS",
    "CEO",
    "CHANNELS",
    "MSK_OFFSET_HOURS",
    "OWN_BRAND",
    "Forms",
    "StreamBrand",
    "StreamChannel",
    "fixed",
    "masc",
    "plain_brand",
]

Forms = dict[str, str]
"""Case forms: ``n`` nominative, ``g`` genitive, ``d`` dative, ``a`` accusative, ``i`` instrumental,
``p`` prepositional. Written out by hand: a stream must read right, and pymorphy3 guesses invented names."""

MSK_OFFSET_HOURS = 3
"""The audience lives in Moscow time; the rhythm below is in local hours."""


def masc(word: str, prefix: str = "") -> Forms:
    """Case forms of a masculine noun brand word ("Кедр" -> "Кедра", "Кедру"...; "Борей" -> "Борея")."""
    if word.endswith("й"):
        stem = word[:-1]
        endings = {"n": "й", "g": "я", "d": "ю", "a": "й", "i": "ем", "p": "е"}
    else:
        stem = word
        endings = {"n": "", "g": "а", "d": "у", "a": "", "i": "ом", "p": "е"}
    return {case: prefix + stem + ending for case, ending in endings.items()}


def fixed(word: str) -> Forms:
    """An indeclinable spelling (Latin names, abbreviations)."""
    return dict.fromkeys("ngdaip", word)


@dataclass(frozen=True)
class StreamBrand:
    """A brand as configured (name, aliases, exclusions, people) and as people write it (``spellings``).

    ``spellings`` are case-form tables with weights: most people write the short name, some the full one,
    a few the Latin one. ``false_friends`` are texts that contain an alias but are not about the brand, so
    the stream exercises the exclusions.
    """

    name: str
    aliases: tuple[str, ...]
    own: bool
    share: float
    spellings: tuple[tuple[Forms, float], ...]
    hashtag: str
    exclusions: tuple[str, ...] = ()
    people: tuple[str, ...] = ()
    false_friends: tuple[str, ...] = ()
    mix: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    """Per channel: weights of (positive, neutral, negative)."""
    default_mix: tuple[float, float, float] = (0.4, 0.35, 0.25)
    """The weights in a channel ``mix`` does not name."""

    def mix_in(self, channel: str) -> tuple[float, float, float]:
        """Weights of (positive, neutral, negative) for a mention of this brand in ``channel``."""
        return self.mix.get(channel, self.default_mix)


def plain_brand(
    name: str,
    *,
    share: float = 1.0,
    own: bool = False,
    mix: tuple[float, float, float] = (0.4, 0.35, 0.25),
    aliases: tuple[str, ...] = (),
) -> StreamBrand:
    """A brand written one way in every case (``"Альфа"``), with one sentiment mix in every channel.

    For tests and benchmarks that need their own brand names and do not care about grammar::

        plain_brand("Альфа", own=True, mix=(0.4, 0.35, 0.25))
    """
    return StreamBrand(
        name=name,
        aliases=aliases,
        own=own,
        share=share,
        spellings=((fixed(name), 1.0),),
        hashtag="#" + "".join(ch for ch in name.lower() if ch.isalnum()),
        default_mix=mix,
    )


CEO = "Игорь Кречетов"

OWN_BRAND = StreamBrand(
    name="Полярбанк",
    aliases=("Поляр", "Поляр Банк", "Polyarbank"),
    own=True,
    share=0.40,
    spellings=(
        (masc("Полярбанк"), 0.45),
        (masc("Поляр"), 0.30),
        (masc("Банк", prefix="Поляр "), 0.15),
        (fixed("Polyarbank"), 0.10),
    ),
    hashtag="#полярбанк",
    exclusions=("Поляр Экспресс",),
    people=(CEO, "Кречетов"),
    false_friends=(
        "Пересмотрели «Поляр Экспресс» с детьми, новогоднее настроение включено 🎄",
        "Билеты на Поляр Экспресс до Мурманска раскупили за час",
    ),
    mix={
        "vk": (0.30, 0.35, 0.35),
        "telegram": (0.50, 0.32, 0.18),
        "youtube": (0.25, 0.30, 0.45),
        "news": (0.15, 0.75, 0.10),
        "vcru": (0.30, 0.45, 0.25),
        "dzen": (0.38, 0.37, 0.25),
        "reviews": (0.22, 0.10, 0.68),
    },
)

BRANDS: tuple[StreamBrand, ...] = (
    OWN_BRAND,
    StreamBrand(
        name="Борей Банк",
        aliases=("Борей", "Борейбанк", "Borey Bank"),
        own=False,
        share=0.25,
        spellings=(
            (masc("Борей"), 0.55),
            (masc("Банк", prefix="Борей "), 0.25),
            (masc("Борейбанк"), 0.10),
            (fixed("Borey Bank"), 0.10),
        ),
        hashtag="#борейбанк",
        exclusions=("подлодка Борей", "крейсер Борей", "проект Борей"),
        false_friends=(
            "Атомная подлодка Борей вышла на ходовые испытания",
            "Подводный крейсер Борей: что известно о проекте",
        ),
        mix={
            "vk": (0.52, 0.30, 0.18),
            "telegram": (0.35, 0.40, 0.25),
            "youtube": (0.55, 0.25, 0.20),
            "news": (0.20, 0.70, 0.10),
            "vcru": (0.25, 0.45, 0.30),
            "dzen": (0.40, 0.35, 0.25),
            "reviews": (0.42, 0.10, 0.48),
        },
    ),
    StreamBrand(
        name="Кварц Банк",
        aliases=("Кварц", "Кварцбанк", "Kvarts"),
        own=False,
        share=0.20,
        spellings=((masc("Кварц"), 0.6), (masc("Банк", prefix="Кварц "), 0.3), (fixed("Kvarts"), 0.1)),
        hashtag="#кварцбанк",
        exclusions=("кварц-винил", "кварцвинил", "кварцевый песок"),
        false_friends=(
            "Положили кварц-винил на кухне, полгода полёт нормальный",
            "Что лучше: ламинат или кварц-винил? Посоветуйте",
        ),
        mix={
            "vk": (0.20, 0.35, 0.45),
            "telegram": (0.25, 0.40, 0.35),
            "youtube": (0.30, 0.30, 0.40),
            "news": (0.10, 0.70, 0.20),
            "vcru": (0.20, 0.40, 0.40),
            "dzen": (0.25, 0.40, 0.35),
            "reviews": (0.15, 0.10, 0.75),
        },
    ),
    StreamBrand(
        name="Кедр Банк",
        aliases=("Кедр", "Кедрбанк"),
        own=False,
        share=0.15,
        spellings=((masc("Кедр"), 0.55), (masc("Банк", prefix="Кедр "), 0.30), (masc("Кедрбанк"), 0.15)),
        hashtag="#кедрбанк",
        exclusions=("сибирский кедр", "масло кедра", "шишки кедра"),
        false_friends=("Посадили на даче сибирский кедр, растёт медленно 🌲",),
        mix={
            "vk": (0.55, 0.30, 0.15),
            "telegram": (0.50, 0.35, 0.15),
            "youtube": (0.45, 0.35, 0.20),
            "news": (0.25, 0.70, 0.05),
            "vcru": (0.40, 0.40, 0.20),
            "dzen": (0.45, 0.35, 0.20),
            "reviews": (0.55, 0.10, 0.35),
        },
    ),
)


@dataclass(frozen=True)
class StreamChannel:
    """A platform: its share of volume, places inside it, local-hour rhythm, weekend factor, reach."""

    name: str
    share: float
    places: tuple[str, ...]
    hourly: tuple[float, ...]
    weekend: float
    reach_mu: float
    reach_sigma: float
    authors: int
    url: str


# Local-hour activity: social media wakes at 7, peaks at lunch and in the evening; news and vc.ru keep office
# hours. Twenty-four weights each.
_SOCIAL = (2, 1, 0.6, 0.4, 0.4, 0.6, 1.5, 3, 5, 6, 6.5, 7, 8, 7.5, 7, 6.5, 6.5, 7, 8, 9, 9.5, 9, 7, 4)
_OFFICE = (0.5, 0.3, 0.2, 0.2, 0.3, 0.8, 2, 4, 7, 9, 9.5, 9, 8, 8.5, 9, 8.5, 8, 7, 5, 4, 3.5, 3, 2, 1)
_VIDEO = (3, 2, 1, 0.6, 0.5, 0.6, 1, 2, 3, 4, 4.5, 5, 5.5, 5.5, 5.5, 6, 6.5, 7.5, 9, 10, 10.5, 10, 8, 5)

CHANNELS: tuple[StreamChannel, ...] = (
    StreamChannel(
        "vk",
        0.27,
        ("Подслушано: Финансы", "Банки и кредиты | Отзывы", "Типичный заёмщик", "Мамы района"),
        _SOCIAL,
        1.15,
        5.5,
        1.5,
        1500,
        "https://vk.com/wall-{n}",
    ),
    StreamChannel(
        "telegram",
        0.22,
        ("Финансы без воды", "Чат клиентов банков", "Кэшбэк-охотники", "Деньги не спят"),
        _SOCIAL,
        0.95,
        6.5,
        1.8,
        700,
        "https://t.me/demo_channel/{n}",
    ),
    StreamChannel(
        "youtube",
        0.10,
        ("Обзор карт 2024", "Честно о банках", "Кредитный эксперт"),
        _VIDEO,
        1.25,
        4.5,
        1.3,
        900,
        "https://www.youtube.com/watch?v=demo{n}",
    ),
    StreamChannel(
        "news",
        0.09,
        ("Финвестник", "Деньги и рынки", "Банковское обозрение", "Регион-Финанс"),
        _OFFICE,
        0.35,
        11.0,
        1.0,
        12,
        "https://finvestnik.example/news/{n}",
    ),
    StreamChannel(
        "vcru",
        0.08,
        ("vc.ru / Финансы", "vc.ru / Личный опыт"),
        _OFFICE,
        0.55,
        7.0,
        1.2,
        400,
        "https://vc.ru/money/{n}",
    ),
    StreamChannel(
        "dzen",
        0.09,
        ("Финансовая грамотность", "Записки заёмщика", "Экономлю с умом"),
        _SOCIAL,
        1.05,
        8.0,
        1.4,
        250,
        "https://dzen.ru/a/demo{n}",
    ),
    StreamChannel(
        "reviews",
        0.15,
        ("Отзывы о банках", "Народный рейтинг"),
        _OFFICE,
        0.9,
        3.5,
        1.0,
        1800,
        "https://otzyvy-bank.example/review/{n}",
    ),
)
