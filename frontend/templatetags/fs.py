from django import template

register = template.Library()


@register.filter
def get_item(mapping, key):
    if not mapping:
        return None
    return mapping.get(key)


@register.filter
def score(progress):
    if progress is None or not progress.max_score:
        return ""
    return f"{progress.best_score:g}/{progress.max_score:g}"
