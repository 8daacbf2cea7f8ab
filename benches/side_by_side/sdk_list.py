"""Section 3 (c): every task through the official Python SDK's marker loop, as users script it.

Usage: sdk_list.py ENDPOINT PROJECT_ID AK SK PAGE_SIZE
Prints {"seconds": ..., "tasks": ..., "pages": ...}; the clock runs around the loop only (not
Python's start-up, the imports or building the client), so (c) is compared on the same work
as (a) and (b).
"""
import json
import sys
import time

from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkcsms.v1 import CsmsClient, ListSecretTaskRequest

endpoint, project, ak, sk, page_size = sys.argv[1:6]
limit = int(page_size)
config = HttpConfig.get_default_config()
config.timeout = (10, 60)
client = (CsmsClient.new_builder()
          .with_http_config(config)
          .with_credentials(BasicCredentials(ak, sk, project))
          .with_endpoint(endpoint)
          .build())

start = time.perf_counter()
tasks, pages, marker = [], 0, None
for _ in range(1_000_000 // limit + 2):  # bounded, like every loop here
    request = ListSecretTaskRequest(limit=limit)
    if marker:
        request.marker = marker
    response = client.list_secret_task(request)
    pages += 1
    tasks += response.tasks or []
    if not response.next_marker or not response.tasks:
        break
    marker = response.next_marker
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "tasks": len(tasks), "pages": pages}))
