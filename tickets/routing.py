from django.urls import path

from tickets.consumers import QueueConsumer, TicketConsumer
from tickets.consumers_chat import ChatAgentConsumer, ChatCustomerConsumer
from tickets.consumers_status import StatusPageConsumer

websocket_urlpatterns = [
    path("ws/t/<slug:tenant_slug>/tickets/<int:number>/", TicketConsumer.as_asgi()),
    path("ws/t/<slug:tenant_slug>/queue/", QueueConsumer.as_asgi()),
    path("ws/t/<slug:tenant_slug>/chat/", ChatAgentConsumer.as_asgi()),
    # The embeddable widget: anonymous, from the tenant's own site (any Origin, no cookies).
    path("ws/chat/<slug:tenant_slug>/", ChatCustomerConsumer.as_asgi()),
    # The customer's status page: receive-only, authorised by a signed viewer token.
    path("ws/status/<str:token>/", StatusPageConsumer.as_asgi()),
]
