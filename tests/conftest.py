"""Test-wide set-up: headless Qt, sandbox-free QtWebEngine, and shared model fixtures."""
from __future__ import annotations

import os

# Must be set before any Qt import.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox")
