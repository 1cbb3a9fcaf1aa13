"""Password hashing (Argon2), cookies and clickjacking protection as configured by the real
settings (helpdesk/settings/base.py; settings/test.py swaps in a fast hasher for the suite)."""

from __future__ import annotations

import json

from django.contrib.auth.hashers import make_password
from django.test import override_settings

from helpdesk.accounts.models import User
from tests.helpdesk.test_settings import run_python

BASE_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.MD5PasswordHasher",
]

SECURITY_PROBE = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "from django.contrib.auth.hashers import make_password; "
    "print(json.dumps({'hashers': s.PASSWORD_HASHERS, 'hash': make_password('x')[:7], "
    "'session_secure': s.SESSION_COOKIE_SECURE, 'session_httponly': s.SESSION_COOKIE_HTTPONLY, "
    "'session_samesite': s.SESSION_COOKIE_SAMESITE, 'csrf_secure': s.CSRF_COOKIE_SECURE, "
    "'csrf_httponly': s.CSRF_COOKIE_HTTPONLY, 'csrf_samesite': s.CSRF_COOKIE_SAMESITE, "
    "'xfo': s.X_FRAME_OPTIONS, 'ssl_redirect': s.SECURE_SSL_REDIRECT, "
    "'nosniff': s.SECURE_CONTENT_TYPE_NOSNIFF, "
    "'csp': s.CONTENT_SECURITY_POLICY['DIRECTIVES'], "
    "'middleware': s.MIDDLEWARE}))"
)


def production_settings() -> dict:
    result = run_python(
        SECURITY_PROBE,
        HELPDESK_ENV="production",
        DJANGO_SECRET_KEY="s" * 50,
        DATABASE_URL="postgres://u:p@db.example:5432/helpdesk",
        REDIS_URL="redis://cache:6379/0",
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_production_hashes_passwords_with_argon2_and_sets_safe_cookies():
    config = production_settings()
    assert config["hashers"][0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    assert config["hash"] == "argon2$"
    assert config["session_secure"] and config["csrf_secure"]
    assert config["session_httponly"] and config["csrf_httponly"]
    assert config["session_samesite"] == config["csrf_samesite"] == "Lax"
    assert config["ssl_redirect"] and config["nosniff"]
    assert config["xfo"] == "DENY"
    assert config["csp"]["frame-ancestors"] == ["'none'"]
    middleware = config["middleware"]
    assert "django.middleware.clickjacking.XFrameOptionsMiddleware" in middleware
    assert "csp.middleware.CSPMiddleware" in middleware
    assert middleware.index("django_otp.middleware.OTPMiddleware") > middleware.index(
        "django.contrib.auth.middleware.AuthenticationMiddleware"
    )


def test_the_demo_defaults_hash_with_argon2_too():
    result = run_python(SECURITY_PROBE)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["hash"] == "argon2$"


@override_settings(PASSWORD_HASHERS=BASE_HASHERS)
def test_an_older_hash_is_upgraded_to_argon2_at_sign_in(client, agent):
    User.objects.filter(pk=agent.pk).update(
        password=make_password("pass-1234", hasher="pbkdf2_sha256")
    )
    response = client.post(
        "/accounts/login/", {"username": "agent@acme.test", "password": "pass-1234"}
    )
    assert response.status_code == 302
    agent.refresh_from_db()
    assert agent.password.startswith("argon2$")
    assert agent.check_password("pass-1234")


def test_sign_in_cookies_are_httponly_and_samesite(client, agent):
    client.get("/accounts/login/")
    csrf = client.cookies["csrftoken"]
    assert csrf["httponly"] and csrf["samesite"] == "Lax"
    client.post("/accounts/login/", {"username": "agent@acme.test", "password": "pass-1234"})
    session = client.cookies["sessionid"]
    assert session["httponly"] and session["samesite"] == "Lax"


def test_pages_refuse_to_be_framed(client, agent):
    client.force_login(agent)
    response = client.get("/t/acme/queue/")
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
