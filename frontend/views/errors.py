from django.shortcuts import render


def forbidden(request, exception=None):
    message = str(exception) if exception and str(exception) else "You don't have access to this page."
    return render(request, "frontend/error.html", {"code": 403, "title": "Not allowed", "message": message}, status=403)


def not_found(request, exception=None):
    return render(
        request,
        "frontend/error.html",
        {
            "code": 404,
            "title": "Page not found",
            "message": "There is nothing at this address. It may have moved, or the link may be mistyped.",
        },
        status=404,
    )


def server_error(request):
    return render(
        request,
        "frontend/error.html",
        {
            "code": 500,
            "title": "Something broke",
            "message": "The error has been logged. Please try again in a moment.",
        },
        status=500,
    )
