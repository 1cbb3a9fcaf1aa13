"""Every WebSocket route of the project: the plumbing's own, then each app's (like urls.py)."""

from django.urls import path

from helpdesk.realtime.consumers import NotificationConsumer
from tickets.routing import websocket_urlpatterns as ticket_patterns

websocket_urlpatterns = [
    path("ws/t/<slug:tenant_slug>/notifications/", NotificationConsumer.as_asgi()),
    *ticket_patterns,
]
