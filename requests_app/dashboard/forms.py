"""Dashboard forms: the queue's filters and the one form behind every action."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.models import User

from requests_app.core.actions import ACTIONS
from requests_app.core.permissions import ROLES
from requests_app.intake.receive import multi_line
from requests_app.models import DataSubjectRequest, RequestType, Status
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
        "to preview; anything withheld after this is checked by the approver who releases "
        "them, who must not have prepared it. A restriction is then carried out in the stores "
        "the data map lists; upholding an objection emails the person your reason.",
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
}
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
]


class QueueFilterForm(forms.Form):
    # The filters a URL may carry (bookmarkable); the search (``q``) is sent by POST only.
    IN_URL = frozenset({"status", "type", "assignee", "overdue"})

    q = forms.CharField(required=False, max_length=254, label="Reference or email")
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
        if action != "reject":
            del self.fields["template"]
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
            if action == "hold":
                self.fields["reason"].label = "Your question to the person"
            if action == "note":
                self.fields["reason"].label = "Note"
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


class RedactForm(forms.Form):
    table = forms.CharField(max_length=200)
    record_key = forms.RegexField(r"^[0-9a-f]{64}$")
    field = forms.CharField(max_length=200, required=False)
    reason = forms.CharField(max_length=2000, validators=[multi_line])


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
        target.choices = [("", "—"), *[(f, f) for f in fields]]


class NoteForm(forms.Form):
    reason = forms.CharField(max_length=2000, validators=[multi_line], label="Their reply")
