"""Every WebSocket route of the project. Apps add their patterns here."""

from django.urls import path

from helpdesk.realtime.consumers import NotificationConsumer

websocket_urlpatterns = [
    path("ws/t/<slug:tenant_slug>/notifications/", NotificationConsumer.as_asgi()),
]
