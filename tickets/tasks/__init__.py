"""Celery entry points of the tickets app, one module per area (imported here for discovery)."""

from tickets.tasks.auto_close import ticket_auto_close_fanout_task, ticket_auto_close_task

__all__ = ["ticket_auto_close_fanout_task", "ticket_auto_close_task"]
