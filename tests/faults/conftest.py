"""Fixtures of the fault suite: private PostgreSQL, Redis and RabbitMQ that a test may stop
and start, the gateway under its production server command, Celery, and a fake vendor.

    def test_something(private_postgres, gateway_server, faults_caller):
        private_postgres.stop()
        answer = faults_caller.call(gateway_server, {"base": "EUR"})
        private_postgres.start()
        ...
        deployment.ledger_check()

The services are shared by the session (initdb, migrate and a RabbitMQ boot take seconds);
each test gets its own gateway processes, and every service a test stopped is started again
after it. The test process never opens Django's database: it reads the private one through
`private_postgres.query` and checks the ledger with `deployment.ledger_check()`.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.processes import CREDIT_LIMIT, PRICE, Caller, Deployment, FakeFixer, Gateway
from tests.faults.services import PrivatePostgres, PrivateRabbit, PrivateRedis
from tests.support.module_fixtures import module_fixture_or


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/faults/" in str(item.path):
            item.add_marker(pytest.mark.faults)


@pytest.fixture(scope="session")
def faults_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("faults")


@pytest.fixture(scope="session")
def _postgres() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    server.start()
    server.create_database()
    yield server
    server.destroy()


@pytest.fixture(scope="session")
def _redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def _rabbit() -> Iterator[PrivateRabbit]:
    server = PrivateRabbit()
    server.start()
    yield server
    server.destroy()


@pytest.fixture(scope="session")
def fake_fixer() -> Iterator[FakeFixer]:
    vendor = FakeFixer()
    yield vendor
    vendor.close()


@pytest.fixture(scope="session")
def _deployment(
    _postgres: PrivatePostgres, _redis: PrivateRedis, fake_fixer: FakeFixer, faults_dir: Path
) -> tuple[Deployment, Caller]:
    deployment = Deployment(database_url=_postgres.url, redis_url=_redis.url, log_dir=faults_dir)
    deployment.manage("migrate", "--noinput")
    deployment.apply((Path(__file__).resolve().parents[2] / "fixtures/demo.yaml").read_text())
    # Only fixer, at the fake vendor; a plan without rate limits, so faults are the only limit.
    deployment.apply(f"""
providers:
  - slug: sandbox
    name: Sandbox rates (offline, fixed)
    adapter: currency.sandbox
    base_url: sandbox://rates
    timeout_ms: 500
    enabled: false
  - slug: fixer
    name: Fixer
    adapter: currency.fixer
    base_url: {fake_fixer.url}
    timeout_ms: 2000
    enabled: true
    credentials: {{access_key: "faults-access-key"}}
plans:
  - slug: faults
    name: Faults
    charge_failed_calls: false
    prices: {{currency.latest_rates: "{PRICE}", currency.convert: "{PRICE}"}}
clients:
  - slug: faults
    name: Faults Ltd
    country: DE
    plan: faults
    credit_limit: "{CREDIT_LIMIT}"
    active: true
""")
    key = deployment.manage("create_api_key", "faults", "--name", "faults").stdout.strip()
    return deployment, Caller(slug="faults", key=key.split()[-1])


@pytest.fixture
def private_postgres(_postgres: PrivatePostgres) -> Iterator[PrivatePostgres]:
    """The private PostgreSQL (`.url`, `.stop(mode)`, `.start()`, `.query(sql)`); started
    again after the test if the test left it down."""
    yield _postgres
    if not _postgres.running():
        _postgres.start()


@pytest.fixture
def private_redis(_redis: PrivateRedis) -> Iterator[PrivateRedis]:
    yield _redis
    if _redis.process is None:
        _redis.start()


@pytest.fixture
def private_rabbit(_rabbit: PrivateRabbit) -> Iterator[PrivateRabbit]:
    yield _rabbit
    if _rabbit.process is None:
        _rabbit.start()
    else:
        _rabbit.resume()  # a test that paused it and failed


@pytest.fixture
def deployment(
    _deployment: tuple[Deployment, Caller],
    private_postgres: PrivatePostgres,
    private_redis: PrivateRedis,
    fake_fixer: FakeFixer,
) -> Iterator[Deployment]:
    """The gateway installation on the private services, with the fake fixer answering."""
    fake_fixer.answer_normally()
    yield _deployment[0]
    fake_fixer.answer_normally()


@pytest.fixture
def faults_caller(_deployment: tuple[Deployment, Caller]) -> Caller:
    """The fault suite's client ("faults", on the private database) and its API key."""
    return _deployment[1]


@pytest.fixture
def gateway_server(deployment: Deployment, request: pytest.FixtureRequest) -> Iterator[Gateway]:
    """gunicorn + two uvicorn workers, DEBUG off, on the private services and a free port;
    with extra environment from a `gateway_env` fixture (a dict) where the test's module
    defines one."""
    server = deployment.gateway(module_fixture_or(request, "gateway_env", {}))
    yield server
    server.stop()
    print(server.output())  # shown with a failing test's report
