from django.urls import path

from tickets import email_views, views, webhook_views
from tickets.views import analysis as analysis_views
from tickets.views import chat as chat_views
from tickets.views import help as help_views

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
    path(
        "messages/<uuid:public_id>/correct/",
        analysis_views.message_correct,
        name="message-correct",
    ),
    path("admin/analysis/", analysis_views.analysis_settings_page, name="analysis-settings"),
    path(
        "admin/analysis/rules/toggle/",
        analysis_views.triage_rule_toggle,
        name="analysis-rule-toggle",
    ),
    path(
        "admin/analysis/rules/defaults/",
        analysis_views.triage_rules_defaults,
        name="analysis-rule-defaults",
    ),
    path("admin/analysis/rules/new/", analysis_views.triage_rule_new, name="analysis-rule-new"),
    path(
        "admin/analysis/rules/<int:rule_id>/",
        analysis_views.triage_rule_edit,
        name="analysis-rule-edit",
    ),
    path(
        "admin/analysis/rules/<int:rule_id>/delete/",
        analysis_views.triage_rule_remove,
        name="analysis-rule-delete",
    ),
    path(
        "admin/analysis/rules/<int:rule_id>/move/",
        analysis_views.triage_rule_reposition,
        name="analysis-rule-move",
    ),
    path("customers/", views.customer_list_page, name="customer-list-page"),
    path("customers/<uuid:public_id>/", views.customer_page, name="customer-page"),
    path("customers/<uuid:public_id>/edit/", views.customer_edit, name="customer-edit"),
    path(
        "attachments/<uuid:public_id>/",
        email_views.attachment_download,
        name="attachment-download",
    ),
    path("admin/mailboxes/", email_views.mailboxes_page, name="mailboxes"),
    path("admin/mailboxes/settings/", email_views.email_settings_save, name="email-settings"),
    path("admin/mailboxes/secret/", email_views.inbound_secret_rotate, name="inbound-secret"),
    path(
        "admin/mailboxes/<int:mailbox_id>/toggle/",
        email_views.mailbox_toggle,
        name="mailbox-toggle",
    ),
    path(
        "admin/mailboxes/<int:mailbox_id>/delete/",
        email_views.mailbox_delete,
        name="mailbox-delete",
    ),
    path(
        "admin/mailboxes/<int:mailbox_id>/poll/",
        email_views.mailbox_poll_now,
        name="mailbox-poll",
    ),
    path(
        "admin/inbound-email/<int:inbound_id>/retry/",
        email_views.inbound_email_retry,
        name="inbound-email-retry",
    ),
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
    # Help centre: the public help page (no login) and its staff pages.
    path("help/", help_views.help_home, name="help"),
    path("help/contact/", help_views.help_contact, name="help-contact"),
    path("help/contact/sent/", help_views.help_contact_sent, name="help-contact-sent"),
    path("help/suggest/", help_views.help_suggest, name="help-suggest"),
    path("help/articles/<slug:article_slug>/", help_views.help_article, name="help-article"),
    path(
        "help/articles/<slug:article_slug>/vote/",
        help_views.help_article_vote,
        name="help-article-vote",
    ),
    path(
        "help/articles/<slug:article_slug>/answered/",
        help_views.help_deflect,
        name="help-deflect",
    ),
    path("admin/articles/", help_views.article_admin_list, name="article-admin"),
    path("admin/articles/new/", help_views.article_admin_new, name="article-admin-new"),
    path(
        "admin/articles/<uuid:article_id>/",
        help_views.article_admin_edit,
        name="article-admin-edit",
    ),
    path(
        "admin/articles/<uuid:article_id>/publish/",
        help_views.article_admin_publish,
        name="article-admin-publish",
    ),
    path("articles/links/", help_views.article_links_json, name="article-links"),
    # Live chat: the agents' page.
    path("chat/", chat_views.chat_console, name="chat"),
    path("chat/list/", chat_views.chat_list, name="chat-list"),
    path("chat/settings/", chat_views.chat_settings, name="chat-settings"),
]
