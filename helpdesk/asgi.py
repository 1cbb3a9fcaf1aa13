"""ASGI entry point: HTTP and WebSockets from one server (the demo), or WebSockets only
behind the proxy in production."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.base")

django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from helpdesk.realtime.middleware import TenantWsMiddleware, WsOriginPolicy  # noqa: E402
from helpdesk.realtime.routing import websocket_urlpatterns  # noqa: E402

http_app = django_asgi_app
if settings.HELPDESK_SERVE_STATIC_ASGI:
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    http_app = ASGIStaticFilesHandler(django_asgi_app)

application = ProtocolTypeRouter(
    {
        "http": http_app,
        "websocket": WsOriginPolicy(TenantWsMiddleware(URLRouter(websocket_urlpatterns))),
    }
)
