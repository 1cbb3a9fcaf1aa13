"""Schemathesis hooks for tests/helpdesk/test_api_fuzz.py (loaded through SCHEMATHESIS_HOOKS)."""

import schemathesis


@schemathesis.serializer("message/rfc822")
def rfc822(ctx, value):
    """The inbound email webhook takes the raw message as the body."""
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8", "surrogatepass")
