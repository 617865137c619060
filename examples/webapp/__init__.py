"""An example web app on Flask that imports the photos a person picks in Google Photos.

Sign in with Google (:mod:`picker_discovery.web`), press "Import from Google Photos": the app
creates a Picker session, the page opens its ``pickerUri`` with ``/autoclose`` in a new tab
and polls the app, which waits on the session as its ``pollingConfig`` says, copies every
picked item (original and thumbnail) into the user's storage with the project's downloader,
shows the thumbnails from there and deletes the session.

``make webapp`` (``python -m examples.webapp``) runs it against the emulator; the README's
"In a web app" section tells how to run it against Google. Rooms: ``app`` (the factory),
``auth`` (sign-in and sign-out), ``views`` (the pages and files), ``importer`` (the
background imports), ``storage`` (per-user folders and records), ``problems`` (what each
failure tells the person), ``web`` (what the pages share).
"""

from __future__ import annotations

from examples.webapp.app import create_app, shutdown

__all__ = ["create_app", "shutdown"]
