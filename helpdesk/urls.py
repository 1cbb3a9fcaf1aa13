from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from helpdesk.accounts import views as account_views
from helpdesk.health import healthz
from helpdesk.tenancy import views as tenancy_views

urlpatterns = [
    path("", tenancy_views.landing, name="landing"),
    path("signup/", tenancy_views.signup, name="signup"),
    path("home/", tenancy_views.home, name="home"),
    path("healthz", healthz, name="healthz"),
    path("accounts/", include("helpdesk.accounts.urls")),
    # The admin signs in through our sign-in (throttled, and with the code of two-factor sign-in).
    path("admin/login/", account_views.admin_login_redirect, name="admin-login"),
    path("admin/", admin.site.urls),
    path("t/<slug:tenant_slug>/", include("helpdesk.tenancy.urls")),
    path("t/<slug:tenant_slug>/", include("tickets.urls")),
    path("t/<slug:tenant_slug>/", include("journeys.urls")),
    path("t/<slug:tenant_slug>/", include("tickets.urls_customer")),
    path("t/<slug:tenant_slug>/", include("empathy_metrics.urls_dashboard")),
    path("status/", include("tickets.urls_status")),
    path("feedback/", include("empathy_metrics.urls")),
    path("survey/", include("empathy_metrics.urls_public")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/t/<slug:tenant_slug>/", include("helpdesk.tenancy.api.urls")),
    path("api/v1/t/<slug:tenant_slug>/", include("tickets.api.urls")),
    path("api/v1/t/<slug:tenant_slug>/", include("journeys.api.urls")),
    path("api/v1/t/<slug:tenant_slug>/", include("empathy_metrics.api.urls")),
]

handler404 = "helpdesk.errors.page_not_found"
handler403 = "helpdesk.errors.permission_denied"
handler500 = "helpdesk.errors.server_error"
