"""Customer-facing survey endpoints (the token of the status link binds tenant and ticket)."""

from django.urls import path

from empathy_metrics import views_csat

app_name = "empathy_metrics"

urlpatterns = [
    path("csat/<str:token>/", views_csat.csat_submit, name="csat-submit"),
]
