"""Participant ids must be pseudonymous: a CPR-shaped id is refused (422) and never echoed."""

from __future__ import annotations

import copy

import pytest
import yaml

from .conftest import HISTORY, assert_error_shape

URL = "/v1/contracts/dk-101-koebenhavn"
CPRS = ["010190-1234", "0101901234"]


def _no_echo(resp, value: str):
    assert value not in resp.text
    assert value.replace("-", "") not in resp.text
    assert '"input"' not in resp.text


@pytest.mark.parametrize("cpr", CPRS)
def test_cpr_as_participant_id_is_refused_without_echo(client, fund, cpr):
    h = {**HISTORY, "participant": cpr}
    resp = client.post(f"{URL}/evaluate", headers=fund, json={"history": h})
    body = assert_error_shape(resp, 422)
    assert [e["path"] for e in body["errors"]] == ["history.participant"]
    assert "CPR" in body["errors"][0]["message"]
    _no_echo(resp, cpr)


@pytest.mark.parametrize("cpr", CPRS)
def test_cpr_in_a_cohort_names_the_history(client, fund, cpr):
    second = {**HISTORY, "participant": cpr}
    resp = client.post(f"{URL}/evaluate-cohort", headers=fund, json={"histories": [HISTORY, second]})
    body = assert_error_shape(resp, 422)
    assert [e["path"] for e in body["errors"]] == ["histories[1].participant"]
    _no_echo(resp, cpr)


def test_cpr_in_eligible_participants_and_hires(client, fund):
    company = {
        "kind": "company", "company": "c-101-77", "municipality": "101", "size_band": "small", "partner": True,
        "start": "2019-03-01", "extracted": "2020-06-30", "hires": [{"participant": "010190-1234", "date": "2019-09-02"}],
    }
    resp = client.post(f"{URL}/evaluate", headers=fund, json={"history": company, "eligible_participants": ["0101901234"]})
    body = assert_error_shape(resp, 422)
    paths = {e["path"] for e in body["errors"]}
    assert "eligible_participants[0]" in paths or "history.hires[0].participant" in paths
    _no_echo(resp, "010190-1234")
    resp = client.post(f"{URL}/evaluate", headers=fund, json={"history": {**company, "hires": []}, "eligible_participants": ["010190-1234"]})
    body = assert_error_shape(resp, 422)
    assert [e["path"] for e in body["errors"]] == ["eligible_participants[0]"]
    _no_echo(resp, "010190-1234")


def test_cpr_in_a_yaml_body(client, fund):
    text = yaml.safe_dump({"history": {**HISTORY, "participant": "010190-1234"}})
    resp = client.post(f"{URL}/evaluate", headers={**fund, "content-type": "application/yaml"}, content=text)
    body = assert_error_shape(resp, 422)
    assert body["errors"][0]["path"] == "history.participant"
    assert body["errors"][0]["line"] > 0
    _no_echo(resp, "010190-1234")


def test_fastapi_validation_errors_never_carry_the_input(client, fund):
    resp = client.get(f"{URL}?as_of=010190-1234", headers=fund)
    body = assert_error_shape(resp, 422)
    assert body["errors"][0]["path"] == "query.as_of"
    _no_echo(resp, "010190-1234")


def test_other_validation_errors_do_not_echo_cpr_shaped_values(client, fund):
    h = copy.deepcopy(HISTORY)
    h["municipality"] = "010190 1234"
    h["target_group"] = "0101901234"
    resp = client.post(f"{URL}/evaluate", headers=fund, json={"history": h})
    assert_error_shape(resp, 422)
    _no_echo(resp, "010190 1234")
    _no_echo(resp, "0101901234")
