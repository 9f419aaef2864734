"""Text normalisation shared by the catalog index and the message side: folding, words, numbers.

Both sides of every comparison go through the same functions here, so a catalog name and a
customer's spelling of it can only differ by what the fuzzy layer is meant to forgive.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

from spacy.lang.en.stop_words import STOP_WORDS

# Letters and digits; catalog names and message tokens are both cut into these pieces, and a
# letter/digit boundary is a cut too ("7up" -> "7", "up"), so "7-Up", "7 up" and "7up" agree.
_WORD = re.compile(r"[^\W\d_]+|\d+")

UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19,
}
TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}
NUMBER_WORDS = {**UNITS, **TENS, "hundred": 100, "dozen": 12}
MAX_QUANTITY = 999  # beyond this a "number" is a phone number, a price or a typo

# Words that carry no order content. spaCy's stop words minus the ones that carry meaning for
# orders (numbers, negation, "with", "more"/"less"), plus chat and ordering vocabulary.
_MEANINGFUL = {
    "no", "not", "without", "with", "and", "plus", "less", "more", "few", "several", "half",
    "n't", "n‘t", "n’t", "none", "nothing", "never", "except", "also", "but", "or",
    *UNITS, *TENS, "hundred", "dozen", "side", "top", "bottom", "well", "done", "full",
}
_CHAT = """
hi hii hiii hello helo hey heya hiya yo howdy greetings morning evening afternoon night
tonight today tomorrow now asap please pls plz plse pleaseee thanks thank thx thnx thanx tks ty
tysm cheers appreciate appreciated ok okay okey k kk sure yes yeah yep yup alright fine great
good nice lovely beautiful awesome perfect cool sir madam mam maam boss bro buddy dear friend
guys want wanna wanted wanting like liked love would wish need needs needed order ordering
ordered orders get gimme give grab bring send deliver delivery take try trying prefer have having
let lets let's think guess gonna going set looking hungry rush place put start begin
im i'm id i'd ill i'll ive i've u ur pls just only maybe also that's thats it's its all lot
day meal dinner lunchtime hope hopefully kindly quick quickly fast soon food stuff thing things
size sized sizes piece pieces pcs pc portion portions serving servings bottle bottles can cans
cup cups glass glasses plate plates box boxes pack packs order topping toppings
wants needs favor favour important sure ones inch inches cm w am pm
salam salaam assalamu alaikum marhaba hola bonjour ciao shukran merci gracias habibi yalla
wife husband son daughter kids kid children mom mum dad brother sister boyfriend girlfriend
partner colleague colleagues family guests pickup pick takeaway takeout collection collect
time times open opens opening close closes closing closed hours hour minutes mins min late early
monday tuesday wednesday thursday friday saturday sunday weekend weekday address location
located where when usual restaurant shop store office party table number phone card cash
bag bags tin tins jar jars tub tubs tray trays carton cartons packet packets sack sacks pouch
pouches
"""
FILLER_WORDS: frozenset[str] = frozenset(
    (set(STOP_WORDS) - _MEANINGFUL) | set(_CHAT.split())
)

# Frequent English words that are not food: never "corrected" into a catalog word by the typo
# layer ("comes" is not a typo of "cokes", "leave" is not "leaves"). They still match exactly
# when a catalog really uses them.
_COMMON = """
come comes came coming go goes went gone make makes making made sure know knows knew think
thinks thought say says said tell told ask asked asks call calls called look looks looked
see sees saw seen use uses used find finds found work works worked feel feels felt leave
leaves left keep keeps kept mean means meant seem seems help helps helped show shows showed
hear heard play run runs ran live lives lived believe believes hold holds bring brings brought
happen happens write wrote provide sit sits stand stands lose lost pay pays paid meet meets
include includes continue set sets learn change changes lead understand watch follow stop
stops create speak read allow spend grow open opens walk win offer remember consider appear
buy buys wait waits serve serves die send sends expect build stay fall cut reach kill remain
suggest raise pass sell require report decide pull favor favour important usual usually
time times year years people way ways day days man men woman women child world life hand
hands part place case week company system program question work government number night
point home water room mother area money story fact month lot right study book eye job word
business issue side kind head house service friend father power hour game line end member
law car city community name president team minute idea kid body information back parent face
others level office door health person art war history party result change morning reason
research girl guy moment air teacher force education
"""
NO_FUZZ: frozenset[str] = FILLER_WORDS | frozenset(_COMMON.split())

# Words that make a leftover run an instruction for the kitchen rather than an unknown item.
_NOTE_CUES = """
done well cut half halves sliced slice slices crispy crunchy spicy spice mild hot cold warm
toasted toast burnt rare separate separately side sides apart ice napkins napkin fork forks
cutlery utensils straw straws bag bags wrapped wrap box quick hurry cooked cook cooking ready
salt salty sweet sugar fresh heat heated lightly allergic allergy allergies gluten vegan
"""
NOTE_CUES: frozenset[str] = frozenset(_NOTE_CUES.split())


# Everyday synonyms, used only when the catalog lacks the first word but has the second
# ("pie" means pizza in a pizzeria that never says "pie"; in a bakery "pie" is on the menu).
SYNONYMS: tuple[tuple[str, str], ...] = (
    ("pie", "pizza"), ("za", "pizza"), ("burger", "hamburger"), ("hamburger", "burger"),
    ("chips", "fries"), ("fries", "chips"), ("soda", "pop"), ("pop", "soda"),
    ("veggie", "vegetarian"), ("vegetarian", "veggie"), ("mayo", "mayonnaise"),
    ("mayonnaise", "mayo"), ("bbq", "barbecue"), ("barbecue", "bbq"), ("dr", "doctor"),
    ("doctor", "dr"), ("coke", "cola"), ("ketchup", "catsup"), ("jalapeno", "jalapenos"),
)


def fold(text: str) -> str:
    """Case-fold and strip accents: 'Jalapeño' -> 'jalapeno'."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(text: str) -> list[str]:
    """The folded letter/digit pieces of a text, in order."""
    return _WORD.findall(fold(text))


def word_spans(text: str) -> Iterator[tuple[str, int, int]]:
    """Folded pieces of `text` with their [start, end) offsets inside `text`.

    Offsets are found on the original text, so they stay exact even when folding would change
    the length (e.g. 'ß' -> 'ss'); the piece itself is folded afterwards.
    """
    for match in _WORD.finditer(text):
        yield fold(match.group()), match.start(), match.end()


def is_symbol(text: str) -> bool:
    """True for emoji, pictographs, variation selectors and similar non-language characters."""
    if text.isascii():
        return False
    return bool(text) and all(
        unicodedata.category(ch) in {"So", "Sk", "Cf", "Mn", "Me", "Co", "Cs"} or ch == "\u200d"
        for ch in text
    )


def number_value(text: str) -> int | None:
    """'3' -> 3, 'three' -> 3, 'twenty' -> 20; anything else (including '1.5') -> None."""
    word = fold(text)
    # isdecimal, not isdigit: int() reads every decimal digit ("٣" is 3) but not the other
    # digits ("፩", "𑁒"); and a wall of digits is no quantity (int() refuses 4,300+ of them).
    if word.isdecimal():
        value = int(word) if len(word) <= 6 else 0
        return value if 0 < value <= MAX_QUANTITY else None
    return NUMBER_WORDS.get(word)


_DIGITS_OF = {word: str(value) for word, value in {**UNITS, **TENS}.items()}
_WORD_OF = {digits: word for word, digits in _DIGITS_OF.items()}


def numerals(word: str) -> set[str]:
    """The other spelling of a small number in a name: 'seven' <-> '7' ("7 Up", "Seven Up")."""
    other = _DIGITS_OF.get(word) or _WORD_OF.get(word)
    return {other} if other else set()


def plural_forms(word: str) -> set[str]:
    """Plausible plural spellings of a (singular) word."""
    forms = {word + "s"}
    if word.endswith(("s", "x", "z", "ch", "sh", "o")):
        forms.add(word + "es")
    if len(word) > 2 and word.endswith("y") and word[-2] not in "aeiou":
        forms.add(word[:-1] + "ies")
    if word.endswith("f"):
        forms.add(word[:-1] + "ves")
    return forms


def singular_forms(word: str) -> set[str]:
    """Plausible singular spellings of a word that may be a plural ('fries' -> fry, frie)."""
    forms: set[str] = set()
    if len(word) < 3 or not word.endswith("s") or word.endswith(("ss", "us")):
        return forms
    forms.add(word[:-1])
    if word.endswith("es"):
        forms.add(word[:-2])
    if word.endswith("ies") and len(word) > 4:
        forms.add(word[:-3] + "y")
    if word.endswith("ves"):
        forms.add(word[:-3] + "f")
    return forms


def max_typos(length: int) -> int:
    """How many edits a word of this length may carry and still be recognised."""
    if length >= 6:
        return 2
    if length >= 4:
        return 1
    return 0
