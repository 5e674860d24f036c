"""``expressway sample-app …``: serve the vendor's own web app, a relying party of the tenant."""

from __future__ import annotations

from typing import Annotated

import typer

from expressway.config import load_settings
from expressway.web.proxies import UVICORN_PROXY_HEADERS

app = typer.Typer(
    help="The SaaS vendor's own web app, signing users in through the tenant.",
    no_args_is_help=True,
)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8400,
    public_url: Annotated[
        str | None, typer.Option(help="Public base URL, when it differs from http://host:port.")
    ] = None,
) -> None:
    """Serve the sample app with uvicorn (needs its client id and secret in the tenant)."""
    import uvicorn

    from expressway.sample_app.app import NotConfigured, create_app

    url = public_url or f"http://{'localhost' if host in ('127.0.0.1', '0.0.0.0') else host}:{port}"  # noqa: S104
    settings = load_settings(sample_app_public_url=url)
    try:
        application = create_app(settings)
    except NotConfigured as error:
        typer.echo(f"Error: {error}", err=True)
        raise typer.Exit(2) from error
    typer.echo(
        f"Sample app at {url}; register {url}/callback as a callback, {url}/ as an allowed "
        f"logout URL and {url}/backchannel-logout as the back-channel logout URL "
        "(oidc_logout.backchannel_logout_urls) of its client in the tenant."
    )
    uvicorn.run(
        application,
        host=host,
        port=port,
        log_level="info",
        proxy_headers=UVICORN_PROXY_HEADERS,
    )
