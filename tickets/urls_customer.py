"""Customer-facing pages under ``/t/<slug>/``: the portal; and the staff side of status pages
(the customer's view of a ticket, its link controls)."""

from django.urls import path

from tickets.views import portal, status

app_name = "customer"

urlpatterns = [
    path("portal/", portal.portal_home, name="portal"),
    path("portal/login/", portal.portal_login, name="portal-login"),
    path("portal/logout/", portal.portal_logout, name="portal-logout"),
    path("tickets/<int:number>/customer-view/", status.customer_view, name="customer-view"),
    path(
        "tickets/<int:number>/status-link/rotate/",
        status.status_link_rotate_view,
        name="status-link-rotate",
    ),
    path(
        "tickets/<int:number>/status-link/expiry/",
        status.status_link_expiry_view,
        name="status-link-expiry",
    ),
]
