-- POST raw RFC 5322 emails to the inbound email webhook, each with its own Message-ID, from 5,000
-- different senders. API_KEY (scope ingest:email), SLUG and RUN (makes ids unique per run).
local key = os.getenv("API_KEY")
local slug = os.getenv("SLUG") or "mailbench"
local run = os.getenv("RUN") or tostring(os.time())
local threads = {}
local counter = 0
local id = 0

wrk.method = "POST"
wrk.path = "/api/v1/t/" .. slug .. "/email/inbound/"
wrk.headers["Authorization"] = "Api-Key " .. key
wrk.headers["Content-Type"] = "message/rfc822"

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

local template = table.concat({
  "Return-Path: <customer%d@load.example>",
  "Received: from mail.load.example (mail.load.example [198.51.100.7])",
  "\tby mx.helpdesk.example with ESMTPS; Mon, 10 Jun 2024 09:58:12 +0000",
  "From: Load Customer %d <customer%d@load.example>",
  "To: Support <support@helpdesk.example>",
  "Subject: Order %d arrived damaged",
  "Date: Mon, 10 Jun 2024 11:58:03 +0200",
  "Message-ID: <bench-%s-%d-%d@load.example>",
  "MIME-Version: 1.0",
  "Content-Type: multipart/alternative; boundary=\"0000000000001234abcd\"",
  "",
  "--0000000000001234abcd",
  "Content-Type: text/plain; charset=\"UTF-8\"",
  "Content-Transfer-Encoding: quoted-printable",
  "",
  "Hello,",
  "",
  "my order %d arrived today but the box was crushed and the lamp inside is broken.",
  "Could you send a replacement or refund it? Photos on request.",
  "",
  "Thanks,",
  "A customer",
  "",
  "--0000000000001234abcd",
  "Content-Type: text/html; charset=\"UTF-8\"",
  "Content-Transfer-Encoding: quoted-printable",
  "",
  "<div dir=3D\"ltr\">Hello,<br><br>my order %d arrived today but the box was crushed =",
  "and the lamp inside is broken.<br>Could you send a replacement or refund it? =",
  "Photos on request.<br><br>Thanks,<br>A customer</div>",
  "",
  "--0000000000001234abcd--",
  "",
}, "\r\n")

function init(args)
  id = tonumber(wrk.thread:get("id")) or 0
end

function request()
  counter = counter + 1
  local customer = (id * 100003 + counter) % 5000
  local order = 10000 + counter
  local body = string.format(template, customer, customer, customer, order, run, id, counter,
    order, order)
  return wrk.format(nil, nil, nil, body)
end
