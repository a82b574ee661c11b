from django.apps import AppConfig


class CoursesConfig(AppConfig):
    name = "courses"

    def ready(self):
        from courses import stamps

        for name in ("Course", "CourseVersion", "Policy"):  # what every learner reads
            stamps.track(self.get_model(name), site=True)
        # Where a member was last is only on the course page's "continue" link, which is not cached.
        stamps.track(self.get_model("Membership"), user="user_id", quiet=("last_kind", "last_slug", "last_seen_at"))
        stamps.track(self.get_model("ExerciseProgress"), user="user_id")
