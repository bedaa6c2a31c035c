"""The embedded broker (file system): a message is never seen half-written.

kombu's own filesystem transport creates the message file, then writes it; a worker polling the
folder can take the empty file in between and die on it (celery/kombu#1551: the outsider saw
the demo's worker stop with "JSONDecodeError: Expecting value"). Ours writes the message aside
and renames it into the queue."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from kombu import Connection
from kombu.transport import resolve_transport
from kombu.transport.filesystem import Transport as KombuTransport

from smarct_dsar.broker import Transport


def _channel(folder: Path) -> Any:
    options = {"data_folder_in": str(folder), "data_folder_out": str(folder)}
    return Connection("filesystem://", transport_options=options).channel()


def test_the_filesystem_scheme_is_ours() -> None:
    import smarct_dsar.celery  # noqa: F401  (registers it)

    assert resolve_transport("filesystem") is Transport
    assert issubclass(Transport, KombuTransport)


def test_a_reader_racing_writers_never_reads_a_half_written_message(tmp_path: Path) -> None:
    writer, reader = _channel(tmp_path), _channel(tmp_path)
    sent, got, errors = 600, [], []
    payload = {"body": "x" * 20_000, "headers": {}, "properties": {}}

    def write() -> None:
        for i in range(sent):
            writer._put("q", {**payload, "n": i})

    def read() -> None:
        from queue import Empty

        while len(got) < sent and not errors:
            try:
                got.append(reader._get("q")["n"])
            except Empty:
                continue
            except Exception as exc:  # the bug: an empty or partial file read as a message
                errors.append(repr(exc))

    threads = [threading.Thread(target=write), threading.Thread(target=read)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert sorted(got) == list(range(sent))
