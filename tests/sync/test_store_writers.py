"""SQLite writers take turns through a kernel lock, across stores as across processes."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from sync.db.store import Store


def test_a_writer_waits_for_the_turn_of_another_store_on_the_same_file(tmp_path: Path) -> None:
    first = Store.connect(f"sqlite:///{tmp_path / 'okrlink.db'}")
    second = Store.connect(f"sqlite:///{tmp_path / 'okrlink.db'}")
    order: list[str] = []
    holding = threading.Event()

    def hold_the_turn() -> None:
        with first.write_turn():
            holding.set()
            time.sleep(0.2)
            order.append("first done")

    thread = threading.Thread(target=hold_the_turn)
    thread.start()
    holding.wait(5)
    with second.write_turn():
        order.append("second writes")
    thread.join()
    assert order == ["first done", "second writes"]


def test_only_a_database_file_has_a_lock_file_beside_it(tmp_path: Path) -> None:
    memory = Store.connect("sqlite:///:memory:")
    with memory.write_turn():
        pass
    file = Store.connect(f"sqlite:///{tmp_path / 'x.db'}")
    with file.write_turn():
        pass
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.db.writers"]
