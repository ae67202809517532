"""The embedded Celery broker: kombu's filesystem transport, safe for several processes.

It lives in ``config/``, beside the Celery app, because it is process plumbing that the
settings choose from ``CELERY_BROKER_URL``: kombu imports it by class path in the web,
worker and beat processes alike, it imports nothing from Django or the apps, and no app
imports it.

Stock kombu (5.7) has two races here (kombu issue 1551):

- ``_put`` creates the message file in the queue folder and only then locks and writes
  it, while ``_get`` takes no lock. A consumer that lists the folder in between claims an
  empty or half-written file; ``json`` raises in ``Channel._get`` and the Celery worker
  stops with "Unrecoverable error: JSONDecodeError", taking ``make run`` down with it.
- ``_get`` claims a file with ``shutil.move`` into the system temporary folder. On another
  filesystem that is a copy and a delete, not one atomic step.

Here every step is a ``rename(2)`` inside one filesystem, which is atomic:

- A producer writes the message under its final name in ``incoming/``, fsyncs it and
  renames it into ``queue/``; a name in ``queue/`` always holds a complete message.
- A consumer claims a message by renaming it into ``processing/``. Of two consumers only
  one rename succeeds; the other gets ``FileNotFoundError`` and takes the next file.
  Then it reads the file and removes it.
- A file that does not decode into a message is logged with its name and moved to
  ``rejected/``; the consumer goes on with the next one instead of stopping the worker.
- Exchange tables in ``control/`` are replaced the same way (write, fsync, rename),
  under a lock file so that two processes binding queues at once do not lose a binding.

The fsync before the rename keeps a crash from leaving a complete name over an empty
file. The rename itself is not made durable (no directory fsync): a message lost that
way is like one lost in a crashed Redis, and the outbox sweep and the dispatcher send
its work again. For the same reason a consumer killed between claiming and reading a
file leaves it in ``processing/`` and nothing is lost for good.
"""

import logging
import os
import time
import uuid
from collections import deque
from collections.abc import Callable
from pathlib import Path
from queue import Empty

from kombu.exceptions import ChannelError
from kombu.transport import filesystem, virtual
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads
from kombu.utils.objects import cached_property

logger = logging.getLogger(__name__)

TRANSPORT = "config.broker:Transport"

Table = list[filesystem.exchange_queue_t]


def transport_for(broker_url: str) -> str | None:
    """The transport class for ``broker_url``: ours for ``filesystem://``, else kombu's.

    Celery's ``broker_transport`` setting wins over the URL's scheme (kombu uses the
    scheme only when no transport is given), so it must be set for filesystem URLs only.
    """
    return TRANSPORT if broker_url.startswith("filesystem://") else None


def folders(root: Path) -> dict[str, str]:
    """Transport options that keep every folder under ``root``, on one filesystem."""
    return {
        "data_folder_in": str(root / "queue"),
        "data_folder_out": str(root / "queue"),
        "incoming_folder": str(root / "incoming"),
        "processing_folder": str(root / "processing"),
        "rejected_folder": str(root / "rejected"),
        "control_folder": str(root / "control"),
    }


class CorruptTable(ChannelError):
    """An exchange table in the control folder that is not a JSON list of bindings."""


def _write_and_rename(data: bytes, temporary: Path, final: Path) -> None:
    file = open(temporary, "xb")  # noqa: SIM115 (closed below, before the rename)
    try:
        with file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, final)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


class Channel(filesystem.Channel):
    """Publishes and claims messages by atomic renames; sets undecodable ones aside."""

    def __init__(self, *args, **kwargs):
        # Names listed from the queue folder and not yet tried, per queue: one listing
        # serves many gets instead of listing (and sorting) the folder for every message.
        self._listed: dict[str, deque[str]] = {}
        super().__init__(*args, **kwargs)
        for folder in self._folders():
            folder.mkdir(parents=True, exist_ok=True)
        self._check_one_filesystem()

    # Folders -------------------------------------------------------------------------
    def _folder(self, option: str, default: str) -> Path:
        value = self.transport_options.get(option)
        return Path(value) if value else Path(self.data_folder_out).parent / default

    @cached_property
    def incoming_folder(self) -> Path:
        return self._folder("incoming_folder", "incoming")

    @cached_property
    def processing_folder(self) -> Path:
        return self._folder("processing_folder", "processing")

    @cached_property
    def rejected_folder(self) -> Path:
        return self._folder("rejected_folder", "rejected")

    def _folders(self) -> list[Path]:
        folders = [
            Path(self.data_folder_in),
            Path(self.data_folder_out),
            self.incoming_folder,
            self.processing_folder,
            self.rejected_folder,
            self.control_folder,
        ]
        if self.store_processed:
            folders.append(Path(self.processed_folder))
        return folders

    def _check_one_filesystem(self) -> None:
        # rename(2) across filesystems fails (EXDEV); say so now, not at the first message.
        groups = [
            [self.incoming_folder, Path(self.data_folder_out)],  # what a producer renames
            [Path(self.data_folder_in), self.processing_folder, self.rejected_folder],
        ]
        if self.store_processed:
            groups[1].append(Path(self.processed_folder))
        for group in groups:
            if len({folder.stat().st_dev for folder in group}) > 1:
                listed = ", ".join(str(folder) for folder in group)
                raise ChannelError(f"These broker folders must be on one filesystem: {listed}")

    # Messages ------------------------------------------------------------------------
    def _put(self, queue, payload, **kwargs):
        """Write the message aside, then rename it into the queue folder in one step."""
        # Wall-clock nanoseconds, zero-padded, so names sort in publishing order across
        # processes and restarts.
        name = f"{time.time_ns():020d}_{uuid.uuid4().hex}.{queue}.msg"
        try:
            _write_and_rename(
                str_to_bytes(dumps(payload)),
                self.incoming_folder / name,
                Path(self.data_folder_out) / name,
            )
        except OSError as exc:
            raise ChannelError(f"Cannot add message {name!r} to the queue: {exc}") from exc

    def _get(self, queue):
        """Claim the oldest message of ``queue``, read it and remove it."""
        listed = self._listed.get(queue)
        if not listed:
            listed = self._listed[queue] = deque(self._list(queue))
        while listed:
            name = listed.popleft()
            claimed = self.processing_folder / name
            try:
                os.rename(Path(self.data_folder_in) / name, claimed)
            except FileNotFoundError:
                continue  # another consumer claimed it first, or it was purged
            except OSError as exc:
                raise ChannelError(f"Cannot claim message {name!r}: {exc}") from exc
            try:
                payload = claimed.read_bytes()
            except OSError as exc:
                raise ChannelError(f"Cannot read message {claimed}: {exc}") from exc
            try:
                message = loads(bytes_to_str(payload))
                # What the virtual channel does with it next; a failure there would stop
                # the worker, so it is found here.
                self.Message(message, channel=self)
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                self._reject(claimed, exc)
                continue
            self._finish(claimed)
            return message
        raise Empty()

    def _list(self, queue: str) -> list[str]:
        # As kombu does: the queue is what follows the first dot of the name.
        wanted = f"{queue}.msg"
        return sorted(
            name for name in os.listdir(self.data_folder_in) if name.partition(".")[2] == wanted
        )

    def _finish(self, claimed: Path) -> None:
        try:
            if self.store_processed:
                os.replace(claimed, Path(self.processed_folder) / claimed.name)
            else:
                claimed.unlink()
        except OSError as exc:
            raise ChannelError(f"Cannot remove message {claimed}: {exc}") from exc

    def _reject(self, claimed: Path, error: Exception) -> None:
        rejected = self.rejected_folder / claimed.name
        logger.error(
            "Broker: message %s cannot be decoded (%r); moved to %s",
            claimed.name,
            error,
            rejected,
        )
        try:
            os.replace(claimed, rejected)
        except OSError:
            logger.exception("Broker: cannot move %s to %s", claimed, rejected)

    def _purge(self, queue):
        self._listed.pop(queue, None)
        return super()._purge(queue)

    # Exchange tables -----------------------------------------------------------------
    def get_table(self, exchange):
        # Tables are replaced by rename, never rewritten in place: a read needs no lock.
        file = self._exchange_file(exchange)
        try:
            data = file.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise ChannelError(f"Cannot read {file}: {exc}") from exc
        try:
            return [filesystem.exchange_queue_t(*row) for row in loads(bytes_to_str(data))]
        except (ValueError, TypeError) as exc:
            raise CorruptTable(f"Exchange table {file} cannot be decoded: {exc!r}") from exc

    def _queue_bind(self, exchange, routing_key, pattern, queue):
        binding = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
        self._change_table(exchange, lambda table: None if binding in table else [binding, *table])

    def _delete(self, queue, exchange, routing_key, pattern, *args, **kwargs):
        virtual.Channel._delete(self, queue, exchange, routing_key, pattern, *args, **kwargs)
        binding = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
        self._change_table(
            exchange,
            lambda table: [row for row in table if row != binding] if binding in table else None,
        )

    def _change_table(self, exchange: str, change: Callable[[Table], Table | None]) -> None:
        """Read, change and replace an exchange table under its lock file.

        ``change`` returns the new table, or None when there is nothing to write.
        """
        file = self._exchange_file(exchange)
        try:
            with open(file.with_name(f"{file.name}.lock"), "ab") as lock_file:
                filesystem.lock(lock_file, filesystem.LOCK_EX)
                try:
                    try:
                        current = self.get_table(exchange)
                    except CorruptTable as exc:
                        # Left by kombu's stock transport, which truncates before writing.
                        # Every process declares its bindings when it starts: rebuild.
                        logger.error("Broker: %s; writing it again", exc)
                        current = []
                    table = change(current)
                    if table is not None:
                        temporary = file.with_name(f".{file.name}.{uuid.uuid4().hex}")
                        _write_and_rename(str_to_bytes(dumps(table)), temporary, file)
                finally:
                    filesystem.unlock(lock_file)
        except OSError as exc:
            raise ChannelError(f"Cannot update {file}: {exc}") from exc


class Transport(filesystem.Transport):
    """kombu's filesystem transport with :class:`Channel`."""

    Channel = Channel
    # Declared exchanges and bindings, per control folder. kombu keeps one set per process,
    # so a second broker folder in the same process (tests) was never bound: a binding
    # remembered from the first folder skipped writing the second one's table.
    states: dict[str, virtual.BrokerState] = {}

    def __init__(self, client, **kwargs):
        super().__init__(client, **kwargs)
        control = Path(client.transport_options.get("control_folder", "control")).resolve()
        self.state = self.states.setdefault(str(control), virtual.BrokerState())
