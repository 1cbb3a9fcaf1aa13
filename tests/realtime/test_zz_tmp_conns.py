import time, psycopg
def test_zz_conns():
    time.sleep(1)
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres") as c:
        for row in c.execute("select pid, backend_start, state, left(query, 200) from pg_stat_activity where datname='test_helpdesk_chat'"):
            print("CONN", row)
