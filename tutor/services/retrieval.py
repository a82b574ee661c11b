"""Retrieval over the course's lesson sections (one section per h2/h3 heading) for a question.

BM25 over words, computed in memory per course version (a course has hundreds of sections, not
millions): no index service, no model download, deterministic. Sections of the lesson the learner
is on get a boost, because "this" in a question usually means the page in front of them.
"""

import math
import re
from collections import Counter
from dataclasses import dataclass

from courses.models import Lesson

_WORD = re.compile(r"[a-z0-9_]+")
_STOP = set(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "of",
        "to",
        "in",
        "on",
        "for",
        "is",
        "are",
        "was",
        "be",
        "it",
        "this",
        "that",
        "with",
        "as",
        "at",
        "by",
        "from",
        "i",
        "you",
        "we",
        "my",
        "your",
        "how",
        "what",
        "why",
        "when",
        "do",
        "does",
        "did",
        "can",
        "could",
        "should",
        "would",
        "not",
        "no",
        "yes",
        "so",
        "if",
        "then",
        "than",
        "there",
        "their",
        "they",
        "them",
        "me",
        "our",
        "use",
        "using",
        "get",
        "got",
        "about",
        "into",
        "just",
        "like",
        "also",
        "have",
        "has",
        "had",
        "which",
        "who",
        "where",
        "will",
    ]
)
_cache: dict[int, "Index"] = {}


def words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower().replace("'", "")) if w not in _STOP and len(w) > 1]


@dataclass
class Section:
    lesson_slug: str
    lesson_title: str
    anchor: str
    title: str
    text: str

    @property
    def ref(self) -> str:
        return f"{self.lesson_slug}#{self.anchor}" if self.anchor else self.lesson_slug


class Index:
    def __init__(self, sections: list[Section]):
        self.sections = sections
        self.docs = [Counter(words(f"{s.lesson_title} {s.title} {s.title} {s.text}")) for s in sections]
        self.lengths = [sum(d.values()) or 1 for d in self.docs]
        self.avg = sum(self.lengths) / max(len(self.lengths), 1)
        df = Counter(w for d in self.docs for w in d)
        n = len(self.docs)
        self.idf = {w: math.log(1 + (n - c + 0.5) / (c + 0.5)) for w, c in df.items()}

    def search(self, query: str, *, k: int = 3, boost_lesson: str = "") -> list[tuple[float, Section]]:
        terms = words(query)
        if not terms:
            return []
        scored = []
        for i, doc in enumerate(self.docs):
            score = 0.0
            for t in terms:
                f = doc.get(t, 0)
                if f:
                    score += self.idf[t] * f * 2.2 / (f + 1.2 * (0.25 + 0.75 * self.lengths[i] / self.avg))
            if score and boost_lesson and self.sections[i].lesson_slug == boost_lesson:
                score *= 1.5
            if score:
                scored.append((score, self.sections[i]))
        scored.sort(key=lambda pair: -pair[0])
        return scored[:k]


def index_for(version) -> Index:
    index = _cache.get(version.pk)
    if index is None:
        sections = []
        for lesson in Lesson.objects.filter(version=version).order_by("module__position", "position"):
            for s in lesson.sections:
                sections.append(Section(lesson.slug, lesson.title, s["anchor"], s["title"], s["text"]))
        index = _cache[version.pk] = Index(sections)
    return index


def labels_for(version) -> dict[str, str]:
    """How citations read in a reply: "Lesson title › Section title"."""
    labels = {}
    for slug, title, toc in Lesson.objects.filter(version=version).values_list("slug", "title", "toc"):
        labels[slug] = title
        labels.update({f"{slug}#{h['anchor']}": f"{title} › {h['text']}" for h in toc})
    return labels


def anchors_for(version) -> set[str]:
    """Every citable reference: "lesson" and "lesson#anchor"."""
    refs = set()
    for slug, toc in Lesson.objects.filter(version=version).values_list("slug", "toc"):
        refs.add(slug)
        refs.update(f"{slug}#{h['anchor']}" for h in toc)
    return refs
