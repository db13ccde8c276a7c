"""Fill msgstrs of one .po file from a JSON object {msgid: translation}.

    python scripts/fill_translations.py locales/zh_CN/LC_MESSAGES/FEATURE.po zh.json

For plural messages give a list of forms (zh_CN has one form). Fuzzy flags are cleared.
"""

from __future__ import annotations

import json
import sys

from babel.messages.pofile import read_po, write_po


def main(argv: list[str]) -> int:
    """Fill the translations and rewrite the file."""
    if len(argv) != 2:
        print(__doc__)
        return 2
    path, mapping_path = argv
    with open(mapping_path, encoding="utf-8") as f:
        mapping = json.load(f)
    locale = path.split("/")[-3]
    with open(path, "rb") as f:
        catalog = read_po(f, locale=locale)
    filled = 0
    for message in catalog:
        key = message.id[0] if isinstance(message.id, tuple) else message.id
        if message.id and key in mapping:
            value = mapping[key]
            message.string = tuple(value) if isinstance(message.id, tuple) else value
            message.flags.discard("fuzzy")
            filled += 1
    with open(path, "wb") as f:
        write_po(f, catalog, width=0)
    print(f"{path}: {filled} filled")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
