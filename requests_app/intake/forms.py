"""The corrections a person lists, one row each: the public form and staff intake share them."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from requests_app.intake import receive
from requests_app.models import RequestType


class CorrectionForm(forms.Form):
    field = forms.CharField(
        max_length=100,
        required=False,
        label=_("What is wrong"),
        validators=[receive.single_line],
        widget=forms.TextInput(attrs={"placeholder": _("e.g. phone number")}),
    )
    current_value = forms.CharField(
        max_length=500,
        required=False,
        label=_("What we have now"),
        validators=[receive.single_line],
    )
    corrected_value = forms.CharField(
        max_length=500,
        required=False,
        label=_("What it should be"),
        validators=[receive.single_line],
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("field") and not data.get("corrected_value"):
            self.add_error("corrected_value", _("Give the correct value."))
        if data.get("corrected_value") and not data.get("field"):
            self.add_error("field", _("Say which item this corrects."))
        return data


CorrectionFormSet = forms.formset_factory(
    CorrectionForm,
    extra=1,
    max_num=settings.DSAR_MAX_CORRECTIONS,
    validate_max=True,
    absolute_max=settings.DSAR_MAX_CORRECTIONS,
)


def corrections_typed(corrections: Any) -> list[receive.CorrectionInput]:
    """The filled rows of a valid correction formset."""
    return [
        receive.CorrectionInput(
            field=c["field"],
            current_value=c.get("current_value", ""),
            corrected_value=c["corrected_value"],
        )
        for c in corrections.cleaned_data
        if c and c.get("field")
    ]


def submission_from(
    data: dict[str, Any], corrections: Any, *, channel: str, language: str
) -> receive.Submission:
    """A request as typed into a form (the public one or staff's): what does not apply to its
    type, or to a request with no agent, is dropped."""
    kind = data["request_type"]
    agent = bool(data["acting_for_someone"])
    return receive.Submission(
        request_type=kind,
        name=data["name"],
        email=data["email"],
        phone=data["phone"],
        company=data["company"],
        details=data["details"],
        jurisdiction=data["jurisdiction"],
        acting_for_someone=agent,
        agent_name=data["agent_name"] if agent else "",
        agent_email=data["agent_email"] if agent else "",
        agent_relationship=data["agent_relationship"] if agent else "",
        corrections=corrections_typed(corrections) if kind == RequestType.RECTIFICATION else [],
        objection_scope=data["objection_scope"] if kind == RequestType.OBJECTION else "",
        grounds=data["grounds"] if kind in {RequestType.RESTRICTION, RequestType.OBJECTION} else "",
        channel=channel,
        language=language,
    )
