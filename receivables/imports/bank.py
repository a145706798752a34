"""Bank statement import: ISO 20022 camt.053 (001.02 and later) or a CSV statement.

Every booked line is recorded once as a :class:`BankTransaction` (its identity is the
bank's reference, else a hash of its content), whatever file it comes in. An incoming
credit whose references name exactly one open invoice, in the ledger's currency and for
no more than is open, becomes a payment allocated to that invoice; every other credit
waits in the matching queue (status unmatched, with the reason). The company's own
debits create nothing. All or nothing per file: every bad entry is reported.

XML is parsed with expat refusing any DTD or entity, so entity bombs and external
entities never expand.
"""

from __future__ import annotations

import datetime
import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict
from xml.parsers import expat

from django.db.models import F, Q, Sum
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from core.money import ZERO
from customers.models import Customer
from receivables import bounds, services
from receivables.imports.base import Outcome, RowReader, fetch_in, writing_line
from receivables.imports.errors import ErrorList, ImportFileError
from receivables.imports.parsing import fold, parse_amount, parse_currency, parse_date
from receivables.imports.reader import read_file_bytes, read_table
from receivables.models import LEDGER_CURRENCY, BankTransaction, Invoice, Payment

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


class OpenAmount(TypedDict):
    open_amount: Decimal | None


CAMT053 = re.compile(r"urn:iso:std:iso:20022:tech:xsd:camt\.053\.001\.(\d{2})")
CSV_REQUIRED = ("date", "amount")
CSV_OPTIONAL = ("currency", "reference", "counterparty_name", "counterparty_iban", "bank_reference")
# A token that may be an invoice number: letters, digits and the usual separators.
TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9/_.\-]*[A-Za-z0-9]|[A-Za-z0-9]")


@dataclass
class BankLine:
    """One line of a statement as read, before matching. ``line`` is its position in
    the file (the XML line of the entry, or the CSV line)."""

    line: int
    date: datetime.date | None = None
    amount: Decimal | None = None
    currency: str = ""
    direction: str = BankTransaction.Direction.CREDIT
    bank_reference: str = ""
    end_to_end_id: str = ""
    creditor_reference: str = ""
    remittance: str = ""
    counterparty_name: str = ""
    counterparty_iban: str = ""
    return_code: str = ""
    reversal: bool = False
    key: str = ""
    # Set by the planning:
    status: str = ""
    status_reason: str = ""
    invoice: Invoice | None = None
    returned: Payment | None = None
    return_reason: str = ""

    def references(self) -> str:
        return " ".join((self.remittance, self.end_to_end_id, self.creditor_reference))


# --- camt.053 ----------------------------------------------------------------------------


class _Node:
    __slots__ = ("children", "line", "tag", "text")

    def __init__(self, tag: str, line: int) -> None:
        self.tag = tag
        self.line = line
        self.text: list[str] = []
        self.children: list[_Node] = []

    def find(self, *path: str) -> _Node | None:
        node: _Node | None = self
        for tag in path:
            assert node is not None
            node = next((c for c in node.children if c.tag == tag), None)
            if node is None:
                return None
        return node

    def findall(self, tag: str) -> list[_Node]:
        return [c for c in self.children if c.tag == tag]

    def value(self, *path: str) -> str:
        node = self.find(*path)
        return "".join(node.text).strip() if node is not None else ""


class _Refused(Exception):
    pass


def _parse_xml(data: bytes) -> tuple[_Node, str]:
    """The document's tree (local names) and its root namespace. Refuses any DTD,
    entity declaration or external reference, and reports a truncated file."""
    parser = expat.ParserCreate(namespace_separator="}")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    stack: list[_Node] = []
    root: list[_Node] = []
    namespace: list[str] = []

    def refuse(*args: object) -> None:
        raise _Refused(_("the file declares a DTD or entities, which are refused."))

    def refuse_external(*args: object) -> int:
        refuse()
        return 0

    def start(name: str, attrs: dict[str, str]) -> None:
        ns, _sep, local = name.rpartition("}")
        node = _Node(local, parser.CurrentLineNumber)
        if stack:
            stack[-1].children.append(node)
        else:
            root.append(node)
            namespace.append(ns)
        if "Ccy" in attrs:
            node.children.append(_Node("@Ccy", node.line))
            node.children[-1].text.append(attrs["Ccy"])
        stack.append(node)

    def end(name: str) -> None:
        stack.pop()

    def chars(text: str) -> None:
        if stack:
            stack[-1].text.append(text)

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse_external
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    try:
        parser.Parse(data, True)
    except _Refused as exc:
        raise ImportFileError(str(exc)) from None
    except expat.ExpatError as exc:
        raise ImportFileError(
            _("The XML is not well formed (%(reason)s); the file may be truncated.")
            % {"reason": expat.ErrorString(exc.code)},
            exc.lineno,
        ) from None
    return root[0], namespace[0]


def _text_of(node: _Node | None) -> str:
    return "".join(node.text).strip() if node is not None else ""


def _camt_lines(data: bytes, errors: ErrorList) -> list[BankLine]:
    root, namespace = _parse_xml(data)
    match = CAMT053.fullmatch(namespace)
    if root.tag != "Document" or match is None or int(match.group(1)) < 2:
        raise ImportFileError(
            _("This XML is not an ISO 20022 camt.053 statement (version 001.02 or later).")
        )
    statement_root = root.find("BkToCstmrStmt")
    statements = statement_root.findall("Stmt") if statement_root is not None else []
    lines: list[BankLine] = []
    for stmt in statements:
        account = stmt.value("Acct", "Id", "IBAN") or stmt.value("Acct", "Id", "Othr", "Id")
        for entry in stmt.findall("Ntry"):
            status = entry.value("Sts", "Cd") or entry.value("Sts")
            if status and status != "BOOK":
                continue  # pending or informational: it is booked in a later statement
            lines.extend(_camt_entry_lines(entry, account, errors))
    return lines


def _transactions(entry: _Node) -> list[_Node]:
    return [tx for details in entry.findall("NtryDtls") for tx in details.findall("TxDtls")]


def _camt_entry_lines(entry: _Node, account: str, errors: ErrorList) -> list[BankLine]:
    """One line per entry; but an entry batching several transactions, each with its own
    amount adding up to the entry's (several customers' transfers, a batch of returned
    direct debits), gives one line per transaction, so each can be matched."""
    whole = _camt_line(entry, account, errors, _transactions(entry))
    txs = _transactions(entry)
    if len(txs) < 2 or whole.amount is None:
        return [whole]
    amounts = []
    for tx in txs:
        node = tx.find("Amt") or tx.find("AmtDtls", "TxAmt", "Amt")
        try:
            amounts.append(Decimal(_text_of(node)))
        except InvalidOperation:
            return [whole]
        if node is None or node.value("@Ccy").upper() != whole.currency:
            return [whole]
    if sum(amounts) != whole.amount or any(a <= 0 for a in amounts):
        return [whole]
    entry_reference = entry.value("AcctSvcrRef") or entry.value("NtryRef")
    lines = []
    for index, (tx, amount) in enumerate(zip(txs, amounts, strict=True), 1):
        line = _camt_line(entry, account, ErrorList(), [tx])
        line.line = tx.line
        line.amount = amount
        line.bank_reference = (tx.value("Refs", "AcctSvcrRef") or entry_reference)[:100]
        if entry_reference:  # else the transaction's own reference, or its content
            line.key = _digest("ref", account, entry_reference, f"#{index}")
        lines.append(line)
    return lines


def _camt_line(entry: _Node, account: str, errors: ErrorList, txs: list[_Node]) -> BankLine:
    line = BankLine(entry.line)
    amount_node = entry.find("Amt")
    try:
        line.amount = Decimal(_text_of(amount_node))
    except InvalidOperation:
        errors.add(entry.line, _("the entry has no valid amount."))
    if line.amount is not None and (line.amount <= 0 or line.amount != line.amount.quantize(ZERO)):
        errors.add(entry.line, _("amount %(amount)s is not a positive amount in cents.")
                   % {"amount": line.amount})  # fmt: skip
        line.amount = None
    line.currency = amount_node.value("@Ccy").upper() if amount_node is not None else ""
    if not re.fullmatch(r"[A-Z]{3}", line.currency):
        errors.add(entry.line, _("the entry's amount has no currency."))
    indicator = entry.value("CdtDbtInd")
    if indicator not in ("CRDT", "DBIT"):
        errors.add(entry.line, _("the entry is neither a credit nor a debit (CdtDbtInd)."))
    line.direction = (
        BankTransaction.Direction.DEBIT if indicator == "DBIT" else BankTransaction.Direction.CREDIT
    )
    line.reversal = entry.value("RvslInd").lower() == "true"
    day = (entry.value("BookgDt", "Dt") or entry.value("BookgDt", "DtTm")[:10]
           or entry.value("ValDt", "Dt"))  # fmt: skip
    try:
        line.date = datetime.date.fromisoformat(day)
    except ValueError:
        errors.add(entry.line, _("the entry has no valid booking date."))
    reference = entry.value("AcctSvcrRef") or entry.value("NtryRef")
    remittance: list[str] = []
    for tx in txs:
        reference = reference or tx.value("Refs", "AcctSvcrRef")
        line.end_to_end_id = line.end_to_end_id or _useful(tx.value("Refs", "EndToEndId"))
        info = tx.find("RmtInf")
        if info is not None:
            remittance += [_text_of(n) for n in info.findall("Ustrd")]
            for strd in info.findall("Strd"):
                ref = strd.value("CdtrRefInf", "Ref")
                line.creditor_reference = line.creditor_reference or ref
                remittance += [_text_of(n) for n in strd.findall("AddtlRmtInf")]
        party = "Dbtr" if line.direction == BankTransaction.Direction.CREDIT else "Cdtr"
        parties = tx.find("RltdPties")
        if parties is not None and not line.counterparty_name:
            line.counterparty_name = parties.value(party, "Nm") or parties.value(party, "Pty", "Nm")
            line.counterparty_iban = parties.value(f"{party}Acct", "Id", "IBAN")
        code = tx.value("RtrInf", "Rsn", "Cd")
        line.return_code = line.return_code or code
    line.remittance = " ".join(r for r in remittance if r)
    line.bank_reference = reference[:100]
    line.counterparty_name = line.counterparty_name[:140]
    line.counterparty_iban = line.counterparty_iban.replace(" ", "").upper()[:34]
    line.end_to_end_id = line.end_to_end_id[:100]
    line.creditor_reference = line.creditor_reference[:100]
    if reference:
        line.key = _digest("ref", account, reference)
    return line


def _useful(end_to_end: str) -> str:
    return "" if end_to_end.upper() in ("NOTPROVIDED", "NONREF") else end_to_end


def _digest(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode("utf-8")).hexdigest()


# --- CSV ----------------------------------------------------------------------------------


def _csv_lines(path: Path, errors: ErrorList) -> list[BankLine]:
    table = read_table(path, required=CSV_REQUIRED, optional=CSV_OPTIONAL)
    for error in table.errors:
        errors.add(error.line, error.message)
    lines: list[BankLine] = []
    for number, row in table.rows:
        cells = RowReader(number, row, errors)
        line = BankLine(number)
        line.date = cells.parse("date", parse_date)
        amount = cells.parse("amount", parse_amount)
        if amount is not None and amount == 0:
            cells.error(_("amount: a bank line cannot be zero."))
        elif amount is not None:
            line.amount = abs(amount)
            if amount < 0:
                line.direction = BankTransaction.Direction.DEBIT
        line.currency = cells.parse("currency", parse_currency, required=False) or LEDGER_CURRENCY
        line.remittance = cells.optional("reference")
        line.counterparty_name = cells.check_length(
            "counterparty_name", cells.optional("counterparty_name"), 140
        )
        line.counterparty_iban = cells.optional("counterparty_iban").replace(" ", "").upper()[:34]
        line.bank_reference = cells.check_length(
            "bank_reference", cells.optional("bank_reference"), 100
        )
        if line.bank_reference:
            line.key = _digest("ref", "csv", line.bank_reference)
        lines.append(line)
    return lines


# --- reading, planning, writing --------------------------------------------------------


def read_statement(path: str | Path, errors: ErrorList) -> list[BankLine]:
    """The statement's lines (camt.053 when the file is XML, CSV otherwise); problems of
    single lines go to ``errors``, a file that cannot be read raises ImportFileError."""
    path = Path(path)
    data = read_file_bytes(path)
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    lines = _camt_lines(data, errors) if head == b"<" else _csv_lines(path, errors)
    seen: Counter[tuple] = Counter()
    for line in lines:
        if not line.key and line.date is not None and line.amount is not None:
            # No bank reference: the content, and how many identical lines came before.
            identity = (
                line.date.isoformat(), f"{line.amount:.2f}", line.currency, line.direction,
                line.remittance, line.end_to_end_id, line.counterparty_iban,
                line.counterparty_name,
            )  # fmt: skip
            seen[identity] += 1
            line.key = _digest("content", *identity, str(seen[identity]))
    return lines


def invoice_numbers_named(text: str, numbers: set[str]) -> set[str]:
    """The invoice numbers among ``numbers`` that ``text`` names as whole words (case
    apart): "F-12" is not named by "F-123"."""
    upper = {n.upper(): n for n in numbers}
    return {upper[t.upper()] for t in TOKEN.findall(text) if t.upper() in upper}


# The SEPA return reasons finance staff meet most; any other code is shown as it is.
RETURN_REASONS = {
    "AC01": _lazy("incorrect account number"),
    "AC04": _lazy("account closed"),
    "AC06": _lazy("account blocked"),
    "AG01": _lazy("transaction forbidden on this account"),
    "AM04": _lazy("insufficient funds"),
    "MD01": _lazy("no mandate"),
    "MD06": _lazy("refund requested by the debtor"),
    "MS02": _lazy("refused by the debtor"),
    "MS03": _lazy("reason not specified"),
    "RvslInd": _lazy("reversal by the bank"),
}


def return_reason(code: str) -> str:
    label = RETURN_REASONS.get(code)
    return f"{code} {label}" if label else code


def returned_payment(line: BankLine, *, exclude: set[int]) -> Payment | None:
    """The payment a returned direct debit sends back: the one whose reference (or
    whose bank line's end-to-end id) is the return's end-to-end id; else the latest
    payment of that amount, by direct debit, of the customer the return names (by an
    invoice number, the counterparty's known IBAN or its exact name), dated on or before
    the return. None when there is none or no single one."""
    assert line.amount is not None and line.date is not None
    live = Payment.objects.filter(returned_on__isnull=True, date__lte=line.date).exclude(
        pk__in=exclude
    )
    if line.end_to_end_id:
        by_id = list(
            live.filter(
                Q(reference=line.end_to_end_id)
                | Q(bank_transactions__end_to_end_id=line.end_to_end_id)
            ).distinct()[:2]
        )
        if len(by_id) == 1:
            return by_id[0]
    customers = customers_named(line)
    if len(customers) != 1:
        return None
    same = live.filter(
        customer_id__in=customers, amount=line.amount, method=Payment.Method.DIRECT_DEBIT
    ).order_by("-date", "-pk")
    latest = list(same[:2])
    if not latest or (len(latest) == 2 and latest[1].date == latest[0].date):
        return None
    return latest[0]


def customers_named(line: BankLine) -> set[int]:
    """Ids of the customers a bank line points to: by an invoice number in its
    references, else by a counterparty IBAN seen on an earlier line of a customer, else by
    the counterparty's exact name (case apart)."""
    tokens = {t.upper() for t in TOKEN.findall(line.references())}
    if tokens:
        found = set(
            Invoice.objects.filter(number__in=tokens | {t.lower() for t in tokens}).values_list(
                "customer_id", flat=True
            )
        )
        if found:
            return found
    if line.counterparty_iban:
        found = set(
            BankTransaction.objects.filter(
                counterparty_iban=line.counterparty_iban, customer__isnull=False
            ).values_list("customer_id", flat=True)
        )
        if found:
            return found
    name = fold(line.counterparty_name)
    if not name:
        return set()
    return {
        pk
        for pk, customer_name in Customer.objects.filter(
            name__iexact=line.counterparty_name.strip()
        ).values_list("pk", "name")
        if fold(customer_name) == name
    }


@dataclass
class BankPlan:
    lines: list[BankLine] = field(default_factory=list)
    known: list[BankLine] = field(default_factory=list)
    source: str = ""


class BankImporter:
    """``import_bank_statement``: see DESIGN.md, "Contracts other tools rely on"."""

    def validate(self, path: str | Path) -> tuple[BankPlan, ErrorList]:
        errors = ErrorList()
        lines = read_statement(path, errors)
        if not lines and not errors:
            raise ImportFileError(_("The statement has no booked entry."))
        plan = BankPlan(source=Path(path).name[:255])
        ceiling = bounds.max_amount()
        for line in lines:
            if line.amount is not None:
                for message in bounds.amount_refusals(line.amount, ceiling=ceiling):
                    errors.add(line.line, f"amount: {message}")
            if line.date is not None:
                for message in bounds.not_future_refusals(
                    line.date, what=_("A bank line cannot be dated in the future.")
                ):
                    errors.add(line.line, message)
        if errors:
            return plan, errors
        known = set(
            BankTransaction.objects.filter(import_key__in=[ln.key for ln in lines]).values_list(
                "import_key", flat=True
            )
        )
        candidates = {t.upper() for ln in lines for t in TOKEN.findall(ln.references())}
        invoices: dict[str, WithAnnotations[Invoice, OpenAmount]] = {
            i.number: i
            for i in fetch_in(
                Invoice.objects.active()
                .invoices()
                .select_related("customer")
                .annotate(
                    open_amount=Sum(F("installments__amount") - F("installments__paid_amount"))
                ),
                "number",
                candidates | {c.lower() for c in candidates},
            )
        }
        left = {n: i.open_amount or ZERO for n, i in invoices.items()}
        open_numbers = {n for n, amount in left.items() if amount > 0}
        claimed: set[int] = set()  # payments already returned by an earlier line
        for line in lines:
            if line.key in known:
                plan.known.append(line)
                continue
            plan.lines.append(line)
            self._decide(line, invoices, left, open_numbers, claimed)
        return plan, errors

    def _decide(
        self,
        line: BankLine,
        invoices: dict,
        left: dict,
        open_numbers: set[str],
        claimed: set[int],
    ) -> None:
        assert line.amount is not None
        unmatched = BankTransaction.Status.UNMATCHED
        if line.return_code or line.reversal:
            self._decide_return(line, claimed)
            return
        if line.direction == BankTransaction.Direction.DEBIT:
            line.status = BankTransaction.Status.IGNORED
            line.status_reason = _("an outgoing debit of the company.")
            return
        line.status = unmatched
        if line.currency != LEDGER_CURRENCY:
            line.status_reason = _("in %(currency)s: the ledger is kept in %(ledger)s only.") % {
                "currency": line.currency,
                "ledger": LEDGER_CURRENCY,
            }
            return
        named = invoice_numbers_named(line.references(), open_numbers)
        if not named:
            line.status_reason = _("no open invoice named.")
        elif len(named) > 1:
            line.status_reason = _("several open invoices named: %(numbers)s.") % {
                "numbers": ", ".join(sorted(named))
            }
        elif line.amount > left[next(iter(named))]:
            number = next(iter(named))
            line.status_reason = _("%(amount)s is more than the %(open)s open on %(number)s.") % {
                "amount": line.amount,
                "open": left[number],
                "number": number,
            }
        else:
            number = next(iter(named))
            left[number] -= line.amount
            if left[number] <= 0:
                open_numbers.discard(number)
            line.invoice = invoices[number]
            line.status = BankTransaction.Status.MATCHED
            line.status_reason = ""

    def _decide_return(self, line: BankLine, claimed: set[int]) -> None:
        """A returned direct debit (or a reversed credit): find the payment it sends
        back, to be reversed by ``services.payment_return``; else it waits for a person."""
        assert line.amount is not None and line.date is not None
        code = line.return_code or "RvslInd"
        line.return_reason = return_reason(code)
        line.status = BankTransaction.Status.UNMATCHED
        if line.currency != LEDGER_CURRENCY:
            line.status_reason = _("in %(currency)s: the ledger is kept in %(ledger)s only.") % {
                "currency": line.currency,
                "ledger": LEDGER_CURRENCY,
            }
            return
        payment = returned_payment(line, exclude=claimed)
        if payment is None:
            line.status_reason = _(
                "returned direct debit (%(reason)s): no single payment found to reverse."
            ) % {"reason": line.return_reason}
            return
        claimed.add(payment.pk)
        line.returned = payment
        line.status = BankTransaction.Status.RETURNED
        line.status_reason = _("returned direct debit (%(reason)s).") % {
            "reason": line.return_reason
        }

    def describe(self, plan: BankPlan) -> Outcome:
        counts = Counter(line.status for line in plan.lines)
        matched = sum(
            (ln.amount or ZERO for ln in plan.lines if ln.status == BankTransaction.Status.MATCHED),
            ZERO,
        )
        return Outcome(
            counts=[
                (_("bank lines already imported"), len(plan.known)),
                (_("credits matched and allocated"), counts[BankTransaction.Status.MATCHED]),
                (_("amount allocated to invoices"), matched),
                (
                    _("lines waiting in the matching queue"),
                    counts[BankTransaction.Status.UNMATCHED],
                ),
                (_("outgoing debits ignored"), counts[BankTransaction.Status.IGNORED]),
                (_("returned payments reversed"), counts[BankTransaction.Status.RETURNED]),
            ],
            notes=[
                _("line %(line)d: %(reason)s") % {"line": ln.line, "reason": ln.status_reason}
                for ln in plan.lines
                if ln.status == BankTransaction.Status.UNMATCHED
            ],
        )

    def apply(self, plan: BankPlan) -> Outcome:
        """Record every new line, and a payment for each matched credit; the caller
        holds the transaction."""
        for line in plan.lines:
            assert line.date is not None and line.amount is not None
            with writing_line(line.line):
                payment = None
                customer = None
                if line.status == BankTransaction.Status.RETURNED:
                    assert line.returned is not None
                    payment = services.payment_return(
                        payment=line.returned, on=line.date, reason=line.return_reason
                    )
                    customer = payment.customer
                elif line.status == BankTransaction.Status.MATCHED:
                    assert line.invoice is not None
                    customer = line.invoice.customer
                    payment = services.payment_record(
                        customer=customer,
                        invoice=line.invoice,
                        date=line.date,
                        amount=line.amount,
                        method=Payment.Method.TRANSFER,
                        reference=(line.bank_reference or line.end_to_end_id)[:100],
                    )
                BankTransaction.objects.create(
                    import_key=line.key,
                    date=line.date,
                    amount=line.amount,
                    currency=line.currency,
                    direction=line.direction,
                    bank_reference=line.bank_reference,
                    end_to_end_id=line.end_to_end_id,
                    creditor_reference=line.creditor_reference,
                    remittance=line.remittance,
                    counterparty_name=line.counterparty_name,
                    counterparty_iban=line.counterparty_iban,
                    return_code=line.return_code[:10],
                    status=line.status,
                    status_reason=line.status_reason[:255],
                    payment=payment,
                    customer=customer,
                    source=plan.source,
                )
        return self.describe(plan)
