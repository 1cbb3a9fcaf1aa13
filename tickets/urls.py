from django.urls import path

from tickets import views

app_name = "tickets"

urlpatterns = [
    path("queue/", views.queue, name="queue"),
    path("tickets/<int:number>/", views.ticket_page, name="ticket-page"),
    path("customers/", views.customer_list_page, name="customer-list-page"),
    path("customers/<uuid:public_id>/", views.customer_page, name="customer-page"),
]
