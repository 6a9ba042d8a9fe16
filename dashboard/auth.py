"""Who may open the dashboard.

Three modes, from ``[dashboard]``: nothing (the default; the dashboard binds 127.0.0.1, so only this machine
reaches it), a shared password read from the environment variable named by ``password_env`` (never from the
config file, which ends up in backups and repositories), or OIDC through Streamlit's ``st.login`` for shared
deployments. A password variable that is configured but empty locks the dashboard rather than opening it.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable

import streamlit as st

from dashboard.settings import DashboardSettings

__all__ = ["check_password", "gate"]

_SESSION_KEY = "auth_ok"


def check_password(given: str, expected: str) -> bool:
    """Constant-time comparison, so response times do not leak how much of a guess was right."""
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def gate(settings: DashboardSettings, t: Callable[..., str]) -> bool:
    """Render the login when one is needed; ``True`` when the page may be shown."""
    if settings.oidc:
        if st.user.is_logged_in:
            return True
        st.header(t("login.title"))
        if st.button(t("login.oidc")):
            st.login()
        return False
    if not settings.password_env:
        return True
    expected = os.environ.get(settings.password_env, "")
    if not expected:
        st.error(t("login.no_secret", env=settings.password_env))
        return False
    if st.session_state.get(_SESSION_KEY):
        return True
    st.header(t("login.title"))
    with st.form("login"):
        given = st.text_input(t("login.password"), type="password", key="login_password")
        submitted = st.form_submit_button(t("login.submit"))
    if submitted:
        if check_password(given, expected):
            st.session_state[_SESSION_KEY] = True
            st.session_state.pop("login_password", None)
            st.rerun()
        st.error(t("login.wrong"))
    return False
