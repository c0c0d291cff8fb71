"""Generating a believable demo workspace: pure numpy, no Flask and no database.

Every customer has hidden traits that are never written anywhere: an *affinity* for the
brand (drives purchase frequency, review ratings, NPS, support satisfaction, the tone of
what they post), an *activity* level, and a *warmth* (how much their friends engage
with them). Followers are drawn independently of all three: audience size is not
advocacy, which is what the ranking must learn to ignore.

Customers are referred to by index ``0..n-1`` (the first ``len(PLANTED_ORDER)`` are the
planted cases); times are seconds before an anchor (``<= 0``), so one seed gives the
same data whatever the day, only shifted. Each part (customers, events, mentions,
graph, planted cases) draws from its own child of ``SeedSequence(seed)``, so changing
one part's recipe leaves the others as they were.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import Any, Final

import numpy as np

from advocacy.customers.sentiment import score_text

DAY: Final = 86_400
HISTORY_DAYS: Final = 730
BRAND: Final = "Northwind"

# Event kinds we generate, as codes into this tuple (EngagementEvent.kind strings).
EVENT_KINDS: Final = ("purchase", "review", "support_contact", "nps", "login", "email_click")
PURCHASE, REVIEW, SUPPORT, NPS, LOGIN, EMAIL_CLICK = range(len(EVENT_KINDS))
CURRENCY: Final = "EUR"

MENTION_CHANNELS: Final = ("x", "instagram", "facebook", "reddit", "tiktok", "trustpilot")
_MENTION_CHANNEL_P = (0.28, 0.25, 0.15, 0.1, 0.12, 0.1)
SOCIAL_CHANNELS: Final = ("whatsapp", "instagram", "facebook", "x", "tiktok")
_GROUP_CHANNEL_P = (0.35, 0.3, 0.15, 0.1, 0.1)
WHATSAPP, INSTAGRAM, FACEBOOK, X, TIKTOK = range(len(SOCIAL_CHANNELS))

# --- the planted cases: fixed external ids the tests and the README can name -------------

_CIRCLE_A = [f"crm-circle-a{i:02d}" for i in range(1, 10)]
_CIRCLE_B = [f"crm-circle-b{i:02d}" for i in range(1, 10)]
_BRIDGES = ["crm-circle-ab1", "crm-circle-ab2", "crm-circle-ab3"]

PLANTED: Final[dict[str, Any]] = {
    # ~5,000 followers, recent NPS 1, several recent negative mentions, hundreds of
    # follow-only edges and almost no conversation: loud, and must never be chosen.
    "loud_detractor": "crm-detractor",
    # Under 50 followers each, recent NPS 9-10, many positive mentions in several
    # languages, a dozen friends who reply and message a lot.
    "quiet_promoters": ["crm-promoter-1", "crm-promoter-2", "crm-promoter-3"],
    # Two tight friend groups (everyone interacts with everyone) sharing three members:
    # picking many advocates from them reaches the same people again.
    "overlapping_groups": [_CIRCLE_A + _BRIDGES, _CIRCLE_B + _BRIDGES],
    "group_bridges": _BRIDGES,
    # Only glowing reviews, NPS 10 and praise 20-24 months ago; nothing since.
    "dormant_fans": ["crm-dormant-1", "crm-dormant-2", "crm-dormant-3"],
}
PLANTED_ORDER: Final = (
    [PLANTED["loud_detractor"]]
    + PLANTED["quiet_promoters"]
    + _CIRCLE_A
    + _BRIDGES
    + _CIRCLE_B
    + PLANTED["dormant_fans"]
)
MIN_CUSTOMERS: Final = 100

# --- names, locales and texts -----------------------------------------------------------

LOCALES: Final = ("en-GB", "en-US", "de-DE", "fr-FR", "es-ES", "pt-BR", "it-IT", "nl-NL")
_LOCALE_P = (0.18, 0.17, 0.2, 0.13, 0.12, 0.1, 0.06, 0.04)

_NAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "en": (
        ("Oliver", "Amelia", "James", "Olivia", "Harry", "Isla", "Jack", "Emily", "Noah", "Ava")
        + ("Liam", "Sophia", "Ethan", "Grace", "Mason", "Chloe"),
        ("Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies")
        + ("Miller", "Clarke", "Walker", "Wright", "Thompson", "Evans", "Hughes", "O'Brien"),
    ),
    "de": (
        ("Lukas", "Anna", "Leon", "Mia", "Finn", "Emma", "Jonas", "Lena", "Paul", "Hannah")
        + ("Felix", "Sophie", "Jürgen", "Käthe", "Maximilian", "Lea"),
        ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker")
        + ("Schulz", "Hoffmann", "Koch", "Richter", "Wolf", "Schröder", "Neumann", "Braun"),
    ),
    "fr": (
        ("Gabriel", "Louise", "Raphaël", "Emma", "Léo", "Jade", "Louis", "Chloé", "Hugo", "Léa")
        + ("Arthur", "Manon", "François", "Camille", "Théo", "Inès"),
        ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand")
        + ("Leroy", "Moreau", "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "Fournier"),
    ),
    "es": (
        ("Hugo", "Lucía", "Mateo", "Sofía", "Martín", "Martina", "Lucas", "María", "Leo")
        + ("Julia", "Daniel", "Paula", "Alejandro", "Valeria", "Pablo", "Carmen"),
        ("García", "Rodríguez", "González", "Fernández", "López", "Martínez", "Sánchez")
        + ("Pérez", "Gómez", "Jiménez", "Ruiz", "Hernández", "Díaz", "Moreno", "Muñoz"),
    ),
    "pt": (
        ("Miguel", "Helena", "Arthur", "Alice", "Gael", "Laura", "Heitor", "Manuela", "Théo")
        + ("Valentina", "Davi", "Sophia", "João", "Lívia", "Bernardo", "Beatriz"),
        ("Silva", "Santos", "Oliveira", "Souza", "Rodrigues", "Ferreira", "Alves", "Pereira")
        + ("Lima", "Gomes", "Costa", "Ribeiro", "Martins", "Carvalho", "Araújo", "Conceição"),
    ),
    "it": (
        ("Leonardo", "Sofia", "Francesco", "Aurora", "Alessandro", "Giulia", "Lorenzo")
        + ("Ginevra", "Mattia", "Alice", "Tommaso", "Beatrice", "Riccardo", "Niccolò"),
        ("Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci")
        + ("Marino", "Greco", "Bruno", "Gallo", "Conti", "De Luca", "Giordano"),
    ),
    "nl": (
        ("Daan", "Emma", "Sem", "Julia", "Lucas", "Mila", "Levi", "Tess", "Finn", "Sophie")
        + ("Milan", "Zoë", "Bram", "Anna", "Thijs", "Noor"),
        ("de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Janssen")
        + ("Visser", "Smit", "Meijer", "de Boer", "Mulder", "de Groot", "Bos", "Vos"),
    ),
}
_EMAIL_DOMAINS = ("example.com", "example.net", "example.org", "mail.example")

NEGATIVE, NEUTRAL, POSITIVE = 0, 1, 2
_B = BRAND
# Per language, texts by tone (negative, neutral, positive). The English ones are the
# only ones VADER can score: each was checked to score with the tone it is filed under.
_TEXTS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "en": (
        (
            f"Worst experience with {_B}, the jacket fell apart after two weeks. Avoid.",
            f"Still waiting for my refund from {_B}. Terrible service.",
            f"{_B} lost my order and support ignored me for weeks. Awful.",
            f"Really disappointed with {_B}. Broken zip, rude support, no refund.",
            f"Do not buy from {_B}. Poor quality and horrible customer service.",
        ),
        (
            f"Anyone tried the new {_B} backpack? Thinking about ordering one.",
            f"{_B} sale starts tomorrow according to their newsletter.",
            f"Ordered a tent from {_B}, delivery expected next week.",
            f"Comparing {_B} and a couple of other shops for hiking gear.",
        ),
        (
            f"Just got my order from {_B} and it is perfect. Love this shop!",
            f"{_B} customer service is amazing, sorted everything in minutes. Highly recommend.",
            f"Third pair of boots from {_B} and still the best I have owned. Great quality!",
            f"Shoutout to {_B} for the fast delivery and lovely packaging :)",
            f"Need a good rain jacket? {_B} is the place. So happy with mine.",
        ),
    ),
    "de": (
        (
            f"{_B} hat meine Bestellung verloren und der Support antwortet nicht. Enttäuscht.",
            f"Die Jacke von {_B} ist nach zwei Wochen kaputt. Nie wieder.",
            f"Warte seit einem Monat auf meine Erstattung von {_B}. Unmöglich.",
        ),
        (
            f"Hat jemand Erfahrungen mit dem neuen Rucksack von {_B}?",
            f"Bei {_B} ist wohl ab morgen Sale.",
        ),
        (
            f"Meine Bestellung von {_B} ist da und einfach top. Klare Empfehlung!",
            f"Super Service bei {_B}, der Umtausch ging ganz schnell.",
            f"Die Wanderschuhe von {_B} sind die besten, die ich je hatte.",
        ),
    ),
    "fr": (
        (
            f"Toujours pas de remboursement de {_B}. Service client inexistant.",
            f"Veste {_B} déchirée après deux semaines. Très déçu.",
        ),
        (
            f"Quelqu'un a testé le nouveau sac à dos {_B} ?",
            f"Les soldes {_B} commencent demain, apparemment.",
        ),
        (
            f"Commande {_B} reçue, tout est parfait. Je recommande !",
            f"Service client {_B} au top, problème réglé en cinq minutes.",
            f"Mes chaussures {_B} sont géniales, très bonne qualité.",
        ),
    ),
    "es": (
        (
            f"{_B} perdió mi pedido y nadie responde. Muy decepcionado.",
            f"La chaqueta de {_B} se rompió en dos semanas. No vuelvo a comprar.",
        ),
        (
            f"¿Alguien ha probado la nueva mochila de {_B}?",
            f"Mañana empiezan las rebajas de {_B}.",
        ),
        (
            f"Mi pedido de {_B} llegó perfecto. ¡Los recomiendo!",
            f"La atención al cliente de {_B} es excelente, todo resuelto enseguida.",
            f"Las botas de {_B} son las mejores que he tenido.",
        ),
    ),
    "pt": (
        (
            f"A {_B} perdeu meu pedido e ninguém responde. Decepcionado.",
            f"A jaqueta da {_B} rasgou em duas semanas. Nunca mais.",
        ),
        (
            f"Alguém já testou a mochila nova da {_B}?",
            f"Promoção da {_B} começa amanhã.",
        ),
        (
            f"Meu pedido da {_B} chegou perfeito. Recomendo demais!",
            f"Atendimento da {_B} é ótimo, resolveram tudo rapidinho.",
            f"As botas da {_B} são as melhores que já tive.",
        ),
    ),
    "it": (
        (f"{_B} ha perso il mio ordine e nessuno risponde. Deluso.",),
        (f"Qualcuno ha provato il nuovo zaino {_B}?",),
        (
            f"Ordine {_B} arrivato, tutto perfetto. Consigliatissimo!",
            f"Assistenza {_B} fantastica, risolto tutto in pochi minuti.",
        ),
    ),
    "nl": (
        (f"{_B} is mijn bestelling kwijt en niemand reageert. Erg teleurgesteld.",),
        (f"Heeft iemand de nieuwe rugzak van {_B} al geprobeerd?",),
        (f"Bestelling van {_B} binnen en helemaal top. Aanrader!",),
    ),
}
LANGUAGES: Final = tuple(_TEXTS)


@cache
def vader_score(text: str) -> float:
    """VADER's score, cached: the demo repeats a few dozen texts many times."""
    return round(score_text(text), 4)


# --- the generated tables ------------------------------------------------------------


@dataclass
class CustomerTable:
    external_id: list[str]
    first_name: list[str]
    last_name: list[str]
    email: list[str]
    locale: list[str]
    followers: np.ndarray  # int64; -1 when the CRM does not know
    consent_email: np.ndarray  # bool
    consent_sms: np.ndarray
    consent_social: np.ndarray
    since_days: np.ndarray  # int64, days before the anchor they became a customer
    tier: list[str]
    # Hidden truth, never written to the database: for benchmarks and sanity checks.
    affinity: np.ndarray  # float64, brand love, ~N(0, 1)
    warmth: np.ndarray  # float64, how much friends engage with them


@dataclass
class EventTable:
    customer: np.ndarray  # int32 customer index
    kind: np.ndarray  # int8 code into EVENT_KINDS
    value: np.ndarray  # int16; -1 for none
    amount: np.ndarray  # int64 minor units of CURRENCY; -1 for none
    time: np.ndarray  # int64 seconds before the anchor (<= 0)


@dataclass
class MentionTable:
    customer: np.ndarray  # int32 customer index; -1 for someone who is not a customer
    channel: np.ndarray  # int8 code into MENTION_CHANNELS
    text: list[str | None]
    language: list[str | None]
    sentiment: np.ndarray  # float64 in [-1, 1]
    scored: np.ndarray  # bool: True when the sentiment is VADER's score of the text
    reach: np.ndarray  # int64; -1 for unknown
    time: np.ndarray  # int64 seconds before the anchor


@dataclass
class ConnectionTable:
    source: np.ndarray  # int32 customer index
    target: np.ndarray
    channel: np.ndarray  # int8 code into SOCIAL_CHANNELS
    replies: np.ndarray  # int32
    likes: np.ndarray
    shares: np.ndarray
    messages: np.ndarray
    follows: np.ndarray  # bool
    sentiment: np.ndarray  # float64; NaN for none
    last_time: np.ndarray  # float64 seconds before the anchor; NaN for never


@dataclass
class DemoData:
    seed: int
    customers: CustomerTable
    events: EventTable
    mentions: MentionTable
    connections: ConnectionTable
    program: ProgramPlan

    @property
    def n(self) -> int:
        return len(self.customers.external_id)

    def planted_index(self, external_id: str) -> int:
        """The customer index of a planted case, by its external id."""
        return PLANTED_ORDER.index(external_id)


def generate_demo(seed: int, customers: int) -> DemoData:
    """The whole demo workspace for ``seed`` with ``customers`` customers, as arrays."""
    if customers < MIN_CUSTOMERS:
        raise ValueError(f"the demo needs at least {MIN_CUSTOMERS} customers")
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(7)]
    rng_customers, rng_events, rng_mentions, rng_graph, rng_planted = streams[:5]
    rng_program, rng_crisis = streams[5:]
    people = _Population.draw(rng_customers, customers)
    planted = _Planted(people, rng_planted)
    planted.shape_people()
    program = _plan_program(rng_program, people)
    events = _concat_events(
        [
            program.after_joining(_random_events(rng_events, people)),
            planted.events(),
            program.referred_purchases(),
        ]
    )
    everyday = program.after_joining(_random_mentions(rng_mentions, people))
    mentions = _concat_mentions(
        [everyday, planted.mentions(), _crisis_mentions(rng_crisis, people, everyday)]
    )
    connections = _dedupe(
        _concat_connections([planted.connections(), *_random_graph(rng_graph, people)])
    )
    return DemoData(
        seed=seed,
        customers=people.table(events),
        events=events,
        mentions=mentions,
        connections=connections,
        program=program,
    )


# --- customers -----------------------------------------------------------------------


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


@dataclass
class _Population:
    n: int
    external_id: list[str]
    first_name: list[str]
    last_name: list[str]
    email: list[str]
    locale: list[str]
    followers: np.ndarray
    consent: np.ndarray  # (n, 3) bool: email, sms, social
    since_days: np.ndarray  # int64
    active_until_days: np.ndarray  # int64: 0 unless they churned
    affinity: np.ndarray
    activity: np.ndarray  # 0 for planted people whose history is written by hand
    warmth: np.ndarray

    @classmethod
    def draw(cls, rng: np.random.Generator, n: int) -> _Population:
        planted = len(PLANTED_ORDER)
        width = max(5, len(str(n - planted)))
        external_id = list(PLANTED_ORDER) + [
            f"crm-{k:0{width}d}" for k in range(1, n - planted + 1)
        ]
        locale_code = rng.choice(len(LOCALES), size=n, p=_LOCALE_P)
        first_pick = rng.integers(0, 1 << 30, size=n)
        last_pick = rng.integers(0, 1 << 30, size=n)
        domain = rng.choice(len(_EMAIL_DOMAINS), size=n, p=(0.4, 0.25, 0.2, 0.15))
        tagged = rng.random(n) < 0.04  # a few sign up with a +tag: normalisation matters
        first_name, last_name, email, locale = [], [], [], []
        for i in range(n):
            loc = LOCALES[locale_code[i]]
            firsts, lasts = _NAMES[loc[:2]]
            first, last = firsts[first_pick[i] % len(firsts)], lasts[last_pick[i] % len(lasts)]
            tag = "+shop" if tagged[i] else ""
            first_name.append(first)
            last_name.append(last)
            locale.append(loc)
            email.append(f"{_ascii(first)}.{_ascii(last)}{i + 1}{tag}@{_EMAIL_DOMAINS[domain[i]]}")
        # Heavy-tailed audiences, independent of everything else; 8% unknown.
        followers = rng.lognormal(np.log(90), 1.25, size=n)
        tail = rng.random(n) < 0.02
        followers[tail] *= 5 + 20 * rng.pareto(1.1, size=int(tail.sum()))
        followers = np.minimum(followers, 2_000_000).astype(np.int64)
        followers[rng.random(n) < 0.08] = -1
        consent = rng.random((n, 3)) < np.array([0.86, 0.35, 0.6])
        since_days = rng.integers(30, 1100, size=n)
        churned = rng.random(n) < 0.15
        active_until_days = np.zeros(n, dtype=np.int64)
        gone = rng.integers(60, np.maximum(since_days, 61))
        active_until_days[churned] = gone[churned]
        affinity = rng.standard_normal(n)
        activity = rng.lognormal(0.0, 0.6, size=n) * (1 + 0.3 * np.tanh(affinity))
        warmth = np.exp(0.5 * rng.standard_normal(n) + 0.2 * affinity)
        return cls(
            n=n,
            external_id=external_id,
            first_name=first_name,
            last_name=last_name,
            email=email,
            locale=locale,
            followers=followers,
            consent=consent,
            since_days=since_days.astype(np.int64),
            active_until_days=active_until_days,
            affinity=affinity,
            activity=activity,
            warmth=warmth,
        )

    def table(self, events: EventTable) -> CustomerTable:
        recent = (events.kind == PURCHASE) & (events.time > -365 * DAY)
        purchases = np.bincount(events.customer[recent], minlength=self.n)
        tier = np.where(purchases >= 4, "gold", np.where(purchases >= 2, "silver", "bronze"))
        return CustomerTable(
            external_id=self.external_id,
            first_name=self.first_name,
            last_name=self.last_name,
            email=self.email,
            locale=self.locale,
            followers=self.followers,
            consent_email=self.consent[:, 0].copy(),
            consent_sms=self.consent[:, 1].copy(),
            consent_social=self.consent[:, 2].copy(),
            since_days=self.since_days,
            tier=tier.tolist(),
            affinity=self.affinity,
            warmth=self.warmth,
        )

    @property
    def regular(self) -> np.ndarray:
        """Indices of the people who are not planted."""
        return np.arange(len(PLANTED_ORDER), self.n)


# --- engagement events ---------------------------------------------------------------

# Events per year for an average customer at affinity 0, and how affinity bends the rate.
_RATE_PER_YEAR = np.array([1.6, 0.3, 0.4, 0.45, 2.0, 1.0])
_AFFINITY_SLOPE = np.array([0.35, 0.0, -0.25, 0.0, 0.3, 0.3])


def _random_events(rng: np.random.Generator, people: _Population) -> EventTable:
    n, a = people.n, people.affinity
    start = -np.minimum(people.since_days, HISTORY_DAYS) * DAY
    end = -people.active_until_days * DAY
    years = np.maximum(end - start, 0) / (365 * DAY)
    rates = _RATE_PER_YEAR * np.exp(np.outer(a, _AFFINITY_SLOPE))
    rates[:, REVIEW] *= 1 + 0.4 * np.abs(a)  # strong feelings get written down
    counts = rng.poisson(rates * (people.activity * years)[:, None])
    flat = counts.ravel()
    customer = np.repeat(np.repeat(np.arange(n, dtype=np.int32), len(EVENT_KINDS)), flat)
    kind = np.repeat(np.tile(np.arange(len(EVENT_KINDS), dtype=np.int8), n), flat)
    m = len(customer)
    time = (start[customer] + rng.random(m) * (end - start)[customer]).astype(np.int64)
    ca = a[customer]
    value = np.full(m, -1, dtype=np.int16)
    review = kind == REVIEW
    value[review] = np.clip(
        np.rint(3.5 + 1.1 * ca[review] + rng.normal(0, 0.8, review.sum())), 1, 5
    )
    nps = kind == NPS
    value[nps] = np.clip(np.rint(7.2 + 2.0 * ca[nps] + rng.normal(0, 1.3, nps.sum())), 0, 10)
    support = kind == SUPPORT
    rated = support & (rng.random(m) < 0.8)
    value[rated] = np.clip(np.rint(3.6 + 0.8 * ca[rated] + rng.normal(0, 1.0, rated.sum())), 1, 5)
    amount = np.full(m, -1, dtype=np.int64)
    purchase = kind == PURCHASE
    amount[purchase] = _prices(rng, int(purchase.sum()))
    return EventTable(customer, kind, value, amount, time)


def _prices(rng: np.random.Generator, k: int, median: float = 45.0) -> np.ndarray:
    """Shop prices in cents: 44.99, 119.99, ..."""
    euros = np.maximum(np.rint(rng.lognormal(np.log(median), 0.6, size=k)), 5)
    return (euros * 100 - 1).astype(np.int64)


def _concat_events(parts: list[EventTable]) -> EventTable:
    table = EventTable(
        *(np.concatenate([getattr(p, f) for p in parts]) for f in EventTable.__dataclass_fields__)
    )
    order = np.lexsort((table.time, table.customer))  # event ids follow each history
    return EventTable(*(getattr(table, f)[order] for f in EventTable.__dataclass_fields__))


# --- mentions ------------------------------------------------------------------------


def _tone(sentiment: np.ndarray) -> np.ndarray:
    return np.where(sentiment > 0.25, POSITIVE, np.where(sentiment < -0.25, NEGATIVE, NEUTRAL))


def _texts_for(
    rng: np.random.Generator, languages: list[str], tones: np.ndarray
) -> tuple[list[str], np.ndarray]:
    pick = rng.integers(0, 1 << 30, size=len(languages))
    texts = []
    for lang, tone, p in zip(languages, tones.tolist(), pick.tolist(), strict=True):
        options = _TEXTS[lang][tone]
        texts.append(options[p % len(options)])
    return texts, pick


def _random_mentions(rng: np.random.Generator, people: _Population) -> MentionTable:
    n, a = people.n, people.affinity
    start = -np.minimum(people.since_days, HISTORY_DAYS) * DAY
    end = -people.active_until_days * DAY
    years = np.maximum(end - start, 0) / (365 * DAY)
    rate = 0.3 * people.activity * (0.4 + np.abs(a)) * years
    counts = rng.poisson(rate)
    customer = np.repeat(np.arange(n, dtype=np.int32), counts)
    # Listening tools also catch people who are not (yet) customers.
    strangers = max(1, len(customer) // 7)
    customer = np.concatenate([customer, np.full(strangers, -1, dtype=np.int32)])
    m = len(customer)
    known = customer >= 0
    ci = np.where(known, customer, 0)
    lean = np.where(known, a[ci], rng.normal(-0.1, 1.0, m))
    sentiment = np.clip(np.round(np.tanh(0.8 * lean + rng.normal(0, 0.45, m)), 3), -1.0, 1.0)
    # More chatter lately: mentions lean towards the recent end of each history.
    lo = np.where(known, start[ci], -HISTORY_DAYS * DAY)
    hi = np.where(known, end[ci], 0)
    time = (hi - (hi - lo) * rng.random(m) ** 1.6).astype(np.int64)
    own = np.array([people.locale[i][:2] for i in ci.tolist()])
    language = np.where(known & (rng.random(m) < 0.85), own, "en").tolist()
    tone = _tone(sentiment)
    texts, _ = _texts_for(rng, language, tone)
    text: list[str | None] = list(texts)
    no_text = rng.random(m) < 0.1  # some tools send only a score
    for i in np.flatnonzero(no_text).tolist():
        text[i] = None
    lang_out: list[str | None] = list(language)
    # Some English mentions arrive as bare text: we score them with VADER, as the API would.
    scored = (np.array(language) == "en") & ~no_text & (rng.random(m) < 0.3)
    for i in np.flatnonzero(scored).tolist():
        sentiment[i] = vader_score(texts[i])
    followers = np.where(known, people.followers[ci], -1)
    reach = np.where(
        followers >= 0,
        (followers * rng.beta(1.2, 3.0, m)).astype(np.int64) + 1,
        rng.lognormal(np.log(200), 1.5, m).astype(np.int64),
    )
    reach[rng.random(m) < 0.1] = -1
    channel = rng.choice(len(MENTION_CHANNELS), size=m, p=_MENTION_CHANNEL_P).astype(np.int8)
    return MentionTable(customer, channel, text, lang_out, sentiment, scored, reach, time)


def _concat_mentions(parts: list[MentionTable]) -> MentionTable:
    fields: dict[str, Any] = {}
    for f in MentionTable.__dataclass_fields__:
        values = [getattr(p, f) for p in parts]
        fields[f] = sum(values, []) if isinstance(values[0], list) else np.concatenate(values)
    order = np.argsort(fields["time"], kind="stable")  # ids in the order the tool saw them
    ordered: dict[str, Any] = {
        f: [v[i] for i in order.tolist()] if isinstance(v, list) else v[order]
        for f, v in fields.items()
    }
    return MentionTable(**ordered)


# --- the social graph ----------------------------------------------------------------


def _edges(
    source: np.ndarray,
    target: np.ndarray,
    channel: np.ndarray | int,
    *,
    replies: np.ndarray | int = 0,
    likes: np.ndarray | int = 0,
    shares: np.ndarray | int = 0,
    messages: np.ndarray | int = 0,
    follows: np.ndarray | bool = False,
    sentiment: np.ndarray | float = np.nan,
    last_time: np.ndarray | float = np.nan,
) -> ConnectionTable:
    k = len(source)

    def full(value: Any, dtype: Any) -> np.ndarray:
        return np.broadcast_to(np.asarray(value, dtype=dtype), (k,)).copy()

    return ConnectionTable(
        source=full(source, np.int32),
        target=full(target, np.int32),
        channel=full(channel, np.int8),
        replies=full(replies, np.int32),
        likes=full(likes, np.int32),
        shares=full(shares, np.int32),
        messages=full(messages, np.int32),
        follows=full(follows, np.bool_),
        sentiment=full(sentiment, np.float64),
        last_time=full(last_time, np.float64),
    )


def _concat_connections(parts: list[ConnectionTable]) -> ConnectionTable:
    return ConnectionTable(
        *(
            np.concatenate([getattr(p, f) for p in parts])
            for f in ConnectionTable.__dataclass_fields__
        )
    )


def _dedupe(table: ConnectionTable) -> ConnectionTable:
    """One edge per (source, target), the first one generated winning; no self-loops.

    The result is sorted by (source, target): inserting in index order is much faster.
    """
    key = table.source.astype(np.int64) << 32 | table.target.astype(np.int64)
    _, keep = np.unique(key, return_index=True)  # np.unique keeps each key's first index
    keep = keep[table.source[keep] != table.target[keep]]
    return ConnectionTable(*(getattr(table, f)[keep] for f in ConnectionTable.__dataclass_fields__))


def _recent(rng: np.random.Generator, strength: np.ndarray) -> np.ndarray:
    """Last interaction within the last year, sooner for stronger ties."""
    days = np.minimum(rng.exponential(40.0 / np.maximum(strength, 0.2)), 364.0)
    return -(days * DAY + rng.integers(0, DAY, size=len(strength)))


def _interactions(
    rng: np.random.Generator,
    source: np.ndarray,
    target: np.ndarray,
    channel: np.ndarray,
    intensity: np.ndarray,
    follow_p: float,
    negative_p: float,
) -> ConnectionTable:
    k = len(source)
    messaging = channel == WHATSAPP
    sentiment = np.clip(rng.normal(0.55, 0.25, k), -1, 1)
    negative = rng.random(k) < negative_p
    sentiment[negative] = np.clip(rng.normal(-0.55, 0.2, int(negative.sum())), -1, -0.05)
    sentiment[(rng.random(k) < 0.4) & ~negative] = np.nan  # tone often unknown
    edges = _edges(
        source,
        target,
        channel,
        replies=rng.poisson(np.where(messaging, 1.0, 2.5) * intensity),
        likes=rng.poisson(np.where(messaging, 1.0, 8.0) * intensity),
        shares=rng.poisson(0.6 * intensity),
        messages=rng.poisson(np.where(messaging, 9.0, 1.5) * intensity),
        follows=~messaging & (rng.random(k) < follow_p),
        sentiment=np.round(sentiment, 3),
        last_time=_recent(rng, intensity).astype(np.float64),
    )
    # A tie was seen through at least one interaction: a message in a chat, else a like.
    silent = (edges.replies + edges.likes + edges.shares + edges.messages) == 0
    edges.messages[silent & messaging] = 1
    edges.likes[silent & ~messaging] = 1
    return edges


def _random_graph(rng: np.random.Generator, people: _Population) -> list[ConnectionTable]:
    """Friend groups with dense, strong ties; sparse weak ties across; audiences."""
    regular = people.regular
    order = rng.permutation(regular)
    grouped = int(len(order) * 0.85)  # the rest are loners, tied only across
    sizes: list[int] = []
    while sum(sizes) < grouped:
        sizes.append(int(rng.integers(8, 31)))
    sizes[-1] -= sum(sizes) - grouped
    if sizes[-1] < 3:  # too small a remainder: fold it into the previous group
        sizes[-2] += sizes.pop()
    bounds = np.cumsum([0, *sizes])
    groups = [list(order[bounds[g] : bounds[g + 1]]) for g in range(len(sizes))]
    # About one grouped person in ten also belongs to a second group.
    joiners = rng.choice(order[:grouped], size=grouped // 10, replace=False)
    for person, g in zip(
        joiners.tolist(), rng.integers(0, len(groups), len(joiners)).tolist(), strict=True
    ):
        if person not in groups[g]:
            groups[g].append(person)
    channel_of = rng.choice(len(SOCIAL_CHANNELS), size=len(groups), p=_GROUP_CHANNEL_P)
    cohesion = rng.uniform(0.3, 0.7, size=len(groups))
    sources, targets, channels, strengths = [], [], [], []
    for g, members_list in enumerate(groups):
        members = np.array(members_list, dtype=np.int32)
        s = len(members)
        i, j = np.triu_indices(s, 1)
        tie = rng.random(len(i)) < cohesion[g]
        i, j = i[tie], j[tie]
        strength = rng.gamma(2.0, 1.0, size=len(i))
        # Most ties go both ways; a tie always has at least one direction.
        forward = rng.random(len(i)) < 0.9
        backward = (rng.random(len(i)) < 0.9) | ~forward
        src = np.concatenate([members[i][forward], members[j][backward]])
        dst = np.concatenate([members[j][forward], members[i][backward]])
        sources.append(src)
        targets.append(dst)
        strengths.append(np.concatenate([strength[forward], strength[backward]]))
        mixed = rng.integers(0, len(SOCIAL_CHANNELS), len(src))
        own = np.where(rng.random(len(src)) < 0.8, channel_of[g], mixed)
        channels.append(own)
    src = np.concatenate(sources)
    dst = np.concatenate(targets)
    intensity = np.concatenate(strengths) * people.warmth[dst]
    inside = _interactions(
        rng, src, dst, np.concatenate(channels), intensity, follow_p=0.75, negative_p=0.02
    )
    # Sparse, weak ties across the whole population.
    k = rng.poisson(0.8 * len(regular))
    src = rng.choice(regular, size=k)
    dst = rng.choice(regular, size=k)
    weak = 0.25 * rng.gamma(1.5, 1.0, size=k) * people.warmth[dst]
    across = _interactions(
        rng,
        src,
        dst,
        rng.choice(len(SOCIAL_CHANNELS), size=k, p=(0.1, 0.35, 0.2, 0.25, 0.1)),
        weak,
        follow_p=0.5,
        negative_p=0.08,
    )
    # Audiences: people with many followers are followed, without a word, by customers.
    popular = regular[people.followers[regular] >= 2000]
    cap = max(5, len(regular) // 10)
    fans = np.minimum(np.sqrt(people.followers[popular]) * 0.8, cap).astype(np.int64)
    audience = _edges(
        rng.choice(regular, size=int(fans.sum())),
        np.repeat(popular, fans),
        rng.choice([INSTAGRAM, X, TIKTOK], size=int(fans.sum())),
        follows=True,
    )
    return [inside, across, audience]


# --- planted cases ---------------------------------------------------------------------


class _Planted:
    """Hand-written histories for the cases the ranking must get right."""

    def __init__(self, people: _Population, rng: np.random.Generator) -> None:
        self.people = people
        self.rng = rng
        self.idx = {ext: i for i, ext in enumerate(PLANTED_ORDER)}
        self.detractor = self.idx[PLANTED["loud_detractor"]]
        self.promoters = [self.idx[e] for e in PLANTED["quiet_promoters"]]
        self.dormant = [self.idx[e] for e in PLANTED["dormant_fans"]]
        self.circles = [[self.idx[e] for e in group] for group in PLANTED["overlapping_groups"]]
        # Friends of the promoters: distinct regular customers, drawn once.
        self.friends = (
            rng.choice(people.regular, size=12 * len(self.promoters), replace=False)
            .reshape(len(self.promoters), 12)
            .astype(np.int32)
        )

    def _person(
        self, i: int, first: str, last: str, locale: str, followers: int, affinity: float
    ) -> None:
        p = self.people
        p.first_name[i], p.last_name[i], p.locale[i] = first, last, locale
        p.email[i] = f"{_ascii(first)}.{_ascii(last)}@example.com"
        p.followers[i] = followers
        p.affinity[i] = affinity
        p.activity[i] = 0.0  # their history is written below, not drawn
        p.active_until_days[i] = 0
        p.consent[i] = True

    def shape_people(self) -> None:
        p, rng = self.people, self.rng
        self._person(self.detractor, "Dana", "Whitfield", "en-US", 5200, -2.5)
        p.since_days[self.detractor] = 640
        for i, (first, last, locale, followers) in zip(
            self.promoters,
            [
                ("Jonas", "Keller", "de-DE", 18),
                ("Ana Beatriz", "Costa", "pt-BR", 31),
                ("Camille", "Fontaine", "fr-FR", 44),
            ],
            strict=True,
        ):
            self._person(i, first, last, locale, followers, 2.2)
            p.since_days[i] = 900
            p.warmth[i] = 3.0
        for i, (first, last, locale, followers) in zip(
            self.dormant,
            [
                ("Margaret", "Hale", "en-GB", 240),
                ("Elena", "Vidal", "es-ES", 610),
                ("Marco", "Bellini", "it-IT", 150),
            ],
            strict=True,
        ):
            self._person(i, first, last, locale, followers, 1.8)
            p.since_days[i] = 800
            p.active_until_days[i] = 610
        # The circles live ordinary, fond histories (drawn like everyone's) among friends.
        first_circle = set(self.circles[0])
        for i in sorted(first_circle | set(self.circles[1])):
            p.locale[i] = "en-GB" if i in first_circle else "es-ES"
            firsts, lasts = _NAMES[p.locale[i][:2]]
            p.first_name[i] = firsts[int(rng.integers(len(firsts)))]
            p.last_name[i] = lasts[int(rng.integers(len(lasts)))]
            p.email[i] = f"{_ascii(p.first_name[i])}.{_ascii(p.last_name[i])}{i + 1}@example.org"
            p.affinity[i] = 1.3 + 0.3 * rng.standard_normal()
            p.activity[i] = 1.5
            p.active_until_days[i] = 0
            p.since_days[i] = max(int(p.since_days[i]), 400)
            p.followers[i] = int(rng.integers(60, 400))
            p.warmth[i] = 1.5

    # events

    def _times(self, days: Any) -> np.ndarray:
        days = np.atleast_1d(np.asarray(days, dtype=np.float64))
        return -(days * DAY).astype(np.int64) - self.rng.integers(0, DAY // 2, size=len(days))

    def events(self) -> EventTable:
        rng = self.rng
        rows: list[tuple[int, int, int, int, int]] = []

        def add(c: int, kind: int, days: Any, value: Any = -1, amount: Any = -1) -> None:
            times = self._times(days)
            values = np.broadcast_to(np.asarray(value), times.shape)
            amounts = np.broadcast_to(np.asarray(amount), times.shape)
            for t, v, am in zip(times.tolist(), values.tolist(), amounts.tolist(), strict=True):
                rows.append((c, kind, int(v), int(am), int(t)))

        d = self.detractor
        add(d, PURCHASE, [610, 540, 470, 400, 330], amount=_prices(rng, 5, 80.0))
        add(d, REVIEW, [380], value=3)
        add(d, NPS, [300], value=4)
        add(d, SUPPORT, [150, 95, 60, 21], value=[2, 1, 1, 1])
        add(d, NPS, [190], value=2)
        add(d, NPS, [12], value=1)
        add(d, REVIEW, [40], value=1)
        add(d, LOGIN, [200, 96, 61, 22, 13])
        for c in self.promoters:
            buys = np.arange(20, 720, 45) + rng.integers(0, 10, size=16)
            add(c, PURCHASE, buys, amount=_prices(rng, len(buys)))
            add(c, REVIEW, [600, 330, 35], value=5)
            add(c, NPS, [400], value=9)
            add(c, NPS, [18], value=10)
            add(c, SUPPORT, [250], value=5)
            add(c, LOGIN, rng.uniform(1, 700, size=30))
            add(c, EMAIL_CLICK, rng.uniform(1, 700, size=12))
        for c in self.dormant:
            add(c, PURCHASE, rng.uniform(640, 725, size=4), amount=_prices(rng, 4, 70.0))
            add(c, REVIEW, [705, 655], value=5)
            add(c, NPS, [680], value=10)
            add(c, LOGIN, rng.uniform(615, 725, size=6))
        table = np.array(rows, dtype=np.int64).reshape(-1, 5)
        return EventTable(
            customer=table[:, 0].astype(np.int32),
            kind=table[:, 1].astype(np.int8),
            value=table[:, 2].astype(np.int16),
            amount=table[:, 3].copy(),
            time=table[:, 4].copy(),
        )

    # mentions

    def mentions(self) -> MentionTable:
        rng = self.rng
        rows: list[tuple[int, int, str | None, str | None, float, bool, int, int]] = []

        def add(c: int, lang: str, tone: int, days: float, channel: int, *, scored: bool) -> None:
            options = _TEXTS[lang][tone]
            text = options[int(rng.integers(len(options)))]
            if scored:
                score = vader_score(text)
            else:
                score = {POSITIVE: 1.0, NEGATIVE: -1.0}[tone] * rng.uniform(0.65, 0.95)
            followers = max(int(self.people.followers[c]), 1)
            reach = int(followers * rng.uniform(0.3, 0.9)) + 1
            (time,) = self._times([days]).tolist()
            rows.append((c, channel, text, lang, round(score, 3), scored, reach, time))

        x, reddit, trustpilot = (MENTION_CHANNELS.index(ch) for ch in ("x", "reddit", "trustpilot"))
        instagram, facebook = (
            MENTION_CHANNELS.index("instagram"),
            MENTION_CHANNELS.index("facebook"),
        )
        for n, days in enumerate([3, 8, 15, 24, 33, 47, 58]):
            add(
                self.detractor,
                "en",
                NEGATIVE,
                days,
                (x, reddit, trustpilot)[n % 3],
                scored=n % 3 == 2,
            )
        for c in self.promoters:
            own = self.people.locale[c][:2]
            for n, days in enumerate([4, 19, 41, 75, 130, 210, 290]):
                lang = own if n % 3 else "en"
                add(
                    c,
                    lang,
                    POSITIVE,
                    days,
                    (instagram, facebook, x)[n % 3],
                    scored=lang == "en" and n == 3,
                )
        for c in self.dormant:
            own = self.people.locale[c][:2]
            add(c, own, POSITIVE, rng.uniform(620, 700), trustpilot, scored=own == "en")
            add(c, "en", POSITIVE, rng.uniform(640, 720), instagram, scored=False)
        return MentionTable(
            customer=np.array([r[0] for r in rows], dtype=np.int32),
            channel=np.array([r[1] for r in rows], dtype=np.int8),
            text=[r[2] for r in rows],
            language=[r[3] for r in rows],
            sentiment=np.array([r[4] for r in rows], dtype=np.float64),
            scored=np.array([r[5] for r in rows], dtype=np.bool_),
            reach=np.array([r[6] for r in rows], dtype=np.int64),
            time=np.array([r[7] for r in rows], dtype=np.int64),
        )

    # connections

    def connections(self) -> ConnectionTable:
        rng, regular = self.rng, self.people.regular
        parts = []
        d = self.detractor
        # A big audience that follows without a word...
        audience = rng.choice(regular, size=min(600, len(regular) // 2), replace=False)
        parts.append(_edges(audience, np.full(len(audience), d), X, follows=True))
        # ...a few who like the occasional post...
        likers = rng.choice(regular, size=min(20, len(regular) // 5), replace=False)
        k = len(likers)
        parts.append(
            _edges(
                likers,
                np.full(k, d),
                X,
                likes=rng.integers(1, 4, k),
                follows=True,
                last_time=self._times(rng.uniform(5, 200, k)).astype(np.float64),
            )
        )
        # ...and a few who argue with them.
        critics = rng.choice(regular, size=6, replace=False)
        parts.append(
            _edges(
                critics,
                np.full(6, d),
                X,
                replies=rng.integers(3, 9, 6),
                sentiment=np.round(rng.uniform(-0.8, -0.4, 6), 3),
                last_time=self._times(rng.uniform(2, 60, 6)).astype(np.float64),
            )
        )
        for c, friends in zip(self.promoters, self.friends, strict=True):
            k = len(friends)
            channel = rng.choice([WHATSAPP, INSTAGRAM], size=k, p=(0.6, 0.4))
            parts.append(
                _edges(
                    friends,
                    np.full(k, c),
                    channel,
                    replies=rng.poisson(30, k),
                    likes=rng.poisson(40, k),
                    shares=rng.poisson(4, k),
                    messages=rng.poisson(60, k),
                    follows=channel != WHATSAPP,
                    sentiment=np.round(rng.uniform(0.7, 0.95, k), 3),
                    last_time=self._times(rng.uniform(0, 30, k)).astype(np.float64),
                )
            )
            parts.append(
                _edges(
                    np.full(k, c),
                    friends,
                    channel,
                    replies=rng.poisson(10, k),
                    likes=rng.poisson(15, k),
                    messages=rng.poisson(40, k),
                    follows=channel != WHATSAPP,
                    sentiment=np.round(rng.uniform(0.6, 0.9, k), 3),
                    last_time=self._times(rng.uniform(0, 30, k)).astype(np.float64),
                )
            )
        for group in self.circles:
            members = np.array(group, dtype=np.int32)
            i, j = np.nonzero(~np.eye(len(members), dtype=bool))
            k = len(i)
            parts.append(
                _edges(
                    members[i],
                    members[j],
                    WHATSAPP,
                    replies=rng.poisson(8, k),
                    likes=rng.poisson(6, k),
                    shares=rng.poisson(2, k),
                    messages=rng.poisson(35, k),
                    sentiment=np.round(rng.uniform(0.5, 0.95, k), 3),
                    last_time=self._times(rng.uniform(0, 20, k)).astype(np.float64),
                )
            )
            # A thin link to the outside world.
            outside = rng.choice(regular, size=len(members))
            parts.append(
                _edges(
                    members,
                    outside,
                    INSTAGRAM,
                    likes=rng.integers(1, 5, len(members)),
                    follows=True,
                    last_time=self._times(rng.uniform(10, 300, len(members))).astype(float),
                )
            )
        for c in self.dormant:
            old = rng.choice(regular, size=3, replace=False)
            parts.append(
                _edges(
                    np.full(3, c),
                    old,
                    FACEBOOK,
                    likes=rng.integers(1, 4, 3),
                    follows=True,
                    last_time=self._times(rng.uniform(615, 700, 3)).astype(float),
                )
            )
            parts.append(
                _edges(
                    old,
                    np.full(3, c),
                    FACEBOOK,
                    likes=rng.integers(1, 3, 3),
                    last_time=self._times(rng.uniform(615, 700, 3)).astype(float),
                )
            )
        return _concat_connections(parts)


# --- the referral program and the crisis day ----------------------------------------------
#
# One ended campaign tested two incentives on its advocates, the classic question: the same
# EUR 20 per referred first purchase, all to the inviter (one-way, the control) or split
# EUR 10 / EUR 10 (two-way)? One-way advocates share a little more; two-way invitations
# convert about twice as often.
#
# The experiment assigns each advocate by a hash of the campaign's id, which exists only
# once the campaign row does. So the plan is made of *slots*: per variant, the behaviour of
# ``slots`` advocates (enrollment, links, shares, clicks, conversions), drawn with that
# variant's rates. The writer walks ``candidates`` in order and gives each the next free
# slot of the variant the hash gives them. Everything else, the invitees who joined
# through the program included, is the same whatever the campaign's id.

CAMPAIGN_START_DAYS: Final = 150  # days before the anchor
CAMPAIGN_END_DAYS: Final = 30
CRISIS_DAYS_AGO: Final = 75  # a bad day in the middle of the campaign
VARIANTS: Final = ("one_way_20_0", "two_way_10_10")  # the first is the control
# (inviter, invitee) reward in minor units of CURRENCY; 0 for none.
VARIANT_REWARDS: Final = ((2000, 0), (1000, 1000))
MIN_SAMPLE: Final = 150
LINK_CHANNELS: Final = ("whatsapp", "instagram", "facebook", "email", "x")
_LINK_CHANNEL_P = (0.35, 0.25, 0.15, 0.15, 0.1)
MAX_SLOTS: Final = 5000
_ACTIVE_P = (0.72, 0.68)  # created at least one link
_CLICKS_PER_LINK = (4.5, 4.0)  # mean of a negative binomial
_PURCHASE_P = (0.035, 0.085)  # per click


@dataclass
class ProgramPlan:
    """The campaign's advocates' behaviour, per slot; times in seconds before the anchor.

    Slot ``v * slots + k`` is the k-th advocate of variant ``v``. Links, clicks and
    conversions point to their slot, link and click by index.
    """

    slots: int
    candidates: np.ndarray  # customer indices, the order in which advocates are enrolled
    enrolled: np.ndarray  # per slot: enrollment time
    link_slot: np.ndarray  # per link: its slot
    link_channel: np.ndarray  # code into LINK_CHANNELS
    link_time: np.ndarray
    share_time: np.ndarray  # each link is shared once, soon after it is made
    share_impressions: np.ndarray  # int64; -1 when the channel reported none
    click_link: np.ndarray
    click_time: np.ndarray
    click_device: np.ndarray  # int32: which fake address and browser
    conversion_click: np.ndarray
    conversion_invitee: np.ndarray  # customer index: a newcomer who joined by this purchase
    conversion_amount: np.ndarray  # minor units of CURRENCY
    conversion_time: np.ndarray
    joined: np.ndarray  # per customer: time they became a customer by referral, or -inf

    def slot_variant(self, slot: np.ndarray | int) -> np.ndarray:
        return np.asarray(slot) // self.slots

    def after_joining(self, table: Any) -> Any:
        """Events or mentions without what a referred newcomer did before they joined."""
        customer = table.customer
        known = customer >= 0
        keep = ~known | (table.time >= self.joined[np.where(known, customer, 0)])
        if keep.all():
            return table
        fields = type(table).__dataclass_fields__
        return type(table)(
            **{
                f: [v for v, k in zip(value, keep.tolist(), strict=True) if k]
                if isinstance(value := getattr(table, f), list)
                else value[keep]
                for f in fields
            }
        )

    def referred_purchases(self) -> EventTable:
        """The CRM's copy of each referred first purchase."""
        k = len(self.conversion_invitee)
        return EventTable(
            customer=self.conversion_invitee.astype(np.int32),
            kind=np.full(k, PURCHASE, dtype=np.int8),
            value=np.full(k, -1, dtype=np.int16),
            amount=self.conversion_amount.copy(),
            time=self.conversion_time.copy(),
        )


def _plan_program(rng: np.random.Generator, people: _Population) -> ProgramPlan:
    """Draw every slot's behaviour, then the newcomers the purchases brought, then the
    candidates (contactable, fond, long-standing customers, best first)."""
    start, end = -CAMPAIGN_START_DAYS * DAY, -CAMPAIGN_END_DAYS * DAY
    slots = min(max(people.n // 12, 8), MAX_SLOTS)
    variant = np.repeat(np.arange(len(VARIANTS)), slots)
    total = len(variant)
    enrolled = start + rng.integers(0, 2 * DAY, size=total)
    active = rng.random(total) < np.take(_ACTIVE_P, variant)
    # A first link within weeks of launch; a third of the active advocates make a second.
    first = enrolled + np.minimum(rng.exponential(12 * DAY, total), 60 * DAY).astype(np.int64)
    second = rng.random(total) < 0.35
    again = first + np.minimum(rng.exponential(10 * DAY, total), 40 * DAY).astype(np.int64)
    link_slot = np.concatenate([np.flatnonzero(active), np.flatnonzero(active & second)])
    link_time = np.concatenate([first[active], again[active & second]])
    order = np.lexsort((link_time, link_slot))
    link_slot, link_time = link_slot[order], link_time[order]
    links = len(link_slot)
    channel = rng.choice(len(LINK_CHANNELS), size=links, p=_LINK_CHANNEL_P).astype(np.int8)
    for i in np.flatnonzero(np.r_[False, link_slot[1:] == link_slot[:-1]]).tolist():
        if channel[i] == channel[i - 1]:  # an advocate's second link is on another channel
            channel[i] = (channel[i] + 1) % len(LINK_CHANNELS)
    share_time = link_time + rng.integers(10 * 60, 6 * 3600, size=links)
    impressions = np.where(
        rng.random(links) < 0.7, rng.lognormal(np.log(300), 1.0, links).astype(np.int64), -1
    )
    link_variant = variant[link_slot]
    mean = np.take(_CLICKS_PER_LINK, link_variant)
    dispersion = 1.5
    clicks_per_link = rng.negative_binomial(dispersion, dispersion / (dispersion + mean))
    click_link = np.repeat(np.arange(links, dtype=np.int32), clicks_per_link)
    clicks = len(click_link)
    click_time = link_time[click_link] + rng.exponential(6 * DAY, clicks).astype(np.int64)
    live = click_time < end - 3600  # the campaign's links stopped working at its end
    click_link, click_time = click_link[live], click_time[live]
    order = np.argsort(click_time, kind="stable")
    click_link, click_time = click_link[order], click_time[order]
    clicks = len(click_link)
    click_device = rng.integers(0, 1 << 30, size=clicks).astype(np.int32)
    buys = rng.random(clicks) < np.take(_PURCHASE_P, link_variant[click_link])
    delay = rng.exponential(DAY, clicks).astype(np.int64) + 300
    bought = buys & (click_time + delay < end)
    conversion_click = np.flatnonzero(bought).astype(np.int32)
    conversion_time = (click_time + delay)[bought]
    conversion_amount = _prices(rng, len(conversion_click), median=55.0)
    # The people who joined by these purchases: regular customers, whose CRM history starts
    # on the day of their referred first purchase.
    newcomer = rng.choice(people.regular, size=len(conversion_click), replace=False)
    people.since_days[newcomer] = -(conversion_time // DAY)
    people.active_until_days[newcomer] = 0
    joined = np.full(people.n, np.iinfo(np.int64).min, dtype=np.int64)
    joined[newcomer] = conversion_time
    fond = np.zeros(people.n, dtype=bool)
    fond[people.regular] = True
    fond[newcomer] = False
    fond &= people.consent.any(axis=1) & (people.affinity > -0.3)
    fond &= (people.active_until_days == 0) & (people.since_days > CAMPAIGN_START_DAYS + 30)
    candidates = np.flatnonzero(fond)
    preference = (
        people.affinity[candidates]
        + 0.5 * np.log(people.warmth[candidates])
        + rng.normal(0, 0.5, len(candidates))
    )
    return ProgramPlan(
        slots=slots,
        candidates=candidates[np.argsort(-preference, kind="stable")],
        enrolled=enrolled,
        link_slot=link_slot.astype(np.int32),
        link_channel=channel,
        link_time=link_time,
        share_time=share_time,
        share_impressions=impressions,
        click_link=click_link,
        click_time=click_time,
        click_device=click_device,
        conversion_click=conversion_click,
        conversion_invitee=newcomer.astype(np.int32),
        conversion_amount=conversion_amount,
        conversion_time=conversion_time,
        joined=joined,
    )


def _crisis_mentions(
    rng: np.random.Generator, people: _Population, everyday: MentionTable
) -> MentionTable:
    """The planted crisis: on one day, a wave of angry posts about lost orders, several
    times the typical day's volume (the median of the four weeks before it)."""
    day_start = -CRISIS_DAYS_AGO * DAY
    before = (everyday.time >= day_start - 28 * DAY) & (everyday.time < day_start)
    per_day = np.bincount((everyday.time[before] - day_start) // DAY + 28, minlength=28)
    m = max(30, int(8 * np.median(per_day[:28])) + 10)
    known = rng.random(m) < 0.7
    customer = np.where(known, rng.choice(people.regular, size=m), -1).astype(np.int32)
    own = [people.locale[c][:2] if c >= 0 else "en" for c in customer.tolist()]
    language = [lang if rng.random() < 0.4 else "en" for lang in own]
    texts, _ = _texts_for(rng, language, np.full(m, NEGATIVE))
    scored = (np.array(language) == "en") & (rng.random(m) < 0.4)
    sentiment = np.round(rng.uniform(-0.9, -0.45, m), 3)
    for i in np.flatnonzero(scored).tolist():
        sentiment[i] = vader_score(texts[i])
    followers = np.where(customer >= 0, people.followers[np.maximum(customer, 0)], -1)
    reach = np.where(
        followers >= 0,
        (followers * rng.beta(1.5, 2.0, m)).astype(np.int64) + 1,
        rng.lognormal(np.log(400), 1.2, m).astype(np.int64),
    )
    channels = [MENTION_CHANNELS.index(c) for c in ("x", "trustpilot", "facebook")]
    channel = rng.choice(channels, size=m, p=(0.55, 0.25, 0.2)).astype(np.int8)
    # Through the afternoon and evening (UTC), as the news of the lost parcels spread.
    time = day_start + rng.integers(10 * 3600, 23 * 3600, size=m)
    return MentionTable(
        customer, channel, list(texts), list(language), sentiment, scored, reach, time
    )
