"""Pure texts and keyboards of every message, one module per feature.

A renderer takes a view model (a frozen dataclass from `bot.services` or `scheduler`) and a
`Translator` and returns text, or a `Keyboard` of (label, callback data) rows; it never touches
the database or Telegram. `bot.keyboards.markup` turns a `Keyboard` into Telegram markup.
"""
