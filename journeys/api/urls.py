from django.urls import path

from journeys.api import views

app_name = "api-journeys"

urlpatterns = [
    path("events/", views.EventIngestApi.as_view(), name="event-list"),
    path("journeys/", views.JourneyListApi.as_view(), name="journey-list"),
    path(
        "journeys/<uuid:public_id>/funnel/",
        views.JourneyFunnelApi.as_view(),
        name="journey-funnel",
    ),
]
