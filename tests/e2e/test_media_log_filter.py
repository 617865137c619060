"""The downloader's modules install the token-redacting log filter on import, alone."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "module", ["picker_discovery._media.pool", "picker_discovery._media.transfer"]
)
def test_importing_the_downloader_alone_redacts_google_auth_s_records(module: str) -> None:
    # A fresh interpreter: in this one another module may have installed the filter already.
    check = (
        f"import importlib, logging; importlib.import_module({module!r}); "
        "from picker_discovery._secrets import _FILTER, _TOKEN_LOGGERS; "
        "missing = [n for n in _TOKEN_LOGGERS if _FILTER not in logging.getLogger(n).filters]; "
        "assert not missing, missing"
    )
    subprocess.run([sys.executable, "-c", check], check=True, timeout=60)
