from django.conf import settings


def site(request):
    return {
        "site_name": "From Scratch",
        "grader_unsafe_local": settings.GRADER_UNSAFE_LOCAL,
    }
