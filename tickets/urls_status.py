"""Customer status pages: ``/status/<token>/`` (the token binds the tenant and the ticket)."""

from django.urls import path

from tickets.views import status

app_name = "status"

urlpatterns = [
    path("<str:token>/", status.status_page, name="page"),
    path("<str:token>/events/", status.status_events, name="events"),
    path("<str:token>/reply/", status.status_reply, name="reply"),
]
