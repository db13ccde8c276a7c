"""The catalog pipeline: extract, stub, check, compile.

Catalogs are Babel .po files under locales/<locale>/LC_MESSAGES/. The domain "messages" may be
split into several .po files there (one per feature, so parallel work does not collide); the
bot merges them when it loads. Usage:

    python scripts/i18n.py extract          # code -> locales/messages.pot
    python scripts/i18n.py stub FEATURE [PATH...]  # append missing msgids (from PATHs) to
                                            # FEATURE.po of each locale (en prefilled)
    python scripts/i18n.py check            # exit 1 if anything is missing, untranslated or stale
    python scripts/i18n.py compile          # write merged messages.mo files (optional)
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
LOCALES = ROOT / "locales"
SUPPORTED = ("zh_CN", "en")
FIELD = re.compile(r"\{(\w*)\}")


def extract(out: Path, *, locations: bool = False) -> Catalog:
    """Extract every translatable string of the code into `out` and return it."""
    where = [] if locations else ["--no-location"]
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "pyproject.toml",
            "-c",
            "TRANSLATORS:",
            *where,
            "--sort-output",
            "-k",
            "N_",
            "-k",
            "pgettext:1c,2",
            "-o",
            str(out),
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with out.open("rb") as f:
        return read_po(f)


def fragments(locale: str) -> list[Path]:
    """The .po files that make up `locale`'s catalog."""
    return sorted((LOCALES / locale / "LC_MESSAGES").glob("*.po"))


def merged(locale: str) -> Catalog:
    """All fragments of `locale` as one catalog."""
    catalog = Catalog(locale=locale, domain="messages")
    for path in fragments(locale):
        with path.open("rb") as f:
            for message in read_po(f, locale=locale):
                if message.id:
                    catalog[message.id] = message
    return catalog


def problems(template: Catalog) -> list[str]:
    """Everything wrong with the catalogs against the code."""
    found: list[str] = []
    for locale in SUPPORTED:
        seen: dict[object, Path] = {}
        for path in fragments(locale):
            with path.open("rb") as f:
                for message in read_po(f, locale=locale):
                    key = (message.id, message.context)
                    if message.id and key in seen:
                        first = seen[key].name
                        found.append(f"{locale}: {message.id!r} in both {first} and {path.name}")
                    seen.setdefault(key, path)
        catalog = merged(locale)
        for message in template:
            if not message.id:
                continue
            have = catalog.get(message.id, context=message.context)
            if have is None:
                found.append(f"{locale}: missing {_first(message)!r}")
            else:
                found += _check(locale, message, have)
        code = {(m.id if not isinstance(m.id, tuple) else m.id[0]) for m in template if m.id}
        for message in catalog:
            if message.id and _first(message) not in code:
                found.append(f"{locale}: stale {_first(message)!r} (no longer in the code)")
    return found


def _first(message: Message) -> str:
    return message.id[0] if isinstance(message.id, tuple) else str(message.id)


def _check(locale: str, template: Message, have: Message) -> list[str]:
    strings = have.string if isinstance(have.string, tuple) else (have.string,)
    if have.fuzzy or not all(strings):
        return [f"{locale}: untranslated {_first(template)!r}"]
    expected = set(FIELD.findall(_first(template)))
    if any(set(FIELD.findall(s)) != expected for s in strings):
        return [f"{locale}: placeholders differ in {_first(template)!r}"]
    return []


def stub(feature: str, template: Catalog, sources: list[str]) -> None:
    """Append the msgids the catalogs lack, found in `sources` (paths), to FEATURE.po."""
    for locale in SUPPORTED:
        have = merged(locale)
        path = LOCALES / locale / "LC_MESSAGES" / f"{feature}.po"
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            with path.open("rb") as f:
                target = read_po(f, locale=locale)
        else:
            target = Catalog(locale=locale, domain="messages", project="branchbot")
        added = 0
        for message in template:
            where = {path for path, _line in message.locations}
            if sources and not any(w.startswith(tuple(sources)) for w in where):
                continue
            if message.id and have.get(message.id, context=message.context) is None:
                string: object = "" if locale != "en" else message.id
                if isinstance(message.id, tuple):
                    string = ("",) if locale == "zh_CN" else message.id
                target.add(
                    message.id,
                    string,
                    context=message.context,
                    auto_comments=message.auto_comments,
                )
                added += 1
        with path.open("wb") as f:
            write_po(f, target, width=0, omit_header=False)
        print(f"{path.relative_to(ROOT)}: {added} added")


def compile_all() -> None:
    """Write each locale's merged catalog as messages.mo (the bot can also compile at start)."""
    for locale in SUPPORTED:
        out = LOCALES / locale / "LC_MESSAGES" / "messages.mo"
        with out.open("wb") as f:
            write_mo(f, merged(locale))
        print(out.relative_to(ROOT))


def main(argv: list[str]) -> int:
    """Run one pipeline step."""
    if not argv:
        print(__doc__)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        pot = LOCALES / "messages.pot" if argv[0] == "extract" else Path(tmp) / "messages.pot"
        template = extract(pot, locations=argv[0] == "stub")
        if argv[0] == "extract":
            print(f"{pot.relative_to(ROOT)}: {len(template)} messages")
        elif argv[0] == "stub" and len(argv) >= 2:
            stub(argv[1], template, [p.removeprefix("./") for p in argv[2:]])
        elif argv[0] == "check":
            found = problems(template)
            for line in found:
                print(line)
            print(f"{len(found)} problem(s) in the catalogs")
            return 1 if found else 0
        elif argv[0] == "compile":
            compile_all()
        else:
            print(__doc__)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
