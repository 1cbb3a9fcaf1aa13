from django.urls import path

from tickets import views, webhook_views

app_name = "tickets"

urlpatterns = [
    path("queue/", views.queue, name="queue"),
    path("queue/bulk/", views.queue_bulk, name="queue-bulk"),
    path("queue/views/", views.queue_view_save, name="queue-view-save"),
    path("tickets/<int:number>/", views.ticket_page, name="ticket-page"),
    path("tickets/<int:number>/reply/", views.ticket_reply, name="ticket-reply"),
    path("tickets/<int:number>/status/", views.ticket_status, name="ticket-status"),
    path("tickets/<int:number>/priority/", views.ticket_priority, name="ticket-priority"),
    path("tickets/<int:number>/take/", views.ticket_take_it, name="ticket-take"),
    path("tickets/<int:number>/assign/", views.ticket_assign, name="ticket-assign"),
    path("tickets/<int:number>/escalate/", views.ticket_escalate, name="ticket-escalate"),
    path(
        "tickets/<int:number>/deescalate/", views.ticket_deescalate_view, name="ticket-deescalate"
    ),
    path("tickets/<int:number>/tags/", views.ticket_tags, name="ticket-tags"),
    path("tickets/<int:number>/fields/", views.ticket_fields, name="ticket-fields"),
    path("tickets/<int:number>/merge/", views.ticket_merge_view, name="ticket-merge"),
    path(
        "tickets/<int:number>/macros/<uuid:public_id>/",
        views.macro_preview,
        name="ticket-macro-preview",
    ),
    path("customers/", views.customer_list_page, name="customer-list-page"),
    path("customers/<uuid:public_id>/", views.customer_page, name="customer-page"),
    path("customers/<uuid:public_id>/edit/", views.customer_edit, name="customer-edit"),
    path("admin/webhooks/", webhook_views.webhooks_page, name="webhooks"),
    path(
        "admin/webhooks/deliveries/",
        webhook_views.webhook_deliveries_page,
        name="webhook-deliveries",
    ),
    path(
        "admin/webhooks/deliveries/<uuid:public_id>/replay/",
        webhook_views.webhook_delivery_replay,
        name="webhook-delivery-replay",
    ),
    path(
        "admin/webhooks/<uuid:public_id>/toggle/",
        webhook_views.webhook_toggle,
        name="webhook-toggle",
    ),
    path(
        "admin/webhooks/<uuid:public_id>/delete/",
        webhook_views.webhook_delete,
        name="webhook-delete",
    ),
]
