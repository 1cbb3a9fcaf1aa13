from django.urls import path

from journeys import views

app_name = "journeys"

urlpatterns = [
    path("journeys/", views.journey_list_page, name="list"),
    path("journeys/new/", views.journey_create_page, name="create"),
    path("journeys/tracking/", views.tracking_page, name="tracking"),
    path("journeys/<uuid:public_id>/", views.journey_funnel_page, name="funnel"),
    path("journeys/<uuid:public_id>/edit/", views.journey_edit_page, name="edit"),
    path("journeys/<uuid:public_id>/delete/", views.journey_delete_view, name="delete"),
]
