"""Stored tutor replies were rendered before content ids got the `user-content-` prefix
(courses/rendering.py): re-sanitise them, as a reply is shown on the exercise page next to
`exercise-data`. Idempotent."""

from django.db import migrations


def prefix_ids(apps, schema_editor):
    from courses.rendering import sanitize

    Message = apps.get_model("tutor", "Message")
    for row in Message.objects.exclude(html="").only("pk", "html").iterator():
        clean = sanitize(row.html)
        if clean != row.html:
            Message.objects.filter(pk=row.pk).update(html=clean)


class Migration(migrations.Migration):
    dependencies = [("tutor", "0001_initial")]
    operations = [migrations.RunPython(prefix_ids, migrations.RunPython.noop)]
