"""``natid demo``: one command from a fresh clone to a running, explorable e-ID.

Seeds a synthetic population if the configured database has none (or resumes an
interrupted seed), prints its statistics and a few sample citizens, gives the demo
citizens their e-ID accounts, prints where to click and whom to log in as, then serves
the IdP until Ctrl-C.
"""

from __future__ import annotations

import signal
from typing import Annotated
from urllib.parse import urlsplit

import sqlalchemy as sa
import typer
from rich.console import Console
from rich.table import Table

from identity_service.accounts.models import DemoCredential
from identity_service.app import build_services
from identity_service.config import IdentitySettings
from identity_service.db import IdentityDatabaseError
from natid.processes import LaunchError, Service, start_all, stop_all, wait_any
from population_db import cli as population_cli
from population_db import db
from population_db.db import PopulationDatabaseError
from population_db.registry import CitizenRecord, PopulationRegistry
from portals.cli import default_port

PORTALS = (
    ("public-services", "Public-service portal"),
    ("bank", "Bank"),
    ("clinic", "Clinic"),
)

SAMPLE_CITIZENS = 5


def demo(
    citizens: Annotated[
        int, typer.Option("--citizens", "-n", help="Population size if none is seeded yet.")
    ] = 20_000,
    seed: Annotated[int, typer.Option(help="Random seed of a new population.")] = 1,
    serve: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Start the IdP after the set-up.")
    ] = True,
) -> None:
    """Seed if needed, give the demo citizens accounts, print how to log in, serve the IdP."""
    console = Console(highlight=False)
    if not console.is_terminal:  # piped or logged: keep credentials on one line each
        console = Console(highlight=False, width=160)
    settings = IdentitySettings()
    try:
        credentials = _set_up(console, settings, citizens, seed)
    except (IdentityDatabaseError, PopulationDatabaseError) as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        typer.echo(f"error: {message}", err=True)
        raise typer.Exit(code=1) from None
    _print_how_to_log_in(console, settings, credentials)
    if serve:
        _run_services(console, settings)


def _set_up(
    console: Console, settings: IdentitySettings, citizens: int, seed: int
) -> list[DemoCredential]:
    """The population (seeded if needed) and the demo citizens' accounts."""
    population_url = settings.population_database_url()
    _ensure_population(console, population_url, citizens, seed)
    registry = PopulationRegistry.from_url(population_url)
    try:
        _print_population(console, registry)
    finally:
        registry.close()
    services = build_services(settings)
    try:
        return services.accounts.ensure_demo_accounts()
    finally:
        services.population.close()
        services.identity_engine.dispose()


def _run_services(console: Console, settings: IdentitySettings) -> None:
    """The IdP and the three portals as child processes until Ctrl-C or one of them stops."""
    host, port = _issuer_host_port(settings.issuer)
    issuer = settings.issuer.rstrip("/")
    services = [
        Service("IdP", port, ["serve", "--host", host, "--port", str(port)],
                f"{issuer}/.well-known/openid-configuration"),
    ]  # fmt: skip
    portal_data = str(settings.data_dir / "portals")
    for name, title in PORTALS:
        portal_port = default_port(name)
        arguments = ["portals", "serve", name, "--issuer", issuer, "--data-dir", portal_data,
                     "--log-level", "warning"]  # fmt: skip
        services.append(Service(title, portal_port, arguments, f"http://{host}:{portal_port}/"))
    try:
        start_all(services, host)
    except LaunchError as error:
        console.print(f"[red]error:[/red] {error}")
        raise typer.Exit(code=1) from None
    console.print("\n[bold]Running[/bold] (Ctrl-C stops everything):")
    for service in services:
        console.print(f"  {service.name:<24} {service.ready_url.rsplit('/.well-known', 1)[0]}")
    console.print(
        "\nTry it: at the public-service portal, log in as 001185999001 (password, then the "
        "TOTP code when you apply for a criminal-record certificate); then open the bank: "
        "single sign-on, no password. 079092999004 (level 1) can browse, but the bank "
        "requires level 2. The clinic's front desk (http://127.0.0.1:8103/front-desk, staff "
        "passcode demo-front-desk) checks a patient's ID number and name with the e-KYC API.\n"
    )
    # `kill` or a closing terminal must stop the children too, not orphan them
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    try:
        stopped = wait_any(services)
        console.print(f"[red]{stopped.name} stopped; stopping the others.[/red]")
        stop_all(services)
        raise typer.Exit(code=1)
    except KeyboardInterrupt:
        stop_all(services)
        console.print("Stopped.")


def _ensure_population(console: Console, url: str, citizens: int, seed: int) -> None:
    """Seed a population unless one is there; finish an interrupted one with its own size."""
    engine = db.create_population_engine(url, create=True)
    try:
        run = None
        if db.has_population_schema(engine):
            with engine.connect() as connection:
                run = connection.execute(sa.select(db.SEED_RUN_TABLE)).first()
    finally:
        engine.dispose()
    if run is not None and run.status == "complete":
        console.print(f"Population database: {db.display_url(url)} (already seeded).")
        return
    if run is not None:
        console.print("Resuming the interrupted seeding of this database…")
        citizens, seed = run.citizens_target, run.seed
    else:
        console.print(f"Seeding {citizens:,} synthetic citizens into {db.display_url(url)}…")
    population_cli.seed(citizens=citizens, seed=seed, database=url, batch_size=None, force=False)


def _print_population(console: Console, registry: PopulationRegistry) -> None:
    stats = registry.statistics()
    ages = stats.age_groups
    living = max(stats.alive, 1)
    console.print(
        f"\n[bold]Population[/bold] (as of {stats.as_of.isoformat()}): {stats.total:,} citizens, "
        f"{stats.alive:,} living, {stats.deceased:,} deceased, {stats.households:,} households "
        f"(mean {stats.mean_household_size:.2f} persons); "
        f"{100 * stats.male / max(stats.total, 1):.1f} % male; ages 0-14 / 15-64 / 65+: "
        + " / ".join(f"{100 * ages.get(k, 0) / living:.1f} %" for k in ("0-14", "15-64", "65+"))
    )
    top_units = ", ".join(
        f"{name} {count:,}" for name, count in list(stats.by_current_unit.items())[:5]
    )
    console.print(f"Largest units: {top_units}")
    table = Table(title="A few generated citizens", title_justify="left")
    for column in ("ID number", "full name", "born", "gender", "residence", "household role"):
        table.add_column(column)
    for record in _sample(registry):
        table.add_row(
            record.personal_id_number,
            record.full_name,
            record.birth_date.isoformat(),
            record.gender,
            record.permanent_address,
            record.relation_to_head or "—",
        )
    console.print(table)


def _sample(registry: PopulationRegistry) -> list[CitizenRecord]:
    """The heads of the first few generated households, and their first member."""
    citizen = db.CITIZEN_TABLE
    query = (
        sa.select(citizen.c.personal_id_number)
        .where(citizen.c.household_id >= 1_000_000)
        .order_by(citizen.c.household_id)
        .limit(SAMPLE_CITIZENS)
    )
    with registry.engine.connect() as connection:
        numbers = list(connection.execute(query).scalars())
    return [record for n in numbers if (record := registry.get(n)) is not None]


def _print_how_to_log_in(
    console: Console, settings: IdentitySettings, credentials: list[DemoCredential]
) -> None:
    issuer = settings.issuer.rstrip("/")
    table = Table(title="Demo citizens with e-ID accounts", title_justify="left")
    for column in ("ID number", "name", "level", "password", "TOTP secret"):
        table.add_column(column)
    for credential in credentials:
        table.add_row(
            credential.personal_id_number,
            credential.full_name,
            str(credential.level),
            credential.password,
            credential.totp_secret or "—",
        )
    console.print(table)
    level2 = next((c for c in credentials if c.totp_secret), None)
    if level2 is not None:
        console.print(
            "Level 2 asks for a one-time code: add the TOTP secret to an authenticator app, "
            "or print the current code with\n  .venv/bin/python -c "
            f"\"import pyotp; print(pyotp.TOTP('{level2.totp_secret}').now())\""
        )
    console.print(
        f"\n[bold]Where to click[/bold]\n"
        f"  IdP discovery : {issuer}/.well-known/openid-configuration\n"
        f"  API docs      : {issuer}/docs\n"
        f"  Signing keys  : {issuer}/jwks\n"
        "  Register your own portal: natid clients add --name NAME --redirect-uri URI "
        '--scopes "openid profile" --json'
    )


def _raise_keyboard_interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _issuer_host_port(issuer: str) -> tuple[str, int]:
    parts = urlsplit(issuer)
    return parts.hostname or "127.0.0.1", parts.port or (443 if parts.scheme == "https" else 80)
