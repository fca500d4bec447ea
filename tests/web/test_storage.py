"""Storage: one transaction per save, WAL, concurrent writers, and a server killed mid-save."""

from __future__ import annotations

import sqlite3
import threading
import time

import numpy as np

from seglab.web.project import Project, crop_runs
from seglab.web.storage import Store, decode_mask, encode_mask


def _mask(i: int, shape=(60, 80)) -> np.ndarray:
    mask = np.zeros(shape, bool)
    mask[i % 50: i % 50 + 5, (3 * i) % 70: (3 * i) % 70 + 7] = True
    return mask


def test_rle_round_trip(rng):
    mask = rng.random((33, 47)) > 0.5
    assert np.array_equal(decode_mask(encode_mask(mask), 33, 47), mask)


def test_sqlite_defaults(project_dir):
    project = Project(project_dir)
    db = project_dir / ".seglab" / "annotations.db"
    assert db.is_file()
    with project.store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    project.store.close()


def test_store_at_explicit_url(tmp_path, project_dir):
    url = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    project = Project(project_dir, url)
    project.store.save(project.images()[0]["id"], [{"uid": "a", "mask": _mask(1)}], [])
    project.store.close()
    assert (tmp_path / "elsewhere.db").is_file() and not (project_dir / ".seglab" / "annotations.db").exists()
    assert len(Store(url).objects(1)) == 1


def test_rescan_keeps_ids_and_annotations(project_dir):
    from PIL import Image

    project = Project(project_dir)
    first = {i["path"]: i["id"] for i in project.images()}
    project.store.save(first["rect.png"], [{"uid": "a", "mask": _mask(2)}], [])
    project.store.close()
    Image.new("RGB", (8, 8)).save(project_dir / "new.png")
    again = Project(project_dir)
    ids = {i["path"]: i["id"] for i in again.images()}
    assert {k: ids[k] for k in first} == first and "new.png" in ids
    assert len(again.store.objects(first["rect.png"])) == 1
    again.store.close()


def _save(url: str, image_id: int, uid: str, i: int) -> int:
    import httpx

    body = {"upserts": [{"uid": uid, "mask": crop_runs(_mask(i)), "order": i}]}
    return httpx.post(f"{url}/api/images/{image_id}/save", json=body, timeout=60).status_code


def test_four_clients_saving_at_once_lose_nothing(project_dir, server_factory):
    import httpx

    server = server_factory(project_dir)
    image = next(i["id"] for i in httpx.get(server.url + "/api/images").json() if i["path"] == "rect.png")
    per_client = 8
    statuses: list[int] = []
    barrier = threading.Barrier(4)

    def client(c: int) -> None:
        barrier.wait()
        for i in range(per_client):
            statuses.append(_save(server.url, image, f"c{c}-{i}", c * per_client + i))

    threads = [threading.Thread(target=client, args=(c,)) for c in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 4 * per_client
    objects = httpx.get(f"{server.url}/api/images/{image}/objects").json()
    assert sorted(o["uid"] for o in objects) == sorted(f"c{c}-{i}" for c in range(4) for i in range(per_client))
    for obj in objects:
        c, i = (int(v) for v in obj["uid"][1:].split("-"))
        assert obj["area"] == int(_mask(c * per_client + i).sum())


def test_kill_9_during_saves_keeps_every_acknowledged_write(project_dir, server_factory):
    import httpx

    server = server_factory(project_dir)
    image = next(i["id"] for i in httpx.get(server.url + "/api/images").json() if i["path"] == "rect.png")
    acknowledged: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def writer(w: int) -> None:
        i = 0
        while not stop.is_set():
            uid = f"w{w}-{i}"
            try:
                if _save(server.url, image, uid, i) == 200:
                    with lock:
                        acknowledged.append(uid)
            except httpx.TransportError:
                return  # the server died under this request: not acknowledged
            i += 1

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    while len(acknowledged) < 24 and time.monotonic() < deadline:
        time.sleep(0.02)
    server.kill()  # SIGKILL while the writers are still sending
    stop.set()
    for thread in threads:
        thread.join()
    assert len(acknowledged) >= 24

    db = project_dir / ".seglab" / "annotations.db"
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = {row[0] for row in conn.execute("SELECT uid FROM objects")}
    conn.close()
    assert set(acknowledged) <= stored

    restarted = server_factory(project_dir)
    objects = httpx.get(f"{restarted.url}/api/images/{image}/objects").json()
    assert set(acknowledged) <= {o["uid"] for o in objects}
    assert _save(restarted.url, image, "after", 1) == 200
