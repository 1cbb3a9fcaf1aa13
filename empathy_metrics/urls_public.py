"""Customer-facing survey pages under /survey/ (no login).

The NPS page's token binds the tenant and the survey request (signed, expiring); the feedback
form names its helpdesk (``helpdesk`` is the tenant's slug).
"""

from django.urls import path

from empathy_metrics import views_surveys

app_name = "surveys"

urlpatterns = [
    path("feedback/<slug:helpdesk>/", views_surveys.feedback, name="feedback"),
    path("<str:token>/", views_surveys.nps_answer, name="answer"),
]
