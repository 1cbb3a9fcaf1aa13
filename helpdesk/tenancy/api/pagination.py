from rest_framework import pagination


class CursorPagination(pagination.CursorPagination):
    """Cursor pagination: stable under inserts and fast on large tables.

    Views choose their order with ``cursor_ordering`` (default newest first); a view with an
    ``OrderingFilter`` lets clients pick from its ``ordering_fields`` instead.
    """

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = "-id"

    def get_ordering(self, request, queryset, view):
        if getattr(view, "cursor_ordering", None) and not getattr(view, "ordering_fields", None):
            ordering = view.cursor_ordering
            return (ordering,) if isinstance(ordering, str) else tuple(ordering)
        return super().get_ordering(request, queryset, view)
