"""Dashboard forms: the queue's filters and the one form behind every action."""

from __future__ import annotations

import json
import re
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.models import User
from django.utils import timezone

from exports_app.models import GROUNDS_TOLD, Grounds
from exports_app.services import Pick
from requests_app import datamap
from requests_app.converters import ReferenceConverter
from requests_app.core.actions import ACTIONS
from requests_app.core.documents import Upload
from requests_app.core.permissions import ROLES
from requests_app.intake.forms import submission_from
from requests_app.intake.receive import multi_line, phone_validator, single_line
from requests_app.intake.staff import LoggedRequest
from requests_app.models import (
    STAFF_CHANNELS,
    Channel,
    DataSubjectRequest,
    Delivery,
    IdentityCheck,
    Jurisdiction,
    ObjectionScope,
    RequestType,
    Status,
)
from requests_app.review import decisions
from requests_app.selectors import RequestFilters

# action → (button label, what it will do: shown before confirming, message after)
ACTION_TEXT: dict[str, tuple[str, str, str]] = {
    "submit": (
        "Submit for approval",
        "The response is prepared: another member of staff, an approver, checks and approves "
        "it (the two-person rule). You will not be able to approve it or release its files "
        "yourself.",
        "Submitted: it now waits for an approver who did not prepare it.",
    ),
    "send_back": (
        "Send back for changes",
        "Return the response to review. Say what needs changing; it is kept on the timeline.",
        "Sent back to review.",
    ),
    "approve": (
        "Approve",
        "Approve the response as it stands now. What you approve (the corrections as decided, "
        "what is withheld, the erasure plan) is recorded on the timeline, and corrections and "
        "erasure carry out exactly that. For access and portability the files are then built "
        "to preview and released by an approver who did not prepare them; a change to what is "
        "withheld after this sends the response back to be approved again. A restriction is "
        "then carried out in the stores the data map lists; upholding an objection emails the "
        "person your reason.",
        "Approved.",
    ),
    "reject": (
        "Reject",
        "Refuse the request. The person is emailed your reason and told of their right "
        "to complain to the ICO. This closes the request.",
        "Rejected; the person has been emailed.",
    ),
    "extend": (
        "Extend the deadline",
        "Extend the deadline by two further months (once only, before it "
        "passes). The person is emailed your reasons.",
        "Extended; the person has been emailed.",
    ),
    "hold": (
        "Ask for clarification",
        "Email the person your question and pause the statutory clock until they answer.",
        "On hold; the question has been emailed.",
    ),
    "resume": (
        "Resume",
        "The clarification has arrived: restart the clock. The due date moves on by "
        "the days it was paused.",
        "Resumed.",
    ),
    "withdraw": (
        "Withdraw",
        "Close the request as withdrawn. The person is emailed your reason, so that if they did "
        "not ask for this they can say so.",
        "Withdrawn; the person has been emailed.",
    ),
    "assign": (
        "Assign",
        "Make a member of the privacy team responsible for this request.",
        "Assigned.",
    ),
    "release": (
        "Release to the person",
        "Release the built files: they become final, the person is emailed a download link "
        "(7 days, 5 downloads) and the request is completed.",
        "Released; the person has been emailed their download link.",
    ),
    "rebuild": (
        "Rebuild the files",
        "Build the export files again (after a redaction, or a failure).",
        "The files are being rebuilt.",
    ),
    "reissue_link": (
        "Send a new download link",
        "Withdraw the current download link and email the person a new one.",
        "A new link has been emailed; the old one no longer works.",
    ),
    "note": (
        "Add an internal note",
        "Add a note to the request's timeline. Staff only: the person never sees it.",
        "Note added.",
    ),
    "legal_hold": (
        "Place a legal hold",
        "Stop this erasure (litigation, an investigation, a regulator's request). Nothing is erased "
        "while the hold stands, even after approval. Say why: it is kept on the timeline.",
        "Legal hold placed: erasure waits.",
    ),
    "release_hold": (
        "Release the legal hold",
        "End the legal hold. If the erasure is approved, it starts at once.",
        "Hold released.",
    ),
    "retry_rectification": (
        "Apply the corrections again",
        "Write the accepted corrections to the stores again (after fixing a store that failed). "
        "Values already written are left as they are.",
        "The corrections are being applied again.",
    ),
    "lift_restriction": (
        "Lift the restriction",
        "Let processing of this person's data start again: the values the data map gives to "
        "undo the restriction are written back. The person is emailed first, with your reason "
        "(UK GDPR Article 18(3)); it is lifted once that email has been sent.",
        "The person is being told; the restriction is lifted once the email has gone.",
    ),
    "confirm_authority": (
        "Confirm agent's authority",
        "You have seen proof that the agent may act for "
        "the person. Once their email is verified the clock starts.",
        "Authority confirmed.",
    ),
    "confirm_identity": (
        "Confirm identity",
        "You have checked the proof of identity the person uploaded. It is deleted "
        f"{settings.DSAR_PROOF_RETENTION_DAYS} days from now (keep only what is needed).",
        "Identity confirmed.",
    ),
}
# What approving an objection to another use means: nothing in the stores changes by itself.
OBJECTION_APPROVE_TEXT = (
    "Uphold the objection",
    "Uphold the objection: the person is emailed that it is upheld, with your reason, and that "
    "we will stop using their information in the way they objected to. Nothing in the stores "
    "changes by itself: make sure the teams concerned stop that processing (the data map does "
    "not describe it).",
    "Upheld; the person has been emailed your reason.",
)

# What an action says, where it differs for a request's facts: a response by post is printed,
# not emailed.
BY_POST_TEXT: dict[str, tuple[str, str, str]] = {
    "release": (
        "Release the response",
        "Release the built files: they become final and the request is completed. The person "
        "asked for the response by post: print the PDF from the request page and post it to the "
        "address recorded there. Nothing is emailed.",
        "Released: print the PDF and post it to the address on this page.",
    ),
}


def action_text(action: str, dsr: DataSubjectRequest) -> tuple[str, str, str]:
    """The button, the explanation and the message after, for this request."""
    if dsr.delivery == Delivery.POST and action in BY_POST_TEXT:
        return BY_POST_TEXT[action]
    if action == "approve" and dsr.request_type == RequestType.OBJECTION and not dsr.at_once:
        return OBJECTION_APPROVE_TEXT
    return ACTION_TEXT[action]


REJECTION_TEMPLATES = [
    ("", "Write your own reason"),
    (
        "We could not confirm your identity: the email address you gave could not be verified as yours, "
        "and we did not receive the further proof we asked for.",
        "Identity not confirmed",
    ),
    (
        "Your request is manifestly unfounded or excessive (UK GDPR Article 12(5)): ",
        "Manifestly unfounded or excessive",
    ),
    (
        "We have considered your objection. We have compelling legitimate grounds for this use "
        "of your information which override your interests, rights and freedoms (UK GDPR "
        "Article 21(1)): ",
        "Objection: our legitimate grounds override (Art. 21(1))",
    ),
    (
        "We have considered your request to restrict the use of your information. None of the "
        "grounds in UK GDPR Article 18(1) applies: ",
        "Restriction: no Article 18(1) ground applies",
    ),
]


class QueueFilterForm(forms.Form):
    # The filters a URL may carry (bookmarkable); the search (``q``) is sent by POST only.
    IN_URL = frozenset({"status", "type", "assignee", "overdue"})

    q = forms.CharField(
        required=False, max_length=254, label="Search: reference, name, email or phone"
    )
    status = forms.ChoiceField(
        required=False,
        label="Status",
        choices=[("", "All open"), ("all", "Any status"), *Status.choices],
    )
    type = forms.ChoiceField(
        required=False, label="Type", choices=[("", "Any type"), *RequestType.choices]
    )
    assignee = forms.ChoiceField(required=False, label="Assignee", choices=[])
    overdue = forms.BooleanField(required=False, label="Overdue only")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        staff = (
            User.objects.filter(groups__name__in=ROLES, is_active=True)
            .distinct()
            .order_by("username")
        )
        assignee = self.fields["assignee"]
        assert isinstance(assignee, forms.ChoiceField)
        assignee.choices = [
            ("", "Anyone"),
            ("none", "Unassigned"),
            *[(u.username, u.get_full_name() or u.username) for u in staff],
        ]

    def filters(self) -> RequestFilters:
        data = self.cleaned_data
        status = data.get("status") or None
        return RequestFilters(
            status=None if status == "all" else status,
            open_only=not status,
            request_type=data.get("type") or None,
            overdue=True if data.get("overdue") else None,
            assignee=data.get("assignee") or None,
            search=data.get("q") or None,
        )

    def page_size(self) -> int:
        return int(settings.DSAR_QUEUE_PAGE_SIZE)


class ReferencesField(forms.Field):
    """Request references ticked on a page (each ``DSR-YYYY-NNNNNN``), in the order given."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {"invalid": "The page is out of date; reload it."}

    def to_python(self, value: Any) -> list[str]:
        refs = [str(v) for v in value or []]
        if any(not re.fullmatch(ReferenceConverter.regex, ref) or len(ref) > 40 for ref in refs):
            raise forms.ValidationError(self.error_messages["invalid"], "invalid")
        return refs


class BulkForm(forms.Form):
    """What to do with the requests ticked in the queue (``views.bulk``). ``refs`` are checked
    as text here and found in the database by the view: a reference that is not there is
    simply not acted on."""

    action = forms.ChoiceField(
        choices=[("assign", "Assign to"), ("withdraw_spam", "Withdraw as spam")],
        error_messages={"required": "Choose what to do with the ticked requests."},
    )
    assignee = forms.ModelChoiceField(
        queryset=User.objects.none(),
        required=False,
        error_messages={"invalid_choice": "Choose a member of the privacy team to assign them to."},
    )
    reason = forms.CharField(required=False, max_length=500, validators=[single_line])
    refs = ReferencesField(error_messages={"required": "Tick the requests to act on first."})

    def __init__(self, *args: Any, max_refs: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_refs = max_refs
        assignee = self.fields["assignee"]
        assert isinstance(assignee, forms.ModelChoiceField)
        assignee.queryset = User.objects.filter(groups__name__in=ROLES, is_active=True).distinct()

    def clean_refs(self) -> list[str]:
        refs = list(dict.fromkeys(self.cleaned_data["refs"]))
        if len(refs) > self.max_refs:
            raise forms.ValidationError(
                f"Tick at most {self.max_refs} requests at a time ({len(refs)} are ticked)."
            )
        return refs

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("action") == "withdraw_spam" and not (data.get("reason") or "").strip():
            self.add_error("reason", "Give the reason: each person is emailed it.")
        return data


# Who reads what a member of staff types for an action, said on the field itself.
REASON_LABELS = {
    "hold": "Your question to the person",
    "note": "Note (for staff: kept on the timeline)",
    "reject": "Reason (the person is emailed it)",
    "withdraw": "Reason (the person is emailed it)",
    "extend": "Reason (the person is emailed it)",
    "lift_restriction": "Reason (the person is emailed it)",
    "submit": "Note for the approver (optional, kept on the timeline)",
    "resume": "Note (optional, kept on the timeline)",
    "confirm_authority": "What proof you have seen (kept on the timeline)",
    "confirm_identity": "Note (optional, kept on the timeline)",
    "approve": "Note (optional, kept on the timeline)",
}
# Actions that take nothing typed.
NO_REASON = frozenset({"release", "rebuild", "reissue_link"})


class ActionForm(forms.Form):
    template = forms.ChoiceField(
        required=False, choices=REJECTION_TEMPLATES, label="Reason template"
    )
    reason = forms.CharField(
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
        validators=[multi_line],
        label="Reason",
    )
    assignee = forms.ModelChoiceField(
        queryset=User.objects.none(),
        required=False,
        label="Assign to",
        empty_label="Nobody (unassign)",
    )
    hold = forms.ChoiceField(label="The legal hold to end", choices=[])
    proof = forms.BooleanField(
        required=False,
        label="Ask for proof of identity",
        help_text="The person uploads it (PDF, JPEG or PNG) with their reply on their request's "
        f"page; it is deleted {settings.DSAR_PROOF_RETENTION_DAYS} days after you confirm it.",
    )

    def __init__(
        self, action: str, *args: Any, dsr: DataSubjectRequest | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.action = action
        if action == "release_hold" and dsr is not None:
            # the hold this person saw is the one released, never one placed meanwhile
            holds = dsr.legal_holds.filter(released_at__isnull=True)
            field = self.fields["hold"]
            assert isinstance(field, forms.ChoiceField)
            field.choices = [
                (h.pk, f"{h.reason} (placed by {h.placed_by}, {h.placed_at:%d %b %Y})")
                for h in holds
            ]
            if len(field.choices) == 1:
                field.initial = field.choices[0][0]
        else:
            del self.fields["hold"]
        if action == "approve":
            # the version of the response this page shows: approving any other is refused
            self.fields["seen"] = forms.CharField(
                widget=forms.HiddenInput,
                max_length=64,
                initial=decisions.approval_seen(dsr)
                if dsr is not None and not self.is_bound
                else "",
                error_messages={"required": "This page is out of date: open it again."},
            )
        if action != "reject":
            del self.fields["template"]
        if action != "hold":
            del self.fields["proof"]
        if action == "assign":
            del self.fields["reason"]
            field = self.fields["assignee"]
            assert isinstance(field, forms.ModelChoiceField)
            field.queryset = (
                User.objects.filter(groups__name__in=ROLES, is_active=True)
                .distinct()
                .order_by("username")
            )
        else:
            del self.fields["assignee"]
            if action in NO_REASON:
                del self.fields["reason"]
                return
            self.fields["reason"].label = REASON_LABELS.get(
                action, "Reason (for staff: kept on the timeline)"
            )
            if (
                action == "approve"
                and dsr is not None
                and dsr.request_type == RequestType.OBJECTION
            ):
                self.fields["reason"].label = "Reason (the person is emailed it)"
            # A rejection's reason may come from a template instead (see ``clean``).
            needs = ACTIONS[action].needs_reason(dsr) if dsr else ACTIONS[action].reason
            self.fields["reason"].required = needs and action != "reject"

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.action == "reject":
            data["reason"] = (data.get("template", "") + " " + (data.get("reason") or "")).strip()
            if not data["reason"]:
                self.add_error(
                    "reason", "Choose a reason template or write the reason; the person is told it."
                )
        return data


OTHER_REASON = "other"


class ReasonForm(forms.Form):
    """Why something is withheld: grounds chosen each time (there is no default), or a reason
    of staff's own. Cleaned into ``grounds`` and ``reason`` (the words the person reads)."""

    reason = forms.ChoiceField(
        label="Why (the person reads it)",
        choices=[
            ("", "Choose a reason"),
            *Grounds.choices,
            (OTHER_REASON, "Another reason (write it)"),
        ],
        error_messages={"required": "Choose why it is withheld; the person reads the reason."},
    )
    other_reason = forms.CharField(
        max_length=2000, required=False, validators=[multi_line], label="The reason"
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        choice = data.get("reason")
        data["grounds"] = ""
        if choice == OTHER_REASON:
            data["reason"] = (data.get("other_reason") or "").strip()
            if not data["reason"]:
                self.add_error("other_reason", "Write the reason; the person reads it.")
        elif choice in Grounds.values:
            data["grounds"], data["reason"] = choice, GROUNDS_TOLD[Grounds(choice)]
        data.pop("other_reason", None)
        return data


# What a redaction can hold (``exports_app.models.Redaction``): nothing larger is ever accepted,
# so a tampered form is refused as a form, never failing later in the database.
MAX_OFFSET = 10**9
FIELD_CHARS = 200
PATH_CHARS = 500
PASSAGE_CHARS = 2000


class RedactForm(ReasonForm):
    """Withhold a record, a field, or a passage of text (``path``, and ``start``/``end`` or the
    ``passage`` itself). Nothing is withheld unless the form names it: the whole record only
    as ``what=record``, never because nothing else was named."""

    table = forms.CharField(max_length=200)
    record_key = forms.RegexField(r"^[0-9a-f]{64}$")
    # The record page's one form says what in a word: "record", "field:<name>" or
    # "words:" and a JSON [field, path]; the API and older pages give field and path instead.
    what = forms.CharField(max_length=800, required=False)
    field = forms.CharField(max_length=FIELD_CHARS, required=False)
    path = forms.CharField(max_length=PATH_CHARS, required=False)
    start = forms.IntegerField(required=False, min_value=0, max_value=MAX_OFFSET)
    end = forms.IntegerField(required=False, min_value=0, max_value=MAX_OFFSET)
    passage = forms.CharField(max_length=PASSAGE_CHARS, required=False, strip=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        what = data.pop("what", "")
        if what == "record" or what.startswith("field:"):
            if data.get("passage") or data.get("path"):
                # typed words never widen to the field or the record they are in
                self.add_error(
                    "passage",
                    "You typed words to withhold but chose a whole "
                    + ("record" if what == "record" else "field")
                    + ": choose “Words in …” the field they are in, or clear the words.",
                )
                return data
            field = "" if what == "record" else what[6:]
            if what != "record" and not 0 < len(field) <= FIELD_CHARS:
                self.add_error("what", "Choose what to withhold.")
            data.update(field=field, path="", passage="", start=None, end=None)
        elif what.startswith("words:"):
            target = _words_target(what[6:])
            if target is None:
                self.add_error("what", "Choose what to withhold.")
                return data
            data.update(field=target[0], path=target[1])
            if not data.get("passage"):
                self.add_error("passage", "Select or type the words to withhold.")
        elif what:
            self.add_error("what", "Choose what to withhold.")
        elif not data.get("field"):
            # nothing named (a form sent empty, or a tick list with nothing ticked): never
            # the whole record by default
            self.add_error("what", "Choose what to withhold.")
        if data.get("start") is None and data.get("end") is None:
            data.pop("start", None)
            data.pop("end", None)
        return data


def _words_target(raw: str) -> tuple[str, str] | None:
    """The [field, path] a "words:" choice names, or None when it is not one."""
    try:
        target = json.loads(raw)
    except ValueError:
        return None
    if not (isinstance(target, list) and len(target) == 2):
        return None
    field, path = target
    if not (isinstance(field, str) and isinstance(path, str)):
        return None
    if not 0 < len(field) <= FIELD_CHARS or len(path) > PATH_CHARS:
        return None
    return field, path


class PicksField(forms.Field):
    """Suggested passages ticked on the page, each a JSON [field, path, start, end, words]
    (``staff_words.pick_value``), each part within what a redaction can hold."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {
        "required": "Tick at least one suggestion.",
        "invalid": "The page is out of date; reload it.",
    }

    def to_python(self, value: Any) -> list[Pick]:
        picks = [self._pick(item) for item in (value or [])[:200]]
        return picks

    def _pick(self, item: Any) -> Pick:
        invalid = forms.ValidationError(self.error_messages["invalid"], "invalid")
        try:
            parts = json.loads(item, parse_constant=_no_constant)
        except (TypeError, ValueError):
            raise invalid from None
        if not (isinstance(parts, list) and len(parts) == 5):
            raise invalid
        field, path, start, end, words = parts
        if not (
            isinstance(field, str)
            and isinstance(path, str)
            and isinstance(words, str)
            and type(start) is int
            and type(end) is int
        ):
            raise invalid  # 1e20 is a float, and Infinity is refused while parsing
        if not 0 < len(field) <= FIELD_CHARS or len(path) > PATH_CHARS:
            raise invalid
        if len(words) > PASSAGE_CHARS or not 0 <= start < end <= MAX_OFFSET:
            raise invalid
        return Pick(field, path, start, end, words)


def _no_constant(name: str) -> Any:
    raise ValueError(name)  # NaN, Infinity, -Infinity: not numbers a page ever sends


class PicksForm(forms.Form):
    """Suggestions of one record, ticked: left in (dismissed) as they are."""

    table = forms.CharField(max_length=200)
    record_key = forms.RegexField(r"^[0-9a-f]{64}$")
    suggestion = PicksField()


class WithholdPicksForm(PicksForm, ReasonForm):
    """Suggestions of one record, ticked: withheld for one reason."""


def _field_words(name: str) -> str:
    """A field a correction may change, in the map's words and by its name: "Phone number
    (phone)"; the name alone where the map gives it no label."""
    for store in datamap.current().stores.values():
        for table in store.tables.values():
            spec = table.fields.get(name)
            if spec is not None and spec.rectifiable and spec.label:
                return f"{spec.label} ({name})"
    return name


class DecisionForm(forms.Form):
    """Staff's decision on one correction the person asked for."""

    decision = forms.ChoiceField(
        choices=[
            ("accepted", "Accept as asked"),
            ("edited", "Accept with this value"),
            ("declined", "Decline"),
        ]
    )
    target_field = forms.ChoiceField(required=False, label="Field it corrects", choices=[])
    value = forms.CharField(required=False, max_length=500, label="Value to write")
    reason = forms.CharField(
        required=False,
        max_length=2000,
        validators=[multi_line],
        label="Reason (told to the person)",
    )

    def __init__(self, fields: list[str], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        target = self.fields["target_field"]
        assert isinstance(target, forms.ChoiceField)
        target.choices = [("", "—"), *[(f, _field_words(f)) for f in fields]]


class NoteForm(forms.Form):
    reason = forms.CharField(max_length=2000, validators=[multi_line], label="Their reply")


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input (Django's documented pattern)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> Any:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data]
        return [single(data, initial)] if data else []


class LogRequestForm(forms.Form):
    """A request received by phone, letter, email, in person or social media."""

    channel = forms.ChoiceField(
        choices=[(c.value, c.label) for c in Channel if c in STAFF_CHANNELS],
        widget=forms.RadioSelect,
        label="How did it arrive?",
    )
    received_at = forms.DateTimeField(
        label="When was it received?",
        help_text="The clock starts from here once identity is checked (UK time).",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    request_type = forms.ChoiceField(
        choices=RequestType.choices, widget=forms.RadioSelect, label="What does the person ask?"
    )
    objection_scope = forms.ChoiceField(
        choices=ObjectionScope.choices,
        required=False,
        widget=forms.RadioSelect,
        label="What do they object to? (an objection)",
    )
    grounds = forms.CharField(
        max_length=settings.DSAR_MAX_DETAILS_CHARS,
        required=False,
        label="Their grounds (a restriction, or an objection to another use)",
        validators=[multi_line],
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    name = forms.CharField(max_length=200, label="The person's full name", validators=[single_line])
    email = forms.EmailField(
        max_length=254,
        required=False,
        label="Their email address",
        help_text="The address our systems know them by (the account's, if they gave none): "
        "every store is searched by it. They get the same emails as on the web, unless the "
        "response goes by post.",
    )
    phone = forms.CharField(
        max_length=40, required=False, label="Phone number", validators=[phone_validator]
    )
    company = forms.CharField(
        max_length=200, required=False, label="Company", validators=[single_line]
    )
    jurisdiction = forms.ChoiceField(
        choices=Jurisdiction.choices, initial=Jurisdiction.UK_GDPR, label="The law it falls under"
    )
    language = forms.ChoiceField(
        choices=settings.LANGUAGES,
        initial=settings.LANGUAGE_CODE,
        required=False,
        widget=forms.RadioSelect,
        label="Language for letters and emails",
    )
    details = forms.CharField(
        max_length=settings.DSAR_MAX_DETAILS_CHARS,
        required=False,
        label="What they said",
        help_text="In their words, as far as you can: what they ask for, other names or "
        "addresses they have used.",
        validators=[multi_line],
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    acting_for_someone = forms.BooleanField(
        required=False, label="An agent (a solicitor, a parent, a carer) asks for the person"
    )
    agent_name = forms.CharField(
        max_length=200, required=False, label="Agent's name", validators=[single_line]
    )
    agent_email = forms.EmailField(max_length=254, required=False, label="Agent's email address")
    agent_relationship = forms.CharField(
        max_length=200,
        required=False,
        label="Agent's relationship to the person",
        validators=[single_line],
    )
    untold_reason = forms.CharField(
        max_length=2000,
        required=False,
        label="Not telling the person? Why (optional)",
        help_text="We email the person that an agent asked for them. Leave empty to tell them; "
        "to keep it from them (a risk to them, say), give the reason: it goes on the timeline.",
        validators=[multi_line],
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    identity_check = forms.ChoiceField(
        choices=[
            (
                "",
                "Not checked: email them a link to confirm the request (not for a response by post)",
            ),
            *IdentityCheck.choices,
        ],
        required=False,
        widget=forms.RadioSelect,
        label="How did you check who they are?",
    )
    identity_note = forms.CharField(
        max_length=2000,
        required=False,
        label="What you checked",
        help_text="For example: date of birth and postcode matched the account; passport seen.",
        validators=[multi_line],
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    delivery = forms.ChoiceField(
        choices=Delivery.choices,
        initial=Delivery.EMAIL,
        widget=forms.RadioSelect,
        label="How will the response be sent?",
    )
    postal_address = forms.CharField(
        max_length=1000,
        required=False,
        label="Postal address (for a response by post)",
        validators=[multi_line],
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    attachments = MultipleFileField(
        required=False,
        label="Attachments",
        help_text="The letter (PDF or a photo: JPEG, PNG) or the email (.eml). Stored encrypted.",
    )

    def to_logged(self, corrections: Any) -> LoggedRequest:
        data = self.cleaned_data
        agent = data["acting_for_someone"]
        received = data["received_at"]
        if timezone.is_naive(received):
            received = timezone.make_aware(received)
        return LoggedRequest(
            submission=submission_from(
                data, corrections, channel=data["channel"], language=data["language"]
            ),
            received_at=received,
            identity_check=data["identity_check"],
            identity_note=data["identity_note"],
            delivery=data["delivery"],
            postal_address=data["postal_address"],
            untold_reason=data["untold_reason"] if agent else "",
            attachments=[Upload(name=f.name, content=f.read()) for f in data["attachments"]],
        )
