"""A team's closed cycle as pages show it (the panel's `view=retro`, the closed project page).

The reading lives in the core (`sync/retro.py`), where the retrospective's Confluence write-back
reads it too; the pages import it from here.
"""

from __future__ import annotations

from sync.retro import GradedKr, Publication, RetroObjective, RetroView, load_retro

__all__ = ["GradedKr", "Publication", "RetroObjective", "RetroView", "load_retro"]
