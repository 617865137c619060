"""Importing people's picks on Celery workers, with Redis as the broker.

- :mod:`picker_tasks.app`: the Celery app and its settings (from the environment);
- :mod:`picker_tasks.tasks`: :func:`~picker_tasks.tasks.start_import` (called by the web app),
  the ``poll`` task (one poll step, then re-scheduled with a countdown: no worker is held while
  a person picks) and the ``import_media`` task (the downloader, resumable from its manifest);
- :mod:`picker_tasks.credentials`: how a worker gets a user's credentials (plug your token
  store in here);
- :mod:`picker_tasks.jobs`: each import's status, kept in Redis for the web app to show;
- :mod:`picker_tasks.local`: a throw-away ``redis-server`` and worker, for tests and trying it.

See ``examples/celery/README.md``.
"""
