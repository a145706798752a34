# ruff: noqa: E501 - the default wording reads best unwrapped
"""The default scenario and its wording in French and English.

Shipped by a data migration (``0003_default_scenario``) and used as the last-resort
wording when an administrator deleted a step's template. Administrators edit the copies
in the database; this module is only the starting point.

Templates are Django templates rendered with: ``customer``, ``contact`` (may be None),
``company`` (the CompanyProfile: name, iban, bic, bank_name, email, phone, signatory_*),
``installments`` (the installments this email reminds: ``invoice_number``,
``issue_date``, ``due_date``, ``amount_left``, ``days_late``), ``total``,
``other_installments`` / ``outstanding_total`` (other overdue amounts, for information),
``payment_reference``, ``step`` and ``run_date``. Amounts arrive formatted for the
customer's language ("1 234,56 €" / "€1,234.56").
"""

from __future__ import annotations

DEFAULT_SCENARIO_NAME = "Scénario standard"

# position, name, offset_days, action, also_phone_task, approval_required
DEFAULT_STEPS: list[tuple[int, str, int, str, bool, bool]] = [
    (1, "Première relance", 1, "email", False, False),
    (2, "Deuxième relance", 8, "email", False, False),
    (3, "Dernière relance", 15, "email", True, False),
    (4, "Mise en demeure", 30, "letter", False, True),
    (5, "Recouvrement", 45, "collection", False, False),
]
# The steps' English names, by position (filled by migration 0008; the French names above
# stay the steps' ``name``).
DEFAULT_STEP_NAMES_EN: dict[int, str] = {
    1: "First reminder",
    2: "Second reminder",
    3: "Last reminder",
    4: "Formal notice",
    5: "Collection",
}

_TABLE_FR = """<table style="border-collapse:collapse" cellpadding="4">
  <thead><tr><th align="left">Facture</th><th align="left">Date</th><th align="left">Échéance</th><th align="right">Reste dû</th><th align="right">Jours de retard</th></tr></thead>
  <tbody>{% for i in installments %}
    <tr><td>{{ i.invoice_number }}</td><td>{{ i.issue_date|date:"d/m/Y" }}</td><td>{{ i.due_date|date:"d/m/Y" }}</td><td align="right">{{ i.amount_left }}</td><td align="right">{{ i.days_late }}</td></tr>{% endfor %}
  </tbody>
  <tfoot><tr><th colspan="3" align="left">Total</th><th align="right">{{ total }}</th><th></th></tr></tfoot>
</table>
{% if other_installments %}<p>Pour mémoire, restent également dus :</p>
<ul>{% for i in other_installments %}<li>{{ i.invoice_number }}, échue le {{ i.due_date|date:"d/m/Y" }} : {{ i.amount_left }}</li>{% endfor %}</ul>
<p>Encours échu total : {{ outstanding_total }}</p>{% endif %}"""

_TABLE_EN = """<table style="border-collapse:collapse" cellpadding="4">
  <thead><tr><th align="left">Invoice</th><th align="left">Date</th><th align="left">Due</th><th align="right">Amount due</th><th align="right">Days late</th></tr></thead>
  <tbody>{% for i in installments %}
    <tr><td>{{ i.invoice_number }}</td><td>{{ i.issue_date|date:"j M Y" }}</td><td>{{ i.due_date|date:"j M Y" }}</td><td align="right">{{ i.amount_left }}</td><td align="right">{{ i.days_late }}</td></tr>{% endfor %}
  </tbody>
  <tfoot><tr><th colspan="3" align="left">Total</th><th align="right">{{ total }}</th><th></th></tr></tfoot>
</table>
{% if other_installments %}<p>For your information, the following also remain due:</p>
<ul>{% for i in other_installments %}<li>{{ i.invoice_number }}, due {{ i.due_date|date:"j M Y" }}: {{ i.amount_left }}</li>{% endfor %}</ul>
<p>Total overdue: {{ outstanding_total }}</p>{% endif %}"""

_LIST_FR = """{% for i in installments %}- Facture {{ i.invoice_number }} du {{ i.issue_date|date:"d/m/Y" }}, échue le {{ i.due_date|date:"d/m/Y" }} : {{ i.amount_left }} ({{ i.days_late }} jours de retard)
{% endfor %}Total : {{ total }}
{% if other_installments %}
Pour mémoire, restent également dus :
{% for i in other_installments %}- Facture {{ i.invoice_number }}, échue le {{ i.due_date|date:"d/m/Y" }} : {{ i.amount_left }}
{% endfor %}Encours échu total : {{ outstanding_total }}
{% endif %}"""

_LIST_EN = """{% for i in installments %}- Invoice {{ i.invoice_number }} of {{ i.issue_date|date:"j M Y" }}, due {{ i.due_date|date:"j M Y" }}: {{ i.amount_left }} ({{ i.days_late }} days late)
{% endfor %}Total: {{ total }}
{% if other_installments %}
For your information, the following also remain due:
{% for i in other_installments %}- Invoice {{ i.invoice_number }}, due {{ i.due_date|date:"j M Y" }}: {{ i.amount_left }}
{% endfor %}Total overdue: {{ outstanding_total }}
{% endif %}"""

_BANK_FR_TEXT = """Coordonnées bancaires : {{ company.bank_name }}
IBAN : {{ company.iban }}{% if company.bic %} — BIC : {{ company.bic }}{% endif %}
Référence à indiquer : {{ payment_reference }}"""

_BANK_EN_TEXT = """Bank details: {{ company.bank_name }}
IBAN: {{ company.iban }}{% if company.bic %} — BIC: {{ company.bic }}{% endif %}
Payment reference: {{ payment_reference }}"""

_BANK_FR_HTML = """<p>Coordonnées bancaires : {{ company.bank_name }}<br>
IBAN : <strong>{{ company.iban }}</strong>{% if company.bic %} — BIC : {{ company.bic }}{% endif %}<br>
Référence à indiquer : <strong>{{ payment_reference }}</strong></p>"""

_BANK_EN_HTML = """<p>Bank details: {{ company.bank_name }}<br>
IBAN: <strong>{{ company.iban }}</strong>{% if company.bic %} — BIC: {{ company.bic }}{% endif %}<br>
Payment reference: <strong>{{ payment_reference }}</strong></p>"""

_SIGN_FR = """Cordialement,
{% if company.signatory_name %}{{ company.signatory_name }}{% if company.signatory_title %}, {{ company.signatory_title }}{% endif %}
{% endif %}Service comptabilité clients — {{ company.name }}{% if company.phone %}
Tél. : {{ company.phone }}{% endif %}{% if company.email %}
{{ company.email }}{% endif %}"""

_SIGN_EN = """Kind regards,
{% if company.signatory_name %}{{ company.signatory_name }}{% if company.signatory_title %}, {{ company.signatory_title }}{% endif %}
{% endif %}Accounts receivable — {{ company.name }}{% if company.phone %}
Phone: {{ company.phone }}{% endif %}{% if company.email %}
{{ company.email }}{% endif %}"""


def _html(*paragraphs: str) -> str:
    return (
        '<!doctype html>\n<html><body style="font-family:Arial,sans-serif">\n'
        + "\n".join(paragraphs)
        + "\n</body></html>\n"
    )


def _sign_html(text: str) -> str:
    return "<p>" + text.replace("\n", "<br>\n") + "</p>"


GREETING_FR = "{% if contact and contact.name %}Bonjour {{ contact.name }},{% else %}Madame, Monsieur,{% endif %}"
GREETING_EN = "{% if contact and contact.name %}Dear {{ contact.name }},{% else %}Dear Sir or Madam,{% endif %}"

# (position, language) -> (subject, text, html)
DEFAULT_TEMPLATES: dict[tuple[int, str], tuple[str, str, str]] = {
    (1, "fr"): (
        "Rappel de paiement — {{ customer.name }} — {{ total }}",
        f"""{GREETING_FR}

Sauf erreur de notre part, le règlement des factures ci-dessous, arrivées à échéance, ne nous est pas encore parvenu :

{_LIST_FR}
Il s'agit peut-être d'un simple oubli : nous vous remercions de bien vouloir procéder au règlement dans les meilleurs délais. Si votre paiement a été effectué entre-temps, merci de ne pas tenir compte de ce message.

{_BANK_FR_TEXT}

Pour toute question sur ces factures, n'hésitez pas à nous répondre directement.

{_SIGN_FR}
""",
        _html(
            f"<p>{GREETING_FR}</p>",
            "<p>Sauf erreur de notre part, le règlement des factures ci-dessous, arrivées à "
            "échéance, ne nous est pas encore parvenu :</p>",
            _TABLE_FR,
            "<p>Il s'agit peut-être d'un simple oubli : nous vous remercions de bien vouloir "
            "procéder au règlement dans les meilleurs délais. Si votre paiement a été effectué "
            "entre-temps, merci de ne pas tenir compte de ce message.</p>",
            _BANK_FR_HTML,
            "<p>Pour toute question sur ces factures, n'hésitez pas à nous répondre directement.</p>",
            _sign_html(_SIGN_FR),
        ),
    ),
    (1, "en"): (
        "Payment reminder — {{ customer.name }} — {{ total }}",
        f"""{GREETING_EN}

According to our records, payment of the following invoices, now due, has not yet reached us:

{_LIST_EN}
This may simply be an oversight: we would be grateful if you could arrange payment at your earliest convenience. If you have paid in the meantime, please disregard this message.

{_BANK_EN_TEXT}

If you have any question about these invoices, simply reply to this email.

{_SIGN_EN}
""",
        _html(
            f"<p>{GREETING_EN}</p>",
            "<p>According to our records, payment of the following invoices, now due, has not "
            "yet reached us:</p>",
            _TABLE_EN,
            "<p>This may simply be an oversight: we would be grateful if you could arrange "
            "payment at your earliest convenience. If you have paid in the meantime, please "
            "disregard this message.</p>",
            _BANK_EN_HTML,
            "<p>If you have any question about these invoices, simply reply to this email.</p>",
            _sign_html(_SIGN_EN),
        ),
    ),
    (2, "fr"): (
        "Deuxième relance : factures impayées — {{ customer.name }} — {{ total }}",
        f"""{GREETING_FR}

Malgré notre précédent rappel, les factures suivantes restent impayées à ce jour :

{_LIST_FR}
Nous vous demandons de procéder à leur règlement sous huit jours. Si une difficulté empêche ce paiement, merci de nous contacter sans attendre afin que nous trouvions ensemble une solution.

{_BANK_FR_TEXT}

{_SIGN_FR}
""",
        _html(
            f"<p>{GREETING_FR}</p>",
            "<p>Malgré notre précédent rappel, les factures suivantes restent impayées à ce jour :</p>",
            _TABLE_FR,
            "<p>Nous vous demandons de procéder à leur règlement <strong>sous huit jours</strong>. "
            "Si une difficulté empêche ce paiement, merci de nous contacter sans attendre afin "
            "que nous trouvions ensemble une solution.</p>",
            _BANK_FR_HTML,
            _sign_html(_SIGN_FR),
        ),
    ),
    (2, "en"): (
        "Second reminder: unpaid invoices — {{ customer.name }} — {{ total }}",
        f"""{GREETING_EN}

Despite our previous reminder, the following invoices remain unpaid:

{_LIST_EN}
Please settle them within eight days. If something prevents this payment, please contact us without delay so that we can find a solution together.

{_BANK_EN_TEXT}

{_SIGN_EN}
""",
        _html(
            f"<p>{GREETING_EN}</p>",
            "<p>Despite our previous reminder, the following invoices remain unpaid:</p>",
            _TABLE_EN,
            "<p>Please settle them <strong>within eight days</strong>. If something prevents "
            "this payment, please contact us without delay so that we can find a solution "
            "together.</p>",
            _BANK_EN_HTML,
            _sign_html(_SIGN_EN),
        ),
    ),
    (3, "fr"): (
        "Dernière relance avant recouvrement — {{ customer.name }} — {{ total }}",
        f"""{GREETING_FR}

Nos précédentes relances étant restées sans effet, nous vous adressons la dernière relance avant recouvrement pour les factures suivantes :

{_LIST_FR}
Sans règlement de votre part sous quinze jours, nous vous adresserons une mise en demeure par lettre recommandée, puis confierons le dossier au recouvrement. Des pénalités de retard au taux légal et l'indemnité forfaitaire de 40 € pour frais de recouvrement par facture (articles L441-10 et D441-5 du Code de commerce) seront alors exigibles.

{_BANK_FR_TEXT}

{_SIGN_FR}
""",
        _html(
            f"<p>{GREETING_FR}</p>",
            "<p>Nos précédentes relances étant restées sans effet, nous vous adressons la "
            "<strong>dernière relance avant recouvrement</strong> pour les factures suivantes :</p>",
            _TABLE_FR,
            "<p>Sans règlement de votre part sous quinze jours, nous vous adresserons une mise "
            "en demeure par lettre recommandée, puis confierons le dossier au recouvrement. Des "
            "pénalités de retard au taux légal et l'indemnité forfaitaire de 40 € pour frais de "
            "recouvrement par facture (articles L441-10 et D441-5 du Code de commerce) seront "
            "alors exigibles.</p>",
            _BANK_FR_HTML,
            _sign_html(_SIGN_FR),
        ),
    ),
    (3, "en"): (
        "Final reminder before debt collection — {{ customer.name }} — {{ total }}",
        f"""{GREETING_EN}

As our previous reminders have remained unanswered, this is our final reminder before debt collection for the following invoices:

{_LIST_EN}
Unless we receive payment within fifteen days, we will send you a formal notice by registered post and then hand the file over to debt collection. Late-payment interest and the fixed EUR 40 recovery indemnity per invoice (French Commercial Code, articles L441-10 and D441-5) will then be due.

{_BANK_EN_TEXT}

{_SIGN_EN}
""",
        _html(
            f"<p>{GREETING_EN}</p>",
            "<p>As our previous reminders have remained unanswered, this is our <strong>final "
            "reminder before debt collection</strong> for the following invoices:</p>",
            _TABLE_EN,
            "<p>Unless we receive payment within fifteen days, we will send you a formal notice "
            "by registered post and then hand the file over to debt collection. Late-payment "
            "interest and the fixed EUR 40 recovery indemnity per invoice (French Commercial "
            "Code, articles L441-10 and D441-5) will then be due.</p>",
            _BANK_EN_HTML,
            _sign_html(_SIGN_EN),
        ),
    ),
}


def fallback_template(position: int, language: str) -> tuple[str, str, str]:
    """The shipped wording for an email step, used when the database has none: the
    closest default position (1..3) in the language, French if unknown."""
    lang = language if language in ("fr", "en") else "fr"
    pos = min(max(position, 1), 3)
    return DEFAULT_TEMPLATES[(pos, lang)]
