"""Staff pages of the metrics under /t/<slug>/ (the customer-facing survey pages are in
``urls_public.py``; the status page's CSAT endpoint is in ``urls.py``)."""

from django.urls import path

from empathy_metrics import views_admin, views_agent, views_csat, views_dashboard, views_digest

app_name = "metrics"

urlpatterns = [
    path("dashboards/", views_dashboard.dashboard, name="dashboard"),
    path("dashboards/drill/", views_dashboard.drill, name="drill"),
    path("dashboards/export.csv", views_dashboard.export, name="export"),
    path("dashboards/digest/", views_digest.digest_page, name="digest"),
    path(
        "dashboards/digest/subscription/",
        views_digest.digest_subscription,
        name="digest-subscription",
    ),
    path("me/metrics/", views_agent.my_metrics, name="my-metrics"),
    path("me/metrics/export.csv", views_agent.my_metrics_export, name="my-metrics-export"),
    path("admin/surveys/", views_admin.survey_settings, name="survey-settings"),
    path("tickets/<int:number>/csat/", views_csat.csat_send, name="csat-send"),
]
