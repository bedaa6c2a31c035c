"""The embedded broker: kombu's file-system transport, with each message written atomically.

kombu's ``filesystem`` transport creates a message's file in the queue folder and then writes
it; a worker polling the folder can take the file in between, read it empty and die
("JSONDecodeError: Expecting value", celery/kombu#1551), which stopped the whole demo. Here a
message is written under a name no queue matches and renamed into place once complete: a rename
within one folder is atomic, so a reader sees the whole message or nothing.

Registered for ``filesystem://`` by ``smarct_dsar.celery`` (every process that sends or receives
imports it). Production uses Redis and never loads this.
"""

from __future__ import annotations

import os
import time
import uuid
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue: str, payload: dict[str, Any], **kwargs: Any) -> None:  # type: ignore[override]
        # The same name kombu gives (time first, so the folder sorts in order of sending).
        name = f"{round(time.monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = final + ".partial"  # "<queue>.msg.partial": no queue's messages
        try:
            with open(partial, "wb") as out:
                out.write(dumps(payload).encode())
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel
