from django.contrib import admin

from grader.models import Draft, ReferenceRun, Submission


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "user",
        "exercise_slug",
        "kind",
        "status",
        "score",
        "max_score",
        "device",
        "attempt",
        "created_at",
    ]
    list_filter = ["status", "kind", "device", "course"]
    search_fields = ["user__username", "exercise_slug"]
    readonly_fields = ["result", "events", "files"]


@admin.register(Draft)
class DraftAdmin(admin.ModelAdmin):
    list_display = ["user", "course", "exercise_slug", "updated_at"]


@admin.register(ReferenceRun)
class ReferenceRunAdmin(admin.ModelAdmin):
    list_display = ["content_hash", "device", "created_at"]
