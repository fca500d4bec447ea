"""The same storage on PostgreSQL: a project at a postgresql:// URL, and concurrent clients.

Needs a server: ``SEGLAB_TEST_POSTGRES_URL`` (``.ci/run`` starts Debian's PostgreSQL and sets it).
"""

from __future__ import annotations

import os
import threading

import pytest
from test_storage import _mask, _save

from seglab.web.project import Project

URL = os.environ.get("SEGLAB_TEST_POSTGRES_URL")
pytestmark = pytest.mark.skipif(URL is None, reason="set SEGLAB_TEST_POSTGRES_URL to a PostgreSQL database")


@pytest.fixture
def pg_url() -> str:
    """The test database, emptied before each test."""
    from sqlalchemy import MetaData, create_engine

    engine = create_engine(URL)
    meta = MetaData()
    meta.reflect(engine)
    meta.drop_all(engine)
    engine.dispose()
    return URL


def test_project_round_trip_on_postgres(project_dir, pg_url):
    project = Project(project_dir, pg_url)
    image = project.images()[0]["id"]
    project.store.save(image, [{"uid": "a", "mask": _mask(3)}, {"uid": "b", "mask": _mask(9)}], [])
    project.store.close()
    again = Project(project_dir, pg_url)
    objects = {o["uid"]: o for o in again.store.objects(image)}
    assert sorted(objects) == ["a", "b"] and objects["a"]["area"] == int(_mask(3).sum())
    assert not (project_dir / ".seglab" / "annotations.db").exists()
    again.store.close()


def test_four_clients_saving_at_once_on_postgres(project_dir, pg_url, server_factory):
    import httpx

    server = server_factory(project_dir, "--db", pg_url)
    image = next(i["id"] for i in httpx.get(server.url + "/api/images").json() if i["path"] == "rect.png")
    statuses: list[int] = []
    barrier = threading.Barrier(4)

    def client(c: int) -> None:
        barrier.wait()
        for i in range(6):
            statuses.append(_save(server.url, image, f"c{c}-{i}", c * 6 + i))

    threads = [threading.Thread(target=client, args=(c,)) for c in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 24
    objects = httpx.get(f"{server.url}/api/images/{image}/objects").json()
    assert sorted(o["uid"] for o in objects) == sorted(f"c{c}-{i}" for c in range(4) for i in range(6))
