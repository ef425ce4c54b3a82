"""pytest plugin: every scenario in a ``*.scenarios.yaml`` file becomes one test, named by its sentence."""

from __future__ import annotations

import pytest

from pbr_rules.evaluation import load_scenarios, run_scenario


def pytest_collect_file(parent, file_path):
    if file_path.name.endswith(".scenarios.yaml"):
        return ScenarioFileItem.from_parent(parent, path=file_path)
    return None


class ScenarioFileItem(pytest.File):
    def collect(self):
        loaded = load_scenarios(self.path)
        for i, sc in enumerate(loaded.scenarios.scenarios):
            yield ScenarioItem.from_parent(self, name=sc.name, loaded=loaded, index=i)


class ScenarioFailed(Exception):
    pass


class ScenarioItem(pytest.Item):
    def __init__(self, *, loaded, index, **kwargs):
        super().__init__(**kwargs)
        self.loaded = loaded
        self.index = index

    def runtest(self):
        outcome = run_scenario(self.loaded, self.index)
        if not outcome.passed:
            raise ScenarioFailed("\n".join(outcome.failures))

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, ScenarioFailed):
            return f"{self.loaded.path}: scenario '{self.name}'\n{excinfo.value}"
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, f"scenario: {self.name}"
