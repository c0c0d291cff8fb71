"""Flask extensions, created unbound; ``create_app`` binds them."""

from __future__ import annotations

import os
import threading
import time

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from limits.storage import MemoryStorage
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class SweptMemoryStorage(MemoryStorage):
    """``limits``' in-process storage with one sweeper thread, not a thread per few hits.

    MemoryStorage drops expired counters from a 10 ms ``threading.Timer`` that it starts
    again on each hit once the last one has run: under load a new thread every few
    requests, and each start makes the request wait for a GIL hand-over (about a sixth of
    the click path's time, measured). Here one daemon thread per process sweeps once a
    second. Counters are exactly as before: an expired one is ignored when read anyway,
    the sweep only frees memory. RATELIMIT_STORAGE_URI ``advocacy+memory://``.
    """

    STORAGE_SCHEME = ["advocacy+memory"]
    SWEEP_SECONDS = 1.0

    def __init__(
        self, uri: str | None = None, wrap_exceptions: bool = False, **options: str
    ) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self._sweeper: threading.Thread | None = None
        self._sweeper_pid = 0

    # Replaces the base class's private hook (name-mangled); if a release renames it, the
    # base class's timers come back: slower, just as correct (a test watches for it).
    def _MemoryStorage__schedule_expiry(self) -> None:
        if self._sweeper_pid != os.getpid() or self._sweeper is None:
            self._sweeper_pid = os.getpid()  # a forked child starts its own
            self._sweeper = threading.Thread(
                target=self._sweep, name="rate-limit-sweeper", daemon=True
            )
            self._sweeper.start()

    def _sweep(self) -> None:
        while True:
            time.sleep(self.SWEEP_SECONDS)
            self._MemoryStorage__expire_events()  # type: ignore[attr-defined]


db = SQLAlchemy(model_class=Base)
migrate = Migrate(render_as_batch=True, compare_type=True)
# No default limits: only the public link routes declare theirs (advocacy/web). Storage
# (Redis or memory) is chosen from the app's config by create_app.
limiter = Limiter(key_func=get_remote_address, key_prefix="advocacy")
# The staff console's sign-in sessions and CSRF tokens (advocacy/console). CSRF is checked
# by the console's own before_request, not for every view: the API authenticates by key.
login_manager = LoginManager()
csrf = CSRFProtect()
