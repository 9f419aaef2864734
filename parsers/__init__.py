"""Order-text parsing: free text from a customer -> order lines placed against a catalog.

    parser = OrderParser(catalog)          # builds the name index once (thread-safe to share)
    result = parser.parse("2 chicken shawarma and a large pepsi pls")
    result.to_json()                       # the public JSON contract (see parsers.models)

How it works: a blank spaCy English tokenizer plus Matcher/PhraseMatcher rules label
quantities, qualifiers, negations, "with" and separators (pipeline); product names are looked up
as lemma keys with plural forms and typo readings (index, message, mentions); the text between
names is shared out between them (segment) and read into variants, options, removals and notes
(modifier_index, modifiers); whatever is left is placed or reported (assemble).

Behaviour decisions (the contract callers may rely on):

* Variants. When the customer names no variant and the product has a default, the line carries
  the default variant's id (so the summary can show "Chicken Shawarma (Regular)"). When the
  product has variants, no default, and none was named, the line is still emitted with
  `variant=None`, AND an `Unresolved(reason="missing_variant")` with the same span is added whose
  candidates are the product's variant ids, so the bot can ask "which size?". Sizes may come
  before or after the name ("large pepsi", "pepsi large", "pepsi (L)"); "l/m/s/xl/big/med/reg"
  are understood for variants named Large/Medium/Small/Extra large/Regular.
* Removals. "no X" / "without X" / "hold the X" / "leave off X" / "don't want X" where X is an
  ingredient or an option choice of the product puts X's id in `removed` ("no pickles or
  onions" removes both; a comma ends the negation). Adding an ingredient the product already has
  ("with garlic") is a no-op; with a qualifier ("extra garlic") it goes to the line's note.
* Qualifiers. extra/more/additional/lots of -> "extra"; double -> "double"; light/a little/
  easy on -> "light"; kept on the chosen option.
* Quantities: digits, number words up to the nineties and compounds ("twenty-five"), "a/an",
  "a couple (of)", "a dozen", "half a dozen", "x2"/"2x"/"2 x"/"×2", glued ("2shawarma"), and a
  number after the name closed by a separator ("shawarma 2, pepsi 1"). A number that names a
  variant ('12" pizza', "rice 5 kg") is the variant, not a count. "X2", "2x" and "(2)" after a
  name count it too. "2 shawarmas, one large, one without garlic" shares the 2 out into
  separate lines; "a large margherita and a medium one" adds a line of the product named just
  before (confidence 0.9).
* Packs. A multipack variant "<unit> x <count>" ("330 ml x 24") is also named "24 pack"/"24pk",
  and by its unit alone ("size 4" for "size 4 x 40") when no other variant is called that. A
  variant named by a count of what the product is ("12 eggs" of "Happy Cow Eggs") is named by
  the bare count ("eggs 12") and by "a dozen"; "x N" after a size that is no multipack counts.
* Confidence. 1.0 for exact names and aliases (plural forms count as exact); typo matches score
  the length-weighted rapidfuzz similarity of their words (e.g. "chiken shawrma" ~0.93); several
  words of one product's longer name ("tawook wrap" for "Shish Tawook Wrap") 0.85-0.95; a single
  name word pointing at one product ("pizza" with only a margherita on the menu) 0.7-0.9; a line
  whose product was not named but is the only one with the options given ("a large with
  pepperoni and olives") 0.65. A line's confidence is the lowest of its product's and its
  modifiers' scores. Below MIN_CONFIDENCE (0.6) nothing is emitted as a line: the text goes to
  `unresolved` with reason "unknown" and the guessed product as candidate.
* Typos: words of 4-5 letters may carry 1 edit and must keep their first letter, 6+ letters 2
  edits (a transposition counts as one); shorter words and common English words ("like",
  "comes", "leave") are never corrected.
* Never invent. Text that looks like an item but cannot be placed is returned in `unresolved`:
  "unknown" (candidates: closest products, possibly none), "ambiguous" (several products fit
  equally, e.g. "shawarma" with chicken and beef shawarma; at most 5 candidates),
  "missing_variant" (above) and "unavailable" (the product is identified - its id is the only
  candidate - but `available` is false; no line is emitted). An unknown option ("with lasagna")
  is an "unknown" entry whose candidates are the option/ingredient ids of the product it
  resembles. A negated product ("no pepsi") produces nothing.
* Brands. Parts of names in one phrase narrow each other: "eggs alpine fresh" (brand after the
  type), "frosty frozen fries" (a word of the name left out), "yoghurt" for "yogurt"; of several
  fits, the one whose whole name the words spell wins, otherwise one "ambiguous" entry.
* A name followed straight away by a word the catalog does not know ("coke zero" on a menu
  without it) names something else: "unknown" with the product as candidate, no line.
* Greetings, politeness and chat produce nothing, including questions about the shop (times,
  days, address: "what time do you close") and the shop's own name. Leftover words clearly
  attached to an item that are neither option nor ingredient ("well done", "cut in half", "no
  ice") become its `note`.
* `span` is [start, end) in the original text, covering the line's quantity, modifiers and name.
* Not checked here: option group bounds (a required "doneness" that was not given, more choices
  than `max`) - the cart/conversation layer validates a line against its product.
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
