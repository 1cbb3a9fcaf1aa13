from django.urls import path

from helpdesk.tenancy.api import endpoints

app_name = "api-tenancy"

urlpatterns = [
    path("me/", endpoints.MeApi.as_view(), name="me"),
    path("members/", endpoints.MemberListApi.as_view(), name="member-list"),
]
