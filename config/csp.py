"""Content-Security-Policy, per response, with a fresh nonce per request.

Django 5.2 has no CSP of its own (6.0 adds one). Every page script is a static file from our own
origin, so `script-src 'self'` admits them; the nonce is there for any inline script a template
must have (`<script nonce="{{ csp_nonce }}">`, and django-htmx's `{% htmx_script %}` reads the
same context variable). Lesson HTML is author-written: with no 'unsafe-inline' for scripts, a
`<script>` or `onclick=` that slipped through the sanitiser still does not run.

`style-src` keeps 'unsafe-inline': KaTeX writes `style=` attributes into rendered maths, the
editor (CodeMirror) and htmx insert `<style>` elements, and templates use a few `style=`
attributes. Styles cannot run code, so this costs far less than it would for scripts.

On when `CSP_ENABLED` (production, the test settings and so the browser tests).
"""

import secrets

from django.conf import settings

HEADER = "Content-Security-Policy"


def policy(nonce: str) -> str:
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "font-src 'self' data:",
            # The submission and tutor streams are websockets to this host.
            "connect-src 'self' ws: wss:",
            "frame-ancestors 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "object-src 'none'",
        ]
    )


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.csp_nonce = secrets.token_urlsafe(18)
        response = self.get_response(request)
        if settings.CSP_ENABLED and HEADER not in response:
            response[HEADER] = policy(request.csp_nonce)
        return response


def nonce(request):
    """Context processor: `{{ csp_nonce }}` in templates (django-htmx reads this name too)."""
    return {"csp_nonce": getattr(request, "csp_nonce", "")}
