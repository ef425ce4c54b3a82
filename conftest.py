"""Collects contract scenario files (``*.scenarios.yaml``) as pytest tests: one test per scenario."""

from pbr_rules.pytest_plugin import pytest_collect_file  # noqa: F401
