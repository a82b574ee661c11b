from django.contrib import admin

from courses.models import (
    AuthoringWorkspace,
    Course,
    CourseVersion,
    Exercise,
    ExerciseProgress,
    Lesson,
    Membership,
    Module,
)


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin):
    list_display = ["slug", "title", "published_version", "created_at"]
    search_fields = ["slug", "title"]


@admin.register(CourseVersion)
class CourseVersionAdmin(admin.ModelAdmin):
    list_display = ["course", "number", "status", "content_hash", "created_by", "created_at", "published_at"]
    list_filter = ["status", "course"]
    readonly_fields = ["content_hash", "manifest", "meta"]  # versions are immutable


@admin.register(Module)
class ModuleAdmin(admin.ModelAdmin):
    list_display = ["title", "slug", "version", "position"]
    list_filter = ["version__course"]


@admin.register(Lesson)
class LessonAdmin(admin.ModelAdmin):
    list_display = ["title", "slug", "version", "module", "minutes"]
    list_filter = ["version__course"]
    search_fields = ["title", "slug"]


@admin.register(Exercise)
class ExerciseAdmin(admin.ModelAdmin):
    list_display = ["title", "slug", "version", "device", "points"]
    list_filter = ["version__course", "device"]
    search_fields = ["title", "slug"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "course", "role", "created_at", "last_seen_at"]
    list_filter = ["role", "course"]
    search_fields = ["user__username", "user__email"]


@admin.register(ExerciseProgress)
class ExerciseProgressAdmin(admin.ModelAdmin):
    list_display = ["user", "course", "exercise_slug", "status", "best_score", "max_score", "submissions", "updated_at"]
    list_filter = ["status", "course"]


admin.site.register(AuthoringWorkspace)
