"""The `touchstone` command: run the services locally, mint development tokens, regenerate the OpenAPI files.

Commands stay thin: they read `CliSettings`, call one helper module, and turn its outcome into output and an
exit code. Only a token goes to stdout for `token`, so that `$(touchstone token ...)` works in scripts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from services.cli import openapi as openapi_files
from services.cli import serve as serving
from services.cli.processes import Outcome, run_services
from services.cli.settings import CliSettings, inherited_environment
from services.identity.dev import DevKeys

# No local variables in tracebacks: they could hold tokens, keys or settings.
app = typer.Typer(
    help="Touchstone: a clinical record service for psychotherapy.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)

USAGE_ERROR = 2


def _errors() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


def _fail(message: str, code: int) -> NoReturn:
    _errors().print(message, markup=False)
    raise typer.Exit(code)


def _settings() -> CliSettings:
    try:
        return CliSettings()
    except ValidationError as error:
        # Name the variables only: values from the environment may be secrets.
        names = sorted(
            {f"TOUCHSTONE_{str(item['loc'][0]).upper()}" for item in error.errors() if item["loc"]}
        )
        _fail("invalid settings: " + ", ".join(names), USAGE_ERROR)


@app.command()
def token(
    role: Annotated[str, typer.Option(help="clinician, supervisor, client, privacy_officer, auditor, ...")],
    tenant: Annotated[str, typer.Option(help="The practice the token is valid for.")],
    sub: Annotated[str, typer.Option(help="The actor's id (a practitioner's id is their sub).")],
    client_id: Annotated[
        str | None, typer.Option(help="The client's own record; required for role client.")
    ] = None,
    ttl: Annotated[int, typer.Option(help="Lifetime in seconds.")] = 3600,
    purpose: Annotated[str | None, typer.Option(help="HL7 PurposeOfUse code; defaults by role.")] = None,
) -> None:
    """Print a development JWT signed with the local development key (refused in production)."""
    settings = _settings()
    if settings.production:
        _fail("refusing to mint a development token: TOUCHSTONE_ENV is production", USAGE_ERROR)
    try:
        minted = DevKeys(settings.var_dir).mint(role, tenant, sub, client_id, ttl, purpose)
    except ValueError as error:
        _fail(f"cannot mint a token: {error}", USAGE_ERROR)
    typer.echo(minted)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (default TOUCHSTONE_HOST).")] = None,
    records_port: Annotated[int | None, typer.Option(help="Records port (default 8000).")] = None,
    consent_port: Annotated[int | None, typer.Option(help="Consent port (default 8001).")] = None,
) -> None:
    """Run the records and consent services until Ctrl-C; in development, with development keys."""
    settings = _settings()
    try:
        plan = serving.plan(
            settings,
            host or settings.host,
            records_port or settings.records_port,
            consent_port or settings.consent_port,
        )
    except serving.MissingProductionSettings as error:
        _fail(str(error), USAGE_ERROR)
    _describe(plan)
    outcome = run_services(plan.commands, {**inherited_environment(), **plan.service_env})
    _report(outcome)
    raise typer.Exit(outcome.exit_code)


@app.command()
def openapi(
    check: Annotated[bool, typer.Option(help="Only compare; exit 1 if a committed file differs.")] = False,
    directory: Annotated[
        Path, typer.Option(help="Where the documents live.")
    ] = openapi_files.DEFAULT_DIRECTORY,
) -> None:
    """Write contracts/openapi/{records,consent}.json from the services' code, or check them with --check."""
    try:
        documents = openapi_files.generated_documents(directory)
    except openapi_files.DocumentUnavailable as error:
        _fail(str(error), 1)
    if check:
        stale = openapi_files.stale_documents(documents)
        for path in stale:
            _errors().print(f"{path} differs from the code; run `touchstone openapi`", markup=False)
        raise typer.Exit(1 if stale else 0)
    for path in openapi_files.write_documents(documents):
        typer.echo(f"wrote {path}")


def _describe(plan: serving.ServePlan) -> None:
    console = Console(highlight=False, soft_wrap=True)
    if plan.dev_keys is not None:
        console.print(f"development signing key: {plan.dev_keys.signing_key.resolve()}", markup=False)
        console.print(f"development JWKS:        {plan.dev_keys.jwks.resolve()}", markup=False)
    table = Table("variable given to the services", "value")
    for name, value in sorted(plan.service_env.items()):
        table.add_row(name, value)
    console.print(table)
    for command in plan.commands:
        console.print(f"starting {command.name}: {' '.join(command.argv)}", markup=False)


def _report(outcome: Outcome) -> None:
    if outcome.first_exited is not None:
        code = outcome.return_codes[outcome.first_exited]
        _errors().print(f"{outcome.first_exited} exited (code {code}); stopped the others", markup=False)
    elif outcome.exit_code != 0:
        _errors().print(f"a service did not stop cleanly: {outcome.return_codes}", markup=False)
