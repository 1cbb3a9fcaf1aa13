from django.urls import path

from tickets.api import (
    analysis,
    conversation,
    email,
    triage_rules,
    views,
    webhooks,
    workspace,
)

app_name = "api-tickets"

urlpatterns = [
    path("customers/", views.CustomerListApi.as_view(), name="customer-list"),
    path("customers/<uuid:public_id>/", views.CustomerDetailApi.as_view(), name="customer-detail"),
    path("tickets/", views.TicketListApi.as_view(), name="ticket-list"),
    path("tickets/<uuid:public_id>/", views.TicketDetailApi.as_view(), name="ticket-detail"),
    path(
        "tickets/<uuid:public_id>/messages/",
        conversation.TicketMessageListApi.as_view(),
        name="ticket-message-list",
    ),
    path(
        "tickets/<uuid:public_id>/apply-macro/",
        conversation.TicketMacroApplyApi.as_view(),
        name="ticket-macro-apply",
    ),
    path("email/inbound/", email.InboundEmailCreateApi.as_view(), name="email-inbound"),
    path(
        "messages/<uuid:public_id>/correction/",
        analysis.MessageCorrectionApi.as_view(),
        name="message-correction",
    ),
    path("triage-rules/", triage_rules.TriageRuleListApi.as_view(), name="triage-rule-list"),
    path(
        "triage-rules/order/",
        triage_rules.TriageRuleOrderApi.as_view(),
        name="triage-rule-order",
    ),
    path(
        "triage-rules/<int:rule_id>/",
        triage_rules.TriageRuleDetailApi.as_view(),
        name="triage-rule-detail",
    ),
    path("tags/", workspace.TagListApi.as_view(), name="tag-list"),
    path("macros/", workspace.MacroListApi.as_view(), name="macro-list"),
    path("views/", workspace.SavedViewListApi.as_view(), name="view-list"),
    path("webhooks/", webhooks.WebhookEndpointListApi.as_view(), name="webhook-list"),
    path(
        "webhooks/<uuid:public_id>/",
        webhooks.WebhookEndpointDetailApi.as_view(),
        name="webhook-detail",
    ),
    path(
        "webhooks/<uuid:public_id>/deliveries/",
        webhooks.WebhookDeliveryListApi.as_view(),
        name="webhook-delivery-list",
    ),
    path(
        "webhook-deliveries/<uuid:public_id>/replay/",
        webhooks.WebhookDeliveryReplayApi.as_view(),
        name="webhook-delivery-replay",
    ),
]
