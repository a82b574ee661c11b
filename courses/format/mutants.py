"""Mutants of an exercise: known-wrong implementations, as patches against the solution
(`mutants/<name>.patch`), single files (`mutants/<name>.py`) or folders (`mutants/<name>/`)."""

from courses.format import patches, schema


def _patch_mutant(ctx, base, rel, files) -> dict | None:
    path = f"{base}/mutants/{rel}"
    try:
        sections = patches.parse(ctx.tree.text(path))
        for target, hunks in sections.items():
            if target not in files:
                raise patches.PatchError(
                    1, f"patches solution/{target}, which is not one of the exercise's files {files}"
                )
            solution = f"{base}/solution/{target}"
            if solution in ctx.tree.files:
                patches.apply(ctx.tree.text(solution), hunks)
    except patches.PatchError as exc:
        ctx.error(path, exc.line, f"mutant patch: {exc.message}")
        return None
    except UnicodeDecodeError:
        ctx.error(path, 1, "file is not UTF-8 text")
        return None
    return {"files": {target: f"mutants/{rel}" for target in sections}, "patch": True}


def mutant_sources(mutant: dict, bundle: dict) -> dict[str, str]:
    """The mutant's version of each file it changes (patches applied to the solution)."""
    out = {}
    for target, source in mutant["files"].items():
        if mutant.get("patch"):
            out[target] = patches.apply(bundle["solution"][target], patches.parse(bundle["mutants"][source])[target])
        else:
            out[target] = bundle["mutants"][source]
    return out


def validate_mutants(ctx, base, toml_path, line, data, files, by_id) -> list[dict]:
    meta = data.get("mutants") if isinstance(data.get("mutants"), dict) else {}
    found = {}
    for rel in sorted(ctx.tree.under(f"{base}/mutants")):
        if "/" not in rel and rel.endswith(".patch"):
            name = rel[: -len(".patch")]
            mutant = _patch_mutant(ctx, base, rel, files)
            found[name] = {"name": name, **(mutant or {"files": {}})}  # a broken patch was reported above
            continue
        if "/" not in rel:
            if not rel.endswith(".py"):
                ctx.error(
                    f"{base}/mutants/{rel}", 1, "a mutant is a .patch against the solution, a .py file, or a folder"
                )
                continue
            name = rel[:-3]
            replaces = (meta.get(name) or {}).get("replaces") or (files[0] if files else "")
            found[name] = {"name": name, "files": {replaces: f"mutants/{rel}"}}
        else:
            name, inner = rel.split("/", 1)
            if inner not in files:
                ctx.error(f"{base}/mutants/{rel}", 1, f"mutant file {inner} is not one of the exercise's files {files}")
                continue
            found.setdefault(name, {"name": name, "files": {}})["files"][inner] = f"mutants/{rel}"
    for name, conf in meta.items():
        if name not in found:
            ctx.error(
                toml_path,
                line(("mutants", name)),
                f"[mutants.{name}]: no mutants/{name}.patch, mutants/{name}.py or mutants/{name}/ exists",
            )
            continue
        schema.check_table(
            conf,
            schema.MUTANT,
            file=toml_path,
            line_of=line,
            path=("mutants", name),
            problems=ctx.problems,
            where=f"[mutants.{name}]",
        )
        if not isinstance(conf, dict):
            continue
        if conf.get("replaces") and conf["replaces"] not in files:
            ctx.error(
                toml_path,
                line(("mutants", name, "replaces")),
                f"replaces: {conf['replaces']!r} is not one of the exercise's files",
            )
        for tid in conf.get("fails") or []:
            if tid not in by_id:
                ctx.error(toml_path, line(("mutants", name, "fails")), f"fails: no test named {tid!r}")
        found[name].update(fails=list(conf.get("fails") or []), about=conf.get("about", ""))
    return [{"fails": [], "about": "", **m} for m in found.values()]
