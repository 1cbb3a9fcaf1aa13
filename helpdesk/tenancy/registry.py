"""The reviewed allowlist of global (not tenant-owned) models.

Every other model of our apps must be tenant-owned (see tests/isolation/test_model_invariants.py).
Adding an entry here needs a reason and a review.
"""

GLOBAL_MODELS: dict[str, str] = {
    "tenancy.Tenant": "the tenants themselves",
    "tenancy.Membership": "joins global users to tenants; read through selectors before a scope "
    "exists (login redirect, tenant switcher)",
    "accounts.User": "one login serves several tenants",
    "tickets.StatusLink": "routes a customer's status-page token to (tenant, ticket) before a scope "
    "exists; holds ids and the token only",
    "accounts.User_groups": "Django auth's user-group link (platform admin only)",
    "accounts.User_user_permissions": "Django auth's user-permission link (platform admin only)",
}

# Third-party and framework apps whose models are global by nature.
FRAMEWORK_APP_LABELS = frozenset(
    {"admin", "auth", "contenttypes", "sessions", "authtoken", "messages", "staticfiles"}
    # django-otp: a person's two-factor devices belong to the global login, not to a tenant
    | {"otp_totp", "otp_static"}
)
