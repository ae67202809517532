"""The embedded broker (the filesystem transport) loses, doubles and crashes on nothing.

Several producer processes publish while one consumer drains the queue, as web, beat
and the worker do under ``make run``. kombu's stock transport fails the same race: its
consumer claims a message file before the producer has written it and raises
JSONDecodeError, which stops a Celery worker (``race()`` takes the transport as an
argument, so it can be run against ``STOCK`` by hand).
"""

import logging
import multiprocessing
import os
import queue as queues
import tempfile
import threading
import time
from pathlib import Path

import pytest
from kombu import Connection
from kombu.exceptions import ChannelError

from config import broker

STOCK = "kombu.transport.filesystem:Transport"
PRODUCERS = 4
MESSAGES_PER_PRODUCER = 1000


def connect(transport: str, root: Path) -> Connection:
    options = broker.folders(root)
    if transport == STOCK:  # kombu's transport expects its folders to exist
        for option in ("data_folder_in", "control_folder"):
            Path(options[option]).mkdir(parents=True, exist_ok=True)
    return Connection("filesystem://", transport=transport, transport_options=options)


def produce(transport: str, root: Path, producer: int, start) -> None:
    """Publish numbered messages once the consumer is ready (runs in a child process)."""
    start.wait(30)
    with connect(transport, root) as connection:
        race_queue = connection.SimpleQueue("race")
        for number in range(MESSAGES_PER_PRODUCER):
            race_queue.put({"producer": producer, "number": number})


def race(transport: str, root: Path) -> dict:
    """Run the producers against one consumer; count what arrived and what went wrong."""
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    producers = [
        context.Process(target=produce, args=(transport, root, producer, start))
        for producer in range(PRODUCERS)
    ]
    received, crashes = [], []
    with connect(transport, root) as connection:
        consumer = connection.SimpleQueue("race")
        for process in producers:
            process.start()
        start.set()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                message = consumer.get_nowait()
            except queues.Empty:
                if not any(process.is_alive() for process in producers):
                    break  # every producer is done and the queue is empty
                time.sleep(0.001)
                continue
            except Exception as exc:  # what stops a Celery worker
                crashes.append(repr(exc))
                continue
            received.append((message.payload["producer"], message.payload["number"]))
            message.ack()
    for process in producers:
        process.join(10)
        if process.exitcode != 0:
            crashes.append(f"a producer exited with {process.exitcode}")
    sent = {(p, n) for p in range(PRODUCERS) for n in range(MESSAGES_PER_PRODUCER)}
    return {
        "lost": len(sent - set(received)),
        "duplicated": len(received) - len(set(received)),
        "crashes": crashes,
    }


@pytest.fixture
def broker_root(tmp_path):
    """Folders in memory where the system has /dev/shm: the fsync per message then costs
    nothing and the test measures the race, not the disk. Renames work the same there."""
    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        yield tmp_path
        return
    with tempfile.TemporaryDirectory(prefix="afterwin-broker-", dir=shm) as root:
        yield Path(root)


def test_concurrent_producers_and_a_consumer_lose_double_and_crash_nothing(broker_root):
    outcome = race(broker.TRANSPORT, broker_root)

    assert outcome == {"lost": 0, "duplicated": 0, "crashes": []}
    assert os.listdir(broker_root / "queue") == []
    assert os.listdir(broker_root / "incoming") == []
    assert os.listdir(broker_root / "processing") == []


def test_a_message_is_invisible_to_consumers_until_completely_written(tmp_path, monkeypatch):
    with (
        connect(broker.TRANSPORT, tmp_path) as producer_connection,
        connect(broker.TRANSPORT, tmp_path) as consumer_connection,
    ):
        producer_queue = producer_connection.SimpleQueue("tasks")
        consumer_queue = consumer_connection.SimpleQueue("tasks")
        # Hold the producer after it has written the file and before it renames it.
        written, release = threading.Event(), threading.Event()
        fsync = os.fsync

        def held_fsync(fd):
            written.set()
            release.wait(10)
            fsync(fd)

        monkeypatch.setattr(os, "fsync", held_fsync)
        producer = threading.Thread(target=producer_queue.put, args=({"n": 1},))
        producer.start()
        try:
            assert written.wait(10)
            with pytest.raises(queues.Empty):
                consumer_queue.get_nowait()
        finally:
            release.set()
            producer.join(10)

        assert consumer_queue.get(timeout=5).payload == {"n": 1}


def test_an_undecodable_message_is_set_aside_and_the_next_one_is_delivered(tmp_path, caplog):
    queue_folder = tmp_path / "queue"
    with connect(broker.TRANSPORT, tmp_path) as connection:
        tasks = connection.SimpleQueue("tasks")
        # Named to sort before the good message, so the consumer meets them first.
        bad = {
            "00000000000000000001_empty.tasks.msg": b"",  # what kombu's race leaves behind
            "00000000000000000002_cut.tasks.msg": b'{"body": "eyJh',
            "00000000000000000003_list.tasks.msg": b'["not", "a", "message"]',
        }
        for name, content in bad.items():
            (queue_folder / name).write_bytes(content)
        tasks.put({"n": 1})

        with caplog.at_level(logging.ERROR, logger="config.broker"):
            message = tasks.get(timeout=5)

        assert message.payload == {"n": 1}
        message.ack()
        with pytest.raises(queues.Empty):
            tasks.get_nowait()
    assert sorted(os.listdir(tmp_path / "rejected")) == sorted(bad)
    assert os.listdir(queue_folder) == []
    for name in bad:
        assert name in caplog.text


def test_folders_on_two_filesystems_are_refused_when_the_broker_starts(tmp_path, broker_root):
    if broker_root.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("needs /dev/shm and the temporary folder on different filesystems")
    options = {**broker.folders(tmp_path), "incoming_folder": str(broker_root / "incoming")}

    with (
        Connection("filesystem://", transport=broker.TRANSPORT, transport_options=options) as c,
        pytest.raises(ChannelError, match="must be on one filesystem"),
    ):
        c.channel()


def test_a_truncated_exchange_table_is_written_again_when_a_queue_is_declared(tmp_path):
    control = tmp_path / "control"
    control.mkdir()
    (control / "tasks.exchange").write_bytes(b"")  # as kombu's stock transport can leave it

    with connect(broker.TRANSPORT, tmp_path) as connection:
        tasks = connection.SimpleQueue("tasks")
        tasks.put({"n": 1})

        assert tasks.get(timeout=5).payload == {"n": 1}
