"""Sign in through the real login form and print the Cookie header for wrk.

Usage: python benchmarks/login.py http://127.0.0.1:8100 agent0@bench.test bench-pass-123
"""

import http.cookiejar
import re
import sys
import urllib.parse
import urllib.request

base, email, password = sys.argv[1:4]
jar = http.cookiejar.CookieJar()
opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
page = opener.open(f"{base}/accounts/login/").read().decode()
token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
data = urllib.parse.urlencode(
    {"username": email, "password": password, "csrfmiddlewaretoken": token}
).encode()
request = urllib.request.Request(
    f"{base}/accounts/login/", data=data, headers={"Referer": f"{base}/accounts/login/"}
)
opener.open(request)
cookies = {c.name: c.value for c in jar}
if "sessionid" not in cookies:
    sys.exit("login failed")
print(f"sessionid={cookies['sessionid']}; csrftoken={cookies.get('csrftoken', '')}")
