"""The downloader: picked items to files, with the token sent only to allowlisted hosts.

Private: users reach :class:`Downloader`, :class:`Size` and the results from the package root.

Fetch picked items' bytes: the right suffix, streamed to disk, concurrent, atomic, token-safe.

::

    from google.oauth2.credentials import Credentials
    from picker_discovery._media.pool import Downloader

    downloader = Downloader(credentials)
    result = downloader.download_session(session_id, "photos/", list_page=list_page)
    for done in result.downloaded:
        ...                                    # done.path, done.size, done.content_type
    result.raise_for_failures()                # or look at result.failed / result.skipped

where ``list_page(session_id, page_token)`` returns one ``mediaItems.list`` answer (a dict), e.g.
``service.mediaItems().list(sessionId=session_id, pageToken=page_token, pageSize=100).execute()``.

What each item gets (see :func:`~picker_discovery._media.items.media_suffix`):

* photos (and motion photos, whose image parameters give the still): ``=d``, the original with
  its EXIF metadata except location; or ``=wW-hH`` (``-c`` to crop) when a :class:`Size` is asked;
* videos: ``=dv``, only once ``videoMetadata.processingStatus`` is ``READY``. A video still
  processing raises :class:`~picker_discovery.errors.MediaNotReady` and the caller chooses to
  skip it, wait for it or fail; a ``FAILED`` video is reported and never retried;
* ``TYPE_UNSPECIFIED`` (or a type this library does not know): the kind is inferred from
  ``videoMetadata``/``photoMetadata``, then from ``mimeType``; with no clue at all it is fetched
  as a photo (``=d``), which for a video would give a still image, never a mislabelled file,
  since the extension follows the answer's Content-Type.

How a download runs:

* the bytes stream in chunks (memory does not grow with the file) through an authorized
  ``requests`` session (google-auth's ``AuthorizedSession`` by default, whose media GETs go
  straight on its connection pool), one per worker thread;
* the bearer token goes only to hosts on the allowlist (``*.googleusercontent.com`` over https
  by default). A URL or a redirect anywhere else raises
  :class:`~picker_discovery.errors.UntrustedMediaHost` and nothing is sent there. Redirects are
  followed by hand, each hop checked;
* each file is written to a hidden ``.<name>.part-<random>`` in the target folder, checked
  against the length the server announced, fsynced, then hard-linked into place (and the part
  removed), so a final name never holds a partial file and nothing is ever replaced: a name
  that is taken when the file is placed, by a user's file, a symlink or another run's file,
  leaves it alone and the file gets the next free name. Where the file system has no hard
  links (FAT, some shares) the file is copied into a target created exclusively. An error
  removes the part file; only a killed process leaves one behind, hidden, and a later run that
  completes that item removes it (never one a live run still holds: part files are locked);
* the folder is used through one open descriptor, and the manifest, part files and targets
  are opened without following symbolic links (``O_NOFOLLOW``; a best-effort check where the
  platform lacks it). A symlink at the manifest stops the run with a
  :class:`~picker_discovery.errors.MediaError`;
* "complete" is recorded in a manifest, ``.picker-downloads.jsonl`` in the folder: one JSON line
  per finished file (item id, variant, stem, name, size, Content-Type, modification time),
  written in one append and flushed to disk before the file is placed (workers finishing
  together share one flush of the manifest, and then one of the folder, with no lock held
  during either; an item is reported downloaded once its name is on disk). Every field of every line
  is validated when read (one safe name in the folder, an allowed extension, whole numbers in
  range); a line that fails, or is cut short or not UTF-8, is skipped with a logged warning. A
  rerun skips an item whose recorded file is still there as a regular file with the recorded
  size and time; a recorded file that is gone is fetched again under its name; one that
  changed is the user's now, kept, and the item gets the next free name;
* names come from ``mediaFile.filename`` made safe
  (:func:`~picker_discovery._media.names.safe_stem`), unique within the folder in item order
  (``IMG.jpg``, ``IMG (2).jpg``; uniqueness is by stem, ignoring case and Unicode normalization, so
  ``Café`` NFC and NFD are one name and names stay unique whatever extension the answers bring),
  with the extension of the answer's Content-Type from an allowlist of image and video types: any
  other type (``text/html``, ``image/svg+xml``, scripts) gives ``.bin``;
* several items download at once (``workers``, default 16) while the session is listed page by
  page as downloads proceed; an expired baseUrl (401/403, or listed longer ago than
  ``url_lifetime``) is renewed by re-listing the session and finding the item by id;
* 5xx, 429 (honouring Retry-After) and dropped connections are retried under a retry policy,
  resuming with ``Range: bytes=N-`` when the server supports ranges, else restarting. A ``206``
  must start where the file ends and lie within the announced total; one that covers less than
  asked is continued at once with a new Range request (no failure); a total that differs from
  the one announced before means the file changed, and the download starts again (counted
  against the policy). No file is ever recorded with a length other than the total the server
  announced. A body without any length (no Content-Length, no total) that ends early cannot be
  told from a complete one; media hosts send the length.

Progress goes to an optional callback; nothing is printed, and no token or Authorization header
is ever logged.
"""
