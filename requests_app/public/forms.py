"""The public request form.

Cross-field rules come from ``receive.submission_errors``, shared with the API.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from requests_app.intake import receive
from requests_app.intake.forms import CorrectionForm, CorrectionFormSet, submission_from
from requests_app.models import Jurisdiction, ObjectionScope, RequestType

RIGHTS_EXPLAINED = {
    RequestType.ACCESS: _(
        "Get a copy of the personal information we hold about you, with what we "
        "use it for, who we share it with and how long we keep it."
    ),
    RequestType.RECTIFICATION: _(
        "Update or correct information about you that is inaccurate or "
        "incomplete. List each item below."
    ),
    RequestType.ERASURE: _(
        "Ask us to delete your personal information. We delete what the law "
        "lets us delete; some records (such as invoices, which tax law makes us keep for six years) "
        "are kept, and we will tell you which and why."
    ),
    RequestType.PORTABILITY: _(
        "Get the information you gave us, and how you used our services, in "
        "a structured, commonly used, machine-readable format (JSON and CSV) to take elsewhere."
    ),
    RequestType.MARKETING_OPT_OUT: _(
        "Stop all marketing emails and messages from us and our "
        "marketing partners. We always do this; we never refuse it."
    ),
    RequestType.RESTRICTION: _(
        "Stop using your information for a time, for example while we "
        "check it is accurate, or while we consider an objection you have made. We keep it stored "
        "but do not otherwise use it, and we tell you before we start using it again. Tell us why "
        "below."
    ),
    RequestType.OBJECTION: _(
        "Object to how we use your information. If you object to direct "
        "marketing we always stop, at once. If you object to another use, tell us why below: we "
        "stop unless we have strong legitimate reasons that outweigh yours, and we explain our "
        "decision."
    ),
}


class IntakeForm(forms.Form):
    request_type = forms.ChoiceField(
        choices=RequestType.choices,
        widget=forms.RadioSelect,
        label=_("What would you like us to do?"),
    )
    name = forms.CharField(
        max_length=200,
        label=_("Your full name"),
        validators=[receive.single_line],
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    email = forms.EmailField(
        max_length=254,
        label=_("Your email address"),
        help_text=_(
            "The address you use with us. We will send a link to it to confirm it is yours."
        ),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    phone = forms.CharField(
        max_length=40,
        required=False,
        label=_("Phone number (optional)"),
        validators=[receive.phone_validator],
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )
    company = forms.CharField(
        max_length=200,
        required=False,
        label=_("Company (optional)"),
        validators=[receive.single_line],
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )
    details = forms.CharField(
        max_length=settings.DSAR_MAX_DETAILS_CHARS,
        required=False,
        label=_("Anything else we should know (optional)"),
        validators=[receive.multi_line],
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("For example, other email addresses or account names you have used with us."),
    )
    objection_scope = forms.ChoiceField(
        choices=ObjectionScope.choices,
        required=False,
        widget=forms.RadioSelect,
        label=_("What do you object to? (for an objection)"),
    )
    grounds = forms.CharField(
        max_length=settings.DSAR_MAX_DETAILS_CHARS,
        required=False,
        label=_("Why? (for a restriction, or an objection to another use)"),
        validators=[receive.multi_line],
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_(
            "For example: which information is inaccurate, or which use of your data you "
            "object to and why. We decide on what you tell us, and reply with our reasons."
        ),
    )
    jurisdiction = forms.ChoiceField(
        choices=[
            (Jurisdiction.UK_GDPR, _("The UK, or anywhere else")),
            (Jurisdiction.CCPA, _("California, USA")),
        ],
        initial=Jurisdiction.UK_GDPR,
        label=_("Where do you live?"),
        help_text=_("This sets the law, and so the deadline, we work to."),
    )
    acting_for_someone = forms.BooleanField(
        required=False, label=_("I am making this request on someone else's behalf")
    )
    agent_name = forms.CharField(
        max_length=200,
        required=False,
        label=_("Your full name, as the agent"),
        validators=[receive.single_line],
    )
    agent_email = forms.EmailField(
        max_length=254,
        required=False,
        label=_("Your email address, as the agent"),
        help_text=_("We write to you about the request."),
    )
    agent_relationship = forms.CharField(
        max_length=200,
        required=False,
        label=_("Your relationship to the person"),
        validators=[receive.single_line],
        help_text=_("For example: solicitor, parent, carer. We will ask for proof of authority."),
    )
    # A field people never see or fill; bots fill every field.
    website = forms.CharField(
        required=False,
        label=_("Leave this empty"),
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )

    # An agent types the person's details under "About the person", and their own under
    # "About you": the words each field shows when "acting for someone else" is ticked (the
    # server renders them after a ticked submission; intake.js swaps them as the box changes).
    AGENT_WORDS = {
        "name": (_("The person's full name"), ""),
        "email": (
            _("The person's email address"),
            _("The address they use with us. We tell them, at this address, that you asked."),
        ),
        "phone": (_("The person's phone number (optional)"), ""),
        "company": (_("The person's company (optional)"), ""),
        "details": (
            _("Anything else we should know (optional)"),
            _("For example, other email addresses or account names they have used with us."),
        ),
        "jurisdiction": (_("Where does the person live?"), ""),
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, (label, help_text) in self.AGENT_WORDS.items():
            field = self.fields[name]
            field.agent_label = label  # type: ignore[attr-defined]
            field.agent_help = help_text or field.help_text  # type: ignore[attr-defined]
            if self.acting:
                field.label = label
                field.help_text = field.agent_help  # type: ignore[attr-defined]

    @property
    def acting(self) -> bool:
        """Whether the person filling the form acts for someone else (as submitted or given)."""
        source = self.data if self.is_bound else self.initial
        return str(source.get("acting_for_someone", "")).lower() in {"on", "true", "1"}


def with_another_correction(data: Any) -> tuple[IntakeForm, Any]:
    """The form as typed, unchecked, with one more correction row (up to the limit)."""
    try:
        rows = min(int(data.get("c-TOTAL_FORMS", 0)), settings.DSAR_MAX_CORRECTIONS)
    except ValueError:
        rows = 0
    typed = [
        {name: data.get(f"c-{i}-{name}", "") for name in CorrectionForm.base_fields}
        for i in range(rows)
    ]
    form = IntakeForm(initial={name: data.get(name, "") for name in IntakeForm.base_fields})
    return form, CorrectionFormSet(prefix="c", initial=typed)


def to_submission(form: IntakeForm, corrections: Any) -> receive.Submission:
    """The request as filed, in the language of the page it was filed on."""
    return submission_from(
        form.cleaned_data, corrections, channel="web", language=translation.get_language()
    )


def apply_submission_errors(form: IntakeForm, submission: receive.Submission) -> bool:
    """Attach the cross-field errors to the form. True when there were none."""
    errors = receive.submission_errors(submission)
    for field, messages in errors.items():
        for message in messages:
            form.add_error(None if field == "corrections" else field, message)
    if "corrections" in errors:
        form.corrections_error = errors["corrections"][0]  # type: ignore[attr-defined]
    return not errors
