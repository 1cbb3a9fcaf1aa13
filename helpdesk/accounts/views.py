from django.contrib.auth import views as auth_views

from helpdesk.accounts.forms import EmailAuthenticationForm


class LoginView(auth_views.LoginView):
    """Email sign-in; a throttled attempt answers 429 with the form and its message."""

    template_name = "accounts/login.html"
    authentication_form = EmailAuthenticationForm
    redirect_authenticated_user = True

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if getattr(form, "throttled", False):
            response.status_code = 429
        return response
