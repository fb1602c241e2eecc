from rest_framework.pagination import CursorPagination


class CreatedCursorPagination(CursorPagination):
    """Newest first; stable under concurrent inserts, so pages never repeat or skip rows."""

    ordering = "-created"
    page_size_query_param = "page_size"
    max_page_size = 100
