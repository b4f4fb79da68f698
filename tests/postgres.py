"""A throwaway PostgreSQL server for the tests, from Debian's ``postgresql`` package.

initdb in a temporary folder, the server on a free loopback port with its socket in that
folder, trust authentication for local connections; stopped and deleted afterwards.
Installed with apt-get when missing and we are root (as ``make postgresql`` does);
otherwise the tests that need it skip, saying why.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from contextlib import contextmanager

USER = "skhpo"


def _bindir() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_major)
    if found:
        return os.path.dirname(found[-1])
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None


def _major(path: str) -> int:
    return int(path.split("/")[4]) if path.split("/")[4].isdigit() else 0


def _install() -> str | None:
    """Debian's postgresql package, installed if missing (root and apt-get only)."""
    if _bindir() is None and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True)
        subprocess.run(
            ["apt-get", "install", "-y", "-q", "postgresql"], env=env, capture_output=True
        )
    return _bindir()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def postgres_server():
    """Yields ``(url, error)``: the URL of a running server's ``postgres`` database, or
    None and why there is none."""
    bindir = _install()
    if bindir is None:
        yield None, "PostgreSQL is not installed (Debian's postgresql; needs root to install)"
        return
    folder = tempfile.mkdtemp(prefix="skhpo-pg-")
    run_as: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root: run the server as an unprivileged user
        owner = "postgres" if _user_exists("postgres") else "nobody"
        shutil.chown(folder, owner)
        run_as = ["runuser", "-u", owner, "--"]
    data, port = os.path.join(folder, "data"), _free_port()
    try:
        subprocess.run(
            [*run_as, f"{bindir}/initdb", "-D", data, "-U", USER, "--auth=trust", "-E", "UTF8",
             "--no-sync"],
            check=True, capture_output=True,
        )  # fmt: skip
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1"
        subprocess.run(
            [*run_as, f"{bindir}/pg_ctl", "-D", data, "-o", options,
             "-l", os.path.join(folder, "log"), "-w", "start"],
            check=True, capture_output=True,
        )  # fmt: skip
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        yield None, f"could not start PostgreSQL: {exc.stderr.decode(errors='replace')}"
        return
    try:
        yield f"postgresql://{USER}@127.0.0.1:{port}", None
    finally:
        subprocess.run(
            [*run_as, f"{bindir}/pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"],
            capture_output=True,
        )
        shutil.rmtree(folder, ignore_errors=True)


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def create_database(server_url: str, name: str) -> str:
    """A new, empty database on the server; its URL."""
    import psycopg

    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{name}"')
        con.execute(f'CREATE DATABASE "{name}"')
    return f"{server_url}/{name}"
