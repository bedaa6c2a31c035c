from __future__ import annotations

from django.urls import path, register_converter

from requests_app import views


class ReferenceConverter:
    regex = r"DSR-[0-9]{4}-[0-9]{6,}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(ReferenceConverter, "ref")

urlpatterns = [
    path("", views.intake_form, name="intake"),
    path("submitted/", views.submitted, name="submitted"),
    path("verify/<str:token>/", views.verify, name="verify"),
    path("status/<str:token>/", views.status_page, name="status"),
]
