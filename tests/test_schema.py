"""The committed JSON Schemas match the models, and every bundled file validates against them."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from pbr_rules.language.schema import SCHEMA_DIR, all_schemas, render, stale_schemas

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ROOT / SCHEMA_DIR


def _load(name: str) -> dict:
    return json.loads((SCHEMAS / name).read_text(encoding="utf-8"))


def test_committed_schemas_equal_the_generated_ones():
    assert stale_schemas(SCHEMAS) == [], "run 'pbr schema --write' and commit contracts/schema/"


def _yaml(path: Path):
    # The editor sees dates as strings (they are quoted or plain ISO text); load without timestamps.
    class Loader(yaml.SafeLoader):
        pass

    Loader.yaml_implicit_resolvers = {k: [r for r in v if r[0] != "tag:yaml.org,2002:timestamp"] for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}
    return yaml.load(path.read_text(encoding="utf-8"), Loader=Loader)


CONTRACT_FILES = sorted((ROOT / "contracts/agreements").glob("*.yaml")) + sorted((ROOT / "contracts/templates").glob("*.yaml"))


@pytest.mark.parametrize("path", [p for p in CONTRACT_FILES if not p.name.endswith(".scenarios.yaml")], ids=lambda p: p.name)
def test_every_bundled_contract_validates_against_the_committed_schema(path):
    jsonschema.Draft202012Validator(_load("contract.schema.json")).validate(_yaml(path))


@pytest.mark.parametrize("path", sorted((ROOT / "contracts/agreements").glob("*.scenarios.yaml")), ids=lambda p: p.name)
def test_every_scenario_file_validates_against_the_committed_schema(path):
    jsonschema.Draft202012Validator(_load("scenarios.schema.json")).validate(_yaml(path))


def test_benefit_codes_validate_against_the_committed_schema():
    jsonschema.Draft202012Validator(_load("benefit-codes.schema.json")).validate(_yaml(ROOT / "contracts/data/benefit-codes.yaml"))


def test_the_contract_schema_rejects_what_the_loader_rejects():
    schema = _load("contract.schema.json")
    v = jsonschema.Draft202012Validator(schema)
    full = _yaml(ROOT / "contracts/agreements/101-koebenhavn.yaml")
    # an unknown key in an agreement that extends a template
    assert not v.is_valid({**full, "tarifs": {}})
    # a full agreement without extends must have every required key
    standalone = {k: val for k, val in full.items() if k != "extends"}
    assert not v.is_valid(standalone)
    # a float amount is not money
    bad = json.loads(json.dumps(full))
    bad["caps"]["per_contract"]["2019-01-01"]["value"] = 12.5
    assert not v.is_valid(bad)


def test_every_bundled_file_names_its_schema_for_the_editor():
    for path in CONTRACT_FILES:
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith("# yaml-language-server: $schema=../schema/"), path


def test_render_is_stable():
    for name, schema in all_schemas().items():
        assert render(schema) == render(json.loads(render(schema))), name
