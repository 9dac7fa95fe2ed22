"""`paperdigest site build|serve`: thin commands over digest.build and digest.serve.

Mounted by the main CLI as `app.add_typer(site_app, name="site")`. The settings come from
the root command's context (`ctx.obj`) when it sets them, else from the environment.
"""

from __future__ import annotations

from typing import Annotated

import typer

from digest.build import build_site
from digest.serve import serve_site
from paperdigest.commands.errors import errors_as_one_line
from paperdigest.settings import Settings

site_app = typer.Typer(help="The static digest site: build it into SITE_DIR, serve it locally.", no_args_is_help=True)


def _settings(ctx: typer.Context) -> Settings:
    found = ctx.find_object(Settings)
    return found if found is not None else Settings()


@site_app.command("build")
def build(
    ctx: typer.Context,
    full: Annotated[
        bool, typer.Option("--full", help="Render every page again (still writes only changed files).")
    ] = False,
) -> None:
    """Build the site from the stored reviews; only changed pages are written."""
    settings = _settings(ctx)
    with errors_as_one_line():
        report = build_site(settings, full=full)
    typer.echo(
        f"site in {settings.SITE_DIR}: {report.written} file(s) written, {report.unchanged} unchanged, "
        f"{report.seconds:.2f} s"
    )


@site_app.command("serve")
def serve(
    ctx: typer.Context,
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0: any free port).")] = 8000,
) -> None:
    """Serve the built site on 127.0.0.1 and print its address (Ctrl+C to stop)."""
    with errors_as_one_line():
        serve_site(_settings(ctx), port)
