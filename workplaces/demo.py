"""Realistic demo data for a first look at Relance (`manage.py seed_demo`).

Dates are relative to today so the demo always shows a live ledger: invoices over the
last year on 30/45/60-day terms, installment plans, partial payments, an overpayment, a
credit note, disputes and promises. Deterministic (a fixed random seed).
"""

from __future__ import annotations

import datetime
import random
import unicodedata
import zoneinfo
from decimal import Decimal

from django.contrib.auth.models import Group, User
from django.utils import timezone
from stdnum import luhn

from core import access
from core.money import CENT, format_money
from customers.models import Activity, Contact, Customer, UserPreferences
from receivables import figures, services
from receivables.interest import half_years_between
from receivables.models import CompanyProfile, Dispute, Invoice, PromiseToPay, ReferenceRate
from receivables.plans import PlanKind

DEMO_USERS = (
    # username, role, first name, last name, language
    ("admin", None, "Alice", "Admin", "fr"),
    ("finance", access.FINANCE, "Fanny", "Comptable", "fr"),
    ("manager", access.MANAGER, "Marc", "Directeur", "fr"),
    ("sales", access.SALES, "Sophie", "Commerciale", "fr"),
    ("sales2", access.SALES, "Samuel", "Vendeur", "en"),
)

COMPANIES = [
    ("Boulangeries Martin", "Lyon", "69003"),
    ("Transports Lefèvre", "Villeurbanne", "69100"),
    ("Garage Moreau & Fils", "Grenoble", "38000"),
    ("Clinique Vétérinaire du Parc", "Annecy", "74000"),
    ("Imprimerie Rousseau", "Saint-Étienne", "42000"),
    ("Menuiserie Girard", "Chambéry", "73000"),
    ("Hôtel Belle Vue", "Évian-les-Bains", "74500"),
    ("Cabinet d'architectes Lambert", "Lyon", "69006"),
    ("Fromagerie des Alpes", "Albertville", "73200"),
    ("Électricité Bonnet", "Valence", "26000"),
    ("Pharmacie Centrale Dupuis", "Mâcon", "71000"),
    ("Agence Web Nova", "Lyon", "69002"),
    ("Brasserie du Rhône", "Vienne", "38200"),
    ("Laboratoire Biotest", "Clermont-Ferrand", "63000"),
    ("Atelier Mécanique Fournier", "Roanne", "42300"),
    ("Crèche Les Petits Pas", "Bourg-en-Bresse", "01000"),
    ("Domaine Viticole Chevalier", "Beaujeu", "69430"),
    ("Plomberie Mercier", "Villefranche-sur-Saône", "69400"),
    ("Librairie Le Chat Lettré", "Annecy", "74000"),
    ("Sécurité Alpes Services", "Grenoble", "38100"),
    ("Nordic Supplies Ltd", "London", "EC1A"),
    ("Bavaria Tools GmbH", "München", "80331"),
    ("Traiteur Blanc", "Lyon", "69007"),
    ("Paysages Roux", "Chambéry", "73000"),
    ("Auto-École Perrin", "Vénissieux", "69200"),
    ("Cordonnerie Morel", "Lyon", "69004"),
    ("Informatique Faure", "Grenoble", "38000"),
    ("Ambulances Gauthier", "Annemasse", "74100"),
    ("Salon Coiffure Clément", "Aix-les-Bains", "73100"),
    ("Conserverie Marchand", "Bourgoin", "38300"),
    ("Studio Photo Leroy", "Lyon", "69001"),
    ("BTP Rhône-Alpes", "Saint-Priest", "69800"),
    ("Cave à vins Giraud", "Tournon", "07300"),
    ("Gîtes du Vercors", "Villard-de-Lans", "38250"),
    ("Optique Vidal", "Oyonnax", "01100"),
    ("Nettoyage Pro Lyon", "Bron", "69500"),
]
STREETS = [
    "rue de la République",
    "avenue Jean Jaurès",
    "boulevard des Belges",
    "place Bellecour",
    "rue Victor Hugo",
    "chemin des Vignes",
    "quai Saint-Antoine",
    "rue du Lac",
]
FIRST = ["Claire", "Julien", "Nathalie", "Olivier", "Isabelle", "Thomas", "Sandrine", "Nicolas"]
LAST = ["Durand", "Petit", "Garnier", "Faure", "André", "Mercier", "Blanc", "Guerin"]


def _siren(rng: random.Random) -> str:
    body = f"{rng.randrange(10_000_000, 99_999_999)}"
    return body + luhn.calc_check_digit(body)


def _vat(siren: str) -> str:
    return f"FR{(12 + 3 * (int(siren) % 97)) % 97:02d}{siren}"


def _users(password: str) -> dict[str, User]:
    users = {}
    for username, role, first, last, language in DEMO_USERS:
        user, _ = User.objects.get_or_create(
            username=username,
            defaults={
                "first_name": first,
                "last_name": last,
                "email": f"{username}@relance.example",
            },
        )
        user.set_password(password)
        user.is_staff = user.is_superuser = role is None
        user.save()
        if role:
            user.groups.add(Group.objects.get_or_create(name=role)[0])
        # The interface language the README promises, whatever the browser says.
        UserPreferences.objects.update_or_create(user=user, defaults={"language": language})
        users[username] = user
    return users


DEMO_RATE_SOURCE = "Demo: last known rate carried forward"
# The ledger goes back a year, and letters claim interest from the oldest due date.
DEMO_HISTORY = datetime.timedelta(days=400)


def _carry_ecb_rate_forward(today: datetime.date) -> int:
    """Give every half-year of the demo's ledger up to today's an ECB rate, so that its
    letters carry no "rate missing" warning: a half-year without an entered rate gets the
    last known one, labelled as demo data in its source. Only in the demo's database; the
    real table (a migration, and administrators each half-year) never gets invented rows."""
    created = 0
    for start in half_years_between(today - DEMO_HISTORY, today):
        if ReferenceRate.objects.filter(start_date=start).exists():
            continue
        known = ReferenceRate.objects.in_force_on(start)  # the last rate before it
        if known is not None:
            ReferenceRate.objects.create(start_date=start, rate=known.rate, source=DEMO_RATE_SOURCE)
            created += 1
    return created


def seed_demo(
    *,
    password: str = "demo1234",  # noqa: S107 - the documented demo password
    today: datetime.date | None = None,
) -> dict[str, int]:
    """Create the demo users and a year of ledger, then replay the daily reminder run over
    the last weeks so the demo has a reminder history and a worklist; idempotent by
    customer reference."""
    today = today or timezone.localdate()
    counts = _seed_ledger(password=password, today=today)
    counts["demo_rates"] = _carry_ecb_rate_forward(today)
    # Replayed only with a fresh ledger, so a second seed_demo changes nothing.
    counts["reminders"] = _seed_reminder_history(today=today) if counts["customers"] else 0
    return counts


def _seed_reminder_history(*, today: datetime.date, days: int = 60) -> int:
    """Run the real engine for each of the last ``days`` days (emails go nowhere), as the
    schedule would have: first courteous emails, then firmer ones, calls, letters."""
    from django.test.utils import override_settings

    from reminders.models import Reminder
    from reminders.services import reminders_run

    paris = zoneinfo.ZoneInfo("Europe/Paris")  # the schedule's time (DESIGN.md), not TIME_ZONE
    with override_settings(
        MAILERS={"default": {"BACKEND": "django.core.mail.backends.dummy.EmailBackend"}}
    ):
        for offset in range(days, 0, -1):
            day = today - datetime.timedelta(days=offset)
            at_seven = datetime.datetime.combine(day, datetime.time(7), tzinfo=paris)
            last_activity = Activity.objects.order_by("-pk").values_list("pk", flat=True).first()
            reminders_run(run_date=day, now=at_seven)
            _stamp_replayed_day(at_seven, after_activity=last_activity or 0)
    return Reminder.objects.count()


def _stamp_replayed_day(at: datetime.datetime, *, after_activity: int) -> None:
    """Date what the replayed run of ``at``'s day did at ``at`` (07:00 Paris that day):
    the engine stamps sends, approvals and timeline entries with the real clock, which
    would show two months of reminders as sent the moment the demo was loaded. Anything
    stamped later than ``at`` was stamped by this run, since the days before were already
    brought back to their own 07:00."""
    from reminders.models import Reminder, ReminderRun

    Reminder.objects.filter(sent_at__gt=at).update(sent_at=at)
    Reminder.objects.filter(approved_at__gt=at).update(approved_at=at)
    Reminder.objects.filter(created_at__gt=at).update(created_at=at)
    Activity.objects.filter(pk__gt=after_activity, occurred_at__gt=at).update(occurred_at=at)
    ReminderRun.objects.filter(run_date=at.date()).update(started_at=at, finished_at=at)


@figures.batched  # one transaction; the figures refreshed once at the end
def _seed_ledger(*, password: str, today: datetime.date) -> dict[str, int]:
    rng = random.Random(20261123)
    users = _users(password)
    for name in access.ROLES:
        Group.objects.get_or_create(name=name)
    profile = CompanyProfile.get()
    profile.name = "Relance Démo SAS"
    profile.legal_form = "SAS au capital de 50 000 €"
    profile.address_line1, profile.postal_code, profile.city = (
        "8 rue de la Charité",
        "69002",
        "Lyon",
    )
    profile.siren = "732829320"
    profile.vat_number = _vat("732829320")
    profile.rcs = "RCS Lyon 732 829 320"
    profile.email, profile.phone = "compta@relance.example", "04 72 00 00 00"
    profile.iban, profile.bic, profile.bank_name = (
        "FR7630006000011234567890189",
        "AGRIFRPPXXX",
        "Crédit Agricole",
    )
    profile.signatory_name, profile.signatory_title = "Fanny Comptable", "Responsable recouvrement"
    profile.save()

    counts = {"customers": 0, "invoices": 0, "payments": 0}
    invoice_no = Invoice.objects.count()
    for idx, (name, city, postal) in enumerate(COMPANIES):
        ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
        ref = "411" + "".join(ch for ch in ascii_name.upper() if ch.isalnum())[:5] + f"{idx:02d}"
        if Customer.objects.filter(customer_ref=ref).exists():
            continue
        foreign = postal in ("EC1A", "80331")
        siren = "" if foreign else _siren(rng)
        customer = Customer.objects.create(
            customer_ref=ref,
            name=name,
            siren=siren,
            vat_number=_vat(siren) if siren else "",
            address_line1=f"{rng.randint(1, 120)} {rng.choice(STREETS)}",
            postal_code=postal,
            city=city,
            country="GB" if postal == "EC1A" else "DE" if foreign else "FR",
            language="en" if foreign else "fr",
            sales_rep=users["sales"] if idx % 3 == 0 else users["sales2"] if idx % 3 == 1 else None,
            payment_terms_days=rng.choice([30, 30, 45, 60]),
            credit_limit=Decimal(rng.choice([10000, 20000, 50000])),
            insured_cover=Decimal(rng.choice([0, 5000, 15000])),
            direct_debit=idx == 5,
        )
        counts["customers"] += 1
        first, last = rng.choice(FIRST), rng.choice(LAST)
        Contact.objects.create(
            customer=customer,
            name=f"{first} {last}",
            role="Service comptabilité",
            email=f"compta@{ref.lower()}.example",
            phone="04 7{} {} {} {}".format(
                rng.randint(0, 9), *(rng.randint(10, 99) for _ in range(3))
            ),
            po_required=idx % 4 == 0,
            invoice_channel="portal" if idx % 7 == 0 else "email",
            invoice_instructions="Déposer sur la plateforme Chorus Pro, code service FACT01"
            if idx % 7 == 0
            else "",
        )
        if idx % 2 == 0:
            Contact.objects.create(
                customer=customer,
                name=f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                role="Direction financière",
                email=f"daf@{ref.lower()}.example",
                reminder_role=Contact.ReminderRole.CC,
                receives_invoices=False,
            )
        terms = customer.payment_terms_days
        behaviour = rng.choice(["good", "good", "late", "late", "bad"])
        invoices: list[Invoice] = []
        for _ in range(rng.randint(3, 9)):
            invoice_no += 1
            issue = today - datetime.timedelta(days=rng.randint(5, 360))
            amount = Decimal(rng.randint(30_000, 1_800_000)) / 100
            plan = rng.choice(
                [PlanKind.SINGLE] * 6
                + [PlanKind.HALVES, PlanKind.THIRTY_THIRTY_FORTY, PlanKind.MONTHLY]
            )
            inv = services.invoice_create(
                customer=customer,
                number=f"FA-{issue.year}-{invoice_no:05d}",
                issue_date=issue,
                due_date=issue + datetime.timedelta(days=terms),
                amount=amount,
                plan=plan,
                parts=rng.choice([3, 4, 6]) if plan == PlanKind.MONTHLY else None,
                po_number=f"PO-{rng.randint(1000, 9999)}" if idx % 4 == 0 else "",
            )
            invoices.append(inv)
            counts["invoices"] += 1
        for inv in sorted(invoices, key=lambda i: i.issue_date):
            delay = {
                "good": rng.randint(-5, 5),
                "late": rng.randint(10, 45),
                "bad": rng.randint(40, 120),
            }[behaviour]
            pay_day = inv.due_date + datetime.timedelta(days=delay)
            if pay_day >= today:
                continue
            roll = rng.random()
            if roll < 0.7:
                pay_amount = inv.amount
            elif roll < 0.9:
                pay_amount = (inv.amount * Decimal("0.4")).quantize(CENT)
            else:
                continue
            services.payment_record(
                customer=customer,
                date=pay_day,
                amount=pay_amount,
                invoice=inv,
                method=rng.choice(["transfer", "transfer", "cheque", "card"]),
                reference=f"VIR {customer.customer_ref} {inv.number}",
            )
            counts["payments"] += 1
        open_invoices = [i for i in invoices if i.installments.open().exists()]
        if idx == 3 and open_invoices:
            services.payment_record(
                customer=customer,
                date=today - datetime.timedelta(days=3),
                amount=sum((i.amount for i in open_invoices), Decimal("0")) + Decimal("150.00"),
                reference="VIR trop-perçu",
            )
        if idx == 7 and open_invoices:
            invoice_no += 1
            services.credit_note_create(
                customer=customer,
                number=f"AV-{today.year}-{invoice_no:05d}",
                issue_date=today - datetime.timedelta(days=10),
                amount=Decimal("120.00"),
                credited_invoice=open_invoices[0],
            )
        if idx in (4, 11) and open_invoices:
            Dispute.objects.create(
                invoice=open_invoices[-1],
                reason=Dispute.Reason.QUALITY,
                description="Livraison incomplète, 2 cartons manquants.",
                opened_by=users["finance"],
            )
            Activity.objects.create(
                customer=customer,
                kind=Activity.Kind.DISPUTE,
                author=users["finance"],
                summary=f"Litige ouvert sur {open_invoices[-1].number}",
            )
        if idx in (2, 9) and open_invoices:
            promise = PromiseToPay.objects.create(
                customer=customer,
                promised_date=today + datetime.timedelta(days=7 if idx == 2 else -6),
                amount=open_invoices[0].amount,
                recorded_by=users["sales"],
                note="Promesse obtenue par téléphone.",
            )
            promise.invoices.add(open_invoices[0])
            Activity.objects.create(
                customer=customer,
                kind=Activity.Kind.PROMISE,
                author=users["sales"],
                summary=(
                    f"Promesse de paiement de {format_money(promise.amount, 'fr')} "
                    f"au {promise.promised_date:%d/%m/%Y}"
                ),
            )
        if idx in (1, 6, 13):
            Activity.objects.create(
                customer=customer,
                kind=Activity.Kind.CALL,
                author=users["finance"],
                occurred_at=timezone.now() - datetime.timedelta(days=idx),
                summary="Appel au service comptable",
                outcome="Facture bien reçue, en attente de validation",
                next_action_date=today + datetime.timedelta(days=5),
            )
    return counts
