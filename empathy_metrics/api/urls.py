from django.urls import path

from empathy_metrics.api import views

app_name = "api-metrics"

urlpatterns = [
    path("metrics/", views.MetricsApi.as_view(), name="metrics"),
    path("metrics/tickets/", views.MetricsTicketListApi.as_view(), name="metrics-tickets"),
]
