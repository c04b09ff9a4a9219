"""A private, throwaway PostgreSQL cluster on a free loopback port (for fault tests that stop
and restart the database)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time

import psycopg

from tests.e2e.conftest import free_port


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise FileNotFoundError(name)
    return found[-1]


class PrivateCluster:
    """initdb + pg_ctl as the postgres user; `stop()` and `start()` simulate an outage;
    `standby()` makes a streaming replica of it (pg_basebackup) on another port."""

    def __init__(self, primary: "PrivateCluster | None" = None) -> None:
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="registry-pg-")
        shutil.chown(self.dir, "postgres")
        self.data = os.path.join(self.dir, "data")
        if primary is None:
            self._as_postgres([_bin("initdb"), "-D", self.data, "-U", "postgres",
                               "--auth=trust", "-E", "UTF8"])
            extra = "wal_level = replica\nmax_wal_senders = 5\n"
        else:  # a hot standby streaming from the primary (writes standby.signal with -R)
            self._as_postgres([_bin("pg_basebackup"), "-h", "127.0.0.1", "-p",
                               str(primary.port), "-U", "postgres", "-D", self.data, "-R",
                               "-X", "stream"])
            extra = "hot_standby = on\nhot_standby_feedback = on\n"
        with open(os.path.join(self.data, "postgresql.conf"), "a") as conf:
            conf.write(f"\nlisten_addresses = '127.0.0.1'\nport = {self.port}\n"
                       "unix_socket_directories = ''\nfsync = on\n" + extra)
        self.start()

    def standby(self) -> "PrivateCluster":
        return PrivateCluster(primary=self)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, argv: list[str]) -> None:
        command = " ".join(f"'{a}'" for a in argv)
        subprocess.run(["su", "postgres", "-s", "/bin/sh", "-c", command], check=True,
                       capture_output=True, timeout=120)

    def start(self) -> None:
        self._as_postgres([_bin("pg_ctl"), "-D", self.data, "-l",
                           os.path.join(self.dir, "server.log"), "-w", "start"])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with psycopg.connect(self.url, connect_timeout=2):
                    return
            except psycopg.Error:
                time.sleep(0.2)
        raise RuntimeError("private PostgreSQL did not start")

    def stop(self) -> None:
        self._as_postgres([_bin("pg_ctl"), "-D", self.data, "-m", "fast", "-w", "stop"])

    def destroy(self) -> None:
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)
