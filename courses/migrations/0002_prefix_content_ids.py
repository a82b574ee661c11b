"""Stored lesson and prompt HTML was rendered before content ids got the `user-content-` prefix
(courses/rendering.py): re-sanitise it so old rows cannot name the page's elements either.

Re-sanitising is idempotent (an id already prefixed stays as it is), so running this on rows
rendered after the change does nothing."""

from django.db import migrations


def prefix_ids(apps, schema_editor):
    from courses.rendering import sanitize

    for model, field in (("Lesson", "html"), ("Exercise", "prompt_html")):
        Model = apps.get_model("courses", model)
        for row in Model.objects.exclude(**{field: ""}).only("pk", field).iterator():
            clean = sanitize(getattr(row, field))
            if clean != getattr(row, field):
                Model.objects.filter(pk=row.pk).update(**{field: clean})


class Migration(migrations.Migration):
    dependencies = [("courses", "0001_initial")]
    operations = [migrations.RunPython(prefix_ids, migrations.RunPython.noop)]
