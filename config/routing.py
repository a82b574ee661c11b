from django.urls import path

from frontend import consumers

websocket_urlpatterns = [
    path("ws/ping/", consumers.PingConsumer.as_asgi()),
    path("ws/submissions/<int:submission_id>/", consumers.SubmissionConsumer.as_asgi()),
    path("ws/tutor/<int:conversation_id>/", consumers.TutorConsumer.as_asgi()),
]
