from django.conf import settings


def site(request):
    return {
        "site_name": "From Scratch",
        "grader_unsafe_local": settings.GRADER_UNSAFE_LOCAL,
    }


def notices(request):
    """Unread notices for the signed-in learner (a regrade changed a score), on every page until
    they mark them read. Lazy: only pages that render them query."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    def unread():
        from grader.models import Notice

        return list(Notice.objects.filter(user=user, read_at__isnull=True).select_related("submission")[:5])

    return {"unread_notices": unread}
