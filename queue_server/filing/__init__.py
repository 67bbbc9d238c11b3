"""Self-service filing (自助申报 / 预登记): a resident's form for a catalogue item or
bundle, with documents captured at the kiosk, that a clerk accepts (受理), asks more of
(补正), rejects (不予受理) and completes.

In the engine's style: `commands` are parsed from requests (`parse`), `rules` decides
events from the hall state and applies them, `views` shapes what each reader may see;
`documents` checks images (pure) and keeps them content-addressed on disk, `db` is the
SQLite side the store calls. Personal data never leaves through public, state or event
topics: only the submitting kiosk's replies and counters' replies carry it.
"""
