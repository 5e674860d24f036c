"""``expressway demo``: the main job.

Today it brings up the vendor-side tenant on SQLite, initialised, and serves it; the full story
of SPEC §6 (workforce IdP, Express Configuration, SCIM, Universal Logout) joins as those parts land.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.panel import Panel

from expressway.config import load_settings
from expressway.tenant.bootstrap import initialise_tenant
from expressway.tenant.runtime import TenantRuntime

console = Console()


def demo(
    port: Annotated[int, typer.Option(help="Port of the tenant.")] = 8401,
    serve: Annotated[bool, typer.Option(help="Keep the tenant running after set-up.")] = True,
) -> None:
    """Start the tenant on SQLite and print how to reach its Management API."""
    url = f"http://localhost:{port}"
    settings = load_settings(tenant_public_url=url)
    runtime = TenantRuntime.from_settings(settings)
    result = initialise_tenant(runtime)
    lines = [f"Tenant:          {url}", f"Data directory:  {settings.data_dir.resolve()}"]
    if result.admin_client_secret:
        lines += [
            f"Admin client id: {result.admin_client_id}",
            f"Client secret:   {result.admin_client_secret}  (shown once)",
        ]
    else:
        lines += [
            f"Admin client id: {result.admin_client_id}",
            "Client secret:   shown when the data directory was first initialised",
        ]
    lines += [
        "",
        "Get a Management API token:",
        f"  curl -s {url}/oauth/token -d grant_type=client_credentials \\",
        f"    -d client_id=… -d client_secret=… -d audience={settings.management_audience}",
    ]
    console.print(Panel("\n".join(lines), title="Expressway tenant"))
    if serve:
        import uvicorn

        from expressway.tenant.app import create_app

        uvicorn.run(create_app(runtime), host="127.0.0.1", port=port, log_level="info")
