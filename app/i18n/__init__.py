"""The interface in English and Simplified Chinese (docs/glossary.md fixes the terms).

Messages are English source strings marked where they are written: ``{% trans %}``/``_()`` in the templates
and ``gettext`` in Python (domain ``messages``), ``t()``/``tn()`` in the JavaScript (domain ``js``, see
static/js/i18n.js). ``convlens i18n extract`` gathers them into the catalogs under app/i18n/locales/ (one
PO file per domain and language), translators fill them in, and ``convlens i18n compile`` (run by
scripts/setup and the Docker build) turns them into what the app reads: ``messages.mo`` for the server,
static/i18n/<lang>.json for the pages' scripts. ``convlens i18n check`` fails on any message that is
untranslated, fuzzy or no longer used.
"""
