from django.shortcuts import render

from courses import selectors as course_selectors


def home(request):
    courses = course_selectors.course_list_visible(user=request.user)
    memberships = {}
    if request.user.is_authenticated:
        memberships = {m.course_id: m for m in request.user.memberships.all()}
    return render(request, "frontend/home.html", {"courses": courses, "memberships": memberships})
