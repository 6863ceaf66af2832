"""Private PostgreSQL, Redis and RabbitMQ instances the fault tests may stop and start.

Each runs on free loopback ports with its data in a temporary directory, so the machine's
shared services (5432, 6379, 5672) are never touched. `stop()` and `start()` keep the port,
so the gateway's connections point at the same address when the service comes back.
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
from pathlib import Path

import psycopg

from tests.support.servers import free_port
from tests.support.waiting import wait_until

PG_BIN = Path("/usr/lib/postgresql/15/bin")
RUNUSER = shutil.which("runuser") or "/usr/sbin/runuser"
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def wait_for_port(
    port: int, *, timeout: float, alive: "subprocess.Popen[bytes] | None" = None
) -> None:
    """Wait until something accepts connections on 127.0.0.1:port (fails at once if the
    process `alive` that should serve it exits)."""

    def accepts() -> bool:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True

    wait_until(
        accepts,
        timeout=timeout,
        what=f"something to listen on 127.0.0.1:{port}",
        interval=0.1,
        ignoring=(OSError,),
        unless=None if alive is None else lambda: alive.poll() is not None,
    )


def stop_group(
    process: "subprocess.Popen[bytes]", sig: int = signal.SIGTERM, wait: float = 15
) -> None:
    """Signal a process started with start_new_session=True and all of its children."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, sig)
        process.wait(timeout=wait)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        process.wait()


class PrivatePostgres:
    """A PostgreSQL 15 cluster of its own (initdb + pg_ctl as the postgres user)."""

    def __init__(self, database: str = "gateway") -> None:
        self.port = free_port()
        self.database = database
        self.root = Path(tempfile.mkdtemp(prefix="faults-pg-"))
        self.data = self.root / "data"
        self.socket_dir = self.root / "sock"
        self.log = self.root / "postgres.log"
        shutil.chown(self.root, "postgres", "postgres")
        self._as_postgres(PG_BIN / "initdb", "-D", self.data, "--auth=trust", "-U", "postgres")
        self._as_postgres("mkdir", "-p", self.socket_dir)

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{self.database}"

    def _as_postgres(self, *args: object) -> None:
        subprocess.run(
            [RUNUSER, "-u", "postgres", "--", *map(str, args)],
            check=True,
            capture_output=True,
            cwd=self.root,
        )

    def start(self) -> None:
        # fsync and full-page writes guard against the machine crashing, which these tests
        # never do. synchronous_commit stays on: with it off, a commit the gateway was told
        # of can vanish when the test kills PostgreSQL, which no real server does.
        options = (
            f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c full_page_writes=off"
        )
        self._as_postgres(
            PG_BIN / "pg_ctl", "-D", self.data, "-l", self.log, "-o", options, "-w", "start"
        )

    def running(self) -> bool:
        status = subprocess.run(
            [
                RUNUSER,
                "-u",
                "postgres",
                "--",
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(self.data),
                "status",
            ],
            capture_output=True,
            check=False,
        )
        return status.returncode == 0

    def stop(self, mode: str = "immediate") -> None:
        """`immediate` is a crash (no checkpoint, connections cut); `fast` a clean shutdown."""
        self._as_postgres(PG_BIN / "pg_ctl", "-D", self.data, "-m", mode, "-w", "stop")

    def create_database(self) -> None:
        with psycopg.connect(
            f"postgres://postgres@127.0.0.1:{self.port}/postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{self.database}"')

    def query(self, sql: str, *params: object) -> list[tuple[object, ...]]:
        with psycopg.connect(self.url, autocommit=True) as conn:
            return conn.execute(sql, params).fetchall()  # type: ignore[arg-type]

    def destroy(self) -> None:
        if self.running():
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


class PrivateRedis:
    """redis-server on a port of its own, nothing persisted."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_for_port(self.port, timeout=10, alive=self.process)

    def stop(self) -> None:
        if self.process is not None:
            stop_group(self.process, signal.SIGKILL)
            self.process = None


class PrivateRabbit:
    """A RabbitMQ node of its own (node name, AMQP and distribution ports, mnesia, logs, and
    an Erlang cookie in its own HOME); it shares only the machine's epmd, which serves any
    number of nodes."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dist_port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="faults-rabbit-"))
        self.node = f"faults{self.port}@localhost"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}//"

    def start(self) -> None:
        for sub in ("home", "mnesia", "log"):
            (self.root / sub).mkdir(exist_ok=True)
        env = {
            **os.environ,
            "HOME": str(self.root / "home"),
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.root / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.root / "log"),
            "RABBITMQ_CONFIG_FILE": str(self.root / "none"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.root / "plugins"),
            "RABBITMQ_PID_FILE": str(self.root / "pid"),
        }
        with (self.root / "out.log").open("ab") as out:
            self.process = subprocess.Popen(
                ["/usr/lib/rabbitmq/bin/rabbitmq-server"],
                env=env,
                cwd=self.root,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for_port(self.port, timeout=60, alive=self.process)

    def stop(self) -> None:
        if self.process is not None:
            stop_group(self.process, signal.SIGKILL)
            self.process = None

    def pause(self) -> None:
        """SIGSTOP the node: it keeps its port and its connections but answers nothing (a
        hung broker, as when its machine stalls or the network drops packets)."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGCONT)

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
