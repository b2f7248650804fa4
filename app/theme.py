"""Light/dark theme: as the system asks (QStyleHints.colorScheme), or light or dark by choice.

Every view follows the application palette: widgets through Qt, the graph canvas, minimap
and charts through their PaletteChange handlers.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QMenu, QWidget

from onnx_workbench.app.settings import Settings

THEMES = ("system", "light", "dark")
MENU_TITLES = {"system": "As the &System", "light": "&Light", "dark": "&Dark"}
_chosen = {"theme": "system"}  # what View ▸ Theme chose; "system" follows the system's changes


def is_dark() -> bool:
    """True when the system asks for a dark colour scheme."""
    return QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark


def _dark_palette() -> QPalette:
    palette = QPalette()
    window, base, text = QColor(45, 45, 48), QColor(30, 30, 32), QColor(225, 225, 225)
    disabled = QColor(120, 120, 120)
    palette.setColor(QPalette.ColorRole.Window, window)
    palette.setColor(QPalette.ColorRole.WindowText, text)
    palette.setColor(QPalette.ColorRole.Base, base)
    palette.setColor(QPalette.ColorRole.AlternateBase, window)
    palette.setColor(QPalette.ColorRole.ToolTipBase, window)
    palette.setColor(QPalette.ColorRole.ToolTipText, text)
    palette.setColor(QPalette.ColorRole.Text, text)
    palette.setColor(QPalette.ColorRole.Button, window)
    palette.setColor(QPalette.ColorRole.ButtonText, text)
    palette.setColor(QPalette.ColorRole.Highlight, QColor(42, 130, 218))
    palette.setColor(QPalette.ColorRole.HighlightedText, Qt.GlobalColor.white)
    palette.setColor(QPalette.ColorRole.Link, QColor(86, 156, 214))
    palette.setColor(QPalette.ColorRole.PlaceholderText, QColor(150, 150, 150))  # captions: quiet, readable
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.WindowText, QPalette.ColorRole.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    return palette


def apply_theme(app: QApplication, dark: bool | None = None) -> None:
    """Style `app` dark or light (default: as the system asks); Fusion honours the palette everywhere."""
    app.setStyle("Fusion")
    dark = is_dark() if dark is None else dark
    # The light palette is Fusion's own standard one; dark is ours because Fusion's dark
    # handling differs between platforms.
    app.setPalette(_dark_palette() if dark else app.style().standardPalette())


def use_theme(app: QApplication, theme: str) -> None:
    """Apply "system", "light" or "dark" now and remember the choice."""
    if theme not in THEMES:
        theme = "system"
    _chosen["theme"] = theme
    apply_theme(app, None if theme == "system" else theme == "dark")


def chosen_theme() -> str:
    """The theme last applied with use_theme."""
    return _chosen["theme"]


def follow_system(app: QApplication, theme: str = "system") -> None:
    """Apply `theme` now; while it is "system", again whenever the system scheme changes."""
    use_theme(app, theme)

    def on_system_change(_scheme: Qt.ColorScheme) -> None:
        if _chosen["theme"] == "system":
            apply_theme(app)

    QGuiApplication.styleHints().colorSchemeChanged.connect(on_system_change)


class ThemeMenu(QMenu):
    """View ▸ Theme: as the system, light or dark; a choice applies at once and is remembered."""

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__("&Theme", parent)
        self.settings = settings
        self.theme_actions: dict[str, QAction] = {}
        group = QActionGroup(self)
        for theme in THEMES:
            action = self.addAction(MENU_TITLES[theme])
            action.setCheckable(True)
            action.setChecked(theme == settings.theme())
            action.triggered.connect(lambda _checked=False, t=theme: self.choose(t))
            group.addAction(action)
            self.theme_actions[theme] = action

    def choose(self, theme: str) -> None:
        """Switch the whole application to "system", "light" or "dark" and remember it."""
        app = QApplication.instance()
        if app is not None:
            use_theme(app, theme)
        self.settings.set_theme(theme)
        self.theme_actions[theme].setChecked(True)
