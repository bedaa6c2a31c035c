"""Whether a request's released files are gone, and why, in the person's words: one fact read
by the download page, the person's portal and the refusal of a new link alike.

The files a link reaches go in two ways, each leaving its trace: an erasure deletes every copy
of the person's data made for their earlier requests (``fulfilment.certificate.copies_forget``,
a ``copies_deleted`` event naming the erasure), or no live link reaches them any more and they
are deleted (``services.exports_expire_files``). Certificates are the record and never go."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Max
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext

from exports_app.models import RECORD_FORMATS, Export
from requests_app.models import DataSubjectRequest


@dataclass(frozen=True)
class FilesGone:
    on: datetime  # when the last of them was deleted
    erasure: str  # the reference of the erasure request that deleted them; "" if they expired

    @property
    def reason(self) -> str:
        """``TokenInvalid.reason`` for the download page."""
        return "erased" if self.erasure else "deleted"

    def words(self) -> str:
        """What happened, in one sentence the person reads."""
        day = date_format(timezone.localtime(self.on), "j F Y")
        if self.erasure:
            return gettext(
                "Your files were deleted on %(date)s, when we carried out your erasure request "
                "%(reference)s."
            ) % {"date": day, "reference": self.erasure}
        return gettext(
            "Your files were deleted on %(date)s, after your download link stopped working."
        ) % {"date": day}


def files_gone(dsr: DataSubjectRequest) -> FilesGone | None:
    """The person's data files were released to them and every one has since been deleted: when,
    and by which erasure (if one). None while any is left, or when none was released."""
    released = Export.objects.filter(request=dsr, released_at__isnull=False).exclude(
        format__in=RECORD_FORMATS
    )
    if not released.exists() or released.filter(file_deleted_at__isnull=True).exists():
        return None
    on = released.aggregate(on=Max("file_deleted_at"))["on"]
    erasure = next(
        (
            str(e.payload.get("by", ""))
            for e in dsr.events.filter(action="copies_deleted").order_by("-seq")
            if e.payload.get("files")
        ),
        "",
    )
    return FilesGone(on=on, erasure=erasure)
