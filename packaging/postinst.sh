#!/bin/sh
set -e
if ! getent passwd halo >/dev/null 2>&1; then
    adduser --system --group --no-create-home --home /nonexistent --quiet halo 2>/dev/null ||
        useradd --system --user-group --no-create-home --shell /usr/sbin/nologin halo
fi
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || true
    systemctl try-restart rsyslog.service >/dev/null 2>&1 || true
fi
exit 0
