"""Clarifying questions, one at a time: what the cart still lacks, how to ask, how to read answers.

Pure. A question is asked with reply buttons (up to 3 choices), a list (up to 10) or numbered
text (more), and a typed answer is always accepted too: "large", "the second one", "2", or a
near spelling of a choice's name or alias.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, Literal

from rapidfuzz import fuzz, process

from bot import texts
from bot.cart import CartLine, price_line
from bot.line_changes import LineChange, apply_to_lines
from bot.replies import ButtonsReply, ListReply, Reply, TextReply
from catalog.catalog import Catalog
from catalog.models import Named

# "stock": a line asks for more than is left; its choices trim the line or remove it.
# "line": an edit fits several cart lines ("make it large"); its choices are the lines.
QuestionKind = Literal["variant", "option", "product", "stock", "line"]
MAX_BUTTONS = 3
MAX_ROWS = 10
MAX_ROW_TITLE = 24
_FUZZY_CUTOFF = 80
_ORDINALS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4,
             "4th": 4, "fifth": 5, "5th": 5}
_LEADING_QUANTITY = re.compile(r"^\s*(\d{1,3})\s*x?\b", re.IGNORECASE)


@dataclass(frozen=True)
class PendingChoice:
    """A mention that matched several products equally ("shawarma"): the customer picks one."""

    text: str
    quantity: int
    candidates: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "quantity": self.quantity, "candidates": list(self.candidates)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PendingChoice:
        return cls(str(data["text"]), int(data["quantity"]), tuple(data["candidates"]))

    @classmethod
    def from_mention(cls, text: str, candidates: tuple[str, ...]) -> PendingChoice:
        match = _LEADING_QUANTITY.match(text)
        return cls(text, int(match.group(1)) if match else 1, candidates)


@dataclass(frozen=True)
class Question:
    kind: QuestionKind
    index: int  # the cart line (variant, option) or the pending choice (product) it is about
    subject: str  # the product's name, or the customer's own words for a product question
    choices: tuple[tuple[str, str], ...]  # (id, name)
    group: str = ""  # the option group; for a stock question, how many are left
    product: str = ""  # the product id, for variant, option and stock questions
    change: LineChange | None = None  # for a line question: the edit to make to the chosen line

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "index": self.index, "subject": self.subject,
                "choices": [list(c) for c in self.choices], "group": self.group,
                "product": self.product,
                "change": self.change.to_json() if self.change else None}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Question:
        return cls(data["kind"], int(data["index"]), str(data["subject"]),
                   tuple((str(c[0]), str(c[1])) for c in data["choices"]), str(data["group"]),
                   str(data.get("product", "")),
                   LineChange.from_json(data["change"]) if data.get("change") else None)


def next_question(
    cart: tuple[CartLine, ...], pending: tuple[PendingChoice, ...], catalog: Catalog
) -> Question | None:
    """The first thing still missing: a size, a required option, then an ambiguous product."""
    for index, line in enumerate(cart):
        product = catalog.product(line.product)
        if product is None:
            continue
        if product.variants and product.variant(line.variant) is None:
            return Question("variant", index, product.name,
                            tuple((v.id, v.name) for v in product.variants), product=product.id)
        chosen = {choice_id for choice_id, _ in line.options}
        for group in product.options:
            picked = sum(1 for c in group.choices if c.id in chosen)
            if picked < group.min:
                left = tuple((c.id, c.name) for c in group.choices if c.id not in chosen)
                return Question("option", index, product.name, left, group.group, product.id)
    if pending:
        products = [p for pid in pending[0].candidates if (p := catalog.product(pid)) is not None]
        offered = [p for p in products if p.available] or products  # don't offer the sold-out
        return Question("product", 0, pending[0].text,
                        tuple((p.id, p.name) for p in offered[:MAX_ROWS]))
    return None


def apply_answer(
    cart: tuple[CartLine, ...], pending: tuple[PendingChoice, ...], question: Question,
    choice_id: str, catalog: Catalog,
) -> tuple[tuple[CartLine, ...], tuple[PendingChoice, ...]]:
    if question.kind == "line" and question.change is not None:
        every = tuple(int(cid.partition(":")[0]) for cid, _ in question.choices if cid != ALL_LINES)
        chosen_lines = every if choice_id == ALL_LINES else (int(choice_id.partition(":")[0]),)
        return apply_to_lines(cart, chosen_lines, question.change, catalog), pending
    if question.kind == "product":
        chosen = pending[question.index]
        product = catalog.product(choice_id)
        variant = None
        if product is not None:
            # "2 large pizzas" -> Margherita picked: the size was already said.
            named = [v for v in product.variants
                     if any(_contains(chosen.text.casefold(), n.casefold()) for n in v.names())]
            variant = named[-1] if named else product.default_variant
        line = CartLine(choice_id, chosen.quantity, variant.id if variant else None)
        rest = pending[: question.index] + pending[question.index + 1:]
        return (*cart, line), rest
    lines = list(cart)
    line = lines[question.index]
    if question.kind == "stock":  # "trim": make it as many as are left; "remove": drop it
        if choice_id == "trim":
            lines[question.index] = replace(line, quantity=int(question.group))
        else:
            del lines[question.index]
        return tuple(lines), pending
    if question.kind == "variant":
        lines[question.index] = replace(line, variant=choice_id)
    else:
        lines[question.index] = replace(line, options=(*line.options, (choice_id, None)))
    return tuple(lines), pending


def match_answer(question: Question, text: str, catalog: Catalog) -> str | None:
    """The choice a typed answer names, or None when it names none (or several)."""
    words = text.casefold().strip(" .!?")
    if not words:
        return None
    ordinal = _ordinal(words, len(question.choices))
    if ordinal is not None:
        return question.choices[ordinal][0]
    names = _choice_names(question, catalog)
    exact = {cid for cid, name in names if _contains(words, name.casefold())}
    if len(exact) == 1:
        return exact.pop()
    if exact:  # "large" and "extra large" both inside: the longest name is the one meant
        return max(((cid, n) for cid, n in names if cid in exact), key=lambda p: len(p[1]))[0]
    best = process.extractOne(words, [name for _, name in names], scorer=fuzz.WRatio,
                              processor=str.casefold, score_cutoff=_FUZZY_CUTOFF)
    return names[best[2]][0] if best else None


def _ordinal(words: str, count: int) -> int | None:
    """'2', 'the second one', 'last' -> a 0-based position among the choices."""
    tokens = re.findall(r"[a-z0-9]+", words)
    if len(tokens) == 1 and tokens[0].isdigit():
        return int(tokens[0]) - 1 if 1 <= int(tokens[0]) <= count else None
    if len(tokens) > 4:
        return None
    for token in tokens:
        if token == "last":
            return count - 1
        position = _ORDINALS.get(token)
        if position is not None:
            return position - 1 if position <= count else None
    return None


def _contains(words: str, name: str) -> bool:
    return re.search(rf"(?<![a-z0-9]){re.escape(name)}(?![a-z0-9])", words) is not None


def _choice_names(question: Question, catalog: Catalog) -> list[tuple[str, str]]:
    """Every name a choice can be called by: its display name and its aliases."""
    names: list[tuple[str, str]] = []
    for choice_id, name in question.choices:
        names.append((choice_id, name))
        names.extend((choice_id, alias) for alias in _aliases(question, choice_id, catalog))
    return names


def _aliases(question: Question, choice_id: str, catalog: Catalog) -> tuple[str, ...]:
    item: Named | None = None
    if question.kind == "line":
        return _line_aliases(choice_id, catalog)
    if question.kind == "product":
        item = catalog.product(choice_id)
    elif (product := catalog.product(question.product)) is not None:
        item = (product.variant(choice_id) if question.kind == "variant"
                else product.choice(choice_id))
    return item.aliases if item is not None else ()


def ask(question: Question, revision: int, catalog: Catalog) -> Reply:
    """The question as buttons, a list, or numbered text, depending on how many choices."""
    body = _question_text(question)
    ids = [(f"ans:{revision}:{cid}", name) for cid, name in question.choices]
    if len(ids) <= MAX_BUTTONS and all(len(name) <= 20 for _, name in ids):
        return ButtonsReply(body=body, buttons=tuple(ids))
    if len(ids) <= MAX_ROWS:
        rows = tuple((rid, _row_title(name), _row_description(question, cid, name, catalog))
                     for (rid, name), (cid, _) in zip(ids, question.choices, strict=True))
        return ListReply(body=body, button=texts.text("button_choose"), rows=rows)
    numbered = "\n".join(f"{n}. {name}" for n, (_, name) in enumerate(question.choices, 1))
    return TextReply(f"{body}\n{numbered}\n{texts.text('type_a_number')}")


def _question_text(question: Question) -> str:
    if question.kind == "variant":
        return texts.text("ask_variant", product=question.subject)
    if question.kind == "option":
        return texts.text("ask_option", product=question.subject, group=question.group)
    if question.kind == "stock":
        return texts.text("stock_question", product=question.subject, left=question.group)
    if question.kind == "line":
        return texts.text("ask_line", text=question.subject)
    return texts.text("ask_product", text=question.subject)


def _row_title(name: str) -> str:
    return name if len(name) <= MAX_ROW_TITLE else name[: MAX_ROW_TITLE - 1] + "…"


def _row_description(question: Question, choice_id: str, name: str, catalog: Catalog) -> str:
    """Prices help the customer choose; a shortened title is shown whole here."""
    product = catalog.product(choice_id if question.kind == "product" else question.product)
    price = None
    if product is not None and question.kind == "product":
        price = product.price
    elif product is not None and question.kind == "variant":
        price = product.unit_price(choice_id)
    elif product is not None and (choice := product.choice(choice_id)) and choice.price:
        return f"+{catalog.format_money(choice.price)}"
    text = catalog.format_money(price) if price is not None else ""
    if len(name) > MAX_ROW_TITLE:
        text = f"{name} {text}".strip()
    return text[:72]


ALL_LINES = "all"  # the choice that applies a removal to every line offered


def which_line(cart: tuple[CartLine, ...], lines: tuple[int, ...], change: LineChange,
               text: str, catalog: Catalog) -> Question:
    """"Which item do you mean?" for an edit that fits several lines; each choice is a line."""
    choices = [(f"{i}:{cart[i].product}:{cart[i].variant or ''}", _line_title(cart[i], catalog))
               for i in lines[:MAX_ROWS - 1]]
    if change.kind == "remove":
        choices.append((ALL_LINES, texts.text("line_all")))
    subject = text if len(text) <= _SUBJECT_CHARS else text[: _SUBJECT_CHARS - 1] + "…"
    return Question("line", lines[0], subject, tuple(choices), change=change)


_SUBJECT_CHARS = 80


def _line_title(line: CartLine, catalog: Catalog) -> str:
    priced = price_line(line, catalog)
    variant = f" ({priced.variant_name})" if priced.variant_name else ""
    return f"{priced.product_name}{variant}"


def _line_aliases(choice_id: str, catalog: Catalog) -> tuple[str, ...]:
    """A line is named by its product, its size or both ("pepsi", "small", "large pepsi")."""
    _, product_id, variant_id = [*choice_id.split(":"), "", ""][:3]
    product = catalog.product(product_id)
    if product is None:
        return ()
    variant = product.variant(variant_id)
    sizes = variant.names() if variant else ()
    return (*product.names(), *sizes,
            *(f"{size} {name}" for size in sizes for name in product.names()))
