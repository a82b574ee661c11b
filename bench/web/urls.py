"""The project's URLs plus /bench/bare/: a Django template of the same size as the page it is
compared with (written by bench/web.py, one per page compared), rendered by the same server, with no database work."""

from django.shortcuts import render
from django.urls import path

from config.urls import urlpatterns as project


def bare(request, page):
    return render(request, f"bare-{page}.html")


urlpatterns = [path("bench/bare/<slug:page>/", bare), *project]
