from django.urls import path

from helpdesk.tenancy import views

app_name = "tenancy"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("admin/members/", views.members, name="members"),
    path("admin/members/<int:membership_id>/role/", views.member_role, name="member-role"),
    path("admin/members/<int:membership_id>/remove/", views.member_remove, name="member-remove"),
    path("admin/api-keys/", views.api_keys, name="api-keys"),
    path("admin/api-keys/<uuid:public_id>/revoke/", views.api_key_revoke, name="api-key-revoke"),
    path("admin/settings/", views.settings_page, name="settings"),
    path("admin/audit/", views.audit_log, name="audit"),
]
