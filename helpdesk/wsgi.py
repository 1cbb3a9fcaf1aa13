"""WSGI entry point: gunicorn serves the pages and the API in production."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.base")

application = get_wsgi_application()
