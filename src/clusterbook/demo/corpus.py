"""The demo corpus: ``demo_documents`` writes short natural sentences per topic from fixed vocabularies
and templates, deterministically from a seed, with a little cross-topic noise so that clustering it is
realistic (not every sentence is pure) yet clearly separable. Nothing is downloaded.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class _Vocabulary:
    nouns: tuple[str, ...]
    verbs: tuple[str, ...]  # third person singular, transitive
    adjectives: tuple[str, ...]
    sources: tuple[str, ...]


_VOCABULARIES: dict[str, _Vocabulary] = {
    "astronomy": _Vocabulary(
        (
            "telescope",
            "galaxy",
            "orbit",
            "planet",
            "comet",
            "nebula",
            "asteroid",
            "star",
            "satellite",
            "eclipse",
            "observatory",
            "astronaut",
            "supernova",
            "moon",
            "meteor",
        ),
        ("orbits", "eclipses", "illuminates", "observes", "tracks", "photographs"),
        ("distant", "bright", "celestial", "lunar", "orbital", "cosmic"),
        ("Sky Journal", "Orbit Weekly", "Stargazer Blog"),
    ),
    "cooking": _Vocabulary(
        (
            "recipe",
            "oven",
            "garlic",
            "sauce",
            "butter",
            "flour",
            "dough",
            "skillet",
            "onion",
            "pasta",
            "chef",
            "spice",
            "broth",
            "kitchen",
            "dessert",
        ),
        ("simmers", "seasons", "bakes", "whisks", "roasts", "glazes"),
        ("crispy", "savory", "fresh", "spicy", "tender", "golden"),
        ("Home Kitchen", "Chef's Table", "Weeknight Recipes"),
    ),
    "football": _Vocabulary(
        (
            "striker",
            "goalkeeper",
            "referee",
            "stadium",
            "midfielder",
            "penalty",
            "league",
            "coach",
            "defender",
            "match",
            "tournament",
            "goal",
            "fans",
            "transfer",
            "pitch",
        ),
        ("scores", "tackles", "defends", "passes", "dribbles", "blocks"),
        ("defensive", "offside", "attacking", "winning", "tactical", "injured"),
        ("Matchday Report", "Terrace Talk", "Football Daily"),
    ),
    "finance": _Vocabulary(
        (
            "stock",
            "bond",
            "dividend",
            "portfolio",
            "investor",
            "market",
            "inflation",
            "bank",
            "interest",
            "loan",
            "shareholder",
            "currency",
            "budget",
            "broker",
            "equity",
        ),
        ("invests", "hedges", "lends", "trades", "audits", "underwrites"),
        ("volatile", "fiscal", "profitable", "quarterly", "bullish", "risky"),
        ("Market Watch Letter", "Ledger Review", "Capital Notes"),
    ),
    "medicine": _Vocabulary(
        (
            "patient",
            "doctor",
            "vaccine",
            "symptom",
            "diagnosis",
            "hospital",
            "surgeon",
            "therapy",
            "nurse",
            "infection",
            "prescription",
            "clinic",
            "antibiotic",
            "dose",
            "disease",
        ),
        ("diagnoses", "treats", "prescribes", "heals", "examines", "vaccinates"),
        ("chronic", "clinical", "acute", "viral", "medical", "surgical"),
        ("Clinical Digest", "Health Today", "Ward Rounds"),
    ),
    "programming": _Vocabulary(
        (
            "compiler",
            "function",
            "database",
            "algorithm",
            "server",
            "debugger",
            "variable",
            "repository",
            "python",
            "software",
            "developer",
            "bug",
            "framework",
            "deployment",
            "library",
        ),
        ("compiles", "refactors", "deploys", "debugs", "parses", "caches"),
        ("recursive", "asynchronous", "legacy", "compiled", "scalable", "modular"),
        ("Dev Notes", "Code Review Weekly", "Stack Journal"),
    ),
}

DEMO_TOPICS: dict[str, tuple[str, ...]] = {
    topic: vocab.nouns + vocab.verbs + vocab.adjectives for topic, vocab in _VOCABULARIES.items()
}
"""Each demo topic and its characteristic words (every content word its sentences draw from)."""

_TEMPLATES = (
    "The {adj} {noun} {verb} the {noun2}.",
    "A {adj} {noun} was spotted next to the {noun2} yesterday.",
    "Everyone asked why the {noun} {verb} the {adj} {noun2}.",
    "Our latest piece compares the {noun} with the {noun2} and the {noun3}.",
    "Nobody expected that the {noun} {verb} every {noun2} so quickly.",
    "In the end the {adj} {noun2} mattered more than the {noun}.",
    "She wrote a long note about the {noun}, the {noun2} and one {adj} {noun3}.",
    "Later that week the {noun} {verb} a {adj} {noun3} again.",
)
NOISE_RATE = 0.08  # share of sentences that borrow a noun from another topic


def demo_documents(per_topic: int = 80, seed: int = 0) -> list[dict[str, Any]]:
    """``per_topic`` documents per topic: ``{"document_id": "doc-<topic>-<n>", "text", "metadata": {"topic",
    "source", "year", "words"}}``; the same seed gives the same documents."""
    topics = list(_VOCABULARIES)
    documents = []
    for topic in topics:
        vocab = _VOCABULARIES[topic]
        rng = random.Random(f"{seed}:{topic}")  # str seeds are hashed with SHA-512: stable across processes
        others = [_VOCABULARIES[t] for t in topics if t != topic]
        for n in range(per_topic):
            sentences = [_sentence(rng, vocab, others) for _ in range(rng.randint(2, 3))]
            text = " ".join(sentences)
            documents.append(
                {
                    "document_id": f"doc-{topic}-{n}",
                    "text": text,
                    "metadata": {
                        "topic": topic,
                        "source": rng.choice(vocab.sources),
                        "year": rng.randint(2018, 2025),
                        "words": len(text.split()),
                    },
                }
            )
    return documents


def _sentence(rng: random.Random, vocab: _Vocabulary, others: list[_Vocabulary]) -> str:
    noun, noun2, noun3 = rng.sample(vocab.nouns, 3)
    if rng.random() < NOISE_RATE:
        noun2 = rng.choice(rng.choice(others).nouns)
    text = rng.choice(_TEMPLATES).format(
        noun=noun, noun2=noun2, noun3=noun3, verb=rng.choice(vocab.verbs), adj=rng.choice(vocab.adjectives)
    )
    return text[0].upper() + text[1:]
