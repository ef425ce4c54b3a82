"""The web workspace under /app: agreements, trying a change, the business case and the claims, in a browser."""

from pbr_rules.web.workspace import PREFIX, Workspace, install_workspace

__all__ = ["PREFIX", "Workspace", "install_workspace"]
