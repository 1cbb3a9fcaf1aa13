"""Email in and out: plain Python helpers around the standard library's ``email`` package.

Inbound, every message goes through the same steps whatever its path (webhook, IMAP, import):

1. ``tickets.services.email_in.inbound_email_receive`` stores the raw source FIRST (an
   ``InboundEmail`` row, de-duplicated by Message-ID) and queues its processing;
2. ``inbound_email_process`` parses it (``parse.parse_email``), drops noise (``noise``: auto-replies,
   bounces, our own mail), applies the per-sender rate limit (``ratelimit``), finds the ticket
   (``references`` + ``selectors``), strips quoted history and signatures from the visible body
   (``reply``) and stores attachments (``attachments`` decides what is kept).

Outbound, ``compose`` builds the agent reply or acknowledgement with its threading headers;
``tickets.services.email_out`` records and sends it. ``imap`` is the mailbox client, ``sources``
reads mbox files and .eml folders for imports.

Nothing here writes to the database: the services do (CONVENTIONS.md section 2).
"""
