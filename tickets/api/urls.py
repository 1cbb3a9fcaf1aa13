from django.urls import path

from tickets.api import views

app_name = "api-tickets"

urlpatterns = [
    path("customers/", views.CustomerListApi.as_view(), name="customer-list"),
    path("customers/<uuid:public_id>/", views.CustomerDetailApi.as_view(), name="customer-detail"),
    path("tickets/", views.TicketListApi.as_view(), name="ticket-list"),
    path("tickets/<uuid:public_id>/", views.TicketDetailApi.as_view(), name="ticket-detail"),
]
