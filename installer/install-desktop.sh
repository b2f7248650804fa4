#!/bin/sh
# Install (or remove) the ONNX Workbench menu entry, icons and the .onnx MIME type for the
# current user, under ${XDG_DATA_HOME:-~/.local/share}. Works from a source checkout
# (installer/install-desktop.sh) and from a built bundle (dist/onnx-workbench/install-desktop.sh,
# where the entry then starts the bundle's own binary).
#
#   install-desktop.sh [--exec PATH] [--data-home DIR] [--uninstall]
#
# --exec PATH      the program the menu entry starts (default: the bundle binary next to this
#                  script, else `onnx-workbench` from PATH)
# --data-home DIR  where to install (default: $XDG_DATA_HOME or ~/.local/share); staging
#                  there leaves the default program for .onnx files alone
# --uninstall      remove what an earlier run installed
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
APP=onnx-workbench
MIME_TYPE=application/x-onnx
SIZES="16 32 48 64 128 256 512"

die() { echo "install-desktop.sh: $*" >&2; exit 1; }

EXEC=""
DATA_HOME="${XDG_DATA_HOME:-$HOME/.local/share}"
CUSTOM_DATA_HOME=0
UNINSTALL=0
while [ $# -gt 0 ]; do
    case "$1" in
        --exec) [ $# -ge 2 ] || die "--exec needs a path."; EXEC=$2; shift 2 ;;
        --data-home) [ $# -ge 2 ] || die "--data-home needs a folder."; DATA_HOME=$2; CUSTOM_DATA_HOME=1; shift 2 ;;
        --uninstall) UNINSTALL=1; shift ;;
        -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument '$1'; see --help." ;;
    esac
done

# The files to install: next to this script in a bundle, or in installer/ and assets/ of a checkout.
find_first() {
    for candidate in "$@"; do
        if [ -e "$candidate" ]; then echo "$candidate"; return 0; fi
    done
    return 1
}
DESKTOP_SRC=$(find_first "$HERE/$APP.desktop") || die "$APP.desktop is missing next to this script; run it from installer/ or the bundle folder."
MIME_SRC=$(find_first "$HERE/$APP-mime.xml") || die "$APP-mime.xml is missing next to this script; run it from installer/ or the bundle folder."
ICON_DIR=$(find_first "$HERE/_internal/assets/icons" "$HERE/../assets/icons") || die "the icons folder (assets/icons) was not found; run this from a checkout or a built bundle."

APPS_DIR="$DATA_HOME/applications"
ICONS_DIR="$DATA_HOME/icons/hicolor"
MIME_DIR="$DATA_HOME/mime"

refresh() {
    # Each cache tool is optional: without it the desktop picks changes up at next login.
    if command -v update-desktop-database >/dev/null 2>&1; then update-desktop-database -q "$APPS_DIR" || true; fi
    if command -v update-mime-database >/dev/null 2>&1; then XDG_DATA_HOME="$DATA_HOME" update-mime-database "$MIME_DIR" >/dev/null || true; fi
    if command -v gtk-update-icon-cache >/dev/null 2>&1 && [ -f "$ICONS_DIR/index.theme" ]; then
        gtk-update-icon-cache -q -t -f "$ICONS_DIR" || true
    fi
}

if [ "$UNINSTALL" -eq 1 ]; then
    rm -f "$APPS_DIR/$APP.desktop" "$MIME_DIR/packages/$APP-mime.xml" "$ICONS_DIR/scalable/apps/$APP.svg" \
          "$ICONS_DIR/scalable/mimetypes/application-x-onnx.svg"
    for size in $SIZES; do
        rm -f "$ICONS_DIR/${size}x${size}/apps/$APP.png" "$ICONS_DIR/${size}x${size}/mimetypes/application-x-onnx.png"
    done
    mkdir -p "$APPS_DIR" "$MIME_DIR/packages"
    refresh
    echo "Removed the ONNX Workbench menu entry, icons and MIME type from $DATA_HOME."
    exit 0
fi

if [ -z "$EXEC" ]; then
    if [ -x "$HERE/$APP" ]; then EXEC="$HERE/$APP"; else EXEC=$APP; fi
fi
# The Exec key has its own quoting rules; rather than implement them, refuse the characters
# that would need them (a path with spaces is quoted below, which the spec allows).
case "$EXEC" in
    *'"'*|*'\'*|*'$'*|*'`'*|*'%'*) die "the program path '$EXEC' contains \" \\ \$ \` or %, which a menu entry cannot start; move the bundle to a plainer folder." ;;
esac
case "$EXEC" in
    *' '*) EXEC_FIELD="\"$EXEC\"" ;;
    *) EXEC_FIELD=$EXEC ;;
esac

mkdir -p "$APPS_DIR" "$MIME_DIR/packages" "$ICONS_DIR/scalable/apps" "$ICONS_DIR/scalable/mimetypes"
# sed with | as the separator; | and & in the path are escaped for the replacement text.
ESCAPED=$(printf '%s' "$EXEC_FIELD" | sed 's/[|&]/\\&/g')
sed -e "s|^Exec=.*|Exec=$ESCAPED %f|" -e "s|^TryExec=.*|TryExec=$(printf '%s' "$EXEC" | sed 's/[|&]/\\&/g')|" \
    "$DESKTOP_SRC" > "$APPS_DIR/$APP.desktop"
cp "$MIME_SRC" "$MIME_DIR/packages/$APP-mime.xml"
cp "$ICON_DIR/$APP.svg" "$ICONS_DIR/scalable/apps/$APP.svg"
cp "$ICON_DIR/$APP.svg" "$ICONS_DIR/scalable/mimetypes/application-x-onnx.svg"
for size in $SIZES; do
    mkdir -p "$ICONS_DIR/${size}x${size}/apps" "$ICONS_DIR/${size}x${size}/mimetypes"
    cp "$ICON_DIR/$APP-$size.png" "$ICONS_DIR/${size}x${size}/apps/$APP.png"
    cp "$ICON_DIR/$APP-$size.png" "$ICONS_DIR/${size}x${size}/mimetypes/application-x-onnx.png"
done
refresh
# Make the workbench the default program for .onnx files, where xdg-utils is installed; not
# when staging into another --data-home, because the choice is written to ~/.config/mimeapps.list.
if [ "$CUSTOM_DATA_HOME" -eq 0 ] && command -v xdg-mime >/dev/null 2>&1; then
    XDG_DATA_HOME="$DATA_HOME" xdg-mime default "$APP.desktop" "$MIME_TYPE" 2>/dev/null || true
fi
echo "Installed the ONNX Workbench menu entry (starting $EXEC), icons and the $MIME_TYPE type into $DATA_HOME."
