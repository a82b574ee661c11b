"""Checks across the whole course: lesson links and anchors, exercises' lessons, `depends_on`,
`starter_from` and `uses` pointing at exercises that exist and come earlier."""

from courses import rendering


def cross_checks(ctx, spec: dict) -> None:
    lessons, exercises = spec["lessons"], spec["exercises"]
    # Anchors exist for every [[lesson#anchor]] written in lessons and prompts.
    anchors = {
        slug: {t["anchor"] for t in rendering.render(lesson["body"]).toc} | {""} for slug, lesson in lessons.items()
    }
    sources = [(lesson["path"], lesson["body"], lesson["offset"]) for lesson in lessons.values()]
    sources += [(ex["prompt_path"], ex["prompt"], 0) for ex in exercises.values() if ex.get("prompt_path")]
    for path, body, offset in sources:
        for line, target, anchor in rendering.render(body).crossrefs:
            if target not in lessons:
                ctx.error(path, line + offset, f"link [[{target}]] points at a lesson that does not exist")
            elif anchor and anchor not in anchors[target]:
                ctx.error(
                    path,
                    line + offset,
                    f"link [[{target}#{anchor}]]: lesson {target!r} has no heading with anchor {anchor!r}",
                )
    for lesson in lessons.values():
        for key in ("scoreboard", "figures"):
            for row in lesson.get(key) or []:
                if row["exercise"] not in exercises:
                    ctx.error(lesson["path"], 2, f"{key}: exercise {row['exercise']!r} does not exist")
    order = [item["slug"] for module in spec["modules"] for item in module["items"] if item["kind"] == "exercise"]
    for slug, ex in exercises.items():
        toml_path = f"{ex['path']}/exercise.toml"
        if ex.get("lesson") and ex["lesson"] not in lessons:
            ctx.error(toml_path, ex["_lines"].get("lesson", 1), f"lesson {ex['lesson']!r} does not exist")
        for dep in ex["depends_on"]:
            if dep not in exercises:
                ctx.error(toml_path, ex["_lines"].get("depends_on", 1), f"depends_on: exercise {dep!r} does not exist")
            elif slug in order and dep in order and order.index(dep) > order.index(slug):
                ctx.error(
                    toml_path,
                    ex["_lines"].get("depends_on", 1),
                    f"depends_on: {dep!r} comes after {slug!r} in the course",
                )
        source = ex.get("starter_from")
        if source:
            other = exercises.get(source)
            if other is None:
                ctx.error(
                    toml_path, ex["_lines"].get("starter_from", 1), f"starter_from: exercise {source!r} does not exist"
                )
            elif not set(other["files"]) & set(ex["files"]):
                ctx.error(
                    toml_path,
                    ex["_lines"].get("starter_from", 1),
                    f"starter_from: {source!r} shares no file name with this exercise",
                )
        for use in ex["uses"]:
            other = exercises.get(use["exercise"])
            if other is None:
                ctx.error(toml_path, ex["_lines"].get("uses", 1), f"uses: exercise {use['exercise']!r} does not exist")
                continue
            for f in use["files"]:
                if f not in other["files"]:
                    ctx.error(
                        toml_path, ex["_lines"].get("uses", 1), f"uses: {f!r} is not one of {use['exercise']}'s files"
                    )
            if slug in order and use["exercise"] in order and order.index(use["exercise"]) > order.index(slug):
                ctx.error(
                    toml_path,
                    ex["_lines"].get("uses", 1),
                    f"uses: {use['exercise']!r} comes after {slug!r} in the course",
                )
