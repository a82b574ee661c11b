from django.urls import path

from frontend.views import authoring, courses, exercises, pages, staff, staff_engine, tokens, tutor
from frontend.views.policies import staff_policies

urlpatterns = [
    path("", pages.home, name="home"),
    path("courses/<slug:slug>/", courses.course_detail, name="course_detail"),
    path("courses/<slug:slug>/enroll/", courses.course_enroll, name="course_enroll"),
    path("courses/<slug:slug>/lessons/<slug:lesson_slug>/", courses.lesson_detail, name="lesson_detail"),
    path("courses/<slug:slug>/exercises/<slug:exercise_slug>/", exercises.exercise_detail, name="exercise_detail"),
    path(
        "courses/<slug:slug>/exercises/<slug:exercise_slug>/submit/", exercises.exercise_submit, name="exercise_submit"
    ),
    path("courses/<slug:slug>/exercises/<slug:exercise_slug>/draft/", exercises.exercise_draft, name="exercise_draft"),
    path("courses/<slug:slug>/exercises/<slug:exercise_slug>/reset/", exercises.exercise_reset, name="exercise_reset"),
    path(
        "courses/<slug:slug>/exercises/<slug:exercise_slug>/history/",
        exercises.exercise_history,
        name="exercise_history",
    ),
    path("submissions/<int:submission_id>/", exercises.submission_detail, name="submission_detail"),
    # Instructors
    path("courses/<slug:slug>/author/", authoring.workspace, name="author_workspace"),
    path("courses/<slug:slug>/author/file/", authoring.file_view, name="author_file"),
    path("courses/<slug:slug>/author/preview/", authoring.preview, name="author_preview"),
    path("courses/<slug:slug>/author/publish/", authoring.publish, name="author_publish"),
    path("courses/<slug:slug>/author/export/", authoring.export, name="author_export"),
    path("courses/<slug:slug>/versions/", authoring.versions, name="course_versions"),
    path("courses/<slug:slug>/versions/<int:number>/publish/", authoring.version_publish, name="version_publish"),
    path(
        "courses/<slug:slug>/versions/<int:number>/expected-values/",
        authoring.version_references,
        name="version_references",
    ),
    path("courses/<slug:slug>/staff/policies/", staff_policies, name="staff_policies"),
    # TAs and instructors
    path("courses/<slug:slug>/staff/", staff.overview, name="staff_overview"),
    path("courses/<slug:slug>/staff/dashboard/", staff.dashboard, name="staff_dashboard"),
    path("courses/<slug:slug>/staff/submissions/", staff.submissions, name="staff_submissions"),
    path("courses/<slug:slug>/staff/gradebook/", staff.gradebook, name="staff_gradebook"),
    path("courses/<slug:slug>/staff/stuck/", staff.stuck, name="staff_stuck"),
    path("courses/<slug:slug>/staff/stuck/resolve/", staff.stuck_resolve, name="staff_stuck_resolve"),
    path("courses/<slug:slug>/staff/clusters/", staff_engine.clusters, name="staff_clusters"),
    path(
        "courses/<slug:slug>/staff/clusters/<slug:exercise_slug>/<str:signature>/",
        staff_engine.cluster,
        name="staff_cluster",
    ),
    path(
        "courses/<slug:slug>/staff/clusters/<slug:exercise_slug>/<str:signature>/act/",
        staff_engine.cluster_act,
        name="staff_cluster_act",
    ),
    path("courses/<slug:slug>/staff/regrades/", staff_engine.regrades, name="staff_regrades"),
    path("courses/<slug:slug>/staff/regrades/start/", staff_engine.regrade_start, name="staff_regrade_start"),
    path("courses/<slug:slug>/staff/replays/start/", staff_engine.replay_start, name="staff_replay_start"),
    path("courses/<slug:slug>/staff/replays/<int:replay_id>/", staff_engine.replay, name="staff_replay"),
    path("submissions/<int:submission_id>/clear-flag/", staff.flag_clear, name="submission_flag_clear"),
    path("notices/read/", staff.notices_read, name="notices_read"),
    path("settings/tokens/", tokens.tokens, name="api_tokens"),
    path("settings/tokens/new/", tokens.token_new, name="api_token_new"),
    path("settings/tokens/<int:token_id>/revoke/", tokens.token_delete, name="api_token_revoke"),
    path(
        "courses/<slug:slug>/staff/conversations/<int:conversation_id>/", staff.conversation, name="staff_conversation"
    ),
    # Tutor
    path("courses/<slug:slug>/tutor/start/", tutor.start, name="tutor_start"),
    path("courses/<slug:slug>/tutor/", tutor.conversations, name="tutor_conversations"),
    path("tutor/messages/<int:message_id>/rate/", tutor.rate, name="tutor_rate"),
    path("tutor/conversations/<int:conversation_id>/human/", tutor.ask_human, name="tutor_ask_human"),
]
