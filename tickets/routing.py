from django.urls import path

from tickets.consumers import QueueConsumer, TicketConsumer

websocket_urlpatterns = [
    path("ws/t/<slug:tenant_slug>/tickets/<int:number>/", TicketConsumer.as_asgi()),
    path("ws/t/<slug:tenant_slug>/queue/", QueueConsumer.as_asgi()),
]
