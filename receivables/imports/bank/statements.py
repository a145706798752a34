"""Reading bank statements: ISO 20022 camt.053 (001.02 and later) or a CSV statement,
into :class:`BankLine` objects, before any matching.

XML is parsed with expat refusing any DTD or entity, so entity bombs and external
entities never expand. Each line gets a stable identity: the bank's reference, else a
hash of its content.
"""

from __future__ import annotations

import datetime
import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from xml.parsers import expat

from django.utils.translation import gettext as _

from core.money import ZERO
from customers.models import Customer
from receivables.imports.base import RowReader
from receivables.imports.errors import ErrorList, ImportFileError
from receivables.imports.parsing import parse_amount, parse_currency, parse_date
from receivables.imports.reader import read_file_bytes, read_table
from receivables.models import LEDGER_CURRENCY, BankTransaction, Invoice, Payment

CAMT053 = re.compile(r"urn:iso:std:iso:20022:tech:xsd:camt\.053\.001\.(\d{2})")


CSV_REQUIRED = ("date", "amount")


CSV_OPTIONAL = ("currency", "reference", "counterparty_name", "counterparty_iban", "bank_reference")


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
    mandate_id: str = ""
    creditor_reference: str = ""
    remittance: str = ""
    counterparty_name: str = ""
    counterparty_iban: str = ""
    return_code: str = ""
    reversal: bool = False
    key: str = ""
    # Set by the planning:
    status: str = ""
    status_reason: str = ""  # the reason in the importing user's language (reports)
    status_code: str = ""  # the same as a key of STATUS_REASONS, stored with its values
    status_params: dict[str, str] = field(default_factory=dict)
    invoice: Invoice | None = None
    customer: Customer | None = None  # named by its creditor reference, not by an invoice
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
        amount = _amount_of(node)
        if amount is None:
            return [whole]
        amounts.append(amount)
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


def _amount_of(node: _Node | None) -> Decimal | None:
    """The amount an ``Amt`` element holds, or None when it holds no finite number that
    fits the ledger's cents ("NaN", "Infinity", "1E+999", text)."""
    try:
        amount = Decimal(_text_of(node))
        if not amount.is_finite():
            return None
        amount.quantize(ZERO)  # raises when the number has too many digits for cents
    except InvalidOperation:
        return None
    return amount


def _camt_line(entry: _Node, account: str, errors: ErrorList, txs: list[_Node]) -> BankLine:
    line = BankLine(entry.line)
    amount_node = entry.find("Amt")
    amount = _amount_of(amount_node)
    if amount is None:
        errors.add(entry.line, _("the entry has no valid amount."))
    elif amount <= 0 or amount != amount.quantize(ZERO):
        errors.add(entry.line, _("amount %(amount)s is not a positive amount in cents.")
                   % {"amount": amount})  # fmt: skip
    else:
        line.amount = amount
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
        line.mandate_id = line.mandate_id or tx.value("Refs", "MndtId")[:35]
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
        # What the payer typed travels as it is (a remittance starting with "=" must not
        # block a whole statement); exports neutralise it like every other text.
        line.remittance = cells.free_text("reference")
        line.counterparty_name = cells.check_length(
            "counterparty_name", cells.free_text("counterparty_name"), 140
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
