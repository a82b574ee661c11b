from django.apps import AppConfig


class GraderConfig(AppConfig):
    name = "grader"

    def ready(self):
        from courses.signals import version_ready

        version_ready.connect(_warm_references, dispatch_uid="grader.warm_references")

        from courses import stamps

        for name in ("Submission", "Draft", "Notice"):
            stamps.track(self.get_model(name), user="user_id")


def _warm_references(sender, version, **kwargs):
    from django.conf import settings

    from grader.services.references import references_warm

    if settings.GRADER_WARM_REFERENCES:
        references_warm(version=version)
