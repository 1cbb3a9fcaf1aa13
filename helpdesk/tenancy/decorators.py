"""``tenant_view``: the gate of every staff page under /t/<slug>/."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse

from helpdesk.tenancy.policy import Perm, role_has_perm


def tenant_view(perm: Perm) -> Callable:
    """Require a signed-in member of the URL's tenant whose role has ``perm``.

    Anonymous visitors go to the login page; a signed-in person who is not a member gets the same
    404 as for an unknown tenant; a member whose role lacks ``perm`` gets 403.
    """

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if getattr(request, "tenant", None) is None:
                raise Http404("No tenant")
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if request.membership is None:
                raise Http404("Not a member")
            if not role_has_perm(request.membership.role, perm):
                raise PermissionDenied("Your role does not allow this page.")
            return view(request, *args, **kwargs)

        wrapper.required_perm = perm
        return wrapper

    return decorator
