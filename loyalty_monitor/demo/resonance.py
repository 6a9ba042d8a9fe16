"""The scripted resonance: one client's complaint about our brand that escalates over a few hours.

It follows the pattern the product exists for (see docs/domain): the client complained three times over nine
days and nobody answered; on the live clock she complains once more, then writes the loud post: a named sum,
the regulator (ЦБ, Роспотребнадзор), a lawsuit, journalists and the CEO by name, "верните деньги". Reposts,
comments and views climb on every engagement update, copies appear in Telegram, vc.ru, Dzen, the news and
YouTube, people pile on in the comments, and after four hours the bank finally answers.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from datetime import datetime, timedelta

from core.mention import Mention
from core.synthetic import CEO, OWN_BRAND, EngagementUpdate, StreamEvent
from loyalty_monitor.demo.events import DEMO_SOURCE, ExpectedAlert

__all__ = [
    "RESONANCE_ALERTS",
    "RESONANCE_AUTHOR",
    "prior_complaints",
    "scripted_resonance",
    "scripted_resonance_ids",
]

RESONANCE_AUTHOR = "Марина Лебедева"
MAIN_ID = "res-main"

MAIN_TEXT = (
    "Полярбанк, это уже край. 19 дней назад с моей карты списали 84 000 ₽ — я эту операцию не совершала. "
    "Писала в поддержку четыре раза (чат, почта, отделение), звонила на горячую линию: «обращение "
    f"зарегистрировано» и тишина. {CEO}, вы вообще знаете, как ваш банк обращается с клиентами?! "
    "Сегодня отправила жалобу в ЦБ и Роспотребнадзор, готовлю иск в суд и уже написала журналистам. "
    "Верните деньги! Сделайте репост, пожалуйста, пусть увидят 🙏 #полярбанк #верните_деньги"
)

# (id, days before the end of history, channel, place, text): the unanswered complaints before the storm.
_PRIOR: tuple[tuple[str, float, str, str, str], ...] = (
    (
        "res-prior-1",
        9.3,
        "reviews",
        "Отзывы о банках",
        "Мошенническое списание, банк бездействует\nПолярбанк списал с моей карты 84 000 ₽ — операцию я не "
        "совершала. Написала в чат поддержки, обещали ответить за три дня. Очень плохо, деньги нужны срочно.",
    ),
    (
        "res-prior-2",
        6.1,
        "vk",
        "Банки и кредиты | Отзывы",
        "Полярбанк, прошла неделя, а на моё обращение о списании 84 000 ₽ так никто и не ответил. Звонила на "
        "горячую линию — «обращение зарегистрировано». Сколько можно ждать? Ужасное отношение 😡",
    ),
    (
        "res-prior-3",
        2.8,
        "telegram",
        "Чат клиентов банков",
        "Как достучаться до Поляра? Третья жалоба без ответа, 84 тысячи так и висят. Ходила в отделение — "
        "разводят руками. Отвратительный сервис 😡😡",
    ),
)

# (id, minutes after the live start, channel, place, author, reach, text): copies of the loud post.
_COPIES: tuple[tuple[str, int, str, str, str, int, str], ...] = (
    ("res-copy-vk", 65, "vk", "Подслушано: Финансы", "Подслушано: Финансы", 410_000, MAIN_TEXT),
    (
        "res-copy-tg",
        80,
        "telegram",
        "Финансы без воды",
        "Финансы без воды",
        260_000,
        f"Подписчица пишет:\n\n{MAIN_TEXT}",
    ),
    (
        "res-copy-vc",
        110,
        "vcru",
        "vc.ru / Личный опыт",
        "Ольга Титова",
        12_000,
        f"Банк третью неделю не возвращает 84 000 ₽ и молчит. История клиентки Полярбанка\n\n{MAIN_TEXT}",
    ),
    (
        "res-copy-dzen",
        150,
        "dzen",
        "Записки заёмщика",
        "Записки заёмщика",
        95_000,
        f"Полярбанк списал 84 тысячи и молчит: вот что пишет клиентка. {MAIN_TEXT}",
    ),
    (
        "res-copy-news",
        180,
        "news",
        "Финвестник",
        "Финвестник",
        1_200_000,
        "Клиентка Полярбанка пожаловалась в ЦБ и Роспотребнадзор на списание 84 тысяч рублей. Женщина "
        "обратилась к председателю правления банка Игорю Кречетову и журналистам, требует вернуть "
        "деньги и готовит иск в суд. Пост собрал тысячи репостов; "
        "в Полярбанке ситуацию пока не прокомментировали.",
    ),
    (
        "res-copy-yt",
        210,
        "youtube",
        "Честно о банках",
        "pro_cashback77",
        3_400,
        f"Смотрите, что Полярбанк творит: {MAIN_TEXT}",
    ),
)

_ECHOES = (
    "Поддерживаю! Полярбанк, верните человеку деньги",
    "У меня было то же самое с Полярбанком, месяц ничего не могла вернуть 😡",
    "Полярбанк как всегда: обращение зарегистрировано и тишина. Позор",
    "Репост. Пусть Полярбанк ответит за это",
    "Ужас. Закрываю карту Поляра, хватит",
    "Поляр Банк, почему вы молчите?! Отвратительно",
    "Жалоба в ЦБ — правильно, только так Полярбанк и шевелится",
    "Сколько можно терпеть Полярбанк. Марина, держитесь!",
    "Кречетов, разберитесь уже со своей поддержкой! Полярбанк позорится",
    "Тоже клиент Полярбанка, тоже списали деньги без спроса. Кошмар",
)
_ECHO_DETAILS = (
    "у меня заявка висит с {n} числа",
    "мне в чате отвечают шаблонами уже {n} дней",
    "сама ждала ответа {n} дней, так и не дождалась",
    "мой перевод на {n} 000 ₽ тоже завис без объяснений",
    "в отделении на {n}-й линии тоже только разводят руками",
    "на горячей линии провисела {n} минут и ничего",
    "клиент с {y} года, такого бардака не помню",
)
"""Each echo adds a detail of its own: people who pile on write their own words, so the comments are many
complaints, not copies of one (copies count once, see :mod:`alerts.rules.copies_across_channels`)."""

_ECHO_AUTHORS = (
    "Ирина Белова",
    "Денис Гусев",
    "Алина Сафина",
    "Павел Орлов",
    "Юлия Комарова",
    "Сергей Зайцев",
    "Татьяна Егорова",
    "Никита Павлов",
    "Оксана Ким",
    "Роман Титов",
)

REPLY_TEXT = (
    "Марина, здравствуйте. Приносим извинения за долгое ожидание. Ваше обращение передано в службу "
    "по работе с обращениями клиентов, специалист свяжется с вами сегодня. Полярбанк"
)


RESONANCE_ALERTS: tuple[ExpectedAlert, ...] = (
    ExpectedAlert(
        "repeat_complainer",
        OWN_BRAND.name,
        ("res-prior-1", "res-prior-2", "res-prior-3", "res-prior-4", MAIN_ID),
        45,
        "warning",
        f"{RESONANCE_AUTHOR} complained four times without an answer before the loud post",
    ),
    ExpectedAlert(
        "escalation_terms",
        OWN_BRAND.name,
        (MAIN_ID,),
        45,
        "critical",
        "the post names the regulator (ЦБ, Роспотребнадзор), a court, journalists and the CEO",
        channel="vk",
    ),
    ExpectedAlert(
        "engagement_growth",
        OWN_BRAND.name,
        (MAIN_ID,),
        100,
        "critical",
        "reposts, comments and views of a negative post about our brand grow fast",
        channel="vk",
    ),
    ExpectedAlert(
        "copies_across_channels",
        OWN_BRAND.name,
        ("res-copy-vk", "res-copy-tg", "res-copy-vc"),
        120,
        "warning",
        "near-identical copies of the complaint appear in three more channels",
    ),
    ExpectedAlert(
        "negative_spike",
        OWN_BRAND.name,
        (),
        150,
        "warning",
        "negative mentions of our brand per hour rise far above the 30-day baseline (in VK, or over all "
        "channels when that crosses the line first, and then in VK while the pile-on lasts)",
        until_minutes=6 * 60,
    ),
)
"""The alerts the live script is built to trigger, with the channel where it is one (the loud post's, VK)."""


def scripted_resonance_ids() -> tuple[str, ...]:
    """External ids (source ``demo``) of the loud complaint and its copies, the main post first."""
    return (MAIN_ID, *(c[0] for c in _COPIES))


def prior_complaints(end: datetime) -> list[Mention]:
    """The author's unanswered complaints, dated before ``end`` (the end of history, the live start)."""
    out = []
    for external_id, days_before, channel, place, text in _PRIOR:
        out.append(
            Mention(
                source=DEMO_SOURCE,
                external_id=external_id,
                channel=channel,
                text=text,
                published_at=end - timedelta(days=days_before),
                author=RESONANCE_AUTHOR,
                author_reach=850,
                place=place,
                likes=3,
                reposts=0,
                comments=1,
                views=140,
                url=f"https://demo.example/{external_id}",
                raw=_raw("complaint"),
            )
        )
    return out


def _raw(kind: str, label: str = "negative") -> dict[str, object]:
    return {
        "demo_label": label,
        "demo_labels": {OWN_BRAND.name: label},
        "demo_brands": [OWN_BRAND.name],
        "demo_kind": kind,
        "demo_resonance": True,
    }


def _growth(minutes: float, mid: float, width: float) -> float:
    """Logistic share of the final counters reached ``minutes`` after publication."""
    return 1.0 / (1.0 + math.exp(-(minutes - mid) / width))


def scripted_resonance(
    seed: str, start: datetime, end: datetime, ordinary: Sequence[StreamEvent] = ()
) -> list[StreamEvent]:
    """The live part of the script, between ``start`` and ``end``; the echo comments vary with ``seed``.

    An :class:`~core.synthetic.Injector`: the ``ordinary`` events it is added to do not change it."""
    rng = random.Random(f"{seed}:resonance")
    events: list[StreamEvent] = []

    def at(minutes: float) -> datetime:
        return start + timedelta(minutes=minutes)

    events.append(
        Mention(
            source=DEMO_SOURCE,
            external_id="res-prior-4",
            channel="telegram",
            text=(
                "Полярбанк, я пишу вам уже четвёртый раз. Верните мои 84 000 ₽! Ни ответа, ни привета. "
                "Это издевательство 😡"
            ),
            published_at=at(15),
            author=RESONANCE_AUTHOR,
            author_reach=850,
            place="Чат клиентов банков",
            likes=5,
            reposts=0,
            comments=2,
            views=300,
            url="https://t.me/demo_chat/res-prior-4",
            raw=_raw("complaint"),
        )
    )
    events.append(
        Mention(
            source=DEMO_SOURCE,
            external_id=MAIN_ID,
            channel="vk",
            text=MAIN_TEXT,
            published_at=at(40),
            author=RESONANCE_AUTHOR,
            author_reach=850,
            place="Банки и кредиты | Отзывы",
            likes=12,
            reposts=2,
            comments=6,
            views=420,
            url="https://vk.com/wall-res-main",
            raw=_raw("resonance"),
        )
    )
    events.extend(_grow(MAIN_ID, at(40), end, (21_000, 5_200, 2_700, 480_000), mid=150, width=35))
    for external_id, minute, channel, place, author, reach, text in _COPIES:
        published = at(minute)
        events.append(
            Mention(
                source=DEMO_SOURCE,
                external_id=external_id,
                channel=channel,
                text=text,
                published_at=published,
                author=author,
                author_reach=reach,
                place=place,
                likes=10,
                reposts=1,
                comments=3,
                views=max(200, reach // 100),
                url=f"https://demo.example/{external_id}",
                parent_external_id=MAIN_ID,
                raw={**_raw("resonance_copy"), "demo_copy_of": MAIN_ID},
            )
        )
        final = (reach // 60, reach // 300, reach // 500, reach // 3)
        events.extend(_grow(external_id, published, end, final, mid=90, width=30))
    for n in range(45):
        echo_at = 55 + rng.random() ** 2 * 280  # most comments come while the copies spread
        detail = rng.choice(_ECHO_DETAILS).format(n=rng.randrange(2, 60), y=rng.randrange(2009, 2024))
        text = f"{rng.choice(_ECHOES)} ({detail})"
        events.append(
            Mention(
                source=DEMO_SOURCE,
                external_id=f"res-echo-{n:02d}",
                channel="vk",
                text=text,
                published_at=at(echo_at),
                author=rng.choice(_ECHO_AUTHORS),
                author_reach=rng.randrange(50, 3000),
                place="Банки и кредиты | Отзывы",
                likes=rng.randrange(0, 200),
                reposts=0,
                comments=rng.randrange(0, 10),
                views=None,
                parent_external_id=MAIN_ID,
                url=f"https://vk.com/wall-res-main?reply={n}",
                raw=_raw("echo"),
            )
        )
    events.append(
        Mention(
            source=DEMO_SOURCE,
            external_id="res-reply",
            channel="vk",
            text=REPLY_TEXT,
            published_at=at(260),
            author="Полярбанк — официальная страница",
            author_reach=180_000,
            place="Банки и кредиты | Отзывы",
            likes=40,
            reposts=0,
            comments=15,
            views=None,
            parent_external_id=MAIN_ID,
            url="https://vk.com/wall-res-main?reply=official",
            raw=_raw("official_reply", "neutral"),
        )
    )
    return [e for e in events if start <= (e.published_at if isinstance(e, Mention) else e.at) < end]


def _grow(
    external_id: str,
    published: datetime,
    end: datetime,
    final: tuple[int, int, int, int],
    mid: float,
    width: float,
) -> list[EngagementUpdate]:
    """Updates every ten minutes after publication, counters on a logistic curve towards ``final``."""
    out = []
    minute = 10
    while published + timedelta(minutes=minute) < end:
        share = _growth(minute, mid, width)
        likes, reposts, comments, views = (max(1, int(v * share)) for v in final)
        out.append(
            EngagementUpdate(
                DEMO_SOURCE,
                external_id,
                published + timedelta(minutes=minute),
                likes,
                reposts,
                comments,
                views,
            )
        )
        minute += 10
    return out
