"""Order-text parsing: free text from a customer -> order lines placed against a catalog.

    parser = OrderParser(catalog)          # builds the name index once
    result = parser.parse("2 chicken shawarma and a large pepsi pls")
    result.to_json()                       # the public JSON contract (see parsers.models)

Behaviour decisions (the contract callers may rely on):

* Variants. When the customer names no variant and the product has a default variant, the line
  carries the default variant's id (so a summary can show "Chicken Shawarma (Regular)"). When
  the product has variants and no default and none was named, the line is still emitted with
  `variant=None`, AND an `Unresolved(reason="missing_variant")` with the same span is added whose
  candidates are the product's variant ids, so the bot can ask "which size?".
* Removals. "no X" / "without X" / "hold the X" where X is an ingredient or an option choice of
  the product puts X's id in `removed`. Adding an ingredient the product already has ("with
  garlic") is a no-op; with a qualifier ("extra garlic") it becomes part of the line's note.
* Qualifiers. "extra"/"more"/"additional" -> extra, "double" -> double, "light"/"a little"/
  "easy on" -> light, kept on the chosen option.
* Confidence. 1.0 for exact names and aliases (plural forms count as exact); typo matches score
  the length-weighted rapidfuzz similarity of the words (e.g. "chiken shawrma" ~0.93); a partial
  name ("shawarma" for "Chicken Shawarma", only product with that word) scores
  0.7 + 0.2 * (share of the name's words given). A line's confidence is the lowest of its
  product's and its modifiers' scores. Below `MIN_CONFIDENCE` (0.6) nothing is emitted as a line:
  the text goes to `unresolved` with reason "unknown" and the guessed product as candidate.
* Typos: words of 4-5 letters may carry 1 edit, 6+ letters 2 (transpositions count as one);
  shorter words and grammar words ("like", "with") are never corrected.
* Never invent. Text that looks like an item but cannot be placed is returned in `unresolved`:
  "unknown" (candidates: closest products, possibly none), "ambiguous" (several products fit
  equally, e.g. "shawarma" with chicken and beef shawarma; at most 5 candidates),
  "missing_variant" (above) and "unavailable" (the product is identified but not available; its
  id is the only candidate, and no line is emitted). Unknown modifiers ("with lasagna") are
  "unknown" entries whose candidates are the product's option/ingredient ids they resemble.
* A negated product ("no pepsi") produces nothing. Greetings, politeness and chat produce
  nothing. Leftover words clearly attached to an item that are neither option nor ingredient
  ("well done", "cut in half", "no ice") become the line's `note`.
* `span` is [start, end) in the original text, covering the line's quantity, modifiers and name.
"""

from parsers.assemble import MIN_CONFIDENCE
from parsers.models import ChosenOption, ParsedLine, ParseResult, Unresolved
from parsers.order_parser import OrderParser, parse_order

__all__ = [
    "MIN_CONFIDENCE",
    "ChosenOption",
    "OrderParser",
    "ParseResult",
    "ParsedLine",
    "Unresolved",
    "parse_order",
]
