from tests.tickets import test_pages_webhooks as t

def test_dbg(client, admin_user, tenant):
    client.force_login(admin_user)
    r = client.post(t.PAGE, {"url": "ftp://x.example.com/", "events": ["ticket.created"]})
    html = r.content.decode()
    i = html.find("field-error")
    print(html[i-300:i+400])
    endpoint = t.endpoint_for(tenant)
    t.ticket_created(tenant)
    client.post(f"{t.PAGE}{endpoint.public_id}/toggle/")
    html = client.get(t.PAGE).content.decode()
    i = html.find("badge--")
    print(html[i-100:i+300])
    html = client.get(t.LOG).content.decode()
    i = html.find("<pre")
    print(html[i:i+600])
