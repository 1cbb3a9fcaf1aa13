# One image for web (gunicorn), realtime (uvicorn), worker and beat (Celery).
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DJANGO_SETTINGS_MODULE=helpdesk.settings.base

WORKDIR /app

RUN useradd --create-home --uid 10001 helpdesk

COPY requirements/base.txt requirements/base.txt
RUN pip install --no-deps -r requirements/base.txt

COPY . .
RUN pip install --no-deps -e . \
    && HELPDESK_ENV=production DJANGO_SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput -v0 \
    && chown -R helpdesk /app

USER helpdesk
EXPOSE 8000
CMD ["gunicorn", "helpdesk.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "2"]
