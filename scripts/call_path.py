"""Print the project modules one ``tools/call`` passes, in the order it first enters them.

    .venv/bin/python scripts/call_path.py [--modern] [SQL]

Runs on the database ``make run`` uses (a seeded one): issues a short-lived token for
the Seattle store manager, warms the process up with one call, then profiles a
second ``execute_sales_query`` through Django's test client (the whole middleware
stack, no network) and lists every module of ``zava``, ``infrastructure``,
``retail``, ``mcp_tools`` and ``oauth_server`` that ran code. With ``--modern`` the
call speaks MCP 2026-07-28 (its ``_meta`` envelope and mirrored headers) instead of
2025-06-18. The token is revoked at the end. The README's "The path of one call" comes from this.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zava.settings")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")

import django

django.setup()

from django.test import Client  # noqa: E402

from retail.models import Manager  # noqa: E402
from retail.services.tokens import token_issue, token_revoke  # noqa: E402

PROJECT = ("zava", "infrastructure", "retail", "mcp_tools", "oauth_server")
SEATTLE_MANAGER = "f47ac10b-58cc-4372-a567-0e02b2c3d479"
DEFAULT_SQL = "SELECT count(*) AS orders FROM retail.orders WHERE order_date >= '2024-01-01'"


MODERN_META = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientCapabilities": {},
}


def main() -> None:
    arguments = sys.argv[1:]
    modern = "--modern" in arguments
    given = [argument for argument in arguments if argument != "--modern"]
    sql = given[0] if given else DEFAULT_SQL
    manager = Manager.objects.get(pk=SEATTLE_MANAGER)
    issued = token_issue(manager=manager, name="call path", expires_days=1)
    client = Client()

    def call(query: str) -> int:
        params: dict[str, Any] = {
            "name": "execute_sales_query",
            "arguments": {"postgresql_query": query},
        }
        headers = {"Accept": "application/json", "Authorization": f"Bearer {issued.raw}",
                   "MCP-Protocol-Version": "2025-06-18"}  # fmt: skip
        if modern:
            params["_meta"] = MODERN_META
            headers.update({"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call",
                            "Mcp-Name": "execute_sales_query"})  # fmt: skip
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}
        response = client.post(
            "/mcp", json.dumps(body), content_type="application/json", headers=headers
        )
        return response.status_code

    entered: list[str] = []

    def profile(frame: FrameType, event: str, _arg: Any) -> None:
        module = frame.f_globals.get("__name__", "")
        if event == "call" and module.split(".")[0] in PROJECT and module not in entered:
            entered.append(module)

    try:
        call("SELECT 1")  # imports, pools and the registry are not part of a call
        sys.setprofile(profile)
        threading.setprofile(profile)
        status = call(sql)
    finally:
        sys.setprofile(None)
        threading.setprofile(None)
        token_revoke(token=issued.token)
    era = "2026-07-28" if modern else "2025-06-18"
    print(f"tools/call execute_sales_query ({era}): HTTP {status}, {len(entered)} project modules")
    for number, module in enumerate(entered, 1):
        print(f"{number:3} {module}")


if __name__ == "__main__":
    main()
