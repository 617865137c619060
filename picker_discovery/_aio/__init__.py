"""The asyncio client (the ``async`` extra: httpx). Import it as
``picker_discovery.AsyncPickerClient``; the modules here are private."""
