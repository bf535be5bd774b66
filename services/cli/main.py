"""The `touchstone` command: run the services locally, mint development tokens, regenerate the OpenAPI files,
export and verify a tenant's access log (`touchstone audit ...`).

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

from services.cli import audit, audit_report
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

audit_app = typer.Typer(
    help="The access log, for auditors: export a tenant's log, verify it offline with the public key.",
    no_args_is_help=True,
)
app.add_typer(audit_app, name="audit")

USAGE_ERROR = 2
FAILED = 1


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


@audit_app.command("export")
def audit_export(
    output: Annotated[
        Path, typer.Option(help="The NDJSON file: one entry a line, exactly the log's leaves.")
    ],
    url: Annotated[
        str | None,
        typer.Option(help=f"The consent service [TOUCHSTONE_CONSENT_URL, {audit.DEFAULT_CONSENT_URL}]"),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(help="An auditor's bearer token; its tenant's log is exported [TOUCHSTONE_TOKEN]"),
    ] = None,
    start: Annotated[int, typer.Option(min=0, help="First seq (only an export from 0 verifies alone).")] = 0,
    end: Annotated[
        int | None, typer.Option(min=0, help="Stop before this seq (default: the whole log).")
    ] = None,
    checkpoints: Annotated[
        Path | None, typer.Option(help="Where the signed checkpoints go, a JSON list [<output>.checkpoints]")
    ] = None,
    keys: Annotated[Path | None, typer.Option(help="Where the verifier keys go [<output>.keys]")] = None,
) -> None:
    """Save the log's keys, its signed checkpoints and its entries (streamed, byte for byte) to files."""
    settings = _settings()
    secret = token or (settings.token.get_secret_value() if settings.token else None)
    if not secret:
        _fail("no token: pass --token or set TOUCHSTONE_TOKEN (an auditor's bearer token)", USAGE_ERROR)
    files = audit.ExportFiles.beside(output, checkpoints, keys)
    try:
        with audit.consent_client(url or settings.consent_url or audit.DEFAULT_CONSENT_URL, secret) as client:
            done = audit.export_log(client, files, start, end)
    except audit.AuditError as error:
        _fail(f"export failed: {error}", FAILED)
    for line in audit_report.export_summary(done, files, start):
        typer.echo(line)


@audit_app.command("verify")
def audit_verify(
    export: Annotated[Path, typer.Argument(help="The NDJSON export (`touchstone audit export --output`).")],
    key: Annotated[
        list[str] | None, typer.Option("--key", help="A verifier key, name+keyid+base64 (repeatable).")
    ] = None,
    keys_file: Annotated[
        Path | None, typer.Option(help="Verifier keys: the .keys file export wrote, or one vkey a line.")
    ] = None,
    checkpoints: Annotated[
        Path | None,
        typer.Option(help="The signed checkpoints, a JSON list [<export>.checkpoints if present]"),
    ] = None,
    checkpoint: Annotated[
        Path | None, typer.Option(help="A signed checkpoint saved from an earlier verify (a note file).")
    ] = None,
    origin: Annotated[
        str | None, typer.Option(help="The log's expected origin [the keys file's, if it names one]")
    ] = None,
    save_checkpoint: Annotated[
        Path | None, typer.Option(help="When the export verifies, write its latest checkpoint here.")
    ] = None,
) -> None:
    """Check an export against the signed checkpoints with the public keys alone (no server involved)."""
    checkpoints = checkpoints or audit.checkpoints_beside(export)
    console = Console(highlight=False, soft_wrap=True)
    try:
        anchors = audit.load_anchors(key or [], keys_file, checkpoints, checkpoint, origin)
        with audit_report.progress_bar(_errors(), _size(export)) as progress:
            report = audit.verify_file(export, anchors, progress)
    except audit.AuditError as error:
        _fail(str(error), USAGE_ERROR)
    for line in audit_report.verdict(report, export, anchors):
        console.print(line, markup=False)
    if report.ok and save_checkpoint is not None and report.latest_checkpoint:
        try:
            audit.save_note(save_checkpoint, report.latest_checkpoint)
        except audit.AuditError as error:
            _fail(str(error), USAGE_ERROR)
    raise typer.Exit(0 if report.ok else FAILED)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0  # verify_file names the problem


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
