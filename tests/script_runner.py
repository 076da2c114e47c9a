"""Run example code as a user runs it: a script file in a fresh interpreter."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

#: Qt without a display, and without its platform chatter on stderr.
OFFSCREEN = {"QT_QPA_PLATFORM": "offscreen", "QT_LOGGING_RULES": "qt.qpa.*=false"}


def run_script(code: str, folder: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Write *code* to ``folder/example.py`` and run it (a file: worker processes import it)."""
    script = folder / "example.py"
    script.write_text(code)
    return subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **OFFSCREEN},
        check=False,
    )
