"""The creditor's identifiers and bank details, printed on every reminder and formal
notice, are validated where they are entered (the admin): a wrong IBAN is refused with a
clear message in the administrator's language."""

import pytest
from django.core.exceptions import ValidationError
from django.forms.models import model_to_dict
from django.utils import translation

from receivables.models import CompanyProfile

pytestmark = pytest.mark.django_db


def change(client, profile, **changes):
    data = {k: ("" if v is None else v) for k, v in model_to_dict(profile).items()} | changes
    return client.post(f"/admin/receivables/companyprofile/{profile.pk}/change/", data)


@pytest.fixture
def admin_client_fr(client, company_profile):
    from tests.factories import make_user

    admin = make_user(None, "admin_profile")
    admin.is_staff = admin.is_superuser = True
    admin.save()
    client.force_login(admin)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "fr"
    return client


def test_a_wrong_iban_is_refused_in_the_admin_with_a_translated_message(
    admin_client_fr, company_profile
):
    response = change(admin_client_fr, company_profile, iban="FR7630006000011234567890188")
    assert response.status_code == 200  # the form again, with its error
    assert "FR7630006000011234567890188 n&#x27;est pas un IBAN valide." in response.content.decode()
    company_profile.refresh_from_db()
    assert company_profile.iban == "FR7630006000011234567890189"


def test_valid_details_are_saved(admin_client_fr, company_profile):
    response = change(
        admin_client_fr,
        company_profile,
        iban="FR76 3000 6000 0112 3456 7890 189",
        bic="AGRIFRPPXXX",
        siren="732829320",
        vat_number="FR44732829320",
    )
    assert response.status_code == 302
    company_profile.refresh_from_db()
    assert company_profile.bic == "AGRIFRPPXXX"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("iban", "FR7630006000011234567890188", "is not a valid IBAN."),
        ("bic", "AGRI", "is not a valid BIC."),
        ("siren", "732829321", "is not a valid SIREN number."),
        ("vat_number", "FR00732829320", "is not a valid EU VAT number."),
    ],
)
def test_each_identifier_is_validated(company_profile, field, value, message):
    setattr(company_profile, field, value)
    with translation.override("en"), pytest.raises(ValidationError) as error:
        company_profile.full_clean()
    assert error.value.message_dict[field] == [f"{value} {message}"]


def test_the_demo_and_test_profiles_are_valid(company_profile):
    company_profile.full_clean()
    CompanyProfile(
        siren="732829320", vat_number="FR44732829320", iban="", bic="AGRIFRPPXXX"
    ).full_clean()
