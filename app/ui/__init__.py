"""The operator dashboard at /ui: server-rendered page shells, static scripts and the
uPlot chart library copied from the npm registry by ``make install``."""

from app.ui.routes import ui_handlers

__all__ = ["ui_handlers"]
