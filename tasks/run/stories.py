"""One story, many articles: the same wire copy in several outlets gets one `story_id`.

Each article's text is reduced to a MinHash sketch of its word 3-grams (character 5-grams for
scripts written without spaces) with datasketch; a MinHash LSH index finds, among the recent
stories, those whose texts likely share at least `threshold` of their shingles (estimated
Jaccard similarity), and the best of them, checked on the sketches, gives its story to the new
article. An article that matches nothing starts a story of its own, named by its article_id.

Incremental by design: the caller passes the sketches of recent articles (from the warehouse)
and gets back the story of each new article plus the new sketches to store. Nothing here reads
or writes storage. Boilerplate that outlets add around a wire story (a newsletter box, "Read
more", their own headline) lowers the similarity a little; a different story on the same topic
shares almost no 3-grams.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from datasketch import MinHash, MinHashLSH

from tasks.models import Article, StorySketch
from tasks.sketches import NUM_PERM, from_bytes, sketch, to_bytes


def assign_stories(
    new: Sequence[tuple[str, str] | tuple[str, str, bytes | None]],
    recent: Sequence[StorySketch],
    threshold: float,
) -> tuple[dict[str, str], list[StorySketch]]:
    """The story of each new `(article_id, text)`, and the sketches to store for them.

    A third item, when given, is the text's sketch as `sketch_bytes` made it (None: too short
    to compare); the text is then not shingled again.

    `recent` are stored sketches to compare with; new articles are also compared with each
    other, in order. An article already among `recent` keeps its stored story. Articles too
    short to sketch get a story of their own and no sketch.
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"story threshold must be in (0, 1], got {threshold}")
    lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
    story_of: dict[str, str] = {}
    sketches: dict[str, MinHash] = {}
    for stored in recent:
        if stored.article_id in story_of:
            continue
        minhash = from_bytes(stored.minhash)
        lsh.insert(stored.article_id, minhash)
        story_of[stored.article_id] = stored.story_id
        sketches[stored.article_id] = minhash

    assigned: dict[str, str] = {}
    created: list[StorySketch] = []
    for article_id, text, *known in new:
        if article_id in story_of:
            assigned[article_id] = story_of[article_id]
            continue
        if article_id in assigned:
            continue
        if known:
            minhash = from_bytes(known[0]) if known[0] is not None else None
        else:
            minhash = sketch(text)
        if minhash is None:
            assigned[article_id] = article_id
            continue
        story = article_id
        best = 0.0
        for candidate in sorted(lsh.query(minhash)):
            similarity = minhash.jaccard(sketches[candidate])
            if similarity >= threshold and similarity > best:
                story, best = story_of[candidate], similarity
        lsh.insert(article_id, minhash)
        story_of[article_id] = story
        sketches[article_id] = minhash
        assigned[article_id] = story
        created.append(StorySketch(article_id, story, to_bytes(minhash)))
    return assigned, created


def cluster_articles(
    articles: Sequence[Article], recent: Sequence[StorySketch], threshold: float
) -> tuple[list[Article], list[StorySketch]]:
    """`articles` with their `story_id` set, and the sketches to store for them.

    Section fronts and video pages belong to no story (their `story_id` stays None).
    """
    candidates = [
        (a.article_id, a.text, a.sketch) for a in articles if a.page_type in ("article", None)
    ]
    stories, created = assign_stories(candidates, recent, threshold)
    return [replace(a, story_id=stories.get(a.article_id)) for a in articles], created
