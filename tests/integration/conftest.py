import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from zaulekd_fixture import ROLE_USERS, ZAULEKD, Zaulekd  # noqa: E402


def pytest_configure(config):
    if not ZAULEKD.exists():
        raise pytest.UsageError(f"{ZAULEKD} is not built (set ZAULEK_BUILD_DIR)")


@pytest.fixture
def make_daemon(tmp_path):
    """make_daemon(users=True, **config) -> started Zaulekd with one user per role."""
    started = []

    def make(users=True, name="d", **kw):
        d = Zaulekd(tmp_path / f"{name}{len(started)}", **kw)
        if users:
            for role, user in ROLE_USERS.items():
                d.add_user(user, role)
        d.start()
        started.append(d)
        return d

    yield make
    for d in started:
        d.stop()


@pytest.fixture
def daemon(make_daemon):
    return make_daemon()
